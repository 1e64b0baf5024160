// Package statuspage serves the operator's status page: server-rendered
// HTML (html/template, embedded in the binary, no JavaScript) that shows,
// for every enabled target side by side, its connection, its hold if it is
// paused, and where each of its kinds stands; the queue, the current or
// last bulk run, the projects mirror's last run, the dead letters with
// their reasons and targets, and each local record in detail with a panel
// per target that takes it (personal data masked, and for a user the
// points balance). It lets an operator replay dead letters and push a
// record now. Every replay and push is recorded in replay_log and shown on
// the overview.
//
// The page knows targets and kinds only through the registry of its
// Controller. It calls internal/control for its counts, standings, holds,
// replays and pushes, so that it never disagrees with the enqueue command;
// it reads only the views control lacks (dead letters in pages, the
// replay log, attempts) itself.
//
// # Routes
//
//	GET  /                       overview
//	GET  /login, POST /login     log in with the admin token (form field "token")
//	GET  /logout, POST /logout   log out (the GET shows a button)
//	GET  /dead                   dead letters: ?target=&kind=&reason=&page=
//	GET  /records/{source}/{id}  one local record (user, company, task,
//	                             application, payment, points_grant) on every target
//	POST /actions/replay         replay one dead letter (target, kind, id)
//	GET  /actions/replay-bulk    confirm a bulk replay: ?target=&kind=&reason= (or all=1)
//	POST /actions/replay-bulk    replay every dead letter of a target, kind and/or reason
//	POST /actions/push           push one record of one kind now (target, kind, id)
//	GET  /static/style.css       the style sheet (public)
//
// A target or kind a filter or form names must be enabled (400 naming the
// enabled ones otherwise); a kind names its target (kind names are unique
// across targets), so a form may leave the target out. A reason filter
// matches a substring of the last error, case-insensitively and literally.
//
// # Access
//
// Without an AdminToken the page is off: every path answers 404 "status page
// off". Otherwise every page needs one of:
//
//   - an "Authorization: Bearer <ADMIN_TOKEN>" header (for scripts); or
//   - a session cookie from POST /login with the token. The cookie holds a
//     random 32-byte id and is HttpOnly, SameSite=Strict, and Secure when
//     the request came over TLS or with X-Forwarded-Proto: https. Sessions
//     live in Postgres (page_session), stored by the SHA-256 of their id
//     only, so every worker process accepts them and they survive a
//     restart. A session ends SessionTTL after login or SessionIdle after
//     its last request, whichever comes first.
//
// Without credentials a page redirects to /login (a wrong bearer token gets
// 401) and shows nothing else: no ids, no counts. An action without
// credentials gets 401. A failed login gets 401 and no hint. Failed logins
// and wrong bearer tokens are counted per client address by a Guard
// (internal/httpserver/authguard): past its budget the address gets 429
// with Retry-After, and its tokens are not checked until then.
//
// # Cross-site request forgery
//
// Every action is a POST. Each is first checked by net/http's
// CrossOriginProtection (Sec-Fetch-Site, else Origin against Host):
// a cross-origin POST is refused with 403 whatever its credentials. An
// action authenticated by the session cookie must also carry the session's
// CSRF token (a random 32-byte value tied to the session) in the hidden
// form field "csrf", compared in constant time; without it, 403. An action
// authenticated by a bearer header needs no CSRF token: a browser never
// adds that header by itself, and a cross-origin page cannot set it without
// a CORS preflight this server never grants, so a forged request cannot
// carry it.
package statuspage

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/target"
)

// stateUnknown is the connection state shown when nothing is known.
const stateUnknown = "unknown"

// TargetStateFunc reports the state of the connection to target t as this
// process sees it ("ok", "auth failing", "rate-limited", "unreachable",
// "unknown"; the worker passes telemetry.Health.State), since when (zero if
// unknown) and a short explanation (the last error; shown masked). It is
// called on every overview and must not block.
type TargetStateFunc func(t target.Name) (state string, since time.Time, detail string)

// Points is a user's points balance and latest ledger entries, as the
// points target holds them.
type Points struct {
	// BalanceCents is the balance, in cents.
	BalanceCents int64
	// Entries are the latest ledger entries, newest first.
	Entries []LedgerEntry
}

// LedgerEntry is one entry of a user's points ledger.
type LedgerEntry struct {
	// At is when the entry was made.
	At time.Time
	// RecordType is the target's type of entry (a recharge, a spend).
	RecordType string
	// ChangeCents is the change of the balance, negative for a debit;
	// BalanceAfter the balance after it, in cents.
	ChangeCents  int64
	BalanceAfter int64
	// Reason is the entry's reason; it is shown masked.
	Reason string
}

