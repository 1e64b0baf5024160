package ucsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// account is an account as the simulator holds it.
type account struct {
	id, username, typ string
	attrs, sysAttrs   map[string]any // sysAttrs nil until set
	enable            bool
	created, modified time.Time // modified zero until changed
	roles             []string
	passwordLen       int
	passwordHash      string
	seq               uint64
}

// group is a group as the simulator holds it.
type group struct {
	id, name, desc, parent, typ string
	order                       float64
	attrs                       map[string]any
	created, modified           time.Time
	seq                         uint64
}

// role is a role as the simulator holds it.
type role struct {
	code, name, desc string
	order            float64
}

// store is the simulator's state, guarded by Server.mu.
type store struct {
	seq        uint64
	accounts   map[string]*account
	byUsername map[string]*account
	groups     map[string]*group
	members    map[string]map[string]struct{} // group id → user ids
	roles      map[string]*role
}

func (st *store) init() {
	st.seq = 0
	st.accounts = map[string]*account{}
	st.byUsername = map[string]*account{}
	st.groups = map[string]*group{}
	st.members = map[string]map[string]struct{}{}
	st.roles = map[string]*role{}
}

// newID returns an id shaped like the service's: 24 hex digits, the
// creation second then a sequence number.
func (st *store) newID(now time.Time) (string, uint64) {
	st.seq++
	return fmt.Sprintf("%08x%016x", uint32(now.Unix()), st.seq), st.seq
}

// fakeHash is the "password" field of the answers: not the password, not
// even a bcrypt of it.
func fakeHash(id string) string {
	sum := sha256.Sum256([]byte("ucsim:" + id))
	return "$2b$12$" + hex.EncodeToString(sum[:])[:53]
}

func passwordDigest(pw string) string {
	sum := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(sum[:])
}

// addAccount stores a new account; the username must be free.
func (st *store) addAccount(a *account, now time.Time) {
	a.id, a.seq = st.newID(now)
	a.created = now
	st.accounts[a.id] = a
	st.byUsername[a.username] = a
}

// addGroup stores a new group.
func (st *store) addGroup(g *group, now time.Time) {
	g.id, g.seq = st.newID(now)
	g.created = now
	st.groups[g.id] = g
}

// sortedAccounts returns the accounts in creation order.
func (st *store) sortedAccounts() []*account {
	out := make([]*account, 0, len(st.accounts))
	for _, a := range st.accounts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *account) int { return cmpU64(a.seq, b.seq) })
	return out
}

// sortedGroups returns groups by order, then creation.
func (st *store) sortedGroups(keep func(*group) bool) []*group {
	var out []*group
	for _, g := range st.groups {
		if keep == nil || keep(g) {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b *group) int {
		if a.order != b.order {
			if a.order < b.order {
				return -1
			}
			return 1
		}
		return cmpU64(a.seq, b.seq)
	})
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ancestors returns g's ancestors, root first.
func (st *store) ancestors(g *group) []*group {
	var out []*group
	seen := map[string]bool{g.id: true}
	for p := st.groups[g.parent]; p != nil && !seen[p.id]; p = st.groups[p.parent] {
		seen[p.id] = true
		out = append(out, p)
	}
	slices.Reverse(out)
	return out
}

// groupJSON renders a group as the service does. children is nil ("not
// looked up") unless recursive.
func (st *store) groupJSON(g *group, ak string, recursive bool) map[string]any {
	ids, names, types := "/", "/", "/"
	for _, a := range st.ancestors(g) {
		ids += a.id + "/"
		names += a.name + "/"
		types += a.typ + "/"
	}
	m := map[string]any{
		"_id": g.id, "name": g.name, "desc": g.desc, "parent": g.parent, "order": numberText(g.order),
		"type": g.typ, "attrs": copyMap(g.attrs), "ak": ak, "firstCreated": timeText(g.created), "isDel": 0,
		"children": nil, "id_path": ids, "name_path": names, "type_path": types,
	}
	if !g.modified.IsZero() {
		m["lastModified"] = timeText(g.modified)
	}
	if recursive {
		children := []any{}
		for _, c := range st.sortedGroups(func(c *group) bool { return c.parent == g.id }) {
			children = append(children, st.groupJSON(c, ak, true))
		}
		m["children"] = children
	}
	return m
}

// accountJSON renders an account as the service does.
func accountJSON(a *account, ak string) map[string]any {
	m := map[string]any{
		"_id": a.id, "username": a.username, "type": a.typ, "password": fakeHash(a.id),
		"attrs": copyMap(a.attrs), "enable": a.enable, "firstCreated": timeText(a.created), "ak": ak, "isDel": 0,
	}
	if a.sysAttrs != nil {
		m["sys_attrs"] = copyMap(a.sysAttrs)
	}
	if !a.modified.IsZero() {
		m["lastModified"] = timeText(a.modified)
	}
	return m
}

// copyValue deep-copies a decoded JSON value.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

// copyMap deep-copies a decoded JSON object (nil stays nil).
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

// setPaths merges src into dst: each key is a dotted path whose last
// segment is set, creating objects on the way. A segment that exists but
// is not an object is an error naming the path.
func setPaths(dst, src map[string]any) error {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		segs := strings.Split(k, ".")
		if slices.Contains(segs, "") {
			return fmt.Errorf("%s: empty segment in a dotted key", k)
		}
		m := dst
		for i, seg := range segs[:len(segs)-1] {
			next, ok := m[seg]
			if !ok || next == nil {
				n := map[string]any{}
				m[seg] = n
				m = n
				continue
			}
			nm, ok := next.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s is not an object", k, strings.Join(segs[:i+1], "."))
			}
			m = nm
		}
		m[segs[len(segs)-1]] = copyValue(src[k])
	}
	return nil
}

// lookupPath finds a dotted path in m.
func lookupPath(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	cur := any(m)
	for _, seg := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// sameValue reports whether two decoded JSON values are equal, type
// included: a string never equals a number. Numbers compare by value.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return okx && oky && rx.Cmp(ry) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// valueKey renders a value for grouping duplicates: a string as itself,
// anything else as JSON.
func valueKey(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
