// Package channelsim is a strict, in-memory simulator of the staffing
// channel API (../shared/channel-api.md and the seed it restates).
//
// It is what the project's tests, demo and benchmarks run against, so it is
// strict where the seed is strict, and stricter where the seed leaves room:
// it decodes every request body itself (never through the project's client
// types) and answers 1001, with a message naming each bad field and its rule,
// for a missing or empty required field, a wrong JSON type, an unknown
// field, a null, an empty optional string (omit it instead), an enumeration
// label instead of its code, a time not exactly YYYY-MM-DDTHH:MM:SSZ, a date
// not exactly YYYY-MM-DD, a bad id card, mobile number or social credit
// code. It refuses a record whose parent it does not hold yet (counted as an
// order violation), a second create of an id (counted as a duplicate
// create), and an update of an id it lacks. It issues tokens that expire and
// can be revoked, and it injects faults on demand: error codes, 429 with and
// without Retry-After, bare 502s, 503 or closed connections while down,
// latency, connections dropped before or after the request is applied, and
// per-id permission denial. The fault machinery (the draw, the seeded
// random source, the counters, the request log) is internal/simkit's.
//
// A Server is an http.Handler. Under Config.Prefix (default /api/v1):
//
//	POST /auth/token, POST /auth/refresh
//	POST /{plural}, PUT and GET /{plural}/{channel_*_id}   (users, companies, tasks, applications, payments)
//	GET /tasks, GET /applications, GET /payments           (filters, page, page_size)
//
// Under Config.AdminPrefix (default /_sim), in plain JSON, with no token and
// no faults:
//
//	GET  /stats                  Stats
//	GET  /records/{plural}       {id: fields as received}
//	GET  /records/{plural}/{id}  fields, or 404
//	GET  /requests               [Request] (empty unless Config.RecordRequests)
//	GET  /faults, POST /faults   Faults (a POST replaces the faults in force)
//	POST /revoke                 RevokeAllTokens
//	POST /reset                  Reset
//	GET  /permission             {"denied": ["kind/id", ...]}
//	POST /permission             PermissionChange
//
// Points the contract leaves open are settled so: an unknown, used, expired
// or revoked refresh token answers 1003 (refresh rotates the refresh token;
// the previous access token lives until it expires); a missing, malformed,
// expired or revoked bearer token answers 1003; errors are HTTP 200 unless
// Config.ErrorStyle is ErrorStyleHTTP, except that GET of a missing record
// is 404 and an unknown route 404 or 405, always with the envelope; the
// channel's own ids are numeric strings led by a digit per kind (users
// 10001…, companies 20001…, tasks 30001…, applications 40001…, payments
// 50001…).
//
// The Go methods (Records, Stats, Requests, SetFaults, Deny, RevokeAllTokens,
// Reset, Insert, ...) give tests the same view without HTTP; the subpackage
// channelsimtest serves a Server for the length of a test.
package channelsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chansync/chansync/internal/simkit"
)

// Envelope codes of the channel API.
const (
	// CodeOK is success.
	CodeOK = 0
	// CodeParam is a parameter error (bad body, missing record, bad paging).
	CodeParam = 1001
	// CodeAuth is an authentication failure (wrong appkey or secret).
	CodeAuth = 1002
	// CodeToken is an expired, revoked, unknown or missing token.
	CodeToken = 1003
	// CodeForbidden is a permission denial.
	CodeForbidden = 1004
	// CodeInternal is a server internal error.
	CodeInternal = 5001
)

// ErrorStyle is how the simulator carries a non-zero envelope code over HTTP.
type ErrorStyle string

const (
	// ErrorStyleEnvelope answers every error as HTTP 200 with the non-zero
	// code in the envelope. It is the default.
	ErrorStyleEnvelope ErrorStyle = "envelope"
	// ErrorStyleHTTP answers 1001 as 400, 1002 and 1003 as 401, 1004 as 403
	// and 5001 as 500, each with the envelope.
	ErrorStyleHTTP ErrorStyle = "http"
)

