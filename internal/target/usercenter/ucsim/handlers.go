package ucsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// bodyKind says whether an endpoint takes a JSON body.
type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyRequired
	bodyOptional
)

// endpoint describes one endpoint of the user centre.
type endpoint struct {
	name       string
	method     string
	class      Class
	query      []string // the query parameters it takes
	body       bodyKind
	handleFunc func(s *Server, c *call)
}

// call is one authenticated request being handled.
type call struct {
	r    *http.Request
	body *fields
	q    *fields
	rep  *reply
	now  time.Time
}

// endpoints are the simulated endpoints by name.
var endpoints = map[string]*endpoint{}

func init() {
	for _, ep := range []*endpoint{
		{name: "get-user-by-sys-attr", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).getUserBySysAttr},
		{name: "get-user-by-id", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).getUserByID},
		{name: "get-user-by-username", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).getUserByUsername},
		{name: "list-users-by-ids", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).listUsersByIDs},
		{name: "list-users", method: http.MethodGet, class: ClassRead, body: bodyOptional,
			query: []string{"skip", "limit", "sort_key", "sort_direction"}, handleFunc: (*Server).listUsers},
		{name: "create-user", method: http.MethodPost, class: ClassCreateUser, body: bodyRequired, handleFunc: (*Server).createUser},
		{name: "save-user-sys-attrs", method: http.MethodPut, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).saveUserSysAttrs},
		{name: "save-user-attrs", method: http.MethodPut, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).saveUserAttrs},
		{name: "enable-user-account", method: http.MethodPost, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).enableUserAccount},
		{name: "create-group", method: http.MethodPost, class: ClassCreateGroup, body: bodyRequired, handleFunc: (*Server).createGroup},
		{name: "update-group", method: http.MethodPost, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).updateGroup},
		{name: "list-child-groups", method: http.MethodGet, class: ClassRead, query: []string{"parent", "recursive"}, handleFunc: (*Server).listChildGroups},
		{name: "get-group", method: http.MethodGet, class: ClassRead, query: []string{"id", "recursive"}, handleFunc: (*Server).getGroup},
		{name: "add-user-to-group", method: http.MethodPost, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).addUserToGroup},
		{name: "remove-user-from-group", method: http.MethodPost, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).removeUserFromGroup},
		{name: "list-user-groups", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).listUserGroups},
		{name: "list-group-users", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).listGroupUsers},
		{name: "list-roles", method: http.MethodGet, class: ClassRead, handleFunc: (*Server).listRoles},
		{name: "save-role", method: http.MethodPut, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).saveRole},
		{name: "assign-user-role", method: http.MethodPost, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).assignUserRole},
		{name: "unassign-user-role", method: http.MethodPost, class: ClassWrite, body: bodyRequired, handleFunc: (*Server).unassignUserRole},
		{name: "list-user-roles", method: http.MethodPost, class: ClassRead, body: bodyRequired, handleFunc: (*Server).listUserRoles},
	} {
		endpoints[ep.name] = ep
	}
}

