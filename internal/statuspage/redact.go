package statuspage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/record"
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

// maskedJSON returns a JSON document masked with the page's maskers and
// indented, or "" for none. A document that does not parse is not shown.
func maskedJSON(doc []byte) string {
	if len(doc) == 0 {
		return ""
	}
	masked, err := mask.JSONByKeys(doc, maskerFor)
	if err != nil {
		return mask.Redacted
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, masked, "", "  "); err != nil {
		return mask.Redacted
	}
	return buf.String()
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

// maskedRow returns the columns of a row (a JSON object from to_jsonb),
// masked: the id first, created_at and updated_at last, the rest by name.
func maskedRow(kind record.Kind, doc []byte) ([]field, error) {
	maskedDoc, err := mask.JSONByKeys(doc, maskerFor)
	if err != nil {
		return nil, fmt.Errorf("decode %s row: %w", kind, err)
	}
	dec := json.NewDecoder(bytes.NewReader(maskedDoc))
	dec.UseNumber()
	var masked map[string]any
	if err := dec.Decode(&masked); err != nil {
		return nil, fmt.Errorf("decode %s row: %w", kind, err)
	}
	rank := func(k string) int {
		switch k {
		case kind.IDField():
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
				return nil, fmt.Errorf("show %s.%s: %w", kind, k, err)
			}
			out = append(out, field{Key: k, Value: strings.TrimRight(block.String(), "\n"), Block: true})
		}
	}
	return out, nil
}
