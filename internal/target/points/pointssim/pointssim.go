// Package pointssim is a strict, in-memory simulator of the APIHub points
// and projects API (seed 000, apihub-api.md "Points and projects"): the
// developer's points pool, end users' balances and ledgers, recharges,
// bearer tokens, and the published project forms.
//
// It is what the project's tests and demo run the points sync against, so
// it is strict where the seed is, and stricter where the seed leaves room.
// It checks X-API-Key on the points endpoints and apikeys/token against
// the configured keys (a missing, unknown or revoked key answers 401), and
// the Bearer token on the project endpoints (a missing, unknown, expired
// token, or one issued with a key revoked since, answers 401). It decodes
// every request itself and answers 400, with a message naming each bad
// field and its rule, for a missing or empty required field, a wrong JSON
// type, a null, an unknown field or query parameter, a repeated query
// parameter, an amount_cents that is not a positive integer literal (no
// fraction, no exponent, not a string, at most 2^53-1), a page or
// page_size that is not a positive integer, a page_size above
// Config.MaxPageSize; 415 for a body not sent as application/json; 413 for
// a body too large.
//
// Like the real service, a recharge is NOT idempotent: the same
// external_order_id sent twice credits twice. Duplicates reports such
// double credits, for tests asserting that the sync never causes them. A
// recharge larger than the developer's pool answers 402 and changes
// nothing. It injects faults (internal/simkit) per endpoint: latency,
// dropped connections before or after a request is applied (a recharge
// applied and its answer lost), bare 502s, 429 with or without
// Retry-After, HTTP 500 in the envelope, any status with the envelope
// (Faults.StatusRates), and 503 or closed connections while down.
//
// A Server is an http.Handler. Under Config.Prefix (default
// /api/v1/apihub):
//
//	POST apikeys/token                 X-API-Key   {client_user_id}
//	GET  projects/published-tags       Bearer
//	GET  projects/published-list       Bearer      ?tags=&limit=
//	GET  points/users/balance          X-API-Key   ?client_user_id=
//	POST points/users/recharge         X-API-Key   {client_user_id, amount_cents, external_order_id, reason}
//	GET  points/users/logs             X-API-Key   ?client_user_id=&page=&page_size=
//
// Every answer is {"code": N, "message": "...", "data": ...} with N the
// HTTP status (200 on success; data null on failure). Under
// Config.AdminPrefix (default /_sim/points), in plain JSON, with no
// credential and no faults:
//
//	GET  /stats                     Stats
//	GET  /state                     State (pool, users with balances and ledgers, projects)
//	GET  /ledger?client_user_id=    [Entry], newest first (404 for an unknown user)
//	GET  /duplicates[?pattern=RE]   DuplicateReport (orders credited more than once)
//	GET  /credits?order=ID&order=ID  {order id: recharge entries mentioning it}
//	GET  /credits[?pattern=RE]      {order id found by the pattern: recharge entries}
//	GET  /requests                  [Request] (empty unless Config.RecordRequests); each names
//	                                its user, a recharge's external_order_id and a logs page as
//	                                sent, also when a fault answered it
//	GET  /faults, POST /faults      Faults (a POST replaces the faults in force)
//	GET  /pool                      {"balance_cents"}
//	POST /pool/topup                {"amount_cents"}: add to the pool
//	POST /pool/set                  {"balance_cents"}: set the pool
//	POST /keys/revoke               {"key"}: refuse that key (and its tokens)
//	POST /keys/restore              {"key"}: accept that key (again)
//	POST /tokens/revoke             refuse every bearer token issued so far
//	POST /publish                   Project: publish a form (or replace it, by short_code)
//	POST /unpublish                 {"short_code"}: unpublish a form
//	POST /charge                    Charge: a billing deduct entry (a form charging the user)
//	POST /reset                     Reset
//
// Points the seed leaves open are settled so: a user (with a user_id, from
// 100000001 up) exists from the first request naming them, balance 0; a
// recharge without reason gets "用户充值(订单 <external_order_id>)" (or
// "用户充值"), as the seed's example ledger shows; ledger ids are global
// and increasing; created_at is "2006-01-02T15:04:05Z" in UTC; forms are
// listed in the order they were first published; a tag query matches a
// form whose tag contains a queried tag (case-insensitive), and with limit
// the matches come first, then other forms fill up to limit; without
// limit only matches (or, without tags, every form) are listed; data.total
// of published-list is the number of forms returned.
//
// The Go methods (Ledger, Balance, Pool, Duplicates, Stats, SetFaults,
// RevokeKey, Publish, ...) give tests the same view without HTTP; the
// subpackage pointssimtest serves a Server for the length of a test.
package pointssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chansync/chansync/internal/simkit"
)

