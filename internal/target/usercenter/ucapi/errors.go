package ucapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Class says what a caller should do about an error.
type Class int

// The classes of user-centre errors (apihub-api.md, "Envelope").
const (
	// ClassTransient errors may succeed if tried again later: HTTP 408 and
	// 5xx, network errors, resets and timeouts, a 3xx (never followed), an
	// answer that is not the envelope, or one too large to read. A create
	// that failed so may have happened: look it up before trying again.
	ClassTransient Class = iota
	// ClassRateLimited is HTTP 429: wait Error.RetryAfter (when the service
	// gave one), then try again. The request was not applied.
	ClassRateLimited
	// ClassAuth is HTTP 401 or 403: the credentials (APIHUB_AK, APIHUB_SK)
	// were refused. Pause; nothing will succeed until they are fixed.
	ClassAuth
	// ClassData errors will not succeed as they are: any other 4xx, an
	// answer with "success": false and HTTP 2xx (a taken username, a bad
	// field), or a request the client refused to send (Error.Field names
	// the bad field).
	ClassData
)

// String names the class: "transient", "rate-limited", "auth" or "data".
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassRateLimited:
		return "rate-limited"
	case ClassAuth:
		return "auth"
	case ClassData:
		return "data"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Error is a failed call to the user centre. Its message holds the route,
// the HTTP status, the envelope's code and message (cut to MaxMessageBytes);
// never the SK, the app token, or a request body.
type Error struct {
	// Route names the endpoint, e.g. "POST create-user" (no ids).
	Route string
	// HTTPStatus is the answer's status; 0 if none came.
	HTTPStatus int
	// Envelope is set when the answer was the user centre's own envelope,
	// not a page from something in front of it (a gateway's 502 or 504
	// may come while the user centre still works on the request).
	Envelope bool
	// Code is the envelope's code as text (a number is rendered in
	// decimal); "" when the answer had none.
	Code string
	// Message is the service's msg, or what went wrong, cut to
	// MaxMessageBytes.
	Message string
	// Field names the request field the client refused to send, when the
	// error comes from the client's own check ("" otherwise).
	Field string
	// Trace is the envelope's trace id, for the service's support.
	Trace string
	// RetryAfter is the wait asked for by a 429's Retry-After (seconds or
	// an HTTP date), capped by Config.MaxRetryAfter; 0 when absent.
	RetryAfter time.Duration
	// Class says what to do about the error.
	Class Class
	// Err is the underlying cause (a network error, a context error), if any.
	Err error
}

// Error renders the error in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("user centre ")
	b.WriteString(e.Route)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": code %s", e.Code)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Trace != "" {
		fmt.Fprintf(&b, " (trace %s)", e.Trace)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err: the Class of a *Error in its chain, and
// ClassTransient for anything else. A cancelled or expired caller context
// is not the service's fault: check your own ctx before classifying.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassTransient
}

// classOfStatus classifies an answer that is not a success by its status.
func classOfStatus(status int) Class {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ClassAuth
	case status == http.StatusTooManyRequests:
		return ClassRateLimited
	case status == http.StatusRequestTimeout, status >= 500:
		return ClassTransient
	case status >= 400:
		return ClassData
	case status >= 200 && status < 300:
		// 2xx with "success": false is the service refusing the data; a 2xx
		// that is not the envelope is handled by the caller.
		return ClassData
	}
	// 1xx, 3xx (redirects are not followed).
	return ClassTransient
}

// MaxMessageBytes is the most of a service's message an Error keeps.
const MaxMessageBytes = 300

// cut shortens s to at most MaxMessageBytes bytes at a rune boundary,
// marking the cut with "…", and drops control characters.
func cut(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxMessageBytes {
		return s
	}
	const ellipsis = "…"
	n := MaxMessageBytes - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}

// maxDuration is the most whole seconds a time.Duration holds.
const maxDuration = time.Duration(math.MaxInt64/int64(time.Second)) * time.Second

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date),
// capped at limit; 0 when absent, unreadable or in the past.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case secs <= 0:
			return 0
		case secs > int64(maxDuration/time.Second):
			d = maxDuration
		default:
			d = time.Duration(secs) * time.Second
		}
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, limit)
}
