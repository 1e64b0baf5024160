package pointssim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Entry is one entry of a user's ledger, shaped as the seed's
// points/users/logs list.
type Entry struct {
	ID           int64   `json:"id"`
	Source       string  `json:"source"`
	RecordType   string  `json:"record_type"`
	ChangeCents  int64   `json:"change_cents"`
	AmountCents  int64   `json:"amount_cents"`
	BalanceAfter int64   `json:"balance_after"`
	Reason       string  `json:"reason"`
	Status       string  `json:"status"`
	ShortCode    *string `json:"short_code"`
	ProjectID    *int64  `json:"project_id"`
	CreatedAt    string  `json:"created_at"`
}

// Recharge is an applied recharge as the simulator received it (the
// ledger does not show external_order_id; this does).
type Recharge struct {
	EntryID         int64  `json:"entry_id"`
	ClientUserID    string `json:"client_user_id"`
	AmountCents     int64  `json:"amount_cents"`
	ExternalOrderID string `json:"external_order_id,omitempty"`
	Reason          string `json:"reason"`
	CreatedAt       string `json:"created_at"`
}

// Project is a published form, shaped as the seed's published-list item.
type Project struct {
	ShortCode string   `json:"short_code"`
	Name      string   `json:"name"`
	Industry  string   `json:"industry"`
	Icon      string   `json:"icon"`
	Tags      []string `json:"tags"`
}

func (p Project) validate() error {
	var bad []string
	if strings.TrimSpace(p.ShortCode) == "" {
		bad = append(bad, "short_code: is required")
	}
	if strings.TrimSpace(p.Name) == "" {
		bad = append(bad, "name: is required")
	}
	for _, t := range p.Tags {
		if strings.TrimSpace(t) == "" || strings.Contains(t, ",") {
			bad = append(bad, fmt.Sprintf("tags: %q must be non-empty and hold no comma", t))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// Charge is a form charging a user (a billing deduct entry), for tests
// whose ledgers hold more than recharges.
type Charge struct {
	ClientUserID string `json:"client_user_id"`
	AmountCents  int64  `json:"amount_cents"`
	Reason       string `json:"reason"`
	ShortCode    string `json:"short_code,omitempty"`
	ProjectID    int64  `json:"project_id,omitempty"`
}

// UserState is one user as State shows them.
type UserState struct {
	ClientUserID string `json:"client_user_id"`
	UserID       int64  `json:"user_id"`
	BalanceCents int64  `json:"balance_cents"`
	// Ledger is newest first.
	Ledger []Entry `json:"ledger"`
}

// State is the simulator's whole state.
type State struct {
	PoolCents int64       `json:"pool_cents"`
	Users     []UserState `json:"users"`
	Projects  []Project   `json:"projects"`
	// Recharges are the applied recharges, oldest first.
	Recharges []Recharge `json:"recharges"`
	// LiveTokens counts bearer tokens not expired nor revoked.
	LiveTokens int `json:"live_tokens"`
	// RevokedKeys counts the keys refused (the keys are not shown).
	RevokedKeys int `json:"revoked_keys"`
}

type user struct {
	clientUserID string
	userID       int64
	balance      int64
	ledger       []Entry // oldest first
}

type token struct {
	clientUserID string
	key          string
	expires      time.Time
}

// state is the mutable state; Server.mu guards it.
type state struct {
	pool        int64
	users       map[string]*user
	nextUserID  int64
	nextEntryID int64
	keys        map[string]bool // key → accepted
	tokens      map[string]token
	projects    []Project // in order of first publication
	recharges   []Recharge
}

func (st *state) init(cfg Config) {
	*st = state{
		pool:        cfg.PoolCents,
		users:       map[string]*user{},
		nextUserID:  FirstUserID,
		nextEntryID: 1,
		keys:        map[string]bool{},
		tokens:      map[string]token{},
	}
	for _, k := range cfg.APIKeys {
		st.keys[k] = true
	}
	for _, p := range cfg.Projects {
		st.publish(p)
	}
}

// user returns the user named id, creating them.
func (st *state) user(id string) *user {
	u, ok := st.users[id]
	if !ok {
		u = &user{clientUserID: id, userID: st.nextUserID}
		st.nextUserID++
		st.users[id] = u
	}
	return u
}

// append adds an entry to u's ledger, numbered and with the balance after.
func (st *state) append(u *user, e Entry) Entry {
	e.ID = st.nextEntryID
	st.nextEntryID++
	u.balance += e.ChangeCents
	e.BalanceAfter = u.balance
	u.ledger = append(u.ledger, e)
	return e
}

func (st *state) publish(p Project) {
	p.Tags = slices.Clone(p.Tags)
	if p.Tags == nil {
		p.Tags = []string{}
	}
	for i := range st.projects {
		if st.projects[i].ShortCode == p.ShortCode {
			st.projects[i] = p
			return
		}
	}
	st.projects = append(st.projects, p)
}

func newestFirst(ledger []Entry) []Entry {
	out := slices.Clone(ledger)
	slices.Reverse(out)
	return out
}

// Ledger returns the user's ledger, newest first; false for a user the
// simulator has never seen.
func (s *Server) Ledger(clientUserID string) ([]Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.state.users[clientUserID]
	if !ok {
		return nil, false
	}
	return newestFirst(u.ledger), true
}

// Balance returns the user's balance; false for a user the simulator has
// never seen.
func (s *Server) Balance(clientUserID string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.state.users[clientUserID]
	if !ok {
		return 0, false
	}
	return u.balance, true
}

// Recharges returns the applied recharges as received, oldest first.
func (s *Server) Recharges() []Recharge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.recharges)
}

// State returns a copy of the whole state; users sorted by client_user_id.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := State{PoolCents: s.state.pool, Users: []UserState{}, Recharges: slices.Clone(s.state.recharges)}
	for _, id := range slices.Sorted(maps.Keys(s.state.users)) {
		u := s.state.users[id]
		out.Users = append(out.Users, UserState{ClientUserID: id, UserID: u.userID, BalanceCents: u.balance, Ledger: newestFirst(u.ledger)})
	}
	out.Projects = s.projectsLocked()
	for _, t := range s.state.tokens {
		if now.Before(t.expires) && s.state.keys[t.key] {
			out.LiveTokens++
		}
	}
	for _, ok := range s.state.keys {
		if !ok {
			out.RevokedKeys++
		}
	}
	if out.Recharges == nil {
		out.Recharges = []Recharge{}
	}
	return out
}

