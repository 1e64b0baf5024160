package mask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// keyFuncs maps a normalised key (lowercase, '-' as '_') to its masker.
var keyFuncs = map[string]func(string) string{
	"id_card":        IDCard,
	"phone":          Phone,
	"contact_phone":  Phone,
	"bank_account":   BankAccount,
	"secret":         Secret,
	"app_secret":     Secret,
	"channel_secret": Secret,
	"password":       Secret,
	"access_token":   Token,
	"refresh_token":  Token,
	"token":          Token,
	"authorization":  Token,
}

// ForKey returns the masker for values under key, or nil when the key
// names nothing sensitive. Keys are matched case-insensitively, with '-'
// read as '_': id_card; phone and contact_phone; bank_account; secret,
// app_secret, channel_secret, password and any key ending in _secret or
// _password; access_token, refresh_token, token, authorization and any key
// ending in _token.
func ForKey(key string) func(string) string {
	k := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	if f, ok := keyFuncs[k]; ok {
		return f
	}
	switch {
	case strings.HasSuffix(k, "_token"):
		return Token
	case strings.HasSuffix(k, "_secret"), strings.HasSuffix(k, "_password"):
		return Secret
	}
	return nil
}

// Value masks one value by its key: with the key's masker when the key is
// sensitive (see ForKey), else with Text.
func Value(key, value string) string {
	if f := ForKey(key); f != nil {
		return f(value)
	}
	return Text(value)
}

// JSON masks a JSON document: every value under a sensitive key (at any
// depth, and every leaf below it when it is an object or array) with that
// key's masker, every other string with Text. Numbers under sensitive keys
// become masked strings. The output is compact, with object keys sorted.
func JSON(doc []byte) ([]byte, error) {
	return JSONByKeys(doc, ForKey)
}

// JSONByKeys masks a JSON document as JSON does, with forKey choosing the
// masker of each key instead of ForKey: a caller that must hide more than
// the logs do (the operator's page hides names too) passes its own.
func JSONByKeys(doc []byte, forKey func(key string) func(string) string) ([]byte, error) {
	v, err := decodeJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("mask json: %w", err)
	}
	masked, _ := maskDocByKeys(v, nil, forKey)
	return marshal(masked)
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr function that masks
// each attribute by its key (see ForKey) and scrubs every other string
// with Text, the message included. Structs, maps, slices and JSON logged as
// values are masked by the keys inside them. The built-in handlers call it
// for every attribute inside groups too; every attribute inside a group
// with a sensitive name is masked with that name's masker.
func ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.SourceKey:
			return a
		}
	}
	for _, g := range groups {
		if f := ForKey(g); f != nil {
			return maskAttr(a, f)
		}
	}
	return maskAttr(a, nil)
}

// NewHandler wraps next so that every record's message and attributes,
// including those added with WithAttrs and those inside groups, are masked
// as ReplaceAttr masks them before next sees them. Attributes inside a
// group opened with a sensitive name (WithGroup("secret")) are masked with
// that name's masker.
func NewHandler(next slog.Handler) slog.Handler {
	return &handler{next: next}
}

type handler struct {
	next slog.Handler
	// groupFunc masks every attribute when an open group has a sensitive
	// name; nil otherwise.
	groupFunc func(string) string
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a, h.groupFunc))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a, h.groupFunc)
	}
	return &handler{next: h.next.WithAttrs(masked), groupFunc: h.groupFunc}
}

func (h *handler) WithGroup(name string) slog.Handler {
	f := h.groupFunc
	if f == nil {
		f = ForKey(name)
	}
	return &handler{next: h.next.WithGroup(name), groupFunc: f}
}

// maskAttr masks a with f when f is not nil (an enclosing key was
// sensitive), else by its own key.
func maskAttr(a slog.Attr, f func(string) string) slog.Attr {
	a.Value = a.Value.Resolve()
	if f == nil {
		f = ForKey(a.Key)
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = maskAttr(g, f)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindString:
		if f != nil {
			return slog.String(a.Key, f(v.String()))
		}
		return slog.String(a.Key, maskString(v.String()))
	case slog.KindAny:
		return slog.Attr{Key: a.Key, Value: maskAny(v.Any(), f, v)}
	default:
		if f != nil {
			return slog.String(a.Key, f(v.String()))
		}
		return a
	}
}

// maskString scrubs s with Text, or masks it as a JSON document when it is
// one.
func maskString(s string) string {
	if t := strings.TrimSpace(s); t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
		if doc, err := decodeJSON([]byte(t)); err == nil {
			if masked, changed := maskDoc(doc, nil); changed {
				if b, err := marshal(masked); err == nil {
					return string(b)
				}
			}
			return s
		}
	}
	return Text(s)
}

// maskAny masks an arbitrary value logged with slog.Any. orig is returned
// when nothing needed masking.
func maskAny(x any, f func(string) string, orig slog.Value) slog.Value {
	if x == nil {
		return orig
	}
	if err, ok := x.(error); ok {
		s := err.Error()
		if f != nil {
			return slog.StringValue(f(s))
		}
		if t := Text(s); t != s {
			return slog.StringValue(t)
		}
		return orig
	}
	if raw, ok := x.(json.RawMessage); ok {
		doc, err := decodeJSON(raw)
		if err != nil {
			if f != nil {
				return slog.StringValue(f(string(raw)))
			}
			return slog.StringValue(Text(string(raw)))
		}
		masked, changed := maskDoc(doc, f)
		if !changed {
			return orig
		}
		b, err := marshal(masked)
		if err != nil {
			return slog.StringValue(Redacted)
		}
		return slog.AnyValue(json.RawMessage(b))
	}
	if b, ok := x.([]byte); ok {
		if f != nil {
			return slog.StringValue(f(string(b)))
		}
		return orig
	}
	// Anything else goes through JSON, as the JSON handler would write it,
	// and is masked by the keys inside it.
	enc, err := marshal(x)
	if err != nil {
		// Neither handler could write it as JSON; write its text, masked.
		s := fmt.Sprint(x)
		if f != nil {
			return slog.StringValue(f(s))
		}
		return slog.StringValue(Text(s))
	}
	doc, err := decodeJSON(enc)
	if err != nil {
		return slog.StringValue(Redacted)
	}
	masked, changed := maskDoc(doc, f)
	if !changed {
		return orig
	}
	return slog.AnyValue(masked)
}

// maskDoc masks a decoded JSON value (from decodeJSON) and reports whether
// anything changed. f, when not nil, masks every leaf.
func maskDoc(v any, f func(string) string) (any, bool) {
	return maskDocByKeys(v, f, ForKey)
}

// maskDocByKeys is maskDoc with forKey choosing each key's masker.
func maskDocByKeys(v any, f func(string) string, forKey func(string) func(string) string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		changed := false
		for k, e := range x {
			g := f
			if g == nil {
				g = forKey(k)
			}
			m, c := maskDocByKeys(e, g, forKey)
			if c {
				x[k] = m
				changed = true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, e := range x {
			m, c := maskDocByKeys(e, f, forKey)
			if c {
				x[i] = m
				changed = true
			}
		}
		return x, changed
	case string:
		var m string
		if f != nil {
			m = f(x)
		} else {
			m = Text(x)
		}
		return m, m != x
	case json.Number:
		if f != nil {
			return f(x.String()), true
		}
		return x, false
	case bool:
		if f != nil {
			return f(fmt.Sprint(x)), true
		}
		return x, false
	}
	return v, false
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
