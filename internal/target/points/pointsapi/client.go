// Package pointsapi is a typed client for the APIHub points and projects
// API (seed 000, /work/shared/apihub-api.md "Points and projects"): a
// user's recharge, balance and ledger, the bearer token, and the published
// project forms.
//
// # Recharge is not idempotent
//
// POST points/users/recharge credits the user every time it is received.
// The API does not de-duplicate by external_order_id, and its ledger does
// not show that field. A recharge whose answer was lost (Error.OutcomeUnknown:
// no answer, reset, timeout, 5xx) may have been applied: never send it
// again before FindRecharge, run once the request can no longer be in
// flight (Client.MaxInFlight), shows that it is absent. That search only
// works if the reason sent carries the order id (ReasonFor).
//
// # Auth
//
// Points calls carry the developer's API key in X-API-Key. Project calls
// carry "Authorization: Bearer <access_token>", a token the client obtains
// from POST apikeys/token for its service user, caches, and renews once
// RenewAfter of its lifetime has passed; concurrent callers share one
// fetch. The key never appears in logs, errors, or the printed form of any
// value of this package.
//
// # Errors
//
// Every failure is an *Error with a Class: auth (401), pool-too-low (402,
// not the request's fault), rate-limited (429, with Retry-After), transient
// (408, 5xx, network) or data (other 4xx, and requests refused before
// sending). Redirects are never followed.
package pointsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// PathPrefix is where the API's paths start, below Config.BaseURL.
const PathPrefix = "/api/v1/apihub"

// Routes name the endpoints, below PathPrefix. They are the bounded route
// names given to Config.ObserveFunc and the Op of every Error.
const (
	RouteRecharge      = "POST /points/users/recharge"
	RouteLogs          = "GET /points/users/logs"
	RouteBalance       = "GET /points/users/balance"
	RouteToken         = "POST /apikeys/token"
	RoutePublishedTags = "GET /projects/published-tags"
	RoutePublishedList = "GET /projects/published-list"
)

// Defaults applied by New to zero fields of Config.
const (
	// DefaultServiceUser is the client_user_id the bearer token is issued
	// for.
	DefaultServiceUser = "chansync"
	// DefaultTimeout bounds each request (see Config.Timeout).
	DefaultTimeout = 15 * time.Second
	// DefaultMaxRetryAfter caps the wait of a 429.
	DefaultMaxRetryAfter = 15 * time.Minute
	// DefaultMaxAnswerBytes caps how much of an answer is read.
	DefaultMaxAnswerBytes = 8 << 20
	// DefaultRenewAfter is the part of a bearer token's life after which
	// it is renewed.
	DefaultRenewAfter = 0.8
	// DefaultMaxLedgerPages caps the pages AllLogs reads (a million
	// entries at MaxPageSize).
	DefaultMaxLedgerPages = 10000
)

// MaxPageSize is the largest page_size GET points/users/logs accepts.
const MaxPageSize = 100

// maxSafeCents is the largest amount that survives a trip through a
// JSON parser that reads numbers as float64 (2^53 - 1).
const maxSafeCents = 1<<53 - 1

