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
	case path == "summary" && get:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(s.Summary(5)))
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
	case "stats", "state", "summary", "duplicates", "requests", "faults", "revoke", "restore", "reset", "accounts", "groups":
		return true
	}
	return false
}

// Summary renders what the simulator holds for a person to read: the
// counts, and up to n accounts, groups and memberships.
func (s *Server) Summary(n int) string {
	st := s.State()
	var b strings.Builder
	fmt.Fprintf(&b, "%d accounts, %d groups, %d memberships\n", len(st.Accounts), len(st.Groups), len(st.Memberships))
	users := map[string]Account{}
	for _, a := range st.Accounts {
		users[a.ID] = a
	}
	groups := map[string]Group{}
	for _, g := range st.Groups {
		groups[g.ID] = g
	}
	for i, a := range st.Accounts {
		if i == n {
			fmt.Fprintf(&b, "  … and %d more accounts\n", len(st.Accounts)-n)
			break
		}
		fmt.Fprintf(&b, "  account %-14s name %-8v enabled %-5v sys_attrs.channel_user_id %v\n", a.Username, a.SysAttrs["name"], a.Enable, a.SysAttrs["channel_user_id"])
	}
	for i, g := range st.Groups {
		if i == n {
			fmt.Fprintf(&b, "  … and %d more groups\n", len(st.Groups)-n)
			break
		}
		fmt.Fprintf(&b, "  group   %-24s type %-8s attrs.channel_company_id %v, %d members\n", g.Name, g.Type, g.Attrs["channel_company_id"], len(g.Members))
	}
	for i, m := range st.Memberships {
		if i == n {
			fmt.Fprintf(&b, "  … and %d more memberships\n", len(st.Memberships)-n)
			break
		}
		fmt.Fprintf(&b, "  member  %-14s of %s\n", users[m.UserID].Username, groups[m.GroupID].Name)
	}
	return b.String()
}