// Pool returns the developer's pool balance.
func (s *Server) Pool() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.pool
}

// TopUpPool adds cents (positive) to the developer's pool, as the
// console's 充值 page does, and returns the new balance.
func (s *Server) TopUpPool(cents int64) (int64, error) {
	if cents <= 0 || cents > MaxAmountCents {
		return 0, fmt.Errorf("amount_cents: must be a positive integer up to %d, got %d", int64(MaxAmountCents), cents)
	}
	s.mu.Lock()
	s.state.pool += cents
	pool := s.state.pool
	s.mu.Unlock()
	s.logger.Info("pointssim: pool topped up", slog.Int64("amount_cents", cents), slog.Int64("pool_cents", pool))
	return pool, nil
}

// SetPool sets the developer's pool balance (0 for an empty pool).
func (s *Server) SetPool(cents int64) error {
	if cents < 0 {
		return fmt.Errorf("balance_cents: must not be negative, got %d", cents)
	}
	s.mu.Lock()
	s.state.pool = cents
	s.mu.Unlock()
	s.logger.Info("pointssim: pool set", slog.Int64("pool_cents", cents))
	return nil
}

// RevokeKey makes the simulator refuse key (401), and every bearer token
// issued with it, as a key disabled in the console. It reports whether
// the key was known.
func (s *Server) RevokeKey(key string) bool {
	s.mu.Lock()
	_, known := s.state.keys[key]
	if known {
		s.state.keys[key] = false
	}
	s.mu.Unlock()
	s.logger.Info("pointssim: key revoked", slog.Bool("known", known))
	return known
}

// RestoreKey makes the simulator accept key (again, or for the first time:
// a key generated in the console).
func (s *Server) RestoreKey(key string) error {
	if key == "" {
		return errors.New("key: is required")
	}
	s.mu.Lock()
	s.state.keys[key] = true
	s.mu.Unlock()
	s.logger.Info("pointssim: key accepted")
	return nil
}

// RevokeTokens makes every bearer token issued so far invalid (401) and
// returns how many there were.
func (s *Server) RevokeTokens() int {
	s.mu.Lock()
	n := len(s.state.tokens)
	clear(s.state.tokens)
	s.mu.Unlock()
	s.logger.Info("pointssim: tokens revoked", slog.Int("tokens", n))
	return n
}

// Publish publishes a form, or replaces the one with its short_code
// (keeping its place in the listing order).
func (s *Server) Publish(p Project) error {
	if err := p.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.state.publish(p)
	s.mu.Unlock()
	return nil
}

// Unpublish withdraws the form with shortCode; it reports whether one was
// published.
func (s *Server) Unpublish(shortCode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.state.projects {
		if s.state.projects[i].ShortCode == shortCode {
			s.state.projects = slices.Delete(s.state.projects, i, i+1)
			return true
		}
	}
	return false
}

// Projects returns the published forms in listing order.
func (s *Server) Projects() []Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projectsLocked()
}

func (s *Server) projectsLocked() []Project {
	out := make([]Project, len(s.state.projects))
	for i, p := range s.state.projects {
		p.Tags = slices.Clone(p.Tags)
		out[i] = p
	}
	return out
}

