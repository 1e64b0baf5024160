package statuspage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/chansync/chansync/internal/mask"
)

// nameKeys are the fields that hold a person's name. The page masks them
// with mask.Name on top of what mask.ForKey masks (the logs keep names, so
// that an operator can tell records apart there).
var nameKeys = map[string]bool{
	"name":           true,
	"legal_person":   true,
	"contact_person": true,
	"real_name":      true,
	"account_name":   true,
	"holder_name":    true,
}

// maskerFor returns the page's masker for values under key, or nil.
func maskerFor(key string) func(string) string {
	if nameKeys[strings.ToLower(key)] {
		return mask.Name
	}
	return mask.ForKey(key)
}

// urlRe matches a URL inside a string: a scheme, "://" and what follows up
// to a space or a quote.
var urlRe = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s<>"']*`)

// hostOnly returns a URL shown by its scheme and host only
// ("https://cdn.example.com/…"): photos, licences, resumes and documents
// are personal data, their paths and query strings (signed links) too.
// A URL without a host shows as mask.Redacted.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return mask.Redacted
	}
	return strings.ToLower(u.Scheme) + "://" + u.Host + "/…"
}

// hideURLs returns s with every URL in it shown by its host only.
func hideURLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlRe.ReplaceAllStringFunc(s, hostOnly)
}

// hideURLsIn applies hideURLs to every string of a decoded JSON value, in
// place, and returns it.
func hideURLsIn(v any) any {
	switch x := v.(type) {
	case string:
		return hideURLs(x)
	case map[string]any:
		for k, e := range x {
			x[k] = hideURLsIn(e)
		}
	case []any:
		for i, e := range x {
			x[i] = hideURLsIn(e)
		}
	}
	return v
}

// maskedDoc decodes a JSON document masked with the page's maskers and
// with URLs shown by their host only.
func maskedDoc(doc []byte) (any, error) {
	masked, err := mask.JSONByKeys(doc, maskerFor)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(masked))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return hideURLsIn(v), nil
}

// maskedJSON returns a JSON document masked with the page's maskers, URLs
// shown by their host only, and indented, or "" for none. A document that
// does not parse is not shown.
func maskedJSON(doc []byte) string {
	if len(doc) == 0 {
		return ""
	}
	v, err := maskedDoc(doc)
	if err != nil {
		return mask.Redacted
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // html/template escapes it
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return mask.Redacted
	}
	return strings.TrimRight(buf.String(), "\n")
}

// field is one column of a local row, masked for display.
type field struct {
	Key   string
	Value string
	// Null tells that the column is NULL; Block that Value is a JSON
	// document shown as a block.
	Null  bool
	Block bool
}

// maskedRow returns the columns of a row of source (a JSON object from
// to_jsonb), masked, URLs shown by their host only: the id column first,
// created_at and updated_at last, the rest by name.
func maskedRow(source, idColumn string, doc []byte) ([]field, error) {
	v, err := maskedDoc(doc)
	if err != nil {
		return nil, fmt.Errorf("decode %s row: %w", source, err)
	}
	masked, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode %s row: not a JSON object", source)
	}
	rank := func(k string) int {
		switch k {
		case idColumn:
			return 0
		case "created_at", "updated_at":
			return 2
		}
		return 1
	}
	keys := make([]string, 0, len(masked))
	for k := range masked {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	out := make([]field, 0, len(keys))
	for _, k := range keys {
		switch x := masked[k].(type) {
		case nil:
			out = append(out, field{Key: k, Null: true})
		case string:
			out = append(out, field{Key: k, Value: x})
		case json.Number:
			out = append(out, field{Key: k, Value: x.String()})
		case bool:
			out = append(out, field{Key: k, Value: fmt.Sprint(x)})
		default:
			var block bytes.Buffer
			enc := json.NewEncoder(&block)
			enc.SetEscapeHTML(false) // html/template escapes it
			enc.SetIndent("", "  ")
			if err := enc.Encode(x); err != nil {
				return nil, fmt.Errorf("show %s.%s: %w", source, k, err)
			}
			out = append(out, field{Key: k, Value: strings.TrimRight(block.String(), "\n"), Block: true})
		}
	}
	return out, nil
}
