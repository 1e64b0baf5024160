package ucsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// counters are the live counters of a Server.
type counters struct {
	requests     atomic.Int64
	unauthorized atomic.Int64
	mu           sync.Mutex
	endpoints    map[string]*EndpointStats
}

func (c *counters) init() {
	c.mu.Lock()
	c.endpoints = map[string]*EndpointStats{}
	c.mu.Unlock()
	c.requests.Store(0)
	c.unauthorized.Store(0)
}

func (c *counters) endpoint(name string) *EndpointStats {
	e := c.endpoints[name]
	if e == nil {
		e = &EndpointStats{Refused: map[string]int64{}}
		c.endpoints[name] = e
	}
	return e
}

func (c *counters) ok(name string) {
	c.mu.Lock()
	c.endpoint(name).OK++
	c.mu.Unlock()
}

func (c *counters) refused(name, code string) {
	c.mu.Lock()
	c.endpoint(name).Refused[code]++
	c.mu.Unlock()
}

// EndpointStats counts the answers of one endpoint that reached its
// handler with a good token.
type EndpointStats struct {
	// OK counts successes (even if the answer was then lost).
	OK int64 `json:"ok"`
	// Refused counts the failures the simulator itself answered, by
	// envelope code (PARAM_ERROR, USERNAME_EXISTS, ...). Injected faults
	// are in Stats.Faults instead.
	Refused map[string]int64 `json:"refused"`
}

// Stats is a snapshot of the simulator's counters.
type Stats struct {
	// Requests counts every request under the API prefix, faults included.
	Requests int64 `json:"requests"`
	// Unauthorized counts the requests refused for their token (HTTP 401).
	Unauthorized int64 `json:"unauthorized"`
	// Endpoints holds the counters of each endpoint, by name
	// ("create-user", ...).
	Endpoints map[string]EndpointStats `json:"endpoints"`
	// Faults counts injected faults by name (simkit.FaultDropAfter, ...).
	Faults map[string]int64 `json:"faults"`
	// Accounts, Groups and Memberships are the current sizes of the state.
	Accounts    int `json:"accounts"`
	Groups      int `json:"groups"`
	Memberships int `json:"memberships"`
}

// Calls returns the successes of an endpoint.
func (st Stats) Calls(endpoint string) int64 { return st.Endpoints[endpoint].OK }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	out := Stats{
		Requests:     s.stats.requests.Load(),
		Unauthorized: s.stats.unauthorized.Load(),
		Endpoints:    map[string]EndpointStats{},
		Faults:       s.inj.Counters().Snapshot(),
	}
	s.stats.mu.Lock()
	for name, e := range s.stats.endpoints {
		cp := EndpointStats{OK: e.OK, Refused: make(map[string]int64, len(e.Refused))}
		for k, v := range e.Refused {
			cp.Refused[k] = v
		}
		out.Endpoints[name] = cp
	}
	s.stats.mu.Unlock()
	s.mu.RLock()
	out.Accounts, out.Groups = len(s.store.accounts), len(s.store.groups)
	for _, m := range s.store.members {
		out.Memberships += len(m)
	}
	s.mu.RUnlock()
	return out
}

// Request is one entry of the request log (Config.RecordRequests). It
// never holds a body or a token.
type Request struct {
	// Time is when the answer was decided (Config.NowFunc).
	Time time.Time `json:"time"`
	// Method and Path are the request's, Path as sent (escaped).
	Method string `json:"method"`
	Path   string `json:"path"`
	// Endpoint is the endpoint's name; "" for an unknown route.
	Endpoint string `json:"endpoint,omitempty"`
	// ID names the account or group created or targeted, when known.
	ID string `json:"id,omitempty"`
	// Status is the HTTP status; 0 when the connection was closed without
	// an answer.
	Status int `json:"status"`
	// Code is the envelope's code of a failure.
	Code string `json:"code,omitempty"`
	// Applied reports that the request changed the state, even if its
	// answer was then lost.
	Applied bool `json:"applied"`
	// Fault names the injected fault, if any.
	Fault string `json:"fault,omitempty"`
}

