package ucsim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/chansync/chansync/internal/simkit"
)

// serveAdmin answers the introspection and control endpoints listed in the
// package documentation. Errors answer 4xx with {"error": "..."}.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, rest string) {
	path := strings.Trim(rest, "/")
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch {
	case path == "stats" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case path == "state" && get:
		simkit.WriteJSON(w, http.StatusOK, s.State())
	case path == "duplicates" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Duplicates())
	case path == "requests" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Requests())
	case path == "faults" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case path == "faults" && post:
		var f Faults
		if err := simkit.DecodeJSON(r, &f); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetFaults(f); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case path == "revoke" && post:
		s.Revoke()
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	case path == "restore" && post:
		s.Restore()
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"revoked": false})
	case path == "reset" && post:
		s.Reset()
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"reset": true})
	case path == "accounts" && post:
		var seed AccountSeed
		if err := simkit.DecodeJSON(r, &seed); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		a, err := s.InsertAccount(seed)
		if err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, a)
	case path == "groups" && post:
		var seed GroupSeed
		if err := simkit.DecodeJSON(r, &seed); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		g, err := s.InsertGroup(seed)
		if err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, g)
	case isAdminPath(path):
		simkit.WriteError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed", r.Method, r.URL.Path))
	default:
		simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

func isAdminPath(p string) bool {
	switch p {
	case "stats", "state", "duplicates", "requests", "faults", "revoke", "restore", "reset", "accounts", "groups":
		return true
	}
	return false
}