// Config configures a Client.
type Config struct {
	// BaseURL is the APIHub host (APIHUB_BASE_URL), e.g.
	// https://open.apihub.net, optionally with a path prefix of a gateway;
	// PathPrefix and the route are appended. It must be https unless its
	// host is a loopback address (127.0.0.0/8, ::1, localhost), and must
	// not carry credentials.
	BaseURL string
	// APIKey is the developer's API key (APIHUB_API_KEY), sent in
	// X-API-Key. Required.
	APIKey Secret
	// ServiceUser is the client_user_id of the bearer token used for the
	// project calls (APIHUB_SERVICE_USER; default "chansync").
	ServiceUser string
	// HTTPClient sends the requests. Default: DefaultHTTPClient. A given
	// client is copied: the copy follows no redirects and has Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request from the moment it is sent until its
	// answer has been read (the HTTP client's Timeout; default 15s). Once
	// it has passed, the client has given up on the request: the sync
	// relies on this to know when a lost recharge can no longer arrive
	// (see Client.MaxInFlight). Waiting for Limiter comes before and does
	// not count.
	Timeout time.Duration
	// Limiter, if set, is waited on before every request.
	Limiter *rate.Limiter
	// MaxRetryAfter caps the Retry-After of a 429 (default 15 min).
	MaxRetryAfter time.Duration
	// MaxAnswerBytes caps how much of an answer is read (default 8 MiB);
	// a longer answer is a transient error.
	MaxAnswerBytes int64
	// RenewAfter is the part of a bearer token's lifetime (expires_in)
	// after which it is renewed, in (0, 1] (default 0.8).
	RenewAfter float64
	// MaxLedgerPages caps the pages AllLogs and FindRecharge read
	// (default 10000).
	MaxLedgerPages int
	// Logger receives one debug line per request (route, status, code,
	// duration, class); never bodies, query values, the key or tokens.
	Logger *slog.Logger
	// NowFunc is the clock (token renewal, Retry-After dates, durations).
	// Default time.Now.
	NowFunc func() time.Time
	// ObserveFunc, if set, is told of every request's outcome: route is
	// one of the Route* constants, err is nil on success, took is the
	// time from sending to the end of the answer. A request abandoned by
	// its caller's context is not reported.
	ObserveFunc func(route string, err *Error, took time.Duration)
}

// Client calls the points API. It is safe for concurrent use. Its fields
// hold no credential in a form fmt could print.
type Client struct {
	base           *url.URL
	key            *Secret
	serviceUser    string
	http           *http.Client
	timeout        time.Duration
	limiter        *rate.Limiter
	maxRetryAfter  time.Duration
	maxAnswer      int64
	renewAfter     float64
	maxLedgerPages int
	logger         *slog.Logger
	nowFunc        func() time.Time
	observeFunc    func(route string, err *Error, took time.Duration)
	bearer         *bearer
}