// Defaults applied by New to zero fields of Config.
const (
	// DefaultPrefix is the seed's path of the points and projects API.
	DefaultPrefix = "/api/v1/apihub"
	// DefaultAdminPrefix is where the admin endpoints answer (beside other
	// APIHub simulators' /_sim/... prefixes).
	DefaultAdminPrefix = "/_sim/points"
	// DefaultAPIKey is the key accepted when none is configured.
	DefaultAPIKey = "sk-apihubsim-points"
	// DefaultTokenTTL is the seed's expires_in.
	DefaultTokenTTL = 7200 * time.Second
	// DefaultPoolCents is the developer's pool at the start: 100 000 yuan.
	DefaultPoolCents = 10_000_000
	// DefaultPageSize is the seed's default page_size of the ledger.
	DefaultPageSize = 20
	// DefaultMaxPageSize is the seed's largest page_size.
	DefaultMaxPageSize = 100
	// DefaultMaxBodyBytes is the largest request body accepted.
	DefaultMaxBodyBytes = 1 << 20
	// FirstUserID is the user_id of the first user.
	FirstUserID = 100000001
)

// MaxAmountCents is the largest amount_cents accepted: 2^53-1, the largest
// integer every JSON parser reads exactly.
const MaxAmountCents = 1<<53 - 1

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("pointssim: invalid config")

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Prefix is the path under which the API answers (default
	// /api/v1/apihub; "/" for none).
	Prefix string
	// AdminPrefix is the path of the admin endpoints (default /_sim/points).
	AdminPrefix string
	// APIKeys are the developer API keys accepted (default: DefaultAPIKey).
	APIKeys []string
	// TokenTTL is the lifetime of a bearer token (default 7200 s); the
	// token answer's expires_in is it in whole seconds, rounded up.
	TokenTTL time.Duration
	// PoolCents is the developer's pool at the start (default
	// DefaultPoolCents, unless EmptyPool).
	PoolCents int64
	// EmptyPool starts the pool at 0 (every recharge answers 402 until a
	// top-up); PoolCents is then ignored.
	EmptyPool bool
	// Projects are the forms published from the start.
	Projects []Project
	// MaxPageSize is the largest page_size of the ledger (default 100).
	MaxPageSize int
	// Seed seeds the random source of fault injection.
	Seed uint64
	// Faults are the faults in force from the start; see SetFaults.
	Faults Faults
	// RecordRequests keeps a log of every API request, read with Requests.
	// Off by default: the log grows without bound.
	RecordRequests bool
	// LogRequests logs every API request to Logger at debug level.
	LogRequests bool
	// MaxBodyBytes is the largest request body accepted (default 1 MiB).
	MaxBodyBytes int64
	// NowFunc is the clock for tokens and timestamps (default time.Now).
	NowFunc func() time.Time
	// Logger receives the few events worth logging; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.AdminPrefix == "" {
		c.AdminPrefix = DefaultAdminPrefix
	}
	c.Prefix = simkit.CleanPrefix(c.Prefix)
	c.AdminPrefix = simkit.CleanPrefix(c.AdminPrefix)
	if len(c.APIKeys) == 0 {
		c.APIKeys = []string{DefaultAPIKey}
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	switch {
	case c.EmptyPool:
		c.PoolCents = 0
	case c.PoolCents == 0:
		c.PoolCents = DefaultPoolCents
	}
	if c.MaxPageSize == 0 {
		c.MaxPageSize = DefaultMaxPageSize
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports a config New would refuse. Every error wraps
// ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.TokenTTL < time.Second:
		return fmt.Errorf("%w: token ttl must be at least 1s, got %s", ErrInvalidConfig, c.TokenTTL)
	case c.PoolCents < 0:
		return fmt.Errorf("%w: pool cents must not be negative, got %d", ErrInvalidConfig, c.PoolCents)
	case c.MaxPageSize < 1:
		return fmt.Errorf("%w: max page size must be at least 1", ErrInvalidConfig)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("%w: max body bytes must be at least 1", ErrInvalidConfig)
	case c.Prefix == c.AdminPrefix:
		return fmt.Errorf("%w: prefix and admin prefix are both %q", ErrInvalidConfig, c.Prefix)
	case c.AdminPrefix == "":
		return fmt.Errorf("%w: admin prefix must not be the root", ErrInvalidConfig)
	}
	for i, k := range c.APIKeys {
		if k == "" {
			return fmt.Errorf("%w: api key %d is empty", ErrInvalidConfig, i)
		}
	}
	for i, p := range c.Projects {
		if err := p.validate(); err != nil {
			return fmt.Errorf("%w: project %d: %w", ErrInvalidConfig, i, err)
		}
	}
	if _, err := compileFaults(c.Faults); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Server is the simulated points API. It is an http.Handler; all its
// methods are safe for concurrent use.
type Server struct {
	cfg    Config
	logger *slog.Logger

	mu    sync.Mutex
	state state

	faults atomic.Pointer[faultState]
	inj    *simkit.Injector
	stats  counters
	reqs   simkit.Log[Request]
}

// New returns a Server for cfg. It panics if cfg.Validate reports an error;
// call Validate first to handle a bad config gracefully.
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, logger: cfg.Logger}
	s.state.init(cfg)
	s.inj = simkit.NewInjector(simkit.InjectorConfig{Seed: cfg.Seed, Status500Func: status500, MaxBodyBytes: cfg.MaxBodyBytes})
	fs, _ := compileFaults(cfg.Faults) // validated above
	s.faults.Store(fs)
	return s
}

