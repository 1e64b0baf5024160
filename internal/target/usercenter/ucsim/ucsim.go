// Package ucsim is a strict, in-memory simulator of the APIHub user centre
// (seed 002, apihub-api.md "User centre"): accounts with attributes and
// system attributes, enabling and disabling them, groups, memberships and
// roles, behind the app-token check.
//
// It is what the project's tests and demo run the user-centre sync
// against, so it is strict where the seed is, and stricter where the seed
// leaves room: it decodes every request itself and refuses (HTTP 422, the
// envelope with code PARAM_ERROR and a message naming each bad field and
// its rule) a missing or empty required field, a wrong JSON type, a null,
// an unknown field or query parameter, a body that is not a JSON object or
// not sent as application/json. It refuses (HTTP 200, "success": false) a
// taken username, a group name or type holding "/", and an id it does not
// hold. It checks the app token on every call (HS256 with the configured
// SK; typ "app_token"; sub and iss the configured AK; exp not passed; iat
// not in the future beyond Config.ClockSkew) and answers HTTP 401
// otherwise, and to every token while revoked (Revoke).
//
// Like the real service it does not de-duplicate creates: two create-user
// with different usernames but the same sys_attrs.channel_user_id make two
// accounts, and two create-group with the same name make two groups.
// Duplicates reports them, for tests asserting that the sync never causes
// them. It injects faults (internal/simkit) per endpoint class (read,
// write, create_user, create_group): latency, dropped connections before
// or after a request is applied, bare 502s, 429 with or without
// Retry-After, HTTP 500, and 503 or closed connections while down.
//
// A Server is an http.Handler. Under Config.Prefix (default
// /api/user-center-admin), each endpoint answers one method:
//
//	POST get-user-by-sys-attr, get-user-by-id, get-user-by-username, list-users-by-ids
//	POST create-user, enable-user-account;  PUT save-user-sys-attrs, save-user-attrs
//	GET  list-users?skip=&limit=&sort_key=&sort_direction=  (optional JSON body: user_type, search)
//	POST create-group, update-group;  GET list-child-groups?parent=&recursive=, get-group?id=&recursive=
//	POST add-user-to-group, remove-user-from-group, list-user-groups, list-group-users
//	GET  list-roles;  PUT save-role;  POST assign-user-role, unassign-user-role, list-user-roles
//
// Under Config.AdminPrefix (default /_sim/uc), in plain JSON, with no token
// and no faults:
//
//	GET  /stats        Stats
//	GET  /state        State (accounts, groups, memberships, roles)
//	GET  /duplicates   DuplicateReport
//	GET  /requests     [Request] (empty unless Config.RecordRequests)
//	GET  /faults, POST /faults   Faults (a POST replaces the faults in force)
//	POST /revoke, POST /restore  refuse every token, or stop refusing
//	POST /reset        Reset
//	POST /accounts     InsertAccount (body: AccountSeed), answers the Account
//	POST /groups       InsertGroup (body: GroupSeed), answers the Group
//
// Points the seed leaves open are settled so: add-user-to-group and
// remove-user-from-group are idempotent and answer {"group_id",
// "user_id"}; assign-user-role is idempotent and needs an existing role;
// get-user-by-id and get-user-by-username answer a null result for no
// such user, like get-user-by-sys-attr; a null value in
// get-user-by-sys-attr is refused (it would match accounts lacking the
// key); update-group merges attrs key by key (dotted keys reach nested
// values), as save-user-sys-attrs does; save-role keeps fields it is not
// given; ids are 24 hex digits, like the service's; the password is kept
// only as its length and a SHA-256 (never returned; the answers carry a
// fake hash). The Go methods (Accounts, Groups, Memberships, Duplicates,
// Stats, SetFaults, Revoke, InsertAccount, ...) give tests the same view
// without HTTP; the subpackage ucsimtest serves a Server for one test.
package ucsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chansync/chansync/internal/simkit"
)