// PointsFunc fetches the points of the user named userID from the points
// target. It is called when a user's record page is opened; its error is
// shown masked, in short, and never fails the page.
type PointsFunc func(ctx context.Context, userID string) (*Points, error)

// MirrorRun is a run of the projects mirror.
type MirrorRun struct {
	// StartedAt and FinishedAt bound the run; FinishedAt is nil while it
	// runs.
	StartedAt, FinishedAt *time.Time
	// Published counts the published projects the run saw; Added,
	// Unpublished and Republished what it changed in apihub_projects.
	Published, Added, Unpublished, Republished int
	// Error is why the run failed, if it did; it is shown masked.
	Error string
}

// LastMirrorRunFunc returns the current or last run of the projects
// mirror, or nil when none is recorded.
type LastMirrorRunFunc func(ctx context.Context) (*MirrorRun, error)

// BulkRun is the progress of a bulk run (enqueue all, or the nightly run).
type BulkRun struct {
	// ID numbers the run.
	ID int64
	// Trigger names who started it ("enqueue all", "schedule").
	Trigger string
	// Force tells whether every record was pushed, changed or not.
	Force bool
	// Kinds are the kinds the run covers, as "target/kind".
	Kinds []string
	// Scans break the run down per kind, in the order they were scanned;
	// empty while scanning.
	Scans []BulkScan
	// StartedAt is when the run started; EnqueuedAt when its scan ended
	// (nil while scanning); FinishedAt when its queue drained (nil while
	// running, or if nobody waited for it).
	StartedAt  time.Time
	EnqueuedAt *time.Time
	FinishedAt *time.Time
	// Scanned, Enqueued and Unchanged count the scan: rows read, records
	// enqueued, records the channel already held as they are.
	Scanned, Enqueued, Unchanged int64
	// Done counts the enqueued records with an outcome (pushed, dead or
	// blocked); Pushed, Retrying, Blocked and Dead break outcomes down.
	Done, Pushed, Retrying, Blocked, Dead int64
}

// BulkScan is what a bulk run found and did for one kind of one target.
type BulkScan struct {
	// Target and Kind name the kind.
	Target, Kind string
	// Scanned, Enqueued and Unchanged count the kind's scan.
	Scanned, Enqueued, Unchanged int64
	// Pushed, Retrying, Blocked and Dead break its outcomes down.
	Pushed, Retrying, Blocked, Dead int64
}

// Percent returns the share of enqueued records done, 0 to 100.
func (b BulkRun) Percent() int {
	if b.Enqueued <= 0 {
		if b.EnqueuedAt != nil {
			return 100
		}
		return 0
	}
	return int(min(b.Done, b.Enqueued) * 100 / b.Enqueued)
}

// DoneClamped returns Done, at most Enqueued (records pushed by events
// during the run also count as pushed).
func (b BulkRun) DoneClamped() int64 { return max(0, min(b.Done, b.Enqueued)) }

// State returns "scanning", "running" or "finished".
func (b BulkRun) State() string {
	switch {
	case b.FinishedAt != nil:
		return "finished"
	case b.EnqueuedAt == nil:
		return "scanning"
	case b.Done >= b.Enqueued:
		return "finished"
	}
	return "running"
}

// BulkRunFunc returns the current or last bulk run, or nil when none is
// recorded.
type BulkRunFunc func(ctx context.Context) (*BulkRun, error)

// Config configures the status page.
type Config struct {
	// Controller counts, replays and pushes; its registry names the
	// enabled targets and their kinds. Required unless AdminToken is empty.
	Controller *control.Controller
	// Pool reads the page's own views (dead letter pages, record detail,
	// the replay log, bulk runs). Required unless AdminToken is empty.
	Pool *pgxpool.Pool
	// AdminToken is the operator's secret. Empty turns the page off.
	AdminToken string
	// SessionTTL is how long a login lasts at most. Default 12h.
	SessionTTL time.Duration
	// SessionIdle ends a session this long after its last request. Default
	// 30m.
	SessionIdle time.Duration
	// Guard throttles failed logins and wrong bearer tokens per client
	// address and rate-limits their log lines. Share one with the ingest
	// API. Default: a Guard of its own with the defaults.
	Guard *authguard.Guard
	// TargetStateFunc reports each target's connection. Nil shows
	// "unknown".
	TargetStateFunc TargetStateFunc
	// BulkRunFunc reports the current or last bulk run. Nil reads the
	// newest run recorded in bulk_run, with its progress from control's
	// RunSummary.
	BulkRunFunc BulkRunFunc
	// PointsFunc fetches a user's points for the user's record page. Nil
	// (the points target is off) shows no points.
	PointsFunc PointsFunc
	// PointsTimeout bounds a PointsFunc call. Default 5s.
	PointsTimeout time.Duration
	// LastMirrorRunFunc reports the projects mirror's last run on the
	// overview. Nil (the mirror is off) shows no mirror.
	LastMirrorRunFunc LastMirrorRunFunc
	// PageSize is how many dead letters a page lists. Default 50.
	PageSize int
	// Logger receives logins, failed logins and actions. Default: discard.
	Logger *slog.Logger
	// Now tells the time (sessions, "ago"). Default time.Now.
	Now func() time.Time
}