// Prefix returns the API's path prefix ("" for the root).
func (s *Server) Prefix() string { return s.cfg.Prefix }

// AdminPrefix returns the path prefix of the admin endpoints.
func (s *Server) AdminPrefix() string { return s.cfg.AdminPrefix }

// now is the simulator's clock in UTC.
func (s *Server) now() time.Time { return s.cfg.NowFunc().UTC() }

// reply is one answer, decided before anything is written.
type reply struct {
	simkit.Answer
	// code is the envelope's code (the HTTP status, or 200).
	code int
	// endpoint is the endpoint's name; "" for an unknown route.
	endpoint Endpoint
	// clientUserID names the user the request was about, if any.
	clientUserID string
	// orderID is the external_order_id a recharge carried, if any (read
	// for the request log only).
	orderID string
	// page is the page a logs request asked for (read for the request log
	// only).
	page int
	// applied reports that the request changed the state.
	applied bool
}

// ServeHTTP answers one request: an admin request under AdminPrefix, an
// API request under Prefix, and 404 with the envelope for anything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if rest, ok := simkit.StripPrefix(path, s.cfg.AdminPrefix); ok {
		s.serveAdmin(w, r, rest)
		return
	}
	if rest, ok := simkit.StripPrefix(path, s.cfg.Prefix); ok {
		s.serveAPI(w, r, rest)
		return
	}
	var rep reply
	fail(&rep, http.StatusNotFound, "no such endpoint: "+r.Method+" "+path)
	rep.Write(w)
}

// serveAPI answers a request under the API prefix.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	fs := s.faults.Load()
	var rep reply
	if a, down := s.inj.Down(fs.down); down {
		rep.Answer = a
	} else {
		s.serveRoute(r, rest, fs, &rep)
	}
	s.stats.count(&rep)
	if s.cfg.RecordRequests || s.cfg.LogRequests {
		s.logRequest(r, &rep)
	}
	rep.Write(w)
}

// serveRoute routes a request, injects the faults of its endpoint, and
// applies it unless a fault said otherwise.
func (s *Server) serveRoute(r *http.Request, rest string, fs *faultState, rep *reply) {
	ep, ok := endpoints[trimSlash(rest)]
	if !ok {
		fail(rep, http.StatusNotFound, "no such endpoint: "+r.Method+" "+rest)
		return
	}
	rep.endpoint = ep.name
	if r.Method != ep.method {
		fail(rep, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+string(ep.name)+" (allowed: "+ep.method+")")
		rep.Header = [][2]string{{"Allow", ep.method}}
		return
	}
	if s.cfg.RecordRequests || s.cfg.LogRequests {
		s.sniff(r, ep.name, rep)
	}
	plan := fs.plan(ep.name)
	if a, hit := s.inj.Before(r, plan); hit {
		rep.Answer = a
		rep.code = a.Status
		return
	}
	ep.handleFunc(s, r, rep)
	if s.inj.DropAfter(plan) {
		rep.Drop, rep.Fault = true, simkit.FaultDropAfter
	}
}

func trimSlash(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// envelope renders the API's answer: {"code", "message", "data"}.
func envelope(code int, msg string, data any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    any    `json:"data"`
	}{code, msg, data})
	if err != nil {
		// Only the simulator's own types reach here; they always encode.
		panic(fmt.Sprintf("pointssim: encode answer: %v", err))
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// succeed fills rep with a success carrying data.
func succeed(rep *reply, data any) {
	rep.Status, rep.code, rep.Body = http.StatusOK, http.StatusOK, envelope(http.StatusOK, "success", data)
}

// fail fills rep with a failure: the HTTP status, and the same number as
// the envelope's code, data null.
func fail(rep *reply, status int, msg string) {
	rep.Status, rep.code, rep.Body = status, status, envelope(status, msg, nil)
}

// status500 is the answer of simkit's FaultStatus500, in the envelope.
func status500() simkit.Answer {
	return simkit.Answer{Status: http.StatusInternalServerError, Body: envelope(http.StatusInternalServerError, "internal server error (injected)", nil)}
}

// statusAnswer renders an injected status with the envelope.
func statusAnswer(status int) func() simkit.Answer {
	body := envelope(status, http.StatusText(status)+" (injected)", nil)
	return func() simkit.Answer { return simkit.Answer{Status: status, Body: body} }
}

// timeText renders a time as the seed does: "2026-04-08T15:30:00Z".
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
