package channelsim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
)

// entry is one stored record. Its body is the compacted JSON object as
// received; it is replaced, never modified, so a reader may keep the slice
// after unlocking.
type entry struct {
	id        string // our channel_*_id
	channelID string // the channel's own id (10001, ...)
	body      []byte
	hasID     bool // body holds the id field (an update may omit it)
	createdAt string
	updatedAt string
	idx       []string // values of kindInfo.index, for list filters
}

// store holds the records of one kind.
type store struct {
	mu    sync.RWMutex
	byID  map[string]*entry
	order []*entry // creation order, for lists
	seq   int64
}

func newStore() *store { return &store{byID: make(map[string]*entry)} }

func (st *store) has(id string) bool {
	st.mu.RLock()
	_, ok := st.byID[id]
	st.mu.RUnlock()
	return ok
}

func (st *store) reset() {
	st.mu.Lock()
	st.byID = make(map[string]*entry)
	st.order = nil
	st.seq = 0
	st.mu.Unlock()
}

// channelID renders the channel's own id of the n-th record of a kind: the
// kind's digit, then n with at least four digits (10001, 20001, ...,
// 110000), so ids are numeric strings, distinct across kinds.
func channelID(digit byte, n int64) string {
	b := make([]byte, 0, 12)
	b = append(b, digit)
	d := strconv.FormatInt(n, 10)
	for i := len(d); i < 4; i++ {
		b = append(b, '0')
	}
	return string(append(b, d...))
}

// insert stores a new record; it reports false if the id is already there.
func (st *store) insert(ki *kindInfo, e *entry) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, dup := st.byID[e.id]; dup {
		return false
	}
	st.seq++
	e.channelID = channelID(ki.digit, st.seq)
	st.byID[e.id] = e
	st.order = append(st.order, e)
	return true
}

// remove forgets a record; it reports false if the id was not there.
func (st *store) remove(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.byID[id]
	if !ok {
		return false
	}
	delete(st.byID, id)
	st.order = slices.DeleteFunc(st.order, func(o *entry) bool { return o == e })
	return true
}

// update replaces the body of an existing record and returns its channel id
// and created_at; ok is false if the id is not there.
func (st *store) update(id string, body []byte, hasID bool, updatedAt string, idx []string) (chID, createdAt string, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.byID[id]
	if !ok {
		return "", "", false
	}
	e.body, e.hasID, e.updatedAt, e.idx = body, hasID, updatedAt, idx
	return e.channelID, e.createdAt, true
}

// snapshot is a consistent copy of an entry's fields.
type snapshot struct {
	id, channelID, createdAt, updatedAt string
	body                                []byte
	hasID                               bool
}

func (e *entry) snapshot() snapshot {
	return snapshot{id: e.id, channelID: e.channelID, createdAt: e.createdAt, updatedAt: e.updatedAt, body: e.body, hasID: e.hasID}
}

func (st *store) get(id string) (snapshot, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	e, ok := st.byID[id]
	if !ok {
		return snapshot{}, false
	}
	return e.snapshot(), true
}

// all returns a snapshot of every record in creation order.
func (st *store) all() []snapshot {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]snapshot, len(st.order))
	for i, e := range st.order {
		out[i] = e.snapshot()
	}
	return out
}

// list returns the matching records of one page and the number matching.
func (st *store) list(matchFunc func(idx []string) bool, offset, limit int) ([]snapshot, int) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	var page []snapshot
	total := 0
	for _, e := range st.order {
		if !matchFunc(e.idx) {
			continue
		}
		if total >= offset && len(page) < limit {
			page = append(page, e.snapshot())
		}
		total++
	}
	return page, total
}

// appendView appends the record as GET answers it: the channel's id,
// created_at, updated_at, then the stored fields (the id field included even
// when the last update omitted it).
func appendView(b []byte, ki *kindInfo, s snapshot) []byte {
	b = append(b, '{')
	b = appendJSONString(b, ki.channelIDField)
	b = append(b, ':')
	b = appendJSONString(b, s.channelID)
	b = append(b, `,"created_at":`...)
	b = appendJSONString(b, s.createdAt)
	b = append(b, `,"updated_at":`...)
	b = appendJSONString(b, s.updatedAt)
	if !s.hasID {
		b = append(b, ',')
		b = appendJSONString(b, ki.idField)
		b = append(b, ':')
		b = appendJSONString(b, s.id)
	}
	if len(s.body) > 2 { // {"...":...}
		b = append(b, ',')
		b = append(b, s.body[1:]...)
	} else {
		b = append(b, '}')
	}
	return b
}

// fields decodes the stored fields as received (numbers as json.Number), with
// the id field always present.
func (s snapshot) fields(ki *kindInfo) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(s.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		m = make(map[string]any) // cannot happen: the body was decoded before it was stored
	}
	if !s.hasID {
		m[ki.idField] = s.id
	}
	return m
}
