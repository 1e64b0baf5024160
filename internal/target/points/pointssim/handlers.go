package pointssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// endpoint describes one API endpoint.
type endpoint struct {
	name       Endpoint
	method     string
	handleFunc func(s *Server, r *http.Request, rep *reply)
}

// endpoints maps the path below the prefix to its endpoint.
var endpoints = map[string]endpoint{
	"apikeys/token":           {EndpointToken, http.MethodPost, (*Server).handleToken},
	"projects/published-tags": {EndpointPublishedTags, http.MethodGet, (*Server).handlePublishedTags},
	"projects/published-list": {EndpointPublishedList, http.MethodGet, (*Server).handlePublishedList},
	"points/users/balance":    {EndpointBalance, http.MethodGet, (*Server).handleBalance},
	"points/users/recharge":   {EndpointRecharge, http.MethodPost, (*Server).handleRecharge},
	"points/users/logs":       {EndpointLogs, http.MethodGet, (*Server).handleLogs},
}

// checkKey checks the X-API-Key header; it returns the key, or fills rep
// with a 401.
func (s *Server) checkKey(r *http.Request, rep *reply) (string, bool) {
	vals := r.Header.Values("X-API-Key")
	msg := ""
	switch {
	case len(vals) == 0 || vals[0] == "":
		msg = "X-API-Key header is required"
	case len(vals) > 1:
		msg = "X-API-Key header given more than once"
	}
	if msg == "" {
		s.mu.Lock()
		accepted, known := s.state.keys[vals[0]]
		s.mu.Unlock()
		switch {
		case !known:
			msg = "API key is invalid"
		case !accepted:
			msg = "API key is disabled"
		}
	}
	if msg != "" {
		s.stats.authFailure()
		fail(rep, http.StatusUnauthorized, msg)
		return "", false
	}
	return vals[0], true
}

// checkBearer checks the Authorization header of a project call; it
// returns the token's user, or fills rep with a 401.
func (s *Server) checkBearer(r *http.Request, rep *reply) (string, bool) {
	if r.Header.Get("X-API-Key") != "" {
		s.stats.keyOnBearerCall()
	}
	h := r.Header.Values("Authorization")
	msg := ""
	var tok token
	switch {
	case len(h) == 0 || h[0] == "":
		msg = "Authorization: Bearer <access_token> is required"
	case len(h) > 1:
		msg = "Authorization header given more than once"
	case !strings.HasPrefix(h[0], "Bearer ") || strings.TrimSpace(h[0][len("Bearer "):]) == "":
		msg = "Authorization must be \"Bearer <access_token>\""
	default:
		s.mu.Lock()
		t, found := s.state.tokens[h[0][len("Bearer "):]]
		accepted := s.state.keys[t.key]
		s.mu.Unlock()
		switch {
		case !found:
			msg = "access token is invalid"
		case !accepted:
			msg = "access token was issued with an API key that is disabled"
		case !s.now().Before(t.expires):
			msg = "access token has expired"
		}
		tok = t
	}
	if msg != "" {
		s.stats.authFailure()
		fail(rep, http.StatusUnauthorized, msg)
		return "", false
	}
	return tok.clientUserID, true
}

// fields reads a request's JSON object or query field by field, noting
// every problem.
type fields struct {
	raw      map[string]json.RawMessage
	problems []string
}

func (f *fields) bad(name, rule string) { f.problems = append(f.problems, name+": "+rule) }

// failed fills rep with a 400 naming every problem, if there are any.
func (f *fields) failed(rep *reply) bool {
	if len(f.problems) == 0 {
		return false
	}
	fail(rep, http.StatusBadRequest, strings.Join(f.problems, "; "))
	return true
}

// only notes every field not in allowed as unknown.
func (f *fields) only(allowed ...string) {
	for _, k := range slices.Sorted(maps.Keys(f.raw)) {
		if !slices.Contains(allowed, k) {
			f.bad(k, "unknown field")
		}
	}
}

// jsonType names the JSON type of a raw value.
func jsonType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// str reads a string field. A required one must not be blank; an optional
// one, when present, must not be empty either (omit it instead).
func (f *fields) str(name string, required bool) string {
	raw, present := f.raw[name]
	switch {
	case !present && required:
		f.bad(name, "is required")
		return ""
	case !present:
		return ""
	case jsonType(raw) == "null":
		f.bad(name, "must not be null (omit it instead)")
		return ""
	case jsonType(raw) != "string":
		f.bad(name, "must be a string, not "+jsonType(raw))
		return ""
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		f.bad(name, "must be a valid JSON string")
		return ""
	}
	switch {
	case required && strings.TrimSpace(v) == "":
		f.bad(name, "is required and must not be blank")
	case v == "":
		f.bad(name, "must not be empty (omit it instead)")
	}
	return v
}