func (s *Server) logRequest(r *http.Request, rep *reply) {
	req := Request{
		Time: s.now(), Method: r.Method, Path: r.URL.EscapedPath(), Endpoint: rep.endpoint, ID: rep.id,
		Status: rep.Status, Code: rep.code, Applied: rep.applied, Fault: rep.Fault,
	}
	if rep.Drop || rep.Gone {
		req.Status, req.Code = 0, ""
	}
	if s.cfg.RecordRequests {
		s.reqs.Add(req)
	}
	if s.cfg.LogRequests {
		s.logger.Debug("ucsim: request", slog.String("method", req.Method), slog.String("path", req.Path),
			slog.Int("status", req.Status), slog.String("code", req.Code), slog.Bool("applied", req.Applied),
			slog.String("fault", req.Fault))
	}
}

// Requests returns a copy of the request log, oldest first; empty unless
// Config.RecordRequests is set.
func (s *Server) Requests() []Request { return s.reqs.All() }

// Account is an account as tests see it: copies, safe to keep.
type Account struct {
	ID       string         `json:"id"`
	Username string         `json:"username"`
	Type     string         `json:"type"`
	Attrs    map[string]any `json:"attrs"`
	// SysAttrs is nil when none were ever set.
	SysAttrs map[string]any `json:"sys_attrs"`
	Enable   bool           `json:"enable"`
	Roles    []string       `json:"roles"`
	Created  time.Time      `json:"created"`
	// Modified is zero until the account changed after its creation.
	Modified time.Time `json:"modified"`
	// PasswordLen is the length of the password it was created with, in
	// characters; PasswordSHA256 its SHA-256 in hex (the password itself is
	// not kept).
	PasswordLen    int    `json:"password_len"`
	PasswordSHA256 string `json:"password_sha256"`
}

func exportAccount(a *account) Account {
	return Account{
		ID: a.id, Username: a.username, Type: a.typ, Attrs: copyMap(a.attrs), SysAttrs: copyMap(a.sysAttrs),
		Enable: a.enable, Roles: slices.Clone(a.roles), Created: a.created, Modified: a.modified,
		PasswordLen: a.passwordLen, PasswordSHA256: a.passwordHash,
	}
}

