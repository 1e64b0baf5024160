package simkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Content types of the answers simkit renders.
const (
	ContentTypeJSON = "application/json; charset=utf-8"
	ContentTypeHTML = "text/html; charset=utf-8"
	ContentTypeText = "text/plain; charset=utf-8"
)

// Bodies of the gateway errors simkit injects, as nginx sends them. They
// are shared: never modify them.
var (
	// HTML502 is the body of FaultBadGateway.
	HTML502 = []byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	// HTML503 is the body of FaultDown503.
	HTML503 = []byte("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n")
	// Text429 is the body of the rate-limit faults.
	Text429 = []byte("Too Many Requests\n")
	// text500 is the body of the default FaultStatus500.
	text500 = []byte("Internal Server Error\n")
)

func bare500() Answer {
	return Answer{Status: http.StatusInternalServerError, ContentType: ContentTypeText, Body: text500}
}

// Answer is one HTTP answer, decided before anything is written so that it
// can be logged, counted, or lost.
type Answer struct {
	// Status is the HTTP status.
	Status int
	// ContentType defaults to ContentTypeJSON.
	ContentType string
	// Header holds extra headers, in order.
	Header [][2]string
	// Body is sent verbatim.
	Body []byte
	// Fault names the injected fault, if any.
	Fault string
	// Drop closes the connection instead of answering.
	Drop bool
	// Gone means the client went away: write nothing.
	Gone bool
}

// Write sends the answer: nothing when Gone, a closed connection when
// Drop, else the status, headers (Content-Type, Content-Length, Header)
// and body.
func (a *Answer) Write(w http.ResponseWriter) {
	switch {
	case a.Gone:
		return
	case a.Drop:
		DropConnection(w)
		return
	}
	h := w.Header()
	ct := a.ContentType
	if ct == "" {
		ct = ContentTypeJSON
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	for _, kv := range a.Header {
		h.Set(kv[0], kv[1])
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// DropConnection closes the client's connection without an answer: it
// hijacks and closes the connection under HTTP/1.1, and otherwise aborts
// the handler (net/http then resets the stream or closes the connection,
// without logging).
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// CleanPrefix makes a path prefix start with "/" and end without one (""
// for the root).
func CleanPrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// StripPrefix reports whether path is prefix itself or below it, and
// returns the rest ("" or starting with "/"). prefix is a CleanPrefix; ""
// matches every path.
func StripPrefix(path, prefix string) (string, bool) {
	if prefix == "" {
		return path, true
	}
	if !strings.HasPrefix(path, prefix) {
		return "", false
	}
	rest := path[len(prefix):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

// MaxAdminBody is the largest body DecodeJSON reads.
const MaxAdminBody = 1 << 20

// DecodeJSON decodes an admin request's JSON body into v, refusing
// unknown fields and bodies over MaxAdminBody; the error names the path.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %s body: %w", r.URL.Path, err)
	}
	return nil
}

// WriteJSON answers an admin request with v as indented JSON (HTML
// characters not escaped).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		WriteError(w, http.StatusInternalServerError, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// WriteError answers an admin request with {"error": err.Error()}.
func WriteError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()}) // a string map always encodes
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