// ErrConfig is wrapped by New's errors about a Config.
var ErrConfig = errors.New("statuspage: bad config")

//go:embed templates/*.html static/*.css
var assets embed.FS

// New returns the status page's handler, to be served at the root of
// HTTP_ADDR. With an empty AdminToken the handler answers every request
// with 404 "status page off". It fails when a token is set but Controller
// or Pool is missing.
func New(cfg Config) (http.Handler, error) {
	if cfg.AdminToken == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			setHeaders(w)
			http.Error(w, "status page off", http.StatusNotFound)
		}), nil
	}
	if cfg.Controller == nil {
		return nil, fmt.Errorf("%w: Controller is required", ErrConfig)
	}
	if cfg.Pool == nil {
		return nil, fmt.Errorf("%w: Pool is required", ErrConfig)
	}
	reg := cfg.Controller.Registry()
	if reg == nil {
		return nil, fmt.Errorf("%w: the Controller has no Registry", ErrConfig)
	}
	if cfg.PointsTimeout <= 0 {
		cfg.PointsTimeout = 5 * time.Second
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Guard == nil {
		cfg.Guard = authguard.New(authguard.Config{Logger: cfg.Logger, NowFunc: cfg.Now})
	}
	q := dbsqlc.New(cfg.Pool)
	if cfg.BulkRunFunc == nil {
		cfg.BulkRunFunc = recordedBulkRun(q, cfg.Controller)
	}
	tmpl, err := parseTemplates(cfg.Now)
	if err != nil {
		return nil, err
	}
	tokenSum := sha256.Sum256([]byte(cfg.AdminToken))
	s := &server{
		cfg:      cfg,
		ctl:      cfg.Controller,
		reg:      reg,
		q:        q,
		tokenSum: tokenSum,
		sessions: newSessionStore(q, cfg.SessionTTL, cfg.SessionIdle, cfg.Now),
		guard:    cfg.Guard,
		cop:      http.NewCrossOriginProtection(),
		tmpl:     tmpl,
		logger:   cfg.Logger,
	}
	return s.routes(), nil
}

type server struct {
	cfg      Config
	ctl      *control.Controller
	reg      *target.Registry
	q        *dbsqlc.Queries
	tokenSum [sha256.Size]byte
	sessions *sessionStore
	guard    *authguard.Guard
	cop      *http.CrossOriginProtection
	tmpl     map[string]*template.Template
	logger   *slog.Logger
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/style.css", s.style)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("GET /logout", s.page(s.logoutForm))
	mux.Handle("POST /logout", s.action(s.logout))
	mux.Handle("GET /{$}", s.page(s.overview))
	mux.Handle("GET /dead", s.page(s.deadLetters))
	mux.Handle("GET /records/{source}/{id}", s.page(s.recordDetail))
	mux.Handle("GET /actions/replay-bulk", s.page(s.replayBulkConfirm))
	mux.Handle("POST /actions/replay", s.action(s.replayOne))
	mux.Handle("POST /actions/replay-bulk", s.action(s.replayBulk))
	mux.Handle("POST /actions/push", s.action(s.pushOne))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		mux.ServeHTTP(w, r)
	})
}

// setHeaders sets the headers every answer carries: nothing is cached (the
// pages hold personal data, masked or not), nothing runs scripts, nothing
// frames the page.
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func (s *server) style(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("static/style.css")
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(b)
}

// tokenOK compares a presented token with the admin token in constant time
// (of the token's length, too: both are hashed first).
func (s *server) tokenOK(presented string) bool {
	if presented == "" {
		return false
	}
	sum := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

// bearer returns the token of an "Authorization: Bearer" header and
// whether there is an Authorization header at all.
func bearer(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(rest), true
}