// New returns a Client. The error names the missing or bad setting.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("points client: APIKey is required")
	}
	if strings.ContainsAny(string(cfg.APIKey), "\r\n") {
		return nil, errors.New("points client: APIKey must not contain line breaks")
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("points client: Timeout must not be negative, got %s", cfg.Timeout)
	case cfg.MaxRetryAfter < 0:
		return nil, fmt.Errorf("points client: MaxRetryAfter must not be negative, got %s", cfg.MaxRetryAfter)
	case cfg.MaxAnswerBytes < 0:
		return nil, fmt.Errorf("points client: MaxAnswerBytes must not be negative, got %d", cfg.MaxAnswerBytes)
	case cfg.RenewAfter < 0 || cfg.RenewAfter > 1:
		return nil, fmt.Errorf("points client: RenewAfter must be in (0, 1], got %v", cfg.RenewAfter)
	case cfg.MaxLedgerPages < 0:
		return nil, fmt.Errorf("points client: MaxLedgerPages must not be negative, got %d", cfg.MaxLedgerPages)
	}
	key := cfg.APIKey
	c := &Client{
		base:           base,
		key:            &key,
		serviceUser:    cmpOr(cfg.ServiceUser, DefaultServiceUser),
		timeout:        cmpOr(cfg.Timeout, DefaultTimeout),
		limiter:        cfg.Limiter,
		maxRetryAfter:  cmpOr(cfg.MaxRetryAfter, DefaultMaxRetryAfter),
		maxAnswer:      cmpOr(cfg.MaxAnswerBytes, DefaultMaxAnswerBytes),
		renewAfter:     cmpOr(cfg.RenewAfter, DefaultRenewAfter),
		maxLedgerPages: cmpOr(cfg.MaxLedgerPages, DefaultMaxLedgerPages),
		logger:         cfg.Logger,
		nowFunc:        cfg.NowFunc,
		observeFunc:    cfg.ObserveFunc,
		bearer:         &bearer{},
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.nowFunc == nil {
		c.nowFunc = time.Now
	}
	if c.observeFunc == nil {
		c.observeFunc = func(string, *Error, time.Duration) {}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	own.Timeout = c.timeout
	c.http = &own
	return c, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// parseBaseURL checks the base URL: http(s), https unless loopback, a
// host, no credentials, no query or fragment.
func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("points client: BaseURL is required")
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("points client: BaseURL: %w", err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return nil, fmt.Errorf("points client: BaseURL %q: want an https URL with a host", raw)
	case u.User != nil:
		return nil, errors.New("points client: BaseURL must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("points client: BaseURL %q: must not have a query or fragment", u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("points client: BaseURL %q: plain http is refused except to a loopback host; use https", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultHTTPClient returns a keep-alive HTTP client that follows no
// redirects and gives up on a request after DefaultTimeout.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{
		Transport:     t,
		Timeout:       DefaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("pointsapi.Client{base: %s, service_user: %s, api_key: %s}", c.base.Redacted(), c.serviceUser, c.key.String())
}

// GoString describes the client without its credentials.
func (c *Client) GoString() string { return c.String() }

// MaxInFlight is the longest a request of this client can be in flight:
// Config.Timeout. A recharge whose answer was lost cannot be applied later
// by this client once MaxInFlight has passed since it was sent; allow a
// margin for a server that queues requests before reading them.
func (c *Client) MaxInFlight() time.Duration { return c.timeout }

// ServiceUser returns the client_user_id of the client's bearer token.
func (c *Client) ServiceUser() string { return c.serviceUser }

// Recharge credits the user with req.AmountCents from the developer's pool.
//
// It is NOT idempotent: every request received credits again, whatever its
// ExternalOrderID. On an error with OutcomeUnknown, read the ledger
// (FindRecharge) before sending it again. A 402 (ClassPoolTooLow) means the
// pool is too low and nothing changed.
func (c *Client) Recharge(ctx context.Context, req RechargeRequest) (RechargeResult, error) {
	var bad []string
	if strings.TrimSpace(req.ClientUserID) == "" {
		bad = append(bad, "client_user_id: required")
	}
	switch {
	case req.AmountCents <= 0:
		bad = append(bad, "amount_cents: must be a positive integer, got "+strconv.FormatInt(req.AmountCents, 10))
	case req.AmountCents > maxSafeCents:
		bad = append(bad, "amount_cents: must be at most 9007199254740991")
	}
	if len(bad) > 0 {
		return RechargeResult{}, refused(RouteRecharge, strings.Join(bad, "; "))
	}
	var out RechargeResult
	err := c.call(ctx, RouteRecharge, "/points/users/recharge", nil, req, false, &out)
	return out, err
}

// Balance returns the user's balance.
func (c *Client) Balance(ctx context.Context, clientUserID string) (Balance, error) {
	if strings.TrimSpace(clientUserID) == "" {
		return Balance{}, refused(RouteBalance, "client_user_id: required")
	}
	var out Balance
	err := c.call(ctx, RouteBalance, "/points/users/balance", url.Values{"client_user_id": {clientUserID}}, nil, false, &out)
	return out, err
}

// Logs returns one page of the user's ledger, newest first.
func (c *Client) Logs(ctx context.Context, p LogsParams) (LogsPage, error) {
	var bad []string
	if strings.TrimSpace(p.ClientUserID) == "" {
		bad = append(bad, "client_user_id: required")
	}
	if p.Page < 0 {
		bad = append(bad, "page: must be at least 1 (or 0 for the default), got "+strconv.Itoa(p.Page))
	}
	if p.PageSize < 0 || p.PageSize > MaxPageSize {
		bad = append(bad, fmt.Sprintf("page_size: must be 1 to %d (or 0 for the default), got %d", MaxPageSize, p.PageSize))
	}
	if len(bad) > 0 {
		return LogsPage{}, refused(RouteLogs, strings.Join(bad, "; "))
	}
	q := url.Values{"client_user_id": {p.ClientUserID}}
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(p.PageSize))
	}
	var out LogsPage
	err := c.call(ctx, RouteLogs, "/points/users/logs", q, nil, false, &out)
	return out, err
}

// IssueToken asks POST apikeys/token for a bearer token bound to
// clientUserID (e.g. for an end user's WebView). The client's own project
// calls use a cached token of its service user instead.
func (c *Client) IssueToken(ctx context.Context, clientUserID string) (Token, error) {
	if strings.TrimSpace(clientUserID) == "" {
		return Token{}, refused(RouteToken, "client_user_id: required")
	}
	var out Token
	err := c.call(ctx, RouteToken, "/apikeys/token", nil, map[string]string{"client_user_id": clientUserID}, false, &out)
	if err == nil && out.AccessToken == "" {
		err = &Error{Op: RouteToken, HTTPStatus: http.StatusOK, Code: CodeOK, Message: "answer carries no access_token", Class: ClassTransient, Sent: true}
	}
	return out, err
}

// PublishedTags returns the tags of the published forms (deduplicated and
// sorted by the API).
func (c *Client) PublishedTags(ctx context.Context) ([]string, error) {
	var out struct {
		List []string `json:"list"`
	}
	err := c.call(ctx, RoutePublishedTags, "/projects/published-tags", nil, nil, true, &out)
	return out.List, err
}

// PublishedList returns the published forms: with q.Tags, those matching
// any tag first; with q.Limit, at most that many; without, every one.
func (c *Client) PublishedList(ctx context.Context, q ProjectsQuery) ([]Project, error) {
	var bad []string
	for _, t := range q.Tags {
		if strings.TrimSpace(t) == "" || strings.Contains(t, ",") {
			bad = append(bad, fmt.Sprintf("tags: %q must be non-empty and hold no comma", t))
		}
	}
	if q.Limit < 0 {
		bad = append(bad, "limit: must not be negative, got "+strconv.Itoa(q.Limit))
	}
	if len(bad) > 0 {
		return nil, refused(RoutePublishedList, strings.Join(bad, "; "))
	}
	v := url.Values{}
	if len(q.Tags) > 0 {
		v.Set("tags", strings.Join(q.Tags, ","))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		List []Project `json:"list"`
	}
	err := c.call(ctx, RoutePublishedList, "/projects/published-list", v, nil, true, &out)
	return out.List, err
}

// refused is the error of a request the client would not send.
func refused(route, msg string) *Error {
	return &Error{Op: route, Message: "request not sent: " + msg, Class: ClassData}
}

// call sends one request and decodes the envelope's data into out. With
// bearer it carries the service user's token and, on a 401, renews the
// token once and repeats the call once; otherwise it carries the API key.
func (c *Client) call(ctx context.Context, route, path string, query url.Values, body any, bearer bool, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return &Error{Op: route, Message: "encode body", Class: ClassData, Err: err}
		}
	}
	method, _, _ := strings.Cut(route, " ")
	for attempt := 0; ; attempt++ {
		var cred string
		if bearer {
			tok, err := c.token(ctx)
			if err != nil {
				return err
			}
			cred = "Bearer " + tok
		}
		err := c.roundTrip(ctx, route, method, path, query, payload, cred, out)
		if err == nil {
			return nil
		}
		if bearer && attempt == 0 && err.Class == ClassAuth {
			// The token expired early or was revoked: renew it once.
			c.dropToken(strings.TrimPrefix(cred, "Bearer "))
			continue
		}
		return err
	}
}

