package channelsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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
		adminJSON(w, http.StatusOK, s.Stats())
	case head == "records" && get:
		s.adminRecords(w, tail)
	case head == "requests" && tail == "" && get:
		adminJSON(w, http.StatusOK, s.Requests())
	case head == "faults" && tail == "" && get:
		adminJSON(w, http.StatusOK, s.Faults())
	case head == "faults" && tail == "" && post:
		var f Faults
		if err := decodeAdmin(r, &f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetFaults(f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		adminJSON(w, http.StatusOK, s.Faults())
	case head == "revoke" && tail == "" && post:
		s.RevokeAllTokens()
		adminJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	case head == "reset" && tail == "" && post:
		s.Reset()
		adminJSON(w, http.StatusOK, map[string]bool{"reset": true})
	case head == "permission" && tail == "" && get:
		adminJSON(w, http.StatusOK, map[string][]string{"denied": s.Denied()})
	case head == "permission" && tail == "" && post:
		s.adminPermission(w, r)
	case head == "stats" || head == "records" || head == "requests" || head == "faults" || head == "revoke" || head == "reset" || head == "permission":
		adminError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed", r.Method, r.URL.Path))
	default:
		adminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

func (s *Server) adminRecords(w http.ResponseWriter, tail string) {
	plural, escID, one := strings.Cut(tail, "/")
	k, found := parseKind(plural)
	if !found || (one && escID == "") {
		adminError(w, http.StatusNotFound, fmt.Errorf("%w %q", ErrUnknownKind, plural))
		return
	}
	if !one {
		adminJSON(w, http.StatusOK, s.Records(kinds[k].name))
		return
	}
	id, err := url.PathUnescape(escID)
	if err != nil {
		adminError(w, http.StatusBadRequest, fmt.Errorf("id in path: %w", err))
		return
	}
	rec, found := s.Record(kinds[k].name, id)
	if !found {
		adminError(w, http.StatusNotFound, fmt.Errorf("%s %s not found", kinds[k].name, id))
		return
	}
	adminJSON(w, http.StatusOK, rec)
}

func (s *Server) adminPermission(w http.ResponseWriter, r *http.Request) {
	var pc PermissionChange
	if err := decodeAdmin(r, &pc); err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	k, err := permKind(pc.Kind)
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	if pc.AllowAll {
		s.perms.clearAll()
	}
	s.perms.set(k, true, pc.Deny)
	s.perms.set(k, false, pc.Allow)
	s.logger.Info("channelsim: permissions changed", slog.String("kind", pc.Kind),
		slog.Int("denied", len(pc.Deny)), slog.Int("allowed", len(pc.Allow)), slog.Bool("allow_all", pc.AllowAll))
	adminJSON(w, http.StatusOK, map[string][]string{"denied": s.Denied()})
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %s body: %w", r.URL.Path, err)
	}
	return nil
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		adminError(w, http.StatusInternalServerError, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func adminError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()}) // a string map always encodes
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
