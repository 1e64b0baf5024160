// Package ingest is the HTTP API through which an HR system writes records:
// POST /v1/{resource} (one record or a JSON array of up to MaxRecords),
// PUT /v1/{resource}/{id} and GET /v1/{resource}/{id}, where {resource} is
// a local table (internal/source): users, companies, tasks, applications
// and payments, with the channel API's paths and bodies (users also take
// the local "active"), and points_grants.
//
// A write is checked with the source's rules and with every enabled
// target's push-time rules, and every problem is answered at once (400). A
// valid write upserts its rows and enqueues the push of every record it
// may change, on every enabled target, on the events queue in one
// transaction, and answers 202; the outbox entries the tables' triggers
// make in that transaction are deleted before it commits, so the change is
// pushed once. A write replaces the whole record: an optional field it
// leaves out becomes NULL. GET answers the local record, in the shape its
// first target will be sent it, with where it stands on every target.
//
// Every request needs "Authorization: Bearer <token>"; with no token
// configured every request answers 503. Wrong tokens are counted per
// client address by a Guard (internal/httpserver/authguard): past its
// budget the address gets 429 with Retry-After and its token is not
// checked. A body with a key twice in one object, or a string holding a
// bidirectional or zero-width format character, is refused (400). Errors are JSON:
// {"error": "...", "errors": [{"field": "...", "rule": "...", "message": "..."}]}.
package ingest

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/source"
	"github.com/chansync/chansync/internal/validate"
)

// MaxRecords is the most records one POST may carry.
const MaxRecords = 1000

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is
// zero: 4 MiB.
const DefaultMaxBodyBytes int64 = 4 << 20

// Prefix is the path prefix the handler serves; mount it with
// mux.Handle(ingest.Prefix, h).
const Prefix = "/v1/"

// Config configures the handler.
type Config struct {
	// Pool is the database the records are written to. Required.
	Pool *pgxpool.Pool
	// Controller enqueues the pushes and reads where records stand; its
	// registry names the enabled targets. Required.
	Controller *control.Controller
	// Token is the bearer token a caller must present (INGEST_TOKEN).
	// Empty disables the API: every request answers 503.
	Token string
	// MaxBodyBytes bounds a request body; larger bodies answer 413.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives one line per request answered with an error, a
	// write or a read (with the client's address). Only kinds, ids, counts,
	// statuses and rule names are logged, never field values; lines about
	// requests refused before authentication are rate-limited by Guard.
	// Default: discard.
	Logger *slog.Logger
	// ObserveFunc, if set, is told of each request answered: its resource
	// (a source's plural, "" when the path names none), method (as the
	// client sent it: bound it before using it as a label), HTTP status and
	// the number of records written (for metrics).
	ObserveFunc func(resource, method string, status int, records int)
	// Guard throttles failed bearer checks per client address (429 with
	// Retry-After) and rate-limits the lines logged about refused
	// credentials. Share one with the status page so that failures against
	// either count together. Default: a Guard of its own with the defaults.
	Guard *authguard.Guard
}

// maxLoggedID is the most bytes of a path's id a log line or an answer
// quotes.
const maxLoggedID = 80

// handler serves the API.
type handler struct {
	cfg       Config
	tokenHash [sha256.Size]byte
	logger    *slog.Logger
}

