package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/chansync/chansync/internal/validate"
)

// Rules of the errors this package adds to the validators' own (see
// internal/validate for those).
const (
	// RuleSyntax: the body is not JSON.
	RuleSyntax = "syntax"
	// RuleUnknown: a field the channel API does not define.
	RuleUnknown = "unknown"
	// RuleMismatch: the id in a PUT body differs from the id in the path.
	RuleMismatch = "mismatch"
	// RuleUnique: an id appears twice in one array.
	RuleUnique = "unique"
	// RuleExists: a referenced (parent) record does not exist locally.
	RuleExists = "exists"
)

// fieldCache holds fieldsOf results.
var fieldCache sync.Map // reflect.Type -> map[string]int

// fieldsOf maps the JSON names of a struct type's fields to their indexes.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		m[name] = i
	}
	fieldCache.Store(t, m)
	return m
}

// decodeObject decodes the JSON object raw into the struct dst points to,
// field by field, so that every unknown field and every value of the wrong
// JSON type is reported (not only the first). Nested objects are decoded
// the same way. Field names in errs are prefixed with path.
func decodeObject(raw json.RawMessage, dst reflect.Value, path string, errs *validate.Errors) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		errs.Add(path, validate.RuleType, "want a JSON object, got JSON "+jsonKind(raw))
		return
	}
	fields := fieldsOf(dst.Type())
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := join(path, k)
		i, ok := fields[k]
		if !ok {
			errs.Add(name, RuleUnknown, "is not a field of the channel API's "+dst.Type().Name())
			continue
		}
		decodeValue(obj[k], dst.Field(i), name, errs)
	}
}

// decodeValue decodes raw into dst; a struct or pointer to a struct is
// decoded with decodeObject, anything else strictly with encoding/json.
func decodeValue(raw json.RawMessage, dst reflect.Value, name string, errs *validate.Errors) {
	t := dst.Type()
	isNull := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	switch {
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if isNull {
			dst.SetZero()
			return
		}
		v := reflect.New(t.Elem())
		decodeObject(raw, v.Elem(), name, errs)
		dst.Set(v)
		return
	case t.Kind() == reflect.Struct:
		if isNull {
			dst.SetZero()
			return
		}
		decodeObject(raw, dst, name, errs)
		return
	}
	v := reflect.New(t)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		var typeErr *json.UnmarshalTypeError
		got := jsonKind(raw)
		if errors.As(err, &typeErr) && typeErr.Value != "" {
			got = typeErr.Value
		}
		errs.Add(name, validate.RuleType, "want "+typeName(t)+", got JSON "+got)
		return
	}
	dst.Set(v.Elem())
}

// typeName names the JSON type a Go field type wants.
func typeName(t reflect.Type) string {
	if t == reflect.TypeFor[json.Number]() {
		return "number"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array of " + typeName(t.Elem()) + "s"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.String()
}

// jsonKind names the JSON type of a value by its first byte.
func jsonKind(raw json.RawMessage) string {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// join appends a field name to a path: "" + "a" is "a", "[3]" + "a" is
// "[3].a", "a" + "b" is "a.b".
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// prefixed returns errs with every field prefixed by prefix (such as
// "[3]"); an error with no field gets the prefix alone.
func prefixed(prefix string, errs validate.Errors) validate.Errors {
	if prefix == "" {
		return errs
	}
	out := make(validate.Errors, len(errs))
	for i, e := range errs {
		e.Field = join(prefix, e.Field)
		if errs[i].Field == "" {
			e.Field = prefix
		}
		out[i] = e
	}
	return out
}