// Defaults applied by New to zero fields of Config.
const (
	// DefaultPrefix is the seed's path of the user centre.
	DefaultPrefix = "/api/user-center-admin"
	// DefaultAdminPrefix is where the admin endpoints answer (beside other
	// APIHub simulators' /_sim/... prefixes).
	DefaultAdminPrefix = "/_sim/uc"
	// DefaultAppKey is the seed's example ak.
	DefaultAppKey = "67fca7a97a883fac3a981a83"
	// DefaultSecretKey is the simulator's SK when none is configured.
	DefaultSecretKey = "apihubsim-secret-key"
	// DefaultClockSkew is how far in the future a token's iat may be.
	DefaultClockSkew = 60 * time.Second
	// DefaultMaxBodyBytes is the largest request body accepted.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultAvatar is the avatar attribute of a new account, as the seed's
	// examples show.
	DefaultAvatar = "https://apihub-net.oss-cn-beijing.aliyuncs.com/img/default-avatar.jpg"
)

// Envelope codes the simulator answers with (the seed documents none; the
// client must not depend on them).
const (
	CodeParam         = "PARAM_ERROR"
	CodeUnauthorized  = "UNAUTHORIZED"
	CodeUsernameTaken = "USERNAME_EXISTS"
	CodeUserNotFound  = "USER_NOT_FOUND"
	CodeGroupNotFound = "GROUP_NOT_FOUND"
	CodeRoleNotFound  = "ROLE_NOT_FOUND"
	CodeBadGroup      = "INVALID_GROUP"
	CodeInternal      = "INTERNAL_ERROR"
	CodeNoEndpoint    = "NOT_FOUND"
	CodeMethod        = "METHOD_NOT_ALLOWED"
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("ucsim: invalid config")

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Prefix is the path under which the user centre answers (default
	// /api/user-center-admin; "/" for none).
	Prefix string
	// AdminPrefix is the path of the admin endpoints (default /_sim/uc).
	AdminPrefix string
	// AppKey is the AK a token's sub and iss must equal.
	AppKey string
	// SecretKey is the SK tokens must be signed with (HS256).
	SecretKey string
	// ClockSkew is how far in the future a token's iat may lie (default
	// 60 s). exp has no leeway.
	ClockSkew time.Duration
	// Seed seeds the random source of fault injection.
	Seed uint64
	// Faults are the faults in force from the start; see SetFaults.
	Faults Faults
	// MaxListLimit, if positive, caps list-users' limit (a larger one is
	// served this many); the seed documents no cap.
	MaxListLimit int
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
	if c.AppKey == "" {
		c.AppKey = DefaultAppKey
	}
	if c.SecretKey == "" {
		c.SecretKey = DefaultSecretKey
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
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
	case c.ClockSkew < 0:
		return fmt.Errorf("%w: clock skew must not be negative", ErrInvalidConfig)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("%w: max body bytes must be at least 1", ErrInvalidConfig)
	case c.MaxListLimit < 0:
		return fmt.Errorf("%w: max list limit must not be negative", ErrInvalidConfig)
	case c.Prefix == c.AdminPrefix:
		return fmt.Errorf("%w: prefix and admin prefix are both %q", ErrInvalidConfig, c.Prefix)
	case c.AdminPrefix == "":
		return fmt.Errorf("%w: admin prefix must not be the root", ErrInvalidConfig)
	}
	if _, err := compileFaults(c.Faults); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Server is the simulated user centre. It is an http.Handler; all its
// methods are safe for concurrent use.
type Server struct {
	cfg    Config
	logger *slog.Logger

	mu    sync.RWMutex
	store store

	faults  atomic.Pointer[faultState]
	inj     *simkit.Injector
	revoked atomic.Bool
	stats   counters
	reqs    simkit.Log[Request]
	traces  atomic.Uint64
}

// New returns a Server for cfg. It panics if cfg.Validate reports an error;
// call Validate first to handle a bad config gracefully.
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, logger: cfg.Logger}
	s.store.init()
	s.inj = simkit.NewInjector(simkit.InjectorConfig{Seed: cfg.Seed, Status500Func: status500, MaxBodyBytes: cfg.MaxBodyBytes})
	fs, _ := compileFaults(cfg.Faults) // validated above
	s.faults.Store(fs)
	s.stats.init()
	return s
}