// AddCharge adds a billing deduct entry to the user's ledger (a form
// charging the user) and returns it. The user must hold the amount.
func (s *Server) AddCharge(c Charge) (Entry, error) {
	switch {
	case c.ClientUserID == "":
		return Entry{}, errors.New("client_user_id: is required")
	case c.AmountCents <= 0 || c.AmountCents > MaxAmountCents:
		return Entry{}, fmt.Errorf("amount_cents: must be a positive integer, got %d", c.AmountCents)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state.user(c.ClientUserID)
	if u.balance < c.AmountCents {
		return Entry{}, fmt.Errorf("amount_cents: user %s holds %d, less than %d", c.ClientUserID, u.balance, c.AmountCents)
	}
	e := Entry{Source: "billing", RecordType: "deduct", ChangeCents: -c.AmountCents, AmountCents: c.AmountCents,
		Reason: c.Reason, Status: "success", CreatedAt: timeText(s.now())}
	if c.ShortCode != "" {
		e.ShortCode = &c.ShortCode
	}
	if c.ProjectID != 0 {
		e.ProjectID = &c.ProjectID
	}
	return s.state.append(u, e), nil
}

// DefaultOrderPattern finds order ids in reasons written as the points
// client's ReasonFor writes them: "年终奖励 [G20261130001]".
var DefaultOrderPattern = regexp.MustCompile(`\[([^\[\]\s]+)\]`)

// DuplicateReport lists the orders credited more than once.
type DuplicateReport struct {
	// ByExternalOrderID maps an external_order_id received with more than
	// one applied recharge to how many.
	ByExternalOrderID map[string]int `json:"by_external_order_id"`
	// ByReason maps an order id found (by Pattern) in the reason of more
	// than one recharge entry to how many.
	ByReason map[string]int `json:"by_reason"`
	// Pattern is the pattern that found order ids in reasons.
	Pattern string `json:"pattern"`
}

// Duplicates reports the orders credited more than once, across all
// users: by the external_order_id received, and by the order ids pattern
// finds in the reasons of recharge entries (nil: DefaultOrderPattern; its
// first group, or the whole match without groups, is the id).
func (s *Server) Duplicates(pattern *regexp.Regexp) DuplicateReport {
	if pattern == nil {
		pattern = DefaultOrderPattern
	}
	rep := DuplicateReport{ByExternalOrderID: map[string]int{}, ByReason: map[string]int{}, Pattern: pattern.String()}
	for id, n := range s.CreditCounts(pattern) {
		if n > 1 {
			rep.ByReason[id] = n
		}
	}
	byOrder := map[string]int{}
	for _, r := range s.Recharges() {
		if r.ExternalOrderID != "" {
			byOrder[r.ExternalOrderID]++
		}
	}
	for id, n := range byOrder {
		if n > 1 {
			rep.ByExternalOrderID[id] = n
		}
	}
	return rep
}

// CreditCounts counts, across all users, the recharge entries whose
// reason holds each order id pattern finds (nil: DefaultOrderPattern); an
// id found twice in one reason counts once.
func (s *Server) CreditCounts(pattern *regexp.Regexp) map[string]int {
	if pattern == nil {
		pattern = DefaultOrderPattern
	}
	counts := map[string]int{}
	s.eachRechargeReason(func(reason string) {
		seen := map[string]bool{}
		for _, m := range pattern.FindAllStringSubmatch(reason, -1) {
			id := m[0]
			if len(m) > 1 {
				id = m[1]
			}
			if id != "" && !seen[id] {
				seen[id] = true
				counts[id]++
			}
		}
	})
	return counts
}

// CreditCountsOf counts, across all users, the recharge entries whose
// reason mentions each order id as a whole word (not glued to an ASCII
// letter, digit, '_' or '-'); every id given has a key.
func (s *Server) CreditCountsOf(orderIDs ...string) map[string]int {
	counts := make(map[string]int, len(orderIDs))
	for _, id := range orderIDs {
		counts[id] = 0
	}
	s.eachRechargeReason(func(reason string) {
		for id := range counts {
			if mentions(reason, id) {
				counts[id]++
			}
		}
	})
	return counts
}

func (s *Server) eachRechargeReason(f func(reason string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.state.users {
		for _, e := range u.ledger {
			if e.RecordType == "recharge" {
				f(e.Reason)
			}
		}
	}
}

// mentions reports whether reason holds id as a whole word.
func mentions(reason, id string) bool {
	if id == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(reason[i:], id)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(id)
		if (start == 0 || !wordByte(reason[start-1])) && (end == len(reason) || !wordByte(reason[end])) {
			return true
		}
		i = start + 1
	}
}

func wordByte(b byte) bool {
	return b == '_' || b == '-' || ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}

// Reset empties the users, ledgers, recharges, tokens, counters and
// request log, and restores the pool, the keys and the published forms of
// the Config. The faults in force are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	s.state.init(s.cfg)
	s.mu.Unlock()
	s.stats.reset()
	s.inj.Counters().Reset()
	s.reqs.Reset()
	s.logger.Info("pointssim: reset")
}

// newToken returns a fresh opaque bearer token.
func newToken() string { return "pts_" + rand.Text() }