// New returns the ingest API's handler. It serves paths under Prefix and
// answers 404 elsewhere. It fails when Pool or Inserter is missing.
func New(cfg Config) (http.Handler, error) {
	if cfg.Pool == nil {
		return nil, errors.New("ingest: Pool is required")
	}
	if cfg.Controller == nil {
		return nil, errors.New("ingest: Controller is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Guard == nil {
		cfg.Guard = authguard.New(authguard.Config{Logger: cfg.Logger})
	}
	return &handler{cfg: cfg, tokenHash: sha256.Sum256([]byte(cfg.Token)), logger: cfg.Logger}, nil
}

// FieldError is one problem in an error answer: the field (prefixed with
// the record's index in an array, as in "[3].id_card"; empty for the body
// as a whole), the rule broken and a message.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ErrorBody is the body of every error answer: a one-line summary and,
// when fields are at fault, every problem found.
type ErrorBody struct {
	Error  string       `json:"error"`
	Errors []FieldError `json:"errors,omitempty"`
}

// reply is what a request is answered with; written by ServeHTTP.
type reply struct {
	status  int
	body    any
	header  map[string]string
	source  *source.Source
	id      string
	records int
	// rules names the rules broken, for the log line.
	rules []string
	// unauthenticated tells that the request was refused before its
	// credentials were accepted (401, 429, 503): its log line is
	// rate-limited by the Guard.
	unauthenticated bool
}

func fail(status int, msg string, errs validate.Errors) *reply {
	b := ErrorBody{Error: msg}
	rules := make([]string, 0, len(errs))
	seen := map[string]bool{}
	for _, e := range errs {
		b.Errors = append(b.Errors, FieldError{Field: e.Field, Rule: e.Rule, Message: e.Detail})
		if !seen[e.Rule] {
			seen[e.Rule] = true
			rules = append(rules, e.Rule)
		}
	}
	return &reply{status: status, body: b, rules: rules}
}

// invalid answers 400 with every field error.
func invalid(errs validate.Errors) *reply {
	msg := errs.Error()
	if len(errs) > 1 {
		msg = fmt.Sprintf("%d problems, the first: %s", len(errs), errs[0].Error())
	}
	return fail(http.StatusBadRequest, msg, errs)
}

// ServeHTTP authenticates the request, routes it and answers with JSON.
// Its log line carries the client's address and bounded values only: the
// method as httpserver.Method names it, the id cut to maxLoggedID bytes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	remote := h.cfg.Guard.ClientAddr(r)
	rep := h.serve(w, r, remote)
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	for k, v := range rep.header {
		hdr.Set(k, v)
	}
	w.WriteHeader(rep.status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(rep.body)

	attrs := []slog.Attr{
		slog.String("method", httpserver.Method(r.Method)),
		slog.Int("status", rep.status),
		slog.Duration("took", time.Since(start)),
	}
	resource := ""
	if rep.source != nil {
		resource = rep.source.Plural
		attrs = append(attrs, slog.String("kind", rep.source.Name))
	}
	if id := cmp.Or(r.PathValue("id"), rep.id); id != "" {
		attrs = append(attrs, slog.String("id", httpserver.Clip(id, maxLoggedID)))
	}
	if rep.records > 0 {
		attrs = append(attrs, slog.Int("records", rep.records))
	}
	if len(rep.rules) > 0 {
		attrs = append(attrs, slog.String("rules", strings.Join(rep.rules, ",")))
	}
	switch {
	case rep.unauthenticated:
		h.cfg.Guard.Log(r.Context(), slog.LevelWarn, "ingest request refused", remote, attrs...)
	case rep.status >= 500:
		attrs = append(attrs, slog.String("remote", remote))
		h.logger.LogAttrs(r.Context(), slog.LevelError, "ingest request failed", attrs...)
	case rep.status >= 400:
		attrs = append(attrs, slog.String("remote", remote))
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "ingest request refused", attrs...)
	case r.Method == http.MethodGet:
		// Reads are logged too: who (the ingest token is the only identity)
		// read which record, never what it holds.
		attrs = append(attrs, slog.String("actor", "ingest"), slog.String("remote", remote))
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "ingest read", attrs...)
	default:
		attrs = append(attrs, slog.String("actor", "ingest"), slog.String("remote", remote))
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "ingest write accepted", attrs...)
	}
	if h.cfg.ObserveFunc != nil {
		h.cfg.ObserveFunc(resource, r.Method, rep.status, rep.records)
	}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, remote string) *reply {
	if rep := h.authenticate(r, remote); rep != nil {
		rep.unauthenticated = true
		return rep
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		return fail(http.StatusNotFound, "not found", nil)
	}
	resource, id, hasID := strings.Cut(rest, "/")
	s, err := source.Lookup(resource)
	if err != nil || s.Plural != resource {
		names := make([]string, len(source.All))
		for i, src := range source.All {
			names[i] = src.Plural
		}
		return fail(http.StatusNotFound, fmt.Sprintf("unknown resource %q: want one of %s", httpserver.Clip(resource, maxLoggedID), strings.Join(names, ", ")), nil)
	}
	if hasID && (id == "" || strings.Contains(id, "/")) {
		rep := fail(http.StatusNotFound, "not found: want /v1/"+resource+" or /v1/"+resource+"/{id}", nil)
		rep.source = s
		return rep
	}
	if hasID {
		r.SetPathValue("id", id)
	}
	var rep *reply
	switch {
	case !hasID && r.Method == http.MethodPost:
		rep = h.write(w, r, s, "")
	case hasID && r.Method == http.MethodPut:
		rep = h.write(w, r, s, id)
	case hasID && r.Method == http.MethodGet:
		rep = h.get(r, s, id)
	default:
		allow := "POST"
		if hasID {
			allow = "GET, PUT"
		}
		rep = fail(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use %s", httpserver.Method(r.Method), allow), nil)
		rep.header = map[string]string{"Allow": allow}
	}
	rep.source = s
	return rep
}

// authenticate answers 503 when no token is configured, 429 when the
// client's address has failed too often (its token is then not checked),
// and 401 when the request does not carry the token (a wrong token counts
// as a failure of the address); nil lets the request through.
func (h *handler) authenticate(r *http.Request, remote string) *reply {
	if h.cfg.Token == "" {
		return fail(http.StatusServiceUnavailable, "ingest disabled: INGEST_TOKEN is not set", nil)
	}
	if wait := h.cfg.Guard.Wait(remote); wait > 0 {
		rep := fail(http.StatusTooManyRequests, "too many failed authentications from this address: try again later", nil)
		rep.header = map[string]string{"Retry-After": authguard.RetryAfter(wait)}
		return rep
	}
	const challenge = `Bearer realm="chansync ingest"`
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if auth == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
		if auth != "" {
			h.cfg.Guard.Fail(remote)
		}
		rep := fail(http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <INGEST_TOKEN>", nil)
		rep.header = map[string]string{"WWW-Authenticate": challenge}
		return rep
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) != 1 {
		h.cfg.Guard.Fail(remote)
		rep := fail(http.StatusUnauthorized, "invalid bearer token", nil)
		rep.header = map[string]string{"WWW-Authenticate": challenge + `, error="invalid_token"`}
		return rep
	}
	return nil
}

// jsonContent reports whether the request's Content-Type is
// application/json (parameters such as charset allowed).
func jsonContent(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}