// roundTrip sends one request. cred is the Authorization header value, or
// "" to send the API key.
func (c *Client) roundTrip(ctx context.Context, route, method, path string, query url.Values, payload []byte, cred string, out any) *Error {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return &Error{Op: route, Message: "rate limiter", Class: ClassTransient, Err: err}
		}
	}
	u := *c.base
	u.Path = c.base.Path + PathPrefix + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { sent.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { sent.Store(true) },
	}
	var rdr io.Reader
	if payload != nil {
		rdr = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, u.String(), rdr)
	if err != nil {
		return &Error{Op: route, Message: "build request", Class: ClassData, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", cred)
	} else {
		req.Header.Set("X-API-Key", string(*c.key))
	}

	start := c.nowFunc()
	resp, err := c.http.Do(req)
	if err != nil {
		e := &Error{Op: route, Class: ClassTransient, Sent: sent.Load(), Err: netCause(err)}
		c.finish(ctx, route, start, e, true)
		return e
	}
	defer resp.Body.Close()
	e := c.answer(resp, route, cred, start, out)
	if e != nil {
		e.Sent = true
	}
	c.finish(ctx, route, start, e, false)
	if e != nil {
		return e
	}
	return nil
}

// answer reads and decodes one answer; nil means success.
func (c *Client) answer(resp *http.Response, route, cred string, start time.Time, out any) *Error {
	e := &Error{Op: route, HTTPStatus: resp.StatusCode}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Class = ClassTransient
		e.RedirectHost = "(none given)"
		if loc, err := resp.Location(); err == nil {
			e.RedirectHost = loc.Host
		}
		return e
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	switch {
	case err != nil:
		e.Class, e.Err = ClassTransient, netCause(err)
		return e
	case int64(len(raw)) > c.maxAnswer:
		e.Class, e.Message = ClassTransient, fmt.Sprintf("answer larger than %d bytes", c.maxAnswer)
		return e
	}
	var env struct {
		Code    *int            `json:"code"`
		Message json.RawMessage `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	hasEnv := json.Unmarshal(raw, &env) == nil && env.Code != nil
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	if hasEnv {
		e.Code = *env.Code
		var msg string
		if json.Unmarshal(env.Message, &msg) == nil {
			e.Message = cutMessage(c.redact(msg, cred))
		}
	}
	switch {
	case ok2xx && hasEnv && e.Code == CodeOK:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(env.Data, out); err != nil || len(bytes.TrimSpace(env.Data)) == 0 {
			e.Message = "answer data is not the documented shape"
			if err != nil {
				e.Err = err
			}
			e.Class = ClassTransient
			return e
		}
		return nil
	case ok2xx && hasEnv:
		// An error code inside a 2xx: the code decides.
		e.Class = classOfStatus(e.Code)
	case ok2xx:
		e.Class, e.Message = ClassTransient, "answer is not a JSON envelope"
	default:
		e.Class = classOfStatus(resp.StatusCode)
	}
	if e.Class == ClassRateLimited {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.nowFunc(), c.maxRetryAfter)
	}
	return e
}

// finish logs and observes one outcome.
func (c *Client) finish(ctx context.Context, route string, start time.Time, e *Error, noAnswer bool) {
	took := c.nowFunc().Sub(start)
	attrs := []slog.Attr{slog.String("route", route), slog.Duration("took", took)}
	if e == nil {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "apihub points request", attrs...)
		c.observeFunc(route, nil, took)
		return
	}
	if e.HTTPStatus != 0 {
		attrs = append(attrs, slog.Int("status", e.HTTPStatus))
	}
	if e.Code != 0 {
		attrs = append(attrs, slog.Int("code", e.Code))
	}
	attrs = append(attrs, slog.String("class", e.Class.String()), slog.String("error", e.Error()))
	c.logger.LogAttrs(ctx, slog.LevelDebug, "apihub points request failed", attrs...)
	if noAnswer && ctx.Err() != nil {
		return // the caller gave up; not the API's doing
	}
	c.observeFunc(route, e, took)
}

// redact replaces the credentials in s.
func (c *Client) redact(s, cred string) string {
	if k := string(*c.key); k != "" {
		s = strings.ReplaceAll(s, k, redacted)
	}
	if tok := strings.TrimPrefix(cred, "Bearer "); tok != "" {
		s = strings.ReplaceAll(s, tok, redacted)
	}
	return s
}

// netCause trims a network error to its cause, free of the URL.
func netCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}
