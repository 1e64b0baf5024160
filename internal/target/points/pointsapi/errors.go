package pointsapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CodeOK is the envelope code of a success. Errors carry the HTTP status
// as their code (401, 402, 429, ...).
const CodeOK = 200

// Class says what a caller should do about an error.
type Class int

// The classes of errors. Their String forms are stable (metrics labels).
const (
	// ClassTransient may succeed if tried again later: 408, 5xx, network
	// errors (refused, reset, timeout), a success status without a
	// readable envelope, an answer too large, a redirect. For a call that
	// is not idempotent (Recharge), see Error.OutcomeUnknown.
	ClassTransient Class = iota
	// ClassRateLimited is 429: wait RetryAfter (0 when the API gave no
	// usable Retry-After), then try again.
	ClassRateLimited
	// ClassAuth is 401: the API key is invalid, disabled or expired, or
	// a bearer token was refused twice. Nothing will work until an
	// operator fixes the key.
	ClassAuth
	// ClassPoolTooLow is 402: the developer's points pool is too low for
	// this recharge. It is not the request's fault and nothing changed:
	// wait until the pool is topped up.
	ClassPoolTooLow
	// ClassData is any other 4xx (and a request the client refused to
	// send): the request will not succeed as it is.
	ClassData
)

// String names the class: "transient", "rate-limited", "auth",
// "pool-too-low" or "data".
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassRateLimited:
		return "rate-limited"
	case ClassAuth:
		return "auth"
	case ClassPoolTooLow:
		return "pool-too-low"
	case ClassData:
		return "data"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// classOfStatus maps an HTTP status (or an envelope code, which the API
// sets to the same number) to a class, per apihub-api.md.
func classOfStatus(n int) Class {
	switch {
	case n == http.StatusUnauthorized:
		return ClassAuth
	case n == http.StatusPaymentRequired:
		return ClassPoolTooLow
	case n == http.StatusTooManyRequests:
		return ClassRateLimited
	case n == http.StatusRequestTimeout, n >= 500:
		return ClassTransient
	case n >= 400:
		return ClassData
	}
	// 1xx, 2xx or 3xx without a usable answer: a broken proxy, a
	// truncated answer, a redirect.
	return ClassTransient
}

// Error is a failed call to the points API. Its message holds the
// operation, the HTTP status, the envelope code and the API's message (cut
// to MaxMessageBytes); never the API key, a bearer token or a request body.
type Error struct {
	// Op is the call's route, e.g. "POST /points/users/recharge" (one of
	// the Route* constants).
	Op string
	// HTTPStatus is the answer's status, 0 if none came.
	HTTPStatus int
	// Code is the envelope's code, 0 if the answer had no envelope.
	Code int
	// Message is the API's message, cut to MaxMessageBytes, with any
	// credential in it replaced by "[redacted]".
	Message string
	// RetryAfter is the wait a 429 asked for, capped by
	// Config.MaxRetryAfter; 0 if none was given.
	RetryAfter time.Duration
	// RedirectHost is the host a 3xx answer pointed to (redirects are
	// never followed).
	RedirectHost string
	// Class says what to do about the error.
	Class Class
	// Sent is true when the request was (at least partly) written to the
	// server, so the server may have acted on it. It is false for a
	// request refused before sending (bad input, rate limiter, a dial
	// that failed).
	Sent bool
	// Err is the underlying cause (a network error, the caller's context),
	// if any.
	Err error
}

// Error renders the error in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("apihub points ")
	b.WriteString(e.Op)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Code != 0 && e.Code != e.HTTPStatus {
		fmt.Fprintf(&b, ": code %d", e.Code)
	}
	if e.RedirectHost != "" {
		fmt.Fprintf(&b, ": redirected to host %q, not followed", e.RedirectHost)
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
	b.WriteString(" [")
	b.WriteString(e.Class.String())
	b.WriteString("]")
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// OutcomeUnknown reports whether the call may or may not have been applied:
// a transient error after the request was sent (no answer, reset, timeout,
// 5xx, 408, an unreadable success). For Recharge this means: do NOT send it
// again before the ledger shows it is absent (see FindRecharge), and only
// once the request can no longer be in flight (Client.MaxInFlight).
func (e *Error) OutcomeUnknown() bool { return e.Sent && e.Class == ClassTransient }

// ClassOf returns the class of err: the Class of a *Error in its chain, and
// ClassTransient for anything else.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassTransient
}

// MaxMessageBytes is the most of an API message an Error keeps.
const MaxMessageBytes = 300

// cutMessage trims s to at most MaxMessageBytes, at a rune boundary, with
// "…" appended when cut, and with control characters replaced by spaces.
func cutMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
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

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date)
// and caps the wait at limit. A missing, negative or unreadable value is 0.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.Trim(v, "0123456789") == "" {
		// Whole seconds; too many to parse is more than the cap.
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(limit/time.Second) {
			return limit
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(0, min(t.Sub(now), limit))
}