// positiveInt reads a required positive integer: a JSON number literal of
// digits only (no sign, fraction or exponent), at most MaxAmountCents.
func (f *fields) positiveInt(name string) int64 {
	raw, present := f.raw[name]
	switch {
	case !present:
		f.bad(name, "is required")
		return 0
	case jsonType(raw) == "null":
		f.bad(name, "must not be null")
		return 0
	case jsonType(raw) != "number":
		f.bad(name, "must be a number (a positive integer), not "+jsonType(raw))
		return 0
	}
	lit := string(bytes.TrimSpace(raw))
	return positiveIntText(f, name, lit, MaxAmountCents)
}

// positiveIntText checks that lit is a positive integer in digits, at most
// limit.
func positiveIntText(f *fields, name, lit string, limit int64) int64 {
	if lit == "" || strings.Trim(lit, "0123456789") != "" {
		f.bad(name, fmt.Sprintf("must be a positive integer (digits only, no sign, fraction or exponent), got %s", quoteShort(lit)))
		return 0
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	switch {
	case err != nil || n > limit:
		f.bad(name, fmt.Sprintf("must be at most %d, got %s", limit, quoteShort(lit)))
		return 0
	case n == 0:
		f.bad(name, "must be a positive integer, got 0")
		return 0
	}
	return n
}

// quoteShort quotes s, cut to 40 bytes.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

// readBody reads and parses a request body as one JSON object. A problem
// fills rep and returns nil.
func (s *Server) readBody(r *http.Request, rep *reply) *fields {
	b, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	switch {
	case err != nil:
		fail(rep, http.StatusBadRequest, "body: "+err.Error())
		return nil
	case int64(len(b)) > s.cfg.MaxBodyBytes:
		fail(rep, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", s.cfg.MaxBodyBytes))
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(rep, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return nil
	}
	f := &fields{}
	if len(bytes.TrimSpace(b)) == 0 {
		fail(rep, http.StatusBadRequest, "body: a JSON object is required")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f.raw); err != nil {
		fail(rep, http.StatusBadRequest, "body: not a JSON object: "+err.Error())
		return nil
	}
	if dec.More() {
		fail(rep, http.StatusBadRequest, "body: more than one JSON value")
		return nil
	}
	if f.raw == nil {
		fail(rep, http.StatusBadRequest, "body: a JSON object is required, not null")
		return nil
	}
	return f
}

// query reads the query parameters, noting unknown and repeated ones.
// A query that does not parse fills rep and returns nil.
func query(r *http.Request, rep *reply, allowed ...string) (url.Values, *fields) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fail(rep, http.StatusBadRequest, "query: "+err.Error())
		return nil, nil
	}
	f := &fields{}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch {
		case !slices.Contains(allowed, k):
			f.bad(k, "unknown query parameter")
		case len(q[k]) > 1:
			f.bad(k, "given more than once")
		}
	}
	return q, f
}

// queryPositive reads an optional positive integer parameter; def when
// absent.
func queryPositive(q url.Values, f *fields, name string, def int, limit int64) int {
	if !q.Has(name) {
		return def
	}
	return int(positiveIntText(f, name, q.Get(name), limit))
}

// queryUser reads the required client_user_id parameter.
func queryUser(q url.Values, f *fields) string {
	v := q.Get("client_user_id")
	if strings.TrimSpace(v) == "" {
		f.bad("client_user_id", "is required and must not be blank")
	}
	return v
}

func (s *Server) handleToken(r *http.Request, rep *reply) {
	key, ok := s.checkKey(r, rep)
	if !ok {
		return
	}
	f := s.readBody(r, rep)
	if f == nil {
		return
	}
	f.only("client_user_id")
	cid := f.str("client_user_id", true)
	if f.failed(rep) {
		return
	}
	rep.clientUserID = cid
	tok := newToken()
	ttl := s.cfg.TokenTTL
	s.mu.Lock()
	s.state.user(cid)
	s.state.tokens[tok] = token{clientUserID: cid, key: key, expires: s.now().Add(ttl)}
	s.mu.Unlock()
	s.stats.tokenIssued()
	rep.applied = true
	succeed(rep, map[string]any{"access_token": tok, "expires_in": int64(math.Ceil(ttl.Seconds()))})
}

func (s *Server) handlePublishedTags(r *http.Request, rep *reply) {
	if _, ok := s.checkBearer(r, rep); !ok {
		return
	}
	_, f := query(r, rep)
	if f == nil || f.failed(rep) {
		return
	}
	set := map[string]bool{}
	for _, p := range s.Projects() {
		for _, t := range p.Tags {
			set[t] = true
		}
	}
	list := make([]string, 0, len(set))
	for t := range set {
		list = append(list, t)
	}
	slices.Sort(list)
	succeed(rep, map[string]any{"list": list})
}

