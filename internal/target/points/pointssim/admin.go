package pointssim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/chansync/chansync/internal/simkit"
)

// KeyChange is the body of POST {admin}/keys/revoke and /keys/restore.
type KeyChange struct {
	Key string `json:"key"`
}

// PoolChange is the body of POST {admin}/pool/topup (AmountCents) and
// /pool/set (BalanceCents).
type PoolChange struct {
	AmountCents  *int64 `json:"amount_cents,omitempty"`
	BalanceCents *int64 `json:"balance_cents,omitempty"`
}

// Unpublishing is the body of POST {admin}/unpublish.
type Unpublishing struct {
	ShortCode string `json:"short_code"`
}

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
		_, _ = w.Write([]byte(s.Summary(10)))
	case path == "ledger" && get:
		id := r.URL.Query().Get("client_user_id")
		ledger, found := s.Ledger(id)
		if !found {
			simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("no user %q", id))
			return
		}
		simkit.WriteJSON(w, http.StatusOK, ledger)
	case path == "duplicates" && get:
		pattern, err := adminPattern(r)
		if err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.Duplicates(pattern))
	case path == "credits" && get:
		if orders := r.URL.Query()["order"]; len(orders) > 0 {
			simkit.WriteJSON(w, http.StatusOK, s.CreditCountsOf(orders...))
			return
		}
		pattern, err := adminPattern(r)
		if err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.CreditCounts(pattern))
	case path == "requests" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Requests())
	case path == "faults" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case path == "faults" && post:
		var f Faults
		if !decode(w, r, &f) {
			return
		}
		if err := s.SetFaults(f); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case path == "pool" && get:
		simkit.WriteJSON(w, http.StatusOK, map[string]int64{"balance_cents": s.Pool()})
	case path == "pool/topup" && post:
		var pc PoolChange
		if !decode(w, r, &pc) {
			return
		}
		if pc.AmountCents == nil || pc.BalanceCents != nil {
			simkit.WriteError(w, http.StatusBadRequest, fmt.Errorf("pool/topup: want {\"amount_cents\": N}"))
			return
		}
		if _, err := s.TopUpPool(*pc.AmountCents); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]int64{"balance_cents": s.Pool()})
	case path == "pool/set" && post:
		var pc PoolChange
		if !decode(w, r, &pc) {
			return
		}
		if pc.BalanceCents == nil || pc.AmountCents != nil {
			simkit.WriteError(w, http.StatusBadRequest, fmt.Errorf("pool/set: want {\"balance_cents\": N}"))
			return
		}
		if err := s.SetPool(*pc.BalanceCents); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]int64{"balance_cents": s.Pool()})
	case path == "keys/revoke" && post:
		var kc KeyChange
		if !decode(w, r, &kc) {
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"known": s.RevokeKey(kc.Key)})
	case path == "keys/restore" && post:
		var kc KeyChange
		if !decode(w, r, &kc) {
			return
		}
		if err := s.RestoreKey(kc.Key); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"accepted": true})
	case path == "tokens/revoke" && post:
		simkit.WriteJSON(w, http.StatusOK, map[string]int{"revoked": s.RevokeTokens()})
	case path == "publish" && post:
		var p Project
		if !decode(w, r, &p) {
			return
		}
		if err := s.Publish(p); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.Projects())
	case path == "unpublish" && post:
		var u Unpublishing
		if !decode(w, r, &u) {
			return
		}
		if !s.Unpublish(u.ShortCode) {
			simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("no published form %q", u.ShortCode))
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.Projects())
	case path == "charge" && post:
		var c Charge
		if !decode(w, r, &c) {
			return
		}
		e, err := s.AddCharge(c)
		if err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, e)
	case path == "reset" && post:
		s.Reset()
		simkit.WriteJSON(w, http.StatusOK, map[string]bool{"reset": true})
	case isAdminPath(path):
		simkit.WriteError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed", r.Method, r.URL.Path))
	default:
		simkit.WriteError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := simkit.DecodeJSON(r, v); err != nil {
		simkit.WriteError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

// adminPattern reads the optional pattern parameter (nil: the default).
func adminPattern(r *http.Request) (*regexp.Regexp, error) {
	p := r.URL.Query().Get("pattern")
	if p == "" {
		return nil, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	return re, nil
}

func isAdminPath(p string) bool {
	switch p {
	case "stats", "state", "summary", "ledger", "duplicates", "credits", "requests", "faults", "pool", "pool/topup", "pool/set",
		"keys/revoke", "keys/restore", "tokens/revoke", "publish", "unpublish", "charge", "reset":
		return true
	}
	return false
}

// Summary renders what the simulator holds for a person to read: the pool,
// the recharges, and up to n users with their balances.
func (s *Server) Summary(n int) string {
	st := s.State()
	var b strings.Builder
	fmt.Fprintf(&b, "pool %d cents, %d recharges, %d users\n", st.PoolCents, len(st.Recharges), len(st.Users))
	for i, u := range st.Users {
		if i == n {
			fmt.Fprintf(&b, "  … and %d more users\n", len(st.Users)-n)
			break
		}
		fmt.Fprintf(&b, "  user %-14s balance %8d cents, %d ledger entries\n", u.ClientUserID, u.BalanceCents, len(u.Ledger))
	}
	return b.String()
}
