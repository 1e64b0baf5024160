package channelsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeObject reads and decodes a JSON object body, numbers as
// json.Number. It returns the object, or why the body is not acceptable.
func (s *Server) decodeObject(r *http.Request) (map[string]any, string) {
	m, buf, msg := s.decodeBody(r)
	if buf != nil {
		putBuf(buf)
	}
	return m, msg
}

// decodeBody is decodeObject that also hands back the raw body; the caller
// returns buf with putBuf when it is not nil.
func (s *Server) decodeBody(r *http.Request) (m map[string]any, buf *bytes.Buffer, msg string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, nil, "Content-Type must be application/json"
	}
	buf, err := s.readBody(r)
	if err != nil {
		return nil, nil, "body: " + err.Error()
	}
	raw := buf.Bytes()
	switch {
	case len(bytes.TrimSpace(raw)) == 0:
		return nil, buf, "body: empty, want a JSON object"
	case !utf8.Valid(raw):
		return nil, buf, "body: not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, buf, "body: invalid JSON: " + err.Error()
		}
		return nil, buf, "body: must be a JSON object"
	}
	if m == nil {
		return nil, buf, "body: must be a JSON object, got null"
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, buf, "body: trailing data after the JSON object"
	}
	return m, buf, ""
}

// handle answers an API request that passed fault injection.
func (s *Server) handle(r *http.Request, rt apiRoute, rep *reply) {
	switch rt.op {
	case opToken:
		s.handleToken(r, rep)
		return
	case opRefresh:
		s.handleRefresh(r, rep)
		return
	}
	if msg := s.checkBearer(r); msg != "" {
		s.reject(rep, rt.kind, CodeToken, msg)
		return
	}
	switch rt.op {
	case opCreate, opUpdate:
		s.handleWrite(r, rt, rep)
	case opGet:
		s.handleGet(rt, rep)
	case opList:
		s.handleList(r, rt, rep)
	}
}

// reject fills rep with a genuine (not injected) error and counts it.
func (s *Server) reject(rep *reply, k kind, code int, msg string) {
	s.stats.kinds[k].reject(code)
	s.fail(rep, code, msg)
}

// deny answers 1004 if the record is on the deny list.
func (s *Server) deny(rep *reply, k kind, id string) bool {
	if !s.perms.denied(k, id) {
		return false
	}
	s.inj.Counters().Add(FaultPermission)
	rep.fault = FaultPermission
	s.fail(rep, CodeForbidden, "permission denied for "+kinds[k].name+" "+id)
	return true
}

// handleWrite answers POST /{plural} and PUT /{plural}/{id}.
func (s *Server) handleWrite(r *http.Request, rt apiRoute, rep *reply) {
	ki := &kinds[rt.kind]
	update := rt.op == opUpdate
	if update && s.deny(rep, rt.kind, rt.id) {
		return
	}
	m, buf, msg := s.decodeBody(r)
	if buf != nil {
		defer putBuf(buf)
	}
	if msg != "" {
		s.reject(rep, rt.kind, CodeParam, msg)
		return
	}
	id := rt.id
	if !update {
		id, _ = m[ki.idField].(string)
		rep.id = id
		if id != "" && s.deny(rep, rt.kind, id) {
			return
		}
	}
	res, err := s.apply(rt.kind, m, buf.Bytes(), update, id)
	if err != nil {
		var re *rejection
		if errors.As(err, &re) {
			s.reject(rep, rt.kind, CodeParam, re.msg)
			return
		}
		s.fail(rep, CodeInternal, "server internal error")
		return
	}
	rep.applied = true
	b := make([]byte, 0, 96+len(id))
	b = append(b, '{')
	b = appendJSONString(b, ki.channelIDField)
	b = append(b, ':')
	b = appendJSONString(b, res.channelID)
	b = append(b, ',')
	b = appendJSONString(b, ki.idField)
	b = append(b, ':')
	b = appendJSONString(b, id)
	b = append(b, `,"created_at":`...)
	b = appendJSONString(b, res.createdAt)
	b = append(b, '}')
	ok(rep, b)
}

