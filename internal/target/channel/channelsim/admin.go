package channelsim

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/chansync/chansync/internal/simkit"
)

// PermissionChange is the body of POST {admin}/permission: ids to deny and
// ids to allow again, of one kind ("" or "*" for every kind), or AllowAll to
// empty the deny list first.
type PermissionChange struct {
	Kind     string   `json:"kind,omitempty"`
	Deny     []string `json:"deny,omitempty"`
	Allow    []string `json:"allow,omitempty"`
	AllowAll bool     `json:"allow_all,omitempty"`
}

// serveAdmin answers the introspection and control endpoints listed in the
// package documentation. Errors answer 4xx with {"error": "..."}.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, rest string) {
	path := strings.Trim(rest, "/")
	head, tail, _ := strings.Cut(path, "/")
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch {
	case head == "stats" && tail == "" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case head == "records" && get:
		s.adminRecords(w, tail)
	case head == "requests" && tail == "" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Requests())
	case head == "faults" && tail == "" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case head == "faults" && tail == "" && post:
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
	case head == "revoke" && tail == "" && post:
		s.RevokeAllTokens()
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	case head == "reset" && tail == "" && post:
		s.Reset()
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"reset": true})
	case head == "permission" && tail == "" && get:
		simkit.WriteJSON(w, http.StatusOK, map[string][]string{"denied": s.Denied()})
	case head == "permission" && tail == "" && post:
		s.adminPermission(w, r)
	case head == "stats" || head == "records" || head == "requests" || head == "faults" || head == "revoke" || head == "reset" || head == "permission":
		simkit.WriteError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed", r.Method, r.URL.Path))
	default:
		simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

func (s *Server) adminRecords(w http.ResponseWriter, tail string) {
	plural, escID, one := strings.Cut(tail, "/")
	k, found := parseKind(plural)
	if !found || (one && escID == "") {
		simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("%w %q", ErrUnknownKind, plural))
		return
	}
	if !one {
		simkit.WriteJSON(w, http.StatusOK, s.Records(kinds[k].name))
		return
	}
	id, err := url.PathUnescape(escID)
	if err != nil {
		simkit.WriteError(w, http.StatusBadRequest, fmt.Errorf("id in path: %w", err))
		return
	}
	rec, found := s.Record(kinds[k].name, id)
	if !found {
		simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("%s %s not found", kinds[k].name, id))
		return
	}
	simkit.WriteJSON(w, http.StatusOK, rec)
}

func (s *Server) adminPermission(w http.ResponseWriter, r *http.Request) {
	var pc PermissionChange
	if err := simkit.DecodeJSON(r, &pc); err != nil {
		simkit.WriteError(w, http.StatusBadRequest, err)
		return
	}
	k, err := permKind(pc.Kind)
	if err != nil {
		simkit.WriteError(w, http.StatusBadRequest, err)
		return
	}
	if pc.AllowAll {
		s.perms.clearAll()
	}
	s.perms.set(k, true, pc.Deny)
	s.perms.set(k, false, pc.Allow)
	s.logger.Info("channelsim: permissions changed", slog.String("kind", pc.Kind),
		slog.Int("denied", len(pc.Deny)), slog.Int("allowed", len(pc.Allow)), slog.Bool("allow_all", pc.AllowAll))
	simkit.WriteJSON(w, http.StatusOK, map[string][]string{"denied": s.Denied()})
}
