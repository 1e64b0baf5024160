// Package jsoncmp compares what a target holds with what chansync would
// send, field by field, the way a target may echo it back: extra fields
// on the target's side are ignored, numbers compare by value (5000.10
// equals 5000.1), and times by instant ("2024-01-20T08:00:00+08:00"
// equals "2024-01-20T00:00:00Z").
package jsoncmp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Diff returns the paths of the fields of want whose values differ in got
// (missing, or not equal), sorted; nested fields are named with dots and
// array items with [i], such as "salary.amount" or "photos[1]". An error
// means either document is not JSON.
func Diff(want, got []byte) ([]string, error) {
	w, err := decode(want)
	if err != nil {
		return nil, fmt.Errorf("jsoncmp: want: %w", err)
	}
	g, err := decode(got)
	if err != nil {
		return nil, fmt.Errorf("jsoncmp: got: %w", err)
	}
	var out []string
	diff("", w, g, &out)
	sort.Strings(out)
	return slices.Compact(out), nil
}

// Equal reports whether got holds every field of want with an equal value.
func Equal(want, got []byte) (bool, error) {
	d, err := Diff(want, got)
	return len(d) == 0, err
}

func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func diff(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, name(path))
			return
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present {
				if wv != nil {
					*out = append(*out, join(path, k))
				}
				continue
			}
			diff(join(path, k), wv, gv, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, name(path))
			return
		}
		for i := range w {
			diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	case json.Number:
		if !numbersEqual(w, got) {
			*out = append(*out, name(path))
		}
	case string:
		if !stringsEqual(w, got) {
			*out = append(*out, name(path))
		}
	default:
		if want != got {
			*out = append(*out, name(path))
		}
	}
}

func numbersEqual(w json.Number, got any) bool {
	var gs string
	switch g := got.(type) {
	case json.Number:
		gs = string(g)
	case string:
		gs = g
	default:
		return false
	}
	a, err1 := decimal.NewFromString(string(w))
	b, err2 := decimal.NewFromString(gs)
	if err1 != nil || err2 != nil {
		return string(w) == gs
	}
	return a.Equal(b)
}

func stringsEqual(w string, got any) bool {
	g, ok := got.(string)
	if !ok {
		return false
	}
	if w == g {
		return true
	}
	tw, err1 := time.Parse(time.RFC3339Nano, w)
	tg, err2 := time.Parse(time.RFC3339Nano, g)
	return err1 == nil && err2 == nil && tw.Equal(tg)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func name(path string) string {
	if path == "" {
		return "(record)"
	}
	return path
}
