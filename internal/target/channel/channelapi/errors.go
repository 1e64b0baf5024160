package channelapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Envelope codes of the channel API.
const (
	CodeOK           = 0
	CodeParam        = 1001
	CodeAuthFailed   = 1002
	CodeTokenInvalid = 1003
	CodeForbidden    = 1004
	CodeServer       = 5001
)

// Class says what a caller should do about an error.
type Class int

// The classes of channel errors.
const (
	// ClassTransient errors may succeed if tried again later (5001, 408,
	// 425, 5xx, network errors, a second 1003, an undecodable answer).
	ClassTransient Class = iota
	// ClassRateLimited is HTTP 429: wait RetryAfter, then try again.
	ClassRateLimited
	// ClassAuth is 1002: the credentials are wrong. It is also the class of
	// every non-transient failure of the token endpoints (see
	// ErrTokenEndpoint): whatever /auth/token answers, it is not the fault
	// of the record being pushed.
	ClassAuth
	// ClassPermanent errors will not succeed as they are (1001, 1004,
	// unknown codes, other 4xx).
	ClassPermanent
)

// String names the class.
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassRateLimited:
		return "rate-limited"
	case ClassAuth:
		return "auth"
	case ClassPermanent:
		return "permanent"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// ErrNotFound is matched (errors.Is) by a GET of a record the channel does
// not hold: envelope code 1001 or HTTP 404.
var ErrNotFound = errors.New("not found")

// ErrTokenEndpoint is matched (errors.Is) by every failure of the token
// endpoints (POST /auth/token, POST /auth/refresh) that a call returns, so
// that a caller can tell "the channel would not give us a token" from "the
// channel refused this record". Its class says what to do: transient
// failures (network, 5xx, 408, 425, a second 1003, an answer without a
// token) stay ClassTransient, 429 stays ClassRateLimited, and anything else
// (1001, 1002, 1004, an unknown code, a bare 4xx) is ClassAuth: no record
// is to blame, so none may be dead-lettered for it.
var ErrTokenEndpoint = errors.New("token endpoint fails")

// Error is a failed call to the channel. Its message holds the operation,
// the HTTP status, the envelope code and the channel's message; never the
// secret, a token or a request body.
type Error struct {
	// Op is the call, e.g. "POST /tasks".
	Op string
	// HTTPStatus is the answer's status, 0 if none came.
	HTTPStatus int
	// Code is the envelope's code, 0 if the answer had no envelope.
	Code int
	// Message is the channel's message, cut to MaxMessageLen bytes (on a
	// UTF-8 boundary, ending in "…" when cut) with control characters
	// replaced by spaces: a hostile or broken channel cannot flood the logs,
	// the sync state or a terminal through it.
	Message string
	// RetryAfter is the wait the channel asked for (HTTP 429).
	RetryAfter time.Duration
	// Class says what to do about the error.
	Class Class
	// NotFound is set for a GET of a record the channel does not hold.
	NotFound bool
	// TokenEndpoint is set when the failure is that of POST /auth/token or
	// POST /auth/refresh (errors.Is(err, ErrTokenEndpoint) reports it).
	TokenEndpoint bool
	// Redirect is the host a 3xx answer pointed to (cut like Message), or
	// "" when the answer named none. Redirects are never followed: a 3xx is
	// a transient error, and the redirect target receives nothing.
	Redirect string
	// Err is the underlying cause (network error), if any.
	Err error
}

// Error renders the error in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("channel ")
	b.WriteString(e.Op)
	if e.TokenEndpoint {
		b.WriteString(": the token endpoint fails")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.HTTPStatus >= 300 && e.HTTPStatus < 400 {
		if e.Redirect != "" {
			fmt.Fprintf(&b, ": redirect to host %q not followed", e.Redirect)
		} else {
			b.WriteString(": redirect not followed")
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound and the error means not found,
// or target is ErrTokenEndpoint and the error is a token endpoint's.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.NotFound
	case ErrTokenEndpoint:
		return e.TokenEndpoint
	}
	return false
}

// ClassOf returns the class of err: the Class of a *Error in its chain, and
// ClassTransient for anything else (a network error without a *Error).
// A cancelled or expired caller context is not the channel's fault; callers
// should check their own ctx before classifying.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassTransient
}

// IsCode reports whether err carries the envelope code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// classify fills in the class of an error from its code and status, per
// channel-api.md: the envelope's code when there is one, else the status.
func classify(e *Error) {
	switch {
	case e.HTTPStatus == http.StatusTooManyRequests:
		e.Class = ClassRateLimited
	case e.HTTPStatus >= 300 && e.HTTPStatus < 400:
		// A redirect, not followed: the channel moved or something in
		// between misbehaves. Not the record's fault; the breaker sees it.
		e.Class = ClassTransient
	case e.Code != 0:
		switch e.Code {
		case CodeServer:
			e.Class = ClassTransient
		case CodeAuthFailed:
			e.Class = ClassAuth
		case CodeTokenInvalid:
			// Only reached when the one refresh-and-repeat did not help.
			e.Class = ClassTransient
		default:
			e.Class = ClassPermanent
		}
	case e.HTTPStatus == 0:
		e.Class = ClassTransient
	case e.HTTPStatus == http.StatusRequestTimeout, e.HTTPStatus == http.StatusTooEarly, e.HTTPStatus >= 500:
		e.Class = ClassTransient
	case e.HTTPStatus >= 400:
		e.Class = ClassPermanent
	default:
		// A 1xx or 2xx without a decodable envelope: a broken proxy or a
		// truncated answer.
		e.Class = ClassTransient
	}
}

// DefaultMaxRetryAfter is the longest wait a Retry-After header may ask
// for when Config.MaxRetryAfter is not set.
const DefaultMaxRetryAfter = 15 * time.Minute

// parseRetryAfter reads a Retry-After header, seconds or an HTTP date, and
// caps the wait at limit: a channel asking for a wait of centuries gets
// limit, never a job scheduled for the year 2319 (nor a Duration wrapped
// round to a negative one).
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	secs, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) {
		// More seconds than an int holds: as long as allowed, or none.
		if strings.HasPrefix(v, "-") {
			return 0
		}
		return limit
	}
	if err == nil {
		if secs <= 0 {
			return 0
		}
		if int64(secs) > int64(limit/time.Second) {
			return limit
		}
		return min(time.Duration(secs)*time.Second, limit)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, limit)
		}
	}
	return 0
}

// MaxMessageLen is the most bytes of text the client keeps from an answer
// (the envelope's message, a redirect's host, the ids and times it
// decodes); longer text is cut on a UTF-8 boundary and ends in "…".
const MaxMessageLen = 300

// ellipsis marks text that was cut.
const ellipsis = "…"

// cutText bounds text copied from an answer: control characters (newlines,
// escape sequences) become spaces, invalid UTF-8 becomes U+FFFD, and text
// longer than MaxMessageLen bytes is cut on a rune boundary and ends in
// "…", within MaxMessageLen bytes in all.
func cutText(s string) string {
	if len(s) <= MaxMessageLen && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= MaxMessageLen {
		return s
	}
	end := MaxMessageLen - len(ellipsis)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ellipsis
}

// isCallerDone reports whether err comes from the caller's own context.
func isCallerDone(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
