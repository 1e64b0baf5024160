package channelapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	// ClassAuth is 1002: the credentials are wrong.
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
	// Message is the channel's message, verbatim.
	Message string
	// RetryAfter is the wait the channel asked for (HTTP 429).
	RetryAfter time.Duration
	// Class says what to do about the error.
	Class Class
	// NotFound is set for a GET of a record the channel does not hold.
	NotFound bool
	// Err is the underlying cause (network error), if any.
	Err error
}

// Error renders the error in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("channel ")
	b.WriteString(e.Op)
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

// Is reports whether target is ErrNotFound and the error means not found.
func (e *Error) Is(target error) bool { return target == ErrNotFound && e.NotFound }

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
		// A 2xx or 3xx without a decodable envelope: a broken proxy or a
		// truncated answer.
		e.Class = ClassTransient
	}
}

// maxRetryAfter is the longest wait parseRetryAfter returns: the most
// whole seconds a time.Duration holds, so that a huge number of seconds is
// capped instead of wrapping around to a negative or tiny wait.
const maxRetryAfter = time.Duration(math.MaxInt64/int64(time.Second)) * time.Second

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		if int64(secs) > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// isCallerDone reports whether err comes from the caller's own context.
func isCallerDone(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