func (s *Server) handlePublishedList(r *http.Request, rep *reply) {
	if _, ok := s.checkBearer(r, rep); !ok {
		return
	}
	q, f := query(r, rep, "tags", "limit")
	if f == nil {
		return
	}
	var tags []string
	if q.Has("tags") {
		for _, t := range strings.Split(q.Get("tags"), ",") {
			if t = strings.TrimSpace(t); t == "" {
				f.bad("tags", "must be comma-separated non-empty tags, got "+quoteShort(q.Get("tags")))
				break
			}
			tags = append(tags, strings.ToLower(t))
		}
	}
	limit := queryPositive(q, f, "limit", 0, math.MaxInt32)
	if f.failed(rep) {
		return
	}
	all := s.Projects()
	var matched, others []Project
	for _, p := range all {
		if len(tags) == 0 || matchesAny(p, tags) {
			matched = append(matched, p)
		} else {
			others = append(others, p)
		}
	}
	list := matched
	if limit > 0 {
		list = append(matched, others...)[:min(limit, len(all))]
	}
	if list == nil {
		list = []Project{}
	}
	succeed(rep, map[string]any{"list": list, "total": len(list)})
}

// matchesAny reports whether one of p's tags contains one of the (lower
// case) query tags.
func matchesAny(p Project, tags []string) bool {
	for _, have := range p.Tags {
		have = strings.ToLower(have)
		for _, want := range tags {
			if strings.Contains(have, want) {
				return true
			}
		}
	}
	return false
}

func (s *Server) handleBalance(r *http.Request, rep *reply) {
	if _, ok := s.checkKey(r, rep); !ok {
		return
	}
	q, f := query(r, rep, "client_user_id")
	if f == nil {
		return
	}
	cid := queryUser(q, f)
	if f.failed(rep) {
		return
	}
	rep.clientUserID = cid
	s.mu.Lock()
	u := s.state.user(cid)
	data := map[string]any{"client_user_id": cid, "user_id": u.userID, "balance_cents": u.balance}
	s.mu.Unlock()
	succeed(rep, data)
}

func (s *Server) handleRecharge(r *http.Request, rep *reply) {
	if _, ok := s.checkKey(r, rep); !ok {
		return
	}
	f := s.readBody(r, rep)
	if f == nil {
		return
	}
	f.only("client_user_id", "amount_cents", "external_order_id", "reason")
	cid := f.str("client_user_id", true)
	amount := f.positiveInt("amount_cents")
	order := f.str("external_order_id", false)
	reason := f.str("reason", false)
	if f.failed(rep) {
		return
	}
	rep.clientUserID = cid
	if reason == "" {
		reason = "用户充值"
		if order != "" {
			reason = "用户充值(订单 " + order + ")"
		}
	}
	s.mu.Lock()
	if s.state.pool < amount {
		pool := s.state.pool
		s.mu.Unlock()
		s.stats.poolTooLow()
		fail(rep, http.StatusPaymentRequired, fmt.Sprintf("developer points pool is too low: %d cents left, %d asked; top it up in the console", pool, amount))
		return
	}
	now := timeText(s.now())
	u := s.state.user(cid)
	s.state.pool -= amount
	e := s.state.append(u, Entry{Source: "transfer", RecordType: "recharge", ChangeCents: amount, AmountCents: amount,
		Reason: reason, Status: "success", CreatedAt: now})
	s.state.recharges = append(s.state.recharges, Recharge{EntryID: e.ID, ClientUserID: cid, AmountCents: amount,
		ExternalOrderID: order, Reason: reason, CreatedAt: now})
	data := map[string]any{"client_user_id": cid, "to_user_id": u.userID, "amount_cents": amount,
		"developer_balance_cents": s.state.pool, "user_balance_cents": u.balance}
	if order != "" {
		data["external_order_id"] = order
	}
	s.mu.Unlock()
	s.stats.recharged(amount)
	rep.applied = true
	succeed(rep, data)
}

func (s *Server) handleLogs(r *http.Request, rep *reply) {
	if _, ok := s.checkKey(r, rep); !ok {
		return
	}
	q, f := query(r, rep, "client_user_id", "page", "page_size")
	if f == nil {
		return
	}
	cid := queryUser(q, f)
	page := queryPositive(q, f, "page", 1, math.MaxInt32)
	size := queryPositive(q, f, "page_size", min(DefaultPageSize, s.cfg.MaxPageSize), int64(s.cfg.MaxPageSize))
	if f.failed(rep) {
		return
	}
	rep.clientUserID = cid
	s.mu.Lock()
	u := s.state.user(cid)
	n := len(u.ledger)
	// Newest first: page 1 holds the last entries appended.
	list := make([]Entry, 0, size)
	for i := (page - 1) * size; i < page*size && i < n && i >= 0; i++ {
		list = append(list, u.ledger[n-1-i])
	}
	data := map[string]any{"client_user_id": cid, "user_id": u.userID, "list": list, "total": n, "page": page, "page_size": size}
	s.mu.Unlock()
	succeed(rep, data)
}