// Group is a group as tests see it.
type Group struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Desc   string         `json:"desc"`
	Parent string         `json:"parent"`
	Order  float64        `json:"order"`
	Attrs  map[string]any `json:"attrs"`
	// Members are the ids of the member accounts, in creation order.
	Members  []string  `json:"members"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

func (st *store) exportGroup(g *group) Group {
	out := Group{
		ID: g.id, Name: g.name, Type: g.typ, Desc: g.desc, Parent: g.parent, Order: g.order,
		Attrs: copyMap(g.attrs), Members: []string{}, Created: g.created, Modified: g.modified,
	}
	for _, a := range st.sortedAccounts() {
		if _, in := st.members[g.id][a.id]; in {
			out.Members = append(out.Members, a.id)
		}
	}
	return out
}

// Membership is one account's membership of one group.
type Membership struct {
	GroupID string `json:"group_id"`
	UserID  string `json:"user_id"`
}

// Role is a role as tests see it.
type Role struct {
	Code  string  `json:"code"`
	Name  string  `json:"name"`
	Desc  string  `json:"desc"`
	Order float64 `json:"order"`
}

// State is everything the simulator holds.
type State struct {
	Accounts    []Account    `json:"accounts"`
	Groups      []Group      `json:"groups"`
	Memberships []Membership `json:"memberships"`
	Roles       []Role       `json:"roles"`
}

// Accounts returns every account, in creation order.
func (s *Server) Accounts() []Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Account{}
	for _, a := range s.store.sortedAccounts() {
		out = append(out, exportAccount(a))
	}
	return out
}

// Account returns the account with the id.
func (s *Server) Account(id string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.store.accounts[id]
	if a == nil {
		return Account{}, false
	}
	return exportAccount(a), true
}

// AccountByUsername returns the account with the username.
func (s *Server) AccountByUsername(username string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.store.byUsername[username]
	if a == nil {
		return Account{}, false
	}
	return exportAccount(a), true
}

// AccountsBySysAttr returns the accounts whose sys_attrs[key] is value
// (a string, or anything else compared as JSON), in creation order.
func (s *Server) AccountsBySysAttr(key string, value any) []Account {
	want := normalize(value)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Account{}
	for _, a := range s.store.sortedAccounts() {
		if v, ok := lookupPath(a.sysAttrs, key); ok && sameValue(v, want) {
			out = append(out, exportAccount(a))
		}
	}
	return out
}

// Groups returns every group, by order then creation.
func (s *Server) Groups() []Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Group{}
	for _, g := range s.store.sortedGroups(nil) {
		out = append(out, s.store.exportGroup(g))
	}
	return out
}

// Group returns the group with the id.
func (s *Server) Group(id string) (Group, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.store.groups[id]
	if g == nil {
		return Group{}, false
	}
	return s.store.exportGroup(g), true
}

// GroupsByAttr returns the groups whose attrs[key] is value, by order then
// creation.
func (s *Server) GroupsByAttr(key string, value any) []Group {
	want := normalize(value)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Group{}
	for _, g := range s.store.sortedGroups(func(g *group) bool {
		v, ok := lookupPath(g.attrs, key)
		return ok && sameValue(v, want)
	}) {
		out = append(out, s.store.exportGroup(g))
	}
	return out
}

// Memberships returns every membership, sorted by group id then user id.
func (s *Server) Memberships() []Membership {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Membership{}
	for gid, m := range s.store.members {
		for uid := range m {
			out = append(out, Membership{GroupID: gid, UserID: uid})
		}
	}
	slices.SortFunc(out, func(a, b Membership) int {
		if c := strings.Compare(a.GroupID, b.GroupID); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out
}

// Roles returns every role, by order then code.
func (s *Server) Roles() []Role {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Role{}
	for _, r := range s.store.sortedRoles() {
		out = append(out, Role{Code: r.code, Name: r.name, Desc: r.desc, Order: r.order})
	}
	return out
}

// State returns everything the simulator holds.
func (s *Server) State() State {
	return State{Accounts: s.Accounts(), Groups: s.Groups(), Memberships: s.Memberships(), Roles: s.Roles()}
}

// The keys Duplicates groups by.
const (
	// DuplicateUserKey is the system attribute that identifies chansync's
	// accounts.
	DuplicateUserKey = "channel_user_id"
	// DuplicateGroupKey is the attribute that identifies chansync's
	// company groups.
	DuplicateGroupKey = "channel_company_id"
)

// DuplicateReport lists what the sync must never cause: several accounts
// with one sys_attrs.channel_user_id, several groups with one
// attrs.channel_company_id.
type DuplicateReport struct {
	// Accounts maps a channel_user_id held by more than one account to
	// those accounts' ids, in creation order. A non-string value is keyed
	// by its JSON.
	Accounts map[string][]string `json:"accounts"`
	// Groups maps a channel_company_id held by more than one group to
	// those groups' ids, in creation order.
	Groups map[string][]string `json:"groups"`
}

// Empty reports whether there are no duplicates.
func (r DuplicateReport) Empty() bool { return len(r.Accounts) == 0 && len(r.Groups) == 0 }

// Duplicates reports the accounts sharing a channel_user_id and the
// groups sharing a channel_company_id.
func (s *Server) Duplicates() DuplicateReport {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := DuplicateReport{Accounts: map[string][]string{}, Groups: map[string][]string{}}
	for _, a := range s.store.sortedAccounts() {
		if v, ok := a.sysAttrs[DuplicateUserKey]; ok {
			k := valueKey(v)
			out.Accounts[k] = append(out.Accounts[k], a.id)
		}
	}
	groups := s.store.sortedGroups(nil)
	slices.SortFunc(groups, func(a, b *group) int { return cmpU64(a.seq, b.seq) })
	for _, g := range groups {
		if v, ok := g.attrs[DuplicateGroupKey]; ok {
			k := valueKey(v)
			out.Groups[k] = append(out.Groups[k], g.id)
		}
	}
	for _, m := range []map[string][]string{out.Accounts, out.Groups} {
		for k, ids := range m {
			if len(ids) < 2 {
				delete(m, k)
			}
		}
	}
	return out
}

// AccountSeed is an account to insert directly (InsertAccount), such as a
// stranger's account whose username the sync will find taken.
type AccountSeed struct {
	// Username is required and must be free.
	Username string `json:"username"`
	// Password defaults to a fixed text.
	Password string `json:"password,omitempty"`
	// Type is "MEMBER" (default) or "ADMIN".
	Type string `json:"type,omitempty"`
	// Attrs and SysAttrs are stored as given (JSON-encodable values).
	Attrs    map[string]any `json:"attrs,omitempty"`
	SysAttrs map[string]any `json:"sys_attrs,omitempty"`
	// Disabled creates the account disabled.
	Disabled bool `json:"disabled,omitempty"`
}

// ErrSeed is wrapped by the errors of InsertAccount and InsertGroup.
var ErrSeed = errors.New("ucsim: bad seed")

// InsertAccount stores an account as create-user would, without HTTP,
// token or faults (counted nowhere), and returns it.
func (s *Server) InsertAccount(seed AccountSeed) (Account, error) {
	if seed.Username == "" {
		return Account{}, fmt.Errorf("%w: username is required", ErrSeed)
	}
	if seed.Type == "" {
		seed.Type = "MEMBER"
	}
	if seed.Type != "MEMBER" && seed.Type != "ADMIN" {
		return Account{}, fmt.Errorf("%w: type %q: want MEMBER or ADMIN", ErrSeed, seed.Type)
	}
	if seed.Password == "" {
		seed.Password = "ucsim-seeded-password"
	}
	attrs, err := normalizeMap(seed.Attrs)
	if err != nil {
		return Account{}, fmt.Errorf("%w: attrs: %w", ErrSeed, err)
	}
	sysAttrs, err := normalizeMap(seed.SysAttrs)
	if err != nil {
		return Account{}, fmt.Errorf("%w: sys_attrs: %w", ErrSeed, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store.byUsername[seed.Username] != nil {
		return Account{}, fmt.Errorf("%w: username %s already exists", ErrSeed, seed.Username)
	}
	a := s.newAccount(seed.Username, seed.Password, seed.Type, attrs, sysAttrs)
	a.enable = !seed.Disabled
	s.store.addAccount(a, s.now())
	return exportAccount(a), nil
}

// GroupSeed is a group to insert directly (InsertGroup).
type GroupSeed struct {
	// Name is required and may not contain "/".
	Name string `json:"name"`
	// Type defaults to "dept".
	Type   string         `json:"type,omitempty"`
	Desc   string         `json:"desc,omitempty"`
	Parent string         `json:"parent,omitempty"`
	Order  float64        `json:"order,omitempty"`
	Attrs  map[string]any `json:"attrs,omitempty"`
	// Members are account ids to add.
	Members []string `json:"members,omitempty"`
}

// InsertGroup stores a group as create-group would (plus its members),
// without HTTP, token or faults, and returns it.
func (s *Server) InsertGroup(seed GroupSeed) (Group, error) {
	if seed.Type == "" {
		seed.Type = "dept"
	}
	switch {
	case seed.Name == "":
		return Group{}, fmt.Errorf("%w: name is required", ErrSeed)
	case strings.Contains(seed.Name, "/") || strings.Contains(seed.Type, "/"):
		return Group{}, fmt.Errorf("%w: name and type must not contain \"/\"", ErrSeed)
	}
	attrs, err := normalizeMap(seed.Attrs)
	if err != nil {
		return Group{}, fmt.Errorf("%w: attrs: %w", ErrSeed, err)
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if seed.Parent != "" && s.store.groups[seed.Parent] == nil {
		return Group{}, fmt.Errorf("%w: parent group %s not found", ErrSeed, seed.Parent)
	}
	for _, id := range seed.Members {
		if s.store.accounts[id] == nil {
			return Group{}, fmt.Errorf("%w: member %s not found", ErrSeed, id)
		}
	}
	g := &group{name: seed.Name, typ: seed.Type, desc: seed.Desc, parent: seed.Parent, order: seed.Order, attrs: attrs}
	s.store.addGroup(g, s.now())
	if len(seed.Members) > 0 {
		m := map[string]struct{}{}
		for _, id := range seed.Members {
			m[id] = struct{}{}
		}
		s.store.members[g.id] = m
	}
	return s.store.exportGroup(g), nil
}

// normalizeMap turns Go values into what a decoded request holds (numbers
// as json.Number) by a JSON round trip.
func normalizeMap(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

// normalize is normalizeMap for one value (an unencodable one never
// matches).
func normalize(v any) any {
	m, err := normalizeMap(map[string]any{"v": v})
	if err != nil {
		return struct{}{}
	}
	return m["v"]
}

// Reset empties the user centre: accounts, groups, memberships, roles, the
// id sequence, the counters and the request log. Faults and Revoke are
// kept.
func (s *Server) Reset() {
	s.mu.Lock()
	s.store.init()
	s.mu.Unlock()
	s.stats.init()
	s.inj.Counters().Reset()
	s.reqs.Reset()
	s.logger.Info("ucsim: reset")
}
