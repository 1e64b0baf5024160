package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
	// RuleDuplicateKey: a key appears twice in one JSON object (JSON
	// decoders disagree on which one wins, so neither is taken).
	RuleDuplicateKey = "duplicate_key"
	// RuleFormatChar: a string holds a bidirectional or zero-width format
	// character (see FormatChar), which makes an id or a text show other
	// than it is.
	RuleFormatChar = "format_char"
)

// FormatChar returns the first bidirectional or zero-width format character
// in s and true, or false when s holds none. These are U+061C, U+200B to
// U+200F, U+202A to U+202E, U+2060 to U+2069 and U+FEFF: invisible
// characters that change how text around them shows (an id that reads
// "U1" but is not "U1", a name shown backwards).
func FormatChar(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == 0x061C, r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E,
			r >= 0x2060 && r <= 0x2069, r == 0xFEFF:
			return r, true
		}
	}
	return 0, false
}

// formatCharError is the error for a string holding format character r.
func formatCharError(field string, r rune) validate.FieldError {
	return validate.FieldError{Field: field, Rule: RuleFormatChar,
		Detail: fmt.Sprintf("holds the invisible format character %U: remove it", r)}
}

// scanRaw walks one JSON value and reports every key that appears more
// than once in one object (once per key) and every string value holding a
// format character, each named by its path ("salary.amount",
// "live_certification.photos[2]"). raw is known to be valid JSON.
func scanRaw(raw json.RawMessage) validate.Errors {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var errs validate.Errors
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				seen := map[string]int{}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					k, _ := kt.(string)
					name := join(path, k)
					if seen[k]++; seen[k] == 2 {
						errs.Add(name, RuleDuplicateKey, "appears more than once in one object: send each field once")
					}
					if err := walk(name); err != nil {
						return err
					}
				}
			case '[':
				for i := 0; dec.More(); i++ {
					if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
						return err
					}
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case string:
			if r, ok := FormatChar(t); ok {
				errs = append(errs, formatCharError(path, r))
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		errs.Add("", RuleSyntax, err.Error())
	}
	return errs
}

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
