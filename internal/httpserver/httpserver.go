// Package httpserver builds the worker's HTTP server: the limits that keep
// a slow or hostile client from holding connections (read, write and idle
// timeouts, a cap on header bytes), the security headers every answer
// carries, an error log that goes through the masking logger, and the
// health, readiness and metrics routes (readiness cached and metrics
// bounded so that a flood of probes cannot take the jobs' database
// connections).
//
// The handlers of the ingest API and the status page are mounted on the
// mux NewMux returns; New wraps the whole mux.
package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chansync/chansync/internal/mask"
)

// Defaults of Config.
const (
	// DefaultReadHeaderTimeout bounds the reading of a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds the reading of a whole request, body
	// included: a client that sends its headers and never its body is cut
	// off after it.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds the time from the end of the request's
	// headers to the end of the answer.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds how long a kept-alive connection waits for
	// its next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes bounds a request's header lines: 64 KiB.
	DefaultMaxHeaderBytes = 64 << 10
)

// MaxLogValue is the most bytes of a client's value (a method, a path, an
// id, a message the server's error log carries) a log line holds; longer
// values are cut (see Clip).
const MaxLogValue = 200

// Config sets the server's limits. Zero values take the defaults.
type Config struct {
	// ReadHeaderTimeout bounds reading the headers. Default
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request. Default
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the answer. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// IdleTimeout bounds an idle kept-alive connection. Default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request headers. Default
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Logger receives the server's own errors (refused connections, TLS
	// errors, panics), masked (internal/mask) and cut to MaxLogValue bytes.
	// Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.ReadHeaderTimeout > c.ReadTimeout {
		c.ReadHeaderTimeout = c.ReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// New returns a server for h with cfg's limits, every answer carrying the
// headers of SecureHeaders, and its error log going through cfg.Logger,
// masked and cut. The caller serves it (Serve, ListenAndServe) and shuts it
// down.
func New(cfg Config, h http.Handler) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:           SecureHeaders(h),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(mask.NewHandler(clipHandler{cfg.Logger.With(slog.String("component", "http")).Handler()}), slog.LevelWarn),
	}
}

// Headers every answer carries (see SecureHeaders).
const (
	// ContentSecurityPolicy lets an answer load nothing, run nothing and be
	// framed by nobody; the status page sets its own, which lets its style
	// sheet and forms through.
	ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	// ReferrerPolicy sends no Referer from an answer.
	ReferrerPolicy = "no-referrer"
)

// SecureHeaders sets, before h runs, the headers every answer carries:
// X-Content-Type-Options: nosniff, a Content-Security-Policy with
// frame-ancestors 'none' (ContentSecurityPolicy), X-Frame-Options: DENY and
// Referrer-Policy: no-referrer. A handler may replace them with stricter or
// more precise ones of its own.
func SecureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", ReferrerPolicy)
		h.ServeHTTP(w, r)
	})
}

// Clip returns s cut to at most n bytes (on a character boundary) with
// "…" appended when it was cut, and with invalid UTF-8 replaced: what a log
// line or an answer may quote of a client's value.
func Clip(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// clipHandler cuts the message and every string attribute of a record to
// MaxLogValue bytes.
type clipHandler struct{ next slog.Handler }

func (h clipHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h clipHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Clip(strings.TrimSpace(r.Message), MaxLogValue), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindString {
			a.Value = slog.StringValue(Clip(a.Value.String(), MaxLogValue))
		}
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h clipHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return clipHandler{h.next.WithAttrs(attrs)}
}

func (h clipHandler) WithGroup(name string) slog.Handler { return clipHandler{h.next.WithGroup(name)} }

// MethodOther is what Method names a method it does not know.
const MethodOther = "other"

// Method returns m when it is one of the methods of RFC 9110 and PATCH,
// else MethodOther: what a metric label or a log line may carry of a
// client's method, so that made-up methods add no series and no long
// lines.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return MethodOther
}