// Prefix returns the API's path prefix ("" for the root).
func (s *Server) Prefix() string { return s.cfg.Prefix }

// AdminPrefix returns the path prefix of the admin endpoints.
func (s *Server) AdminPrefix() string { return s.cfg.AdminPrefix }

// Config returns the config in force, with defaults applied.
func (s *Server) Config() Config { return s.cfg }

// now is the simulator's clock in UTC.
func (s *Server) now() time.Time { return s.cfg.NowFunc().UTC() }

// reply is one answer, decided before anything is written.
type reply struct {
	simkit.Answer
	// code is the envelope's code of a failure.
	code string
	// endpoint is the endpoint's name; "" for an unknown route.
	endpoint string
	// id names the account or group the request created or targeted.
	id string
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
	s.fail(&rep, http.StatusNotFound, CodeNoEndpoint, "no such endpoint: "+r.Method+" "+path)
	rep.Write(w)
}

// serveAPI answers a request under the API prefix.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	s.stats.requests.Add(1)
	fs := s.faults.Load()
	var rep reply
	if a, down := s.inj.Down(fs.down); down {
		rep.Answer = a
	} else {
		s.serveRoute(r, rest, fs, &rep)
	}
	if s.cfg.RecordRequests || s.cfg.LogRequests {
		s.logRequest(r, &rep)
	}
	rep.Write(w)
}

// serveRoute routes a request, injects the faults of its endpoint class,
// and applies it unless a fault said otherwise.
func (s *Server) serveRoute(r *http.Request, rest string, fs *faultState, rep *reply) {
	ep, ok := endpoints[trimSlash(rest)]
	if !ok {
		s.fail(rep, http.StatusNotFound, CodeNoEndpoint, "no such endpoint: "+r.Method+" "+rest)
		return
	}
	rep.endpoint = ep.name
	if r.Method != ep.method {
		s.fail(rep, http.StatusMethodNotAllowed, CodeMethod, "method "+r.Method+" not allowed on "+ep.name+" (allowed: "+ep.method+")")
		rep.Header = [][2]string{{"Allow", ep.method}}
		return
	}
	plan := fs.plan(ep.class)
	if a, hit := s.inj.Before(r, plan); hit {
		rep.Answer = a
		return
	}
	s.handle(r, ep, rep)
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

// trace returns a new trace id: 32 hex digits.
func (s *Server) trace() string {
	return fmt.Sprintf("%032x", s.traces.Add(1))
}

// ok fills rep with a success carrying result (any JSON-encodable value).
func (s *Server) ok(rep *reply, result any) {
	b, err := json.Marshal(struct {
		Success bool   `json:"success"`
		Trace   string `json:"trace"`
		Result  any    `json:"result"`
	}{true, s.trace(), result})
	if err != nil {
		s.fail(rep, http.StatusInternalServerError, CodeInternal, "encode result: "+err.Error())
		return
	}
	rep.Status, rep.Body, rep.code = http.StatusOK, b, ""
}

// fail fills rep with a failure: the envelope with success false.
func (s *Server) fail(rep *reply, status int, code, msg string) {
	rep.Status, rep.code = status, code
	rep.Body = failureBody(s.trace(), code, msg)
}

func failureBody(trace, code, msg string) []byte {
	b, _ := json.Marshal(struct { // strings always encode
		Success bool   `json:"success"`
		Trace   string `json:"trace,omitempty"`
		Code    string `json:"code"`
		Msg     string `json:"msg"`
	}{false, trace, code, msg})
	return b
}

// status500 is the answer of simkit's FaultStatus500 in the envelope.
func status500() simkit.Answer {
	return simkit.Answer{Status: http.StatusInternalServerError, Body: failureBody("", CodeInternal, "server internal error (injected)")}
}

// timeText renders a time as the service does: "2025-05-06T06:36:30.251000".
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// numberText renders a float as JSON, integers without a fraction.
func numberText(f float64) json.Number { return json.Number(strconv.FormatFloat(f, 'f', -1, 64)) }