// EndpointNames returns the names of the simulated endpoints, sorted.
func EndpointNames() []string {
	out := make([]string, 0, len(endpoints))
	for name := range endpoints {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// handle checks the token, reads the query and body, and runs the
// endpoint's handler.
func (s *Server) handle(r *http.Request, ep *endpoint, rep *reply) {
	if reason := s.checkToken(r); reason != "" {
		s.stats.unauthorized.Add(1)
		s.fail(rep, http.StatusUnauthorized, CodeUnauthorized, reason)
		return
	}
	c := &call{r: r, rep: rep, now: s.now(), q: queryFields(r.URL.Query())}
	for _, name := range ep.query {
		c.q.seen[name] = true
	}
	switch ep.body {
	case bodyNone:
		c.body = &fields{raw: map[string]json.RawMessage{}, seen: map[string]bool{}}
		if n, _ := r.Body.Read(make([]byte, 1)); n > 0 {
			s.fail(rep, http.StatusUnprocessableEntity, CodeParam, "body: "+ep.name+" takes no body")
			s.stats.refused(ep.name, rep.code)
			return
		}
	default:
		f, status, msg := s.readBody(r, ep.body == bodyOptional)
		if f == nil {
			s.fail(rep, status, CodeParam, msg)
			s.stats.refused(ep.name, rep.code)
			return
		}
		c.body = f
	}
	ep.handleFunc(s, c)
	if rep.code == "" {
		s.stats.ok(ep.name)
	} else {
		s.stats.refused(ep.name, rep.code)
	}
}

// invalid fills the reply with the problems of the query and body, if any,
// and reports whether there were any.
func (s *Server) invalid(c *call) bool {
	msgs := []string{}
	if m := c.q.err("query parameter"); m != "" {
		msgs = append(msgs, m)
	}
	if m := c.body.err("field"); m != "" {
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return false
	}
	s.fail(c.rep, http.StatusUnprocessableEntity, CodeParam, strings.Join(msgs, "; "))
	return true
}

// refuse answers HTTP 200 with success false: the service's refusal.
func (s *Server) refuse(c *call, code, msg string) { s.fail(c.rep, http.StatusOK, code, msg) }

func (s *Server) userNotFound(c *call, id string) {
	s.refuse(c, CodeUserNotFound, "user "+id+" not found")
}

func (s *Server) groupNotFound(c *call, id string) {
	s.refuse(c, CodeGroupNotFound, "group "+id+" not found")
}

func (s *Server) getUserBySysAttr(c *call) {
	key, _ := c.body.str("key", true)
	value, _ := c.body.value("value", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.store.sortedAccounts() {
		if v, ok := lookupPath(a.sysAttrs, key); ok && sameValue(v, value) {
			c.rep.id = a.id
			s.ok(c.rep, accountJSON(a, s.cfg.AppKey))
			return
		}
	}
	s.ok(c.rep, nil)
}

func (s *Server) getUserByID(c *call) {
	id, _ := c.body.str("target_user_id", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.rep.id = id
	if a := s.store.accounts[id]; a != nil {
		s.ok(c.rep, accountJSON(a, s.cfg.AppKey))
		return
	}
	s.ok(c.rep, nil)
}

func (s *Server) getUserByUsername(c *call) {
	name, _ := c.body.str("username", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.store.byUsername[name]; a != nil {
		c.rep.id = a.id
		s.ok(c.rep, accountJSON(a, s.cfg.AppKey))
		return
	}
	s.ok(c.rep, nil)
}

func (s *Server) listUsersByIDs(c *call) {
	ids, _ := c.body.strs("user_ids", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []any{}
	for _, id := range ids {
		if a := s.store.accounts[id]; a != nil {
			out = append(out, accountJSON(a, s.cfg.AppKey))
		}
	}
	s.ok(c.rep, out)
}

// userTypeOf reads an optional user_type field.
func userTypeOf(f *fields) string {
	t, ok := f.str("user_type", false)
	if !ok {
		return "MEMBER"
	}
	if t != "MEMBER" && t != "ADMIN" {
		f.bad("user_type", `must be "ADMIN" or "MEMBER"`)
	}
	return t
}

// sortKeys are the fields list-users sorts by.
var sortKeys = []string{"firstCreated", "lastModified", "username", "_id"}

func (s *Server) listUsers(c *call) {
	skip := c.q.queryInt("skip", 0)
	limit := c.q.queryInt("limit", 10)
	sortKey, ok := c.q.str("sort_key", false)
	if !ok {
		sortKey = "firstCreated"
	} else if !slices.Contains(sortKeys, sortKey) {
		c.q.bad("sort_key", "must be one of "+strings.Join(sortKeys, ", "))
	}
	dir := -1
	if d, ok := c.q.str("sort_direction", false); ok {
		switch d {
		case "1":
			dir = 1
		case "-1":
		default:
			c.q.bad("sort_direction", "must be 1 or -1")
		}
	}
	typ := userTypeOf(c.body)
	search, _ := c.body.str("search", false)
	if s.invalid(c) {
		return
	}
	if s.cfg.MaxListLimit > 0 {
		limit = min(limit, s.cfg.MaxListLimit)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var match []*account
	for _, a := range s.store.sortedAccounts() {
		if a.typ == typ && (search == "" || matchesSearch(a, search)) {
			match = append(match, a)
		}
	}
	slices.SortStableFunc(match, func(a, b *account) int {
		var d int
		switch sortKey {
		case "firstCreated":
			d = a.created.Compare(b.created)
		case "lastModified":
			d = a.modified.Compare(b.modified)
		case "username":
			d = strings.Compare(a.username, b.username)
		case "_id":
			d = strings.Compare(a.id, b.id)
		}
		if d == 0 {
			d = cmpU64(a.seq, b.seq)
		}
		return d * dir
	})
	items := []any{}
	for i := skip; i < len(match) && i < skip+limit; i++ {
		items = append(items, accountJSON(match[i], s.cfg.AppKey))
	}
	s.ok(c.rep, map[string]any{"total": len(match), "items": items})
}

// matchesSearch is list-users' fuzzy search: a case-insensitive substring
// of username, attrs.nickname, sys_attrs.name, .email or .phone.
func matchesSearch(a *account, search string) bool {
	search = strings.ToLower(search)
	cands := []string{a.username}
	if v, ok := a.attrs["nickname"].(string); ok {
		cands = append(cands, v)
	}
	for _, k := range []string{"name", "email", "phone"} {
		if v, ok := a.sysAttrs[k].(string); ok {
			cands = append(cands, v)
		}
	}
	for _, v := range cands {
		if strings.Contains(strings.ToLower(v), search) {
			return true
		}
	}
	return false
}

func (s *Server) createUser(c *call) {
	username, _ := c.body.str("username", true)
	password, _ := c.body.str("password", true)
	typ := userTypeOf(c.body)
	attrs, _ := c.body.object("attrs", false)
	sysAttrs, _ := c.body.object("sys_attrs", false)
	if s.invalid(c) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store.byUsername[username] != nil {
		s.refuse(c, CodeUsernameTaken, "username "+username+" already exists")
		return
	}
	a := s.newAccount(username, password, typ, attrs, sysAttrs)
	s.store.addAccount(a, c.now)
	c.rep.id, c.rep.applied = a.id, true
	s.ok(c.rep, accountJSON(a, s.cfg.AppKey))
}

// newAccount builds an account the way create-user does: attrs start with
// the default avatar and the username as nickname.
func (s *Server) newAccount(username, password, typ string, attrs, sysAttrs map[string]any) *account {
	a := &account{
		username: username, typ: typ, enable: true,
		attrs:       map[string]any{"avatar": DefaultAvatar, "nickname": username},
		sysAttrs:    copyMap(sysAttrs),
		passwordLen: len([]rune(password)), passwordHash: passwordDigest(password),
	}
	for k, v := range attrs {
		a.attrs[k] = copyValue(v)
	}
	return a
}

func (s *Server) saveUserSysAttrs(c *call) { s.saveUserMap(c, "sys_attrs") }

func (s *Server) saveUserAttrs(c *call) { s.saveUserMap(c, "attrs") }

// saveUserMap merges the body's attrs or sys_attrs into an account's.
func (s *Server) saveUserMap(c *call, field string) {
	id, _ := c.body.str("target_user_id", true)
	src, _ := c.body.object(field, true)
	if s.invalid(c) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.rep.id = id
	a := s.store.accounts[id]
	if a == nil {
		s.userNotFound(c, id)
		return
	}
	dst := &a.attrs
	if field == "sys_attrs" {
		dst = &a.sysAttrs
	}
	merged := copyMap(*dst)
	if merged == nil {
		merged = map[string]any{}
	}
	if err := setPaths(merged, src); err != nil {
		s.refuse(c, CodeParam, field+"."+err.Error())
		return
	}
	*dst = merged
	a.modified = c.now
	c.rep.applied = true
	s.ok(c.rep, accountJSON(a, s.cfg.AppKey))
}

func (s *Server) enableUserAccount(c *call) {
	id, _ := c.body.str("target_user_id", true)
	enable, _ := c.body.boolish("enable", true)
	if s.invalid(c) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.rep.id = id
	a := s.store.accounts[id]
	if a == nil {
		s.userNotFound(c, id)
		return
	}
	a.enable, a.modified = enable, c.now
	c.rep.applied = true
	s.ok(c.rep, accountJSON(a, s.cfg.AppKey))
}

// groupText reads an optional name or type of a group; "/" is a refusal
// (HTTP 200), reported through slash.
func groupText(f *fields, name string, required bool, slash *string) (string, bool) {
	v, ok := f.str(name, required)
	if ok && !required && v == "" {
		f.bad(name, "must not be empty")
		return "", false
	}
	if ok && strings.Contains(v, "/") && *slash == "" {
		*slash = "group " + name + " must not contain \"/\""
	}
	return v, ok
}

func (s *Server) createGroup(c *call) {
	var slash string
	name, _ := groupText(c.body, "name", true, &slash)
	typ, ok := groupText(c.body, "type", false, &slash)
	if !ok {
		typ = "dept"
	}
	desc, _ := c.body.str("desc", false)
	parent, _ := c.body.str("parent", false)
	order, _ := c.body.number("order", false)
	attrs, _ := c.body.object("attrs", false)
	if s.invalid(c) {
		return
	}
	if slash != "" {
		s.refuse(c, CodeBadGroup, slash)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if parent != "" && s.store.groups[parent] == nil {
		s.groupNotFound(c, parent)
		return
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	g := &group{name: name, desc: desc, parent: parent, typ: typ, order: order, attrs: copyMap(attrs)}
	s.store.addGroup(g, c.now)
	c.rep.id, c.rep.applied = g.id, true
	s.ok(c.rep, s.store.groupJSON(g, s.cfg.AppKey, false))
}

func (s *Server) updateGroup(c *call) {
	var slash string
	id, _ := c.body.str("id", true)
	name, hasName := groupText(c.body, "name", false, &slash)
	typ, hasType := groupText(c.body, "type", false, &slash)
	desc, hasDesc := c.body.str("desc", false)
	parent, hasParent := c.body.str("parent", false)
	order, hasOrder := c.body.number("order", false)
	attrs, hasAttrs := c.body.object("attrs", false)
	if s.invalid(c) {
		return
	}
	if slash != "" {
		s.refuse(c, CodeBadGroup, slash)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.rep.id = id
	g := s.store.groups[id]
	if g == nil {
		s.groupNotFound(c, id)
		return
	}
	if hasParent && parent != "" {
		p := s.store.groups[parent]
		if p == nil {
			s.groupNotFound(c, parent)
			return
		}
		if p == g || slices.Contains(s.store.ancestors(p), g) {
			s.refuse(c, CodeBadGroup, "parent: a group cannot be moved under itself")
			return
		}
	}
	newAttrs := copyMap(g.attrs)
	if hasAttrs {
		if err := setPaths(newAttrs, attrs); err != nil {
			s.refuse(c, CodeParam, "attrs."+err.Error())
			return
		}
	}
	if hasName {
		g.name = name
	}
	if hasType {
		g.typ = typ
	}
	if hasDesc {
		g.desc = desc
	}
	if hasParent {
		g.parent = parent
	}
	if hasOrder {
		g.order = order
	}
	g.attrs, g.modified = newAttrs, c.now
	c.rep.applied = true
	s.ok(c.rep, s.store.groupJSON(g, s.cfg.AppKey, false))
}

func (s *Server) listChildGroups(c *call) {
	parent, _ := c.q.str("parent", false)
	recursive := c.q.queryBool("recursive")
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if parent != "" && s.store.groups[parent] == nil {
		s.groupNotFound(c, parent)
		return
	}
	out := []any{}
	for _, g := range s.store.sortedGroups(func(g *group) bool { return g.parent == parent }) {
		out = append(out, s.store.groupJSON(g, s.cfg.AppKey, recursive))
	}
	s.ok(c.rep, out)
}

func (s *Server) getGroup(c *call) {
	id, _ := c.q.str("id", true)
	recursive := c.q.queryBool("recursive")
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.rep.id = id
	g := s.store.groups[id]
	if g == nil {
		s.groupNotFound(c, id)
		return
	}
	s.ok(c.rep, s.store.groupJSON(g, s.cfg.AppKey, recursive))
}

// membershipArgs reads group_id and target_user_id and checks both exist;
// it returns false when it answered.
func (s *Server) membershipArgs(c *call) (groupID, userID string, ok bool) {
	groupID, _ = c.body.str("group_id", true)
	userID, _ = c.body.str("target_user_id", true)
	if s.invalid(c) {
		return "", "", false
	}
	c.rep.id = userID
	if s.store.groups[groupID] == nil {
		s.groupNotFound(c, groupID)
		return "", "", false
	}
	if s.store.accounts[userID] == nil {
		s.userNotFound(c, userID)
		return "", "", false
	}
	return groupID, userID, true
}

func (s *Server) addUserToGroup(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	groupID, userID, ok := s.membershipArgs(c)
	if !ok {
		return
	}
	m := s.store.members[groupID]
	if m == nil {
		m = map[string]struct{}{}
		s.store.members[groupID] = m
	}
	if _, in := m[userID]; !in {
		m[userID] = struct{}{}
		c.rep.applied = true
	}
	s.ok(c.rep, map[string]string{"group_id": groupID, "user_id": userID})
}

func (s *Server) removeUserFromGroup(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	groupID, userID, ok := s.membershipArgs(c)
	if !ok {
		return
	}
	if _, in := s.store.members[groupID][userID]; in {
		delete(s.store.members[groupID], userID)
		c.rep.applied = true
	}
	s.ok(c.rep, map[string]string{"group_id": groupID, "user_id": userID})
}

func (s *Server) listUserGroups(c *call) {
	id, _ := c.body.str("target_user_id", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.rep.id = id
	if s.store.accounts[id] == nil {
		s.userNotFound(c, id)
		return
	}
	out := []any{}
	for _, g := range s.store.sortedGroups(func(g *group) bool { _, in := s.store.members[g.id][id]; return in }) {
		out = append(out, s.store.groupJSON(g, s.cfg.AppKey, false))
	}
	s.ok(c.rep, out)
}

func (s *Server) listGroupUsers(c *call) {
	id, _ := c.body.str("group_id", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.store.groups[id] == nil {
		s.groupNotFound(c, id)
		return
	}
	out := []string{}
	for _, a := range s.store.sortedAccounts() {
		if _, in := s.store.members[id][a.id]; in {
			out = append(out, a.id)
		}
	}
	s.ok(c.rep, out)
}

func roleJSON(r *role) map[string]any {
	return map[string]any{"code": r.code, "name": r.name, "desc": r.desc, "order": numberText(r.order)}
}

// sortedRoles returns the roles by order, then code.
func (st *store) sortedRoles() []*role {
	out := make([]*role, 0, len(st.roles))
	for _, r := range st.roles {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *role) int {
		if a.order != b.order {
			if a.order < b.order {
				return -1
			}
			return 1
		}
		return strings.Compare(a.code, b.code)
	})
	return out
}

func (s *Server) listRoles(c *call) {
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []any{}
	for _, r := range s.store.sortedRoles() {
		out = append(out, roleJSON(r))
	}
	s.ok(c.rep, out)
}

func (s *Server) saveRole(c *call) {
	code, _ := c.body.str("code", true)
	name, hasName := c.body.str("name", false)
	desc, hasDesc := c.body.str("desc", false)
	order, hasOrder := c.body.number("order", false)
	if s.invalid(c) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.store.roles[code]
	if r == nil {
		r = &role{code: code, order: float64(c.now.Unix())}
		s.store.roles[code] = r
	}
	if hasName {
		r.name = name
	}
	if hasDesc {
		r.desc = desc
	}
	if hasOrder {
		r.order = order
	}
	c.rep.applied = true
	s.ok(c.rep, roleJSON(r))
}

// roleArgs reads target_user_id and role_code and checks both exist.
func (s *Server) roleArgs(c *call) (*account, string, bool) {
	id, _ := c.body.str("target_user_id", true)
	code, _ := c.body.str("role_code", true)
	if s.invalid(c) {
		return nil, "", false
	}
	c.rep.id = id
	a := s.store.accounts[id]
	if a == nil {
		s.userNotFound(c, id)
		return nil, "", false
	}
	if s.store.roles[code] == nil {
		s.refuse(c, CodeRoleNotFound, "role "+code+" not found")
		return nil, "", false
	}
	return a, code, true
}

func (s *Server) assignUserRole(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code, ok := s.roleArgs(c)
	if !ok {
		return
	}
	if !slices.Contains(a.roles, code) {
		a.roles = append(a.roles, code)
		c.rep.applied = true
	}
	s.ok(c.rep, map[string]string{"role_code": code, "user_id": a.id})
}

func (s *Server) unassignUserRole(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code, ok := s.roleArgs(c)
	if !ok {
		return
	}
	if i := slices.Index(a.roles, code); i >= 0 {
		a.roles = slices.Delete(a.roles, i, i+1)
		c.rep.applied = true
	}
	s.ok(c.rep, map[string]any{"role_code": code, "user_id": a.id, "isDel": 1})
}

func (s *Server) listUserRoles(c *call) {
	id, _ := c.body.str("target_user_id", true)
	if s.invalid(c) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.rep.id = id
	a := s.store.accounts[id]
	if a == nil {
		s.userNotFound(c, id)
		return
	}
	s.ok(c.rep, append([]string{a.typ}, a.roles...))
}
