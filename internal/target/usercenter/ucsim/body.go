package ucsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// fields reads a request's JSON object (or query) field by field, noting
// every problem; problems names each bad field and its rule.
type fields struct {
	raw      map[string]json.RawMessage
	seen     map[string]bool
	problems []string
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

// readBody reads and parses a request body as one JSON object. A problem
// comes back as the reply's status and message.
func (s *Server) readBody(r *http.Request, optional bool) (*fields, int, string) {
	b, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, http.StatusBadRequest, "body: " + err.Error()
	}
	if int64(len(b)) > s.cfg.MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	f := &fields{raw: map[string]json.RawMessage{}, seen: map[string]bool{}}
	if len(bytes.TrimSpace(b)) == 0 {
		if optional {
			return f, 0, ""
		}
		return nil, http.StatusUnprocessableEntity, "body: a JSON object is required"
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, "body: Content-Type must be application/json"
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f.raw); err != nil {
		return nil, http.StatusUnprocessableEntity, "body: not a JSON object: " + err.Error()
	}
	if dec.More() {
		return nil, http.StatusUnprocessableEntity, "body: more than one JSON value"
	}
	if f.raw == nil {
		return nil, http.StatusUnprocessableEntity, "body: a JSON object is required, not null"
	}
	return f, 0, ""
}

// queryFields turns query parameters into fields of JSON strings; a
// repeated parameter is a problem.
func queryFields(q url.Values) *fields {
	f := &fields{raw: map[string]json.RawMessage{}, seen: map[string]bool{}}
	for k, vs := range q {
		if len(vs) > 1 {
			f.problems = append(f.problems, k+": given more than once")
		}
		b, _ := json.Marshal(vs[0]) // a string always encodes
		f.raw[k] = b
	}
	return f
}

func (f *fields) bad(name, rule string) { f.problems = append(f.problems, name+": "+rule) }

// get returns the raw value of name, marking it seen; a null is a problem.
func (f *fields) get(name string, required bool) (json.RawMessage, bool) {
	f.seen[name] = true
	raw, ok := f.raw[name]
	switch {
	case !ok && required:
		f.bad(name, "is required")
		return nil, false
	case !ok:
		return nil, false
	case jsonType(raw) == "null":
		f.bad(name, "must not be null (omit it instead)")
		return nil, false
	}
	return raw, true
}

// str reads a string field; a required one must not be empty.
func (f *fields) str(name string, required bool) (string, bool) {
	raw, ok := f.get(name, required)
	if !ok {
		return "", false
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		f.bad(name, "must be a string, not "+jsonType(raw))
		return "", false
	}
	if required && v == "" {
		f.bad(name, "must not be empty")
		return "", false
	}
	return v, true
}

// strs reads an array of non-empty strings.
func (f *fields) strs(name string, required bool) ([]string, bool) {
	raw, ok := f.get(name, required)
	if !ok {
		return nil, false
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil {
		f.bad(name, "must be an array of strings")
		return nil, false
	}
	if slices.Contains(v, "") {
		f.bad(name, "must not hold an empty string")
		return nil, false
	}
	return v, true
}

// object reads an object field, numbers kept exact.
func (f *fields) object(name string, required bool) (map[string]any, bool) {
	raw, ok := f.get(name, required)
	if !ok {
		return nil, false
	}
	if jsonType(raw) != "object" {
		f.bad(name, "must be an object, not "+jsonType(raw))
		return nil, false
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		f.bad(name, "must be an object")
		return nil, false
	}
	for k := range v {
		if k == "" {
			f.bad(name, "must not have an empty key")
			return nil, false
		}
	}
	return v, true
}

// value reads a field of any JSON type but null, numbers kept exact.
func (f *fields) value(name string, required bool) (any, bool) {
	raw, ok := f.get(name, required)
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		f.bad(name, "must be a JSON value")
		return nil, false
	}
	return v, true
}

// number reads a number field.
func (f *fields) number(name string, required bool) (float64, bool) {
	raw, ok := f.get(name, required)
	if !ok {
		return 0, false
	}
	if jsonType(raw) != "number" {
		f.bad(name, "must be a number, not "+jsonType(raw))
		return 0, false
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	if err != nil {
		f.bad(name, "must be a finite number")
		return 0, false
	}
	return v, true
}

// boolish reads a boolean given as true/false or 1/0, as the seed's
// enable-user-account allows.
func (f *fields) boolish(name string, required bool) (bool, bool) {
	raw, ok := f.get(name, required)
	if !ok {
		return false, false
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	f.bad(name, "must be true, false, 1 or 0")
	return false, false
}

// queryInt reads a non-negative integer from a query parameter (a JSON
// string holding digits).
func (f *fields) queryInt(name string, def int) int {
	s, ok := f.str(name, false)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		f.bad(name, "must be a non-negative integer")
		return def
	}
	return n
}

// queryBool reads a boolean query parameter: true/false/1/0 (any case).
func (f *fields) queryBool(name string) bool {
	s, ok := f.str(name, false)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "1":
		return true
	case "false", "0", "":
		return false
	}
	f.bad(name, "must be true, false, 1 or 0")
	return false
}

// err returns the problems, unknown fields included, as one message; ""
// when there are none.
func (f *fields) err(what string) string {
	var unknown []string
	for k := range f.raw {
		if !f.seen[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	problems := slices.Clone(f.problems)
	for _, k := range unknown {
		problems = append(problems, k+": unknown "+what)
	}
	return strings.Join(problems, "; ")
}