// Defaults applied by New to zero fields of Config.
const (
	// DefaultPrefix is the seed's API path prefix.
	DefaultPrefix = "/api/v1"
	// DefaultAdminPrefix is where the admin endpoints answer.
	DefaultAdminPrefix = "/_sim"
	// DefaultAppKey is the seed's example appkey.
	DefaultAppKey = "channel_001"
	// DefaultSecret is the seed's example secret.
	DefaultSecret = "your_secret_key"
	// DefaultTokenTTL is the seed's expires_in.
	DefaultTokenTTL = 7200 * time.Second
	// DefaultRefreshTokenTTL is the lifetime of a refresh token.
	DefaultRefreshTokenTTL = 24 * time.Hour
	// DefaultMaxPageSize is the largest page_size a list accepts.
	DefaultMaxPageSize = 100
	// DefaultMaxBodyBytes is the largest request body accepted.
	DefaultMaxBodyBytes = 1 << 20
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("channelsim: invalid config")

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Prefix is the path under which the API answers (default "/api/v1";
	// "/" for none).
	Prefix string
	// AdminPrefix is the path under which the introspection and fault
	// control endpoints answer (default "/_sim"). They need no token.
	AdminPrefix string
	// AppKey and Secret are the credentials POST /auth/token accepts
	// (defaults: the seed's examples, "channel_001" and "your_secret_key").
	AppKey string
	Secret string
	// TokenTTL is the lifetime of an access token (default 7200s); the
	// token answer's expires_in is it in whole seconds, rounded up.
	TokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of a refresh token (default 24h).
	RefreshTokenTTL time.Duration
	// ErrorStyle is how errors travel over HTTP (default ErrorStyleEnvelope).
	ErrorStyle ErrorStyle
	// Seed seeds the random source of fault injection.
	Seed uint64
	// Faults are the faults in force from the start; see SetFaults.
	Faults Faults
	// RecordRequests keeps a log of every API request, read with Requests.
	// Off by default: the log grows without bound.
	RecordRequests bool
	// LogRequests logs every API request to Logger at debug level.
	LogRequests bool
	// MaxPageSize is the largest page_size a list accepts (default 100).
	MaxPageSize int
	// MaxBodyBytes is the largest request body accepted (default 1 MiB).
	MaxBodyBytes int64
	// NowFunc is the clock for token expiry and created_at/updated_at
	// (default time.Now).
	NowFunc func() time.Time
	// Logger receives the few events worth logging (faults changed, tokens
	// revoked, reset); nil discards them.
	Logger *slog.Logger
}

// withDefaults returns c with zero fields set to their defaults.
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
	if c.Secret == "" {
		c.Secret = DefaultSecret
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.RefreshTokenTTL == 0 {
		c.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if c.ErrorStyle == "" {
		c.ErrorStyle = ErrorStyleEnvelope
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
	case c.ErrorStyle != ErrorStyleEnvelope && c.ErrorStyle != ErrorStyleHTTP:
		return fmt.Errorf("%w: error style %q: want %q or %q", ErrInvalidConfig, c.ErrorStyle, ErrorStyleEnvelope, ErrorStyleHTTP)
	case c.TokenTTL < 0 || c.RefreshTokenTTL < 0:
		return fmt.Errorf("%w: token lifetimes must be positive", ErrInvalidConfig)
	case c.MaxPageSize < 1:
		return fmt.Errorf("%w: max page size must be at least 1", ErrInvalidConfig)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("%w: max body bytes must be at least 1", ErrInvalidConfig)
	case c.Prefix == c.AdminPrefix:
		return fmt.Errorf("%w: prefix and admin prefix are both %q", ErrInvalidConfig, c.Prefix)
	case c.AdminPrefix == "":
		return fmt.Errorf("%w: admin prefix must not be the root", ErrInvalidConfig)
	}
	if _, err := compileFaults(c.Faults, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Server is the simulated channel. It is an http.Handler; all its methods
// are safe for concurrent use.
type Server struct {
	cfg    Config
	logger *slog.Logger

	stores [numKinds]*store
	tokens tokenStore
	stats  counters
	faults atomic.Pointer[faultState]
	inj    *simkit.Injector
	perms  permissions
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
	for k := range s.stores {
		s.stores[k] = newStore()
	}
	s.tokens.init()
	s.inj = simkit.NewInjector(simkit.InjectorConfig{Seed: cfg.Seed, Status500Func: status500, MaxBodyBytes: cfg.MaxBodyBytes})
	s.perms.init()
	fs, _ := s.compile(cfg.Faults) // validated above
	s.faults.Store(fs)
	return s
}

// Prefix returns the API's path prefix ("" for the root), as in
// "http://host:port" + Prefix() + "/users".
func (s *Server) Prefix() string { return s.cfg.Prefix }

// AdminPrefix returns the path prefix of the admin endpoints, such as "/_sim".
func (s *Server) AdminPrefix() string { return s.cfg.AdminPrefix }

// Config returns the config in force, with defaults applied.
func (s *Server) Config() Config { return s.cfg }

// ServeHTTP answers one request: an admin request under AdminPrefix, an API
// request under Prefix, and 404 with code 1001 for anything else.
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
	writeReply(w, &reply{status: http.StatusNotFound, code: CodeParam, body: envelope(CodeParam, "no such endpoint: "+r.Method+" "+path, nil)})
}

// op is what an API request asks for.
type op uint8

const (
	_ op = iota // the zero value is no operation
	opToken
	opRefresh
	opCreate
	opUpdate
	opGet
	opList
)

// apiRoute is a parsed API request path.
type apiRoute struct {
	op   op
	kind kind
	id   string
}

// route parses the path below the prefix. A non-nil reply means the route
// does not exist.
func route(method, rest string) (apiRoute, *reply) {
	switch rest {
	case "/auth/token", "/auth/refresh":
		if method != http.MethodPost {
			return apiRoute{}, methodNotAllowed(method, rest, http.MethodPost)
		}
		if rest == "/auth/token" {
			return apiRoute{op: opToken}, nil
		}
		return apiRoute{op: opRefresh}, nil
	}
	seg := strings.TrimPrefix(rest, "/")
	plural, escID, hasID := strings.Cut(seg, "/")
	k, ok := kindByPlural(plural)
	if !ok || (hasID && (escID == "" || strings.Contains(escID, "/"))) {
		return apiRoute{}, &reply{status: http.StatusNotFound, code: CodeParam, body: envelope(CodeParam, "no such endpoint: "+method+" "+rest, nil)}
	}
	if !hasID {
		switch {
		case method == http.MethodPost:
			return apiRoute{op: opCreate, kind: k}, nil
		case method == http.MethodGet && kinds[k].listable():
			return apiRoute{op: opList, kind: k}, nil
		case kinds[k].listable():
			return apiRoute{}, methodNotAllowed(method, rest, "GET, POST")
		default:
			return apiRoute{}, methodNotAllowed(method, rest, http.MethodPost)
		}
	}
	id, err := url.PathUnescape(escID)
	if err != nil || id == "" {
		return apiRoute{}, &reply{status: http.StatusNotFound, code: CodeParam, body: envelope(CodeParam, "malformed id in path: "+escID, nil)}
	}
	switch method {
	case http.MethodPut:
		return apiRoute{op: opUpdate, kind: k, id: id}, nil
	case http.MethodGet:
		return apiRoute{op: opGet, kind: k, id: id}, nil
	}
	return apiRoute{}, methodNotAllowed(method, rest, "GET, PUT")
}

func methodNotAllowed(method, path, allow string) *reply {
	return &reply{
		status: http.StatusMethodNotAllowed, code: CodeParam,
		header: [][2]string{{"Allow", allow}},
		body:   envelope(CodeParam, "method "+method+" not allowed on "+path+" (allowed: "+allow+")", nil),
	}
}

// reply is one answer, built before anything is written so that it can be
// logged, counted, or lost (a dropped connection).
type reply struct {
	status      int
	code        int
	body        []byte
	contentType string
	header      [][2]string

	kind    kind
	hasKind bool
	id      string
	applied bool
	fault   string
	drop    bool // close the connection instead of answering
	gone    bool // the client went away; write nothing
}

// serveAPI answers a request under the API prefix.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	s.stats.requests.Add(1)
	fs := s.faults.Load()
	var rep reply
	if a, down := s.inj.Down(fs.Down); down {
		rep.setAnswer(a)
	} else {
		s.serveRoute(r, rest, fs, &rep)
	}
	s.finish(w, r, &rep)
}

// serveRoute routes an API request, injects the faults of fs, and applies
// the request unless a fault said otherwise.
func (s *Server) serveRoute(r *http.Request, rest string, fs *faultState, rep *reply) {
	rt, bad := route(r.Method, rest)
	if bad != nil {
		*rep = *bad
		return
	}
	faulty := fs.plan.Active() && (rt.op >= opCreate || fs.IncludeAuth)
	injected := false
	if faulty {
		injected = s.injectBefore(r, fs, rep)
	}
	if !injected {
		s.handle(r, rt, rep)
		if faulty && s.inj.DropAfter(fs.plan) {
			rep.drop, rep.fault = true, FaultDropAfter
		}
	}
	if rt.op >= opCreate {
		rep.kind, rep.hasKind = rt.kind, true
		if rep.id == "" {
			rep.id = rt.id
		}
	}
}

// finish writes (or drops) the reply, then logs it if asked to.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, rep *reply) {
	if s.cfg.RecordRequests || s.cfg.LogRequests {
		s.logRequest(r, rep)
	}
	writeReply(w, rep)
}

// writeReply writes rep as the HTTP answer, or drops the connection, or
// writes nothing when the client went away.
func writeReply(w http.ResponseWriter, rep *reply) {
	a := simkit.Answer{
		Status: rep.status, ContentType: rep.contentType, Header: rep.header, Body: rep.body,
		Drop: rep.drop, Gone: rep.gone,
	}
	a.Write(w)
}

// setAnswer fills rep with an answer decided by simkit.
func (rep *reply) setAnswer(a simkit.Answer) {
	rep.status, rep.contentType, rep.header, rep.body = a.Status, a.ContentType, a.Header, a.Body
	rep.fault, rep.drop, rep.gone = a.Fault, a.Drop, a.Gone
}

// statusFor returns the HTTP status that carries a non-zero code, per the
// error style.
func (s *Server) statusFor(code int) int {
	if code == CodeOK || s.cfg.ErrorStyle != ErrorStyleHTTP {
		return http.StatusOK
	}
	switch code {
	case CodeParam:
		return http.StatusBadRequest
	case CodeAuth, CodeToken:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeInternal:
		return http.StatusInternalServerError
	}
	if code >= 5000 {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// fail fills rep with an error answer whose status follows the error style.
func (s *Server) fail(rep *reply, code int, msg string) {
	rep.status = s.statusFor(code)
	rep.code = code
	rep.body = envelope(code, msg, nil)
}

// ok fills rep with a success answer carrying data (raw JSON).
func ok(rep *reply, data []byte) {
	rep.status = http.StatusOK
	rep.code = CodeOK
	rep.body = envelope(CodeOK, "success", data)
}

// envelope renders {"code":..,"message":..,"data":..}; nil data is {}.
func envelope(code int, msg string, data []byte) []byte {
	if data == nil {
		data = []byte("{}")
	}
	b := make([]byte, 0, len(data)+len(msg)+40)
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	b = append(b, '}')
	return b
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// readBody reads a request body within the size limit into a pooled buffer.
// The caller returns the buffer with putBuf.
func (s *Server) readBody(r *http.Request) (*bytes.Buffer, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		putBuf(buf)
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(buf.Len()) > s.cfg.MaxBodyBytes {
		putBuf(buf)
		return nil, fmt.Errorf("larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	return buf, nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufPool.Put(b)
	}
}

// timeFormat is the seed's ISO 8601 form.
const timeFormat = "2006-01-02T15:04:05Z"

func (s *Server) now() time.Time { return s.cfg.NowFunc().UTC() }