// ErrRejected is wrapped by the error of Insert when the channel would have
// answered 1001; the error's text is the answer's message.
var ErrRejected = errors.New("rejected with 1001")

// rejection is a 1001 verdict on a body, with its message.
type rejection struct{ msg string }

func (e *rejection) Error() string { return e.msg }

func (e *rejection) Unwrap() error { return ErrRejected }

// applied is what a successful create or update answers with.
type applied struct{ channelID, createdAt string }

// apply validates a decoded body and stores it: a create if update is false,
// else an update of id. It counts what it does in the stats. A 1001 verdict
// is a *rejection.
func (s *Server) apply(k kind, m map[string]any, raw []byte, update bool, id string) (applied, error) {
	ki := &kinds[k]
	ks := &s.stats.kinds[k]
	if errs := ki.validate(m, update, id); len(errs) > 0 {
		return applied{}, &rejection{strings.Join(errs, "; ")}
	}
	st := s.stores[k]
	exists := st.has(id)
	if !update && exists {
		ks.duplicateCreates.Add(1)
		return applied{}, &rejection{ki.idField + ": " + ki.name + " " + id + " already exists (use PUT to update it)"}
	}
	if update && !exists {
		return applied{}, &rejection{ki.name + " " + id + " not found (use POST to create it)"}
	}
	var missing []string
	for _, rf := range ki.refs {
		if v, present := m[rf.field].(string); present && !s.stores[rf.kind].has(v) {
			missing = append(missing, rf.field+": "+kinds[rf.kind].name+" "+v+" not found")
		}
	}
	if missing != nil {
		ks.orderViolations.Add(1)
		return applied{}, &rejection{strings.Join(missing, "; ")}
	}
	body, err := compact(raw)
	if err != nil {
		return applied{}, fmt.Errorf("compact %s %s: %w", ki.name, id, err)
	}
	idx := make([]string, len(ki.index))
	for i, f := range ki.index {
		idx[i], _ = m[f].(string)
	}
	now := s.now().Format(timeFormat)
	if update {
		_, hasID := m[ki.idField]
		chID, createdAt, found := st.update(id, body, hasID, now, idx)
		if !found { // removed since it was looked up (Remove, Reset)
			return applied{}, &rejection{ki.name + " " + id + " not found (use POST to create it)"}
		}
		ks.updates.Add(1)
		return applied{chID, createdAt}, nil
	}
	e := &entry{id: id, body: body, hasID: true, createdAt: now, updatedAt: now, idx: idx}
	if !st.insert(ki, e) { // a concurrent create of the same id won
		ks.duplicateCreates.Add(1)
		return applied{}, &rejection{ki.idField + ": " + ki.name + " " + id + " already exists (use PUT to update it)"}
	}
	ks.creates.Add(1)
	return applied{e.channelID, e.createdAt}, nil
}

// compact returns raw without insignificant space, in a slice of its own.
func compact(raw []byte) ([]byte, error) {
	if bytes.IndexAny(raw, " \t\r\n") < 0 { // the usual machine-written body
		return bytes.Clone(raw), nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	buf.Reset()
	if err := json.Compact(buf, raw); err != nil {
		return nil, fmt.Errorf("compact body: %w", err)
	}
	return bytes.Clone(buf.Bytes()), nil
}

// handleGet answers GET /{plural}/{id}: 404 with 1001 when missing.
func (s *Server) handleGet(rt apiRoute, rep *reply) {
	ki := &kinds[rt.kind]
	if s.deny(rep, rt.kind, rt.id) {
		return
	}
	snap, found := s.stores[rt.kind].get(rt.id)
	if !found {
		s.reject(rep, rt.kind, CodeParam, ki.name+" "+rt.id+" not found")
		rep.status = http.StatusNotFound
		return
	}
	s.stats.kinds[rt.kind].gets.Add(1)
	ok(rep, appendView(make([]byte, 0, len(snap.body)+128), ki, snap))
}

// handleList answers GET /tasks, /applications and /payments.
func (s *Server) handleList(r *http.Request, rt apiRoute, rep *reply) {
	ki := &kinds[rt.kind]
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.reject(rep, rt.kind, CodeParam, "query: "+err.Error())
		return
	}
	page, pageSize := 1, 20
	eq := make([]string, len(ki.index)) // wanted value per index slot; "" for any
	var start, end string
	var errs []string
	for name, vals := range q {
		if len(vals) != 1 {
			errs = append(errs, name+": given more than once")
			continue
		}
		v := vals[0]
		if v == "" {
			errs = append(errs, name+": must not be empty (omit it instead)")
			continue
		}
		switch name {
		case "page", "page_size":
			n, err := strconv.Atoi(v)
			if err != nil || !isDigits(v) || len(v) > 9 {
				errs = append(errs, name+": must be a positive integer, got "+strconv.Quote(v))
				continue
			}
			if name == "page" {
				if n < 1 {
					errs = append(errs, "page: must be at least 1")
				}
				page = n
				continue
			}
			if n < 1 || n > s.cfg.MaxPageSize {
				errs = append(errs, "page_size: must be between 1 and "+strconv.Itoa(s.cfg.MaxPageSize)+", got "+v)
			}
			pageSize = n
			continue
		}
		f := findFilter(ki.filters, name)
		switch {
		case f == nil:
			errs = append(errs, name+": unknown parameter of GET /"+ki.plural)
		case f.enum != nil && !slices.Contains(f.enum, v):
			errs = append(errs, name+": must be one of "+strings.Join(f.enum, "|")+", got "+strconv.Quote(v))
		case f.date && !isDate(v):
			errs = append(errs, name+": must be a date YYYY-MM-DD, got "+strconv.Quote(v))
		case f.date && f.end:
			end = v
		case f.date:
			start = v
		default:
			eq[f.idx] = v
		}
	}
	if start != "" && end != "" && start > end {
		errs = append(errs, "start_date: must not be after end_date")
	}
	if errs != nil {
		slices.Sort(errs)
		s.reject(rep, rt.kind, CodeParam, strings.Join(errs, "; "))
		return
	}
	dateIdx := -1
	for _, f := range ki.filters {
		if f.date {
			dateIdx = f.idx
		}
	}
	matchFunc := func(idx []string) bool {
		for i, want := range eq {
			if want != "" && idx[i] != want {
				return false
			}
		}
		if dateIdx >= 0 && (start != "" || end != "") {
			day := idx[dateIdx]
			if len(day) < 10 {
				return false
			}
			day = day[:10]
			if (start != "" && day < start) || (end != "" && day > end) {
				return false
			}
		}
		return true
	}
	items, total := s.stores[rt.kind].list(matchFunc, (page-1)*pageSize, pageSize)
	b := make([]byte, 0, 64+len(items)*512)
	b = append(b, `{"list":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendView(b, ki, it)
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, `,"page_size":`...)
	b = strconv.AppendInt(b, int64(pageSize), 10)
	b = append(b, '}')
	s.stats.kinds[rt.kind].lists.Add(1)
	ok(rep, b)
}

func findFilter(fs []listFilter, param string) *listFilter {
	for i := range fs {
		if fs[i].param == param {
			return &fs[i]
		}
	}
	return nil
}

// ErrUnknownKind is wrapped by errors about a kind name that is none of
// user, company, task, application, payment (or their plurals).
var ErrUnknownKind = errors.New("channelsim: unknown kind")

func mustKind(name string) kind {
	k, found := parseKind(name)
	if !found {
		panic(fmt.Errorf("%w %q: want user, company, task, application or payment (or the plural)", ErrUnknownKind, name))
	}
	return k
}

// Records returns every record of a kind ("user" or "users", ...) as the
// channel holds it: channel_*_id → the fields as received (numbers as
// json.Number, nested objects as map[string]any), with the id field always
// present. The maps are the caller's own. It panics on an unknown kind.
func (s *Server) Records(kindName string) map[string]map[string]any {
	k := mustKind(kindName)
	snaps := s.stores[k].all()
	out := make(map[string]map[string]any, len(snaps))
	for _, sn := range snaps {
		out[sn.id] = sn.fields(&kinds[k])
	}
	return out
}

// Record returns one record's fields as Records does, and whether it exists.
// It panics on an unknown kind.
func (s *Server) Record(kindName, id string) (map[string]any, bool) {
	k := mustKind(kindName)
	sn, found := s.stores[k].get(id)
	if !found {
		return nil, false
	}
	return sn.fields(&kinds[k]), true
}

// ChannelID returns the channel's own id (user_id, ...) of a record, and
// whether the record exists. It panics on an unknown kind.
func (s *Server) ChannelID(kindName, id string) (string, bool) {
	sn, found := s.stores[mustKind(kindName)].get(id)
	return sn.channelID, found
}

// Count returns how many records of a kind the channel holds. It panics on
// an unknown kind.
func (s *Server) Count(kindName string) int {
	st := s.stores[mustKind(kindName)]
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.byID)
}

// Insert stores a record directly, as if a client had created it earlier:
// body is the JSON of a POST body. It applies every rule a POST does
// (fields, references, duplicates) and counts the outcome in the stats, but
// it is not a request: no token, no faults, no request log. It returns the
// channel's own id; a rejected body gives an error that carries the 1001
// message. An unknown kind is an error wrapping ErrUnknownKind.
func (s *Server) Insert(kindName string, body []byte) (string, error) {
	k, m, id, err := decodeStored("insert", kindName, body)
	if err != nil {
		return "", err
	}
	res, err := s.apply(k, m, body, false, id)
	if err != nil {
		return "", fmt.Errorf("channelsim: insert %s %s: %w", kinds[k].name, id, err)
	}
	return res.channelID, nil
}

// Update stores body over the record of kindName it names, as an accepted
// PUT would, without a request: for tests that change what the channel
// holds behind chansync's back. The body is validated as a PUT's is.
func (s *Server) Update(kindName string, body []byte) error {
	k, m, id, err := decodeStored("update", kindName, body)
	if err != nil {
		return err
	}
	if _, err := s.apply(k, m, body, true, id); err != nil {
		return fmt.Errorf("channelsim: update %s %s: %w", kinds[k].name, id, err)
	}
	return nil
}

// Remove forgets the record of kindName named id, as if the channel had
// lost it (the API itself deletes nothing); it reports whether the record
// was there.
func (s *Server) Remove(kindName, id string) (bool, error) {
	k, found := parseKind(kindName)
	if !found {
		return false, fmt.Errorf("channelsim: remove: %w %q", ErrUnknownKind, kindName)
	}
	return s.stores[k].remove(id), nil
}

// decodeStored decodes the body given to Insert or Update (op): a JSON
// object of kindName, named by its id field.
func decodeStored(op, kindName string, body []byte) (kind, map[string]any, string, error) {
	k, found := parseKind(kindName)
	if !found {
		return 0, nil, "", fmt.Errorf("channelsim: %s: %w %q", op, ErrUnknownKind, kindName)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return 0, nil, "", fmt.Errorf("channelsim: %s %s: %w", op, kinds[k].name, err)
	}
	if m == nil {
		return 0, nil, "", fmt.Errorf("channelsim: %s %s: %w: body must be a JSON object", op, kinds[k].name, ErrRejected)
	}
	id, _ := m[kinds[k].idField].(string)
	return k, m, id, nil
}
