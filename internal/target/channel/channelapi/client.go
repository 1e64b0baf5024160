// Package channelapi is a typed client for the staffing platform's channel
// API (seed 001): token and refresh, create/update/read of users,
// companies, tasks, applications and payments, and the three lists. Errors
// are *Error values classified as transient, rate-limited, auth or
// permanent, however the channel or a gateway in front of it answered.
//
// The client does not trust the channel: it follows no redirects (a 3xx is
// an error naming the host it pointed to, and the token request with the
// secret goes nowhere else), it speaks plain http only to loopback hosts,
// it caps a Retry-After at Config.MaxRetryAfter, it cuts any text it keeps
// from an answer to MaxMessageLen bytes, and it never lets a failure of the
// token endpoints pass for a verdict on the record being pushed (see
// ErrTokenEndpoint).
package channelapi

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
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"golang.org/x/time/rate"
)

// maxAnswer caps how much of an answer is read.
const maxAnswer = 8 << 20

// maxTokenLen bounds an access or refresh token the channel hands out.
const maxTokenLen = 8 << 10

// Config configures a Client.
type Config struct {
	// BaseURL is the API root including its path prefix, e.g.
	// https://api.example.com/api/v1. It must be https, except for a
	// loopback host (127.0.0.0/8, ::1, localhost); see CheckBaseURL.
	BaseURL string
	// AppKey and Secret are the credentials for POST /auth/token.
	AppKey string
	Secret string
	// HTTPClient sends the requests. Default: a keep-alive client sized for
	// 64 concurrent callers, with a 30s timeout. The client uses a copy of
	// it that follows no redirects; the given one is left as it is.
	HTTPClient *http.Client
	// Limiter, if set, is waited on before every request.
	Limiter *rate.Limiter
	// Logger receives one debug line per request (method, path, status,
	// code, duration); never bodies, tokens or the secret.
	Logger *slog.Logger
	// Tokens, if set, replaces the client's own token source (to share one
	// between clients); its FetchFunc is left as given.
	Tokens *TokenSource
	// ShareTokenFunc, if set, wraps the client's own token fetch (the
	// FetchFunc of a token source the client makes itself), to share one
	// token between processes (internal/tokenstore).
	ShareTokenFunc func(fetch FetchTokenFunc) FetchTokenFunc
	// AuthHold is how long a refused-credentials error is remembered.
	AuthHold time.Duration
	// MaxRetryAfter caps the wait a 429's Retry-After may ask for (the
	// RetryAfter of the *Error). Default DefaultMaxRetryAfter (15 min);
	// negative is an error.
	MaxRetryAfter time.Duration
	// NowFunc is the clock. Default time.Now.
	NowFunc func() time.Time
	// ObserveFunc, if set, is told of every request's outcome: route names
	// the endpoint without the record id ("PUT /tasks/:id"); err is nil on
	// success (for metrics and the channel's health).
	ObserveFunc func(route string, err *Error, took time.Duration)
}

// Client calls the channel API. It is safe for concurrent use.
type Client struct {
	base          *url.URL
	appKey        string
	secret        string
	http          *http.Client
	limiter       *rate.Limiter
	logger        *slog.Logger
	tokens        *TokenSource
	now           func() time.Time
	observe       func(op string, err *Error, took time.Duration)
	maxRetryAfter time.Duration

	tokenCalls, refreshCalls atomic.Int64
}

// New returns a Client. The error names the missing or bad setting.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("channel client: BaseURL is required")
	}
	if err := CheckBaseURL(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("channel client: BaseURL %w", err)
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("channel client: BaseURL %w", err)
	}
	if cfg.MaxRetryAfter < 0 {
		return nil, fmt.Errorf("channel client: MaxRetryAfter must not be negative, got %s", cfg.MaxRetryAfter)
	}
	if cfg.AppKey == "" {
		return nil, errors.New("channel client: AppKey is required")
	}
	if cfg.Secret == "" {
		return nil, errors.New("channel client: Secret is required")
	}
	c := &Client{
		base:          base,
		appKey:        cfg.AppKey,
		secret:        cfg.Secret,
		limiter:       cfg.Limiter,
		logger:        cfg.Logger,
		now:           cfg.NowFunc,
		observe:       cfg.ObserveFunc,
		maxRetryAfter: cfg.MaxRetryAfter,
	}
	if c.maxRetryAfter == 0 {
		c.maxRetryAfter = DefaultMaxRetryAfter
	}
	if c.observe == nil {
		c.observe = func(string, *Error, time.Duration) {}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	// A copy, so that the caller's client keeps its own policy: this one
	// hands every 3xx back instead of following it. Following would re-send
	// the token request, secret and all, to whatever origin a redirect
	// names (a 307 and a 308 keep the method and the body).
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &noRedirects
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.tokens = cfg.Tokens
	if c.tokens == nil {
		c.tokens = &TokenSource{AuthHold: cfg.AuthHold, NowFunc: cfg.NowFunc}
	}
	if c.tokens.FetchFunc == nil {
		c.tokens.FetchFunc = c.FetchToken
		if cfg.ShareTokenFunc != nil {
			c.tokens.FetchFunc = cfg.ShareTokenFunc(c.FetchToken)
		}
	}
	return c, nil
}

// CheckBaseURL checks a channel base URL: an absolute https URL with a
// host, or an http URL whose host is a loopback address (127.0.0.0/8, ::1)
// or localhost, for a simulator on the same machine. Anything else would
// send the secret and the personal data in the clear. The error does not
// name the setting (the caller does) and never repeats a password the URL
// may hold.
func CheckBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute https URL with a host, such as https://api.example.com/api/v1")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("must be https: plain http is allowed only for a loopback host (127.0.0.0/8, ::1, localhost), got %q", u.Redacted())
	}
	return fmt.Errorf("must be an https URL, got scheme %q", u.Scheme)
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// DefaultHTTPClient returns a keep-alive HTTP client for up to 64
// concurrent callers against one host.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.MaxConnsPerHost = 0
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Tokens returns the client's token source.
func (c *Client) Tokens() *TokenSource { return c.tokens }

// TokenCalls returns how many POST /auth/token and POST /auth/refresh calls
// the client made.
func (c *Client) TokenCalls() (token, refresh int64) {
	return c.tokenCalls.Load(), c.refreshCalls.Load()
}

// FetchToken obtains a token: by the refresh token of current when it has
// one, falling back to the credentials when the refresh fails; else by the
// credentials. It is the default FetchFunc of the client's token source.
//
// The refresh call carries the current access token as its bearer, as the
// seed's header table asks of every call; the token call never carries
// one. A failure is an *Error matching ErrTokenEndpoint; one that is not
// transient or rate-limited is ClassAuth, so that no caller mistakes it
// for a verdict on its data.
func (c *Client) FetchToken(ctx context.Context, current *TokenState) (TokenState, error) {
	if current != nil && current.RefreshToken != "" {
		st, err := c.authCall(ctx, "/auth/refresh", RefreshRequest{RefreshToken: current.RefreshToken, GrantType: "refresh_token"}, current.AccessToken)
		c.refreshCalls.Add(1)
		if err == nil {
			return st, nil
		}
		c.logger.DebugContext(ctx, "token refresh failed; fetching a new token", slog.String("error", err.Error()))
	}
	c.tokenCalls.Add(1)
	return c.authCall(ctx, "/auth/token", TokenRequest{AppKey: c.appKey, Secret: c.secret, GrantType: "client_credentials"}, "")
}

// maxTokenLifetimeSeconds caps the lifetime a token answer may claim.
const maxTokenLifetimeSeconds = 24 * 60 * 60

// authCall posts body to a token endpoint, with bearer as the
// Authorization when it is not empty, and reads the token answer.
func (c *Client) authCall(ctx context.Context, path string, body any, bearer string) (TokenState, error) {
	op := "POST " + path
	payload, err := json.Marshal(body)
	if err != nil {
		return TokenState{}, fmt.Errorf("channel %s: encode body: %w", op, err)
	}
	// roundTrip marks the failure as the token endpoint's (see markToken).
	data, err := c.roundTrip(ctx, http.MethodPost, path, nil, payload, bearer)
	if err != nil {
		return TokenState{}, err
	}
	var t Token
	if err := json.Unmarshal(data, &t); err != nil || !usableToken(t.AccessToken) {
		return TokenState{}, &Error{Op: op, Message: "answer carries no usable access_token", Class: ClassTransient, TokenEndpoint: true}
	}
	if !usableToken(t.RefreshToken) {
		// Renew with the credentials instead.
		t.RefreshToken = ""
	}
	// The spec's tokens live 7200 s. A missing or absurd expires_in (one
	// that would overflow a Duration) falls back to that, and none is
	// trusted for longer than a day.
	lifetime := 7200 * time.Second
	if t.ExpiresIn > 0 {
		lifetime = time.Duration(min(t.ExpiresIn, maxTokenLifetimeSeconds)) * time.Second
	}
	return TokenState{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: c.now().Add(lifetime)}, nil
}

// usableToken reports whether tok can be sent as a bearer token: 1 to
// maxTokenLen visible ASCII characters, so that a hostile answer can neither
// inject a header nor bloat every request.
func usableToken(tok string) bool {
	if tok == "" || len(tok) > maxTokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	return true
}

// Create POSTs body to the kind's collection (e.g. POST /users) and returns
// the channel's answer. body may be a typed struct or json.RawMessage.
func (c *Client) Create(ctx context.Context, kind channelbody.Resource, body any) (Created, error) {
	data, err := c.do(ctx, http.MethodPost, "/"+kind.Plural(), nil, body, true)
	if err != nil {
		return Created{}, err
	}
	return decodeCreated(kind, data), nil
}

// Update PUTs body to the record named id (e.g. PUT /users/:id).
func (c *Client) Update(ctx context.Context, kind channelbody.Resource, id string, body any) (Created, error) {
	data, err := c.do(ctx, http.MethodPut, "/"+kind.Plural()+"/"+id, nil, body, true)
	if err != nil {
		return Created{}, err
	}
	return decodeCreated(kind, data), nil
}

// Record is a record read back from the channel.
type Record struct {
	// ChannelRef is the channel's own id for the record.
	ChannelRef ID
	// Raw is the answer's data, verbatim.
	Raw json.RawMessage
}

// Get reads the record named id (e.g. GET /users/:id). A record the
// channel does not hold is an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, kind channelbody.Resource, id string) (Record, error) {
	data, err := c.do(ctx, http.MethodGet, "/"+kind.Plural()+"/"+id, nil, nil, true)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && (e.Code == CodeParam || (e.Code == 0 && e.HTTPStatus == http.StatusNotFound)) {
			e.NotFound = true
		}
		return Record{}, err
	}
	return Record{ChannelRef: decodeCreated(kind, data).ChannelRef, Raw: data}, nil
}

func decodeCreated(kind channelbody.Resource, data json.RawMessage) Created {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return Created{}
	}
	var out Created
	if raw, ok := m[kind.ChannelIDField()]; ok {
		_ = json.Unmarshal(raw, &out.ChannelRef)
		out.ChannelRef = ID(cutText(string(out.ChannelRef)))
	}
	if raw, ok := m["created_at"]; ok {
		_ = json.Unmarshal(raw, &out.CreatedAt)
		out.CreatedAt = cutText(out.CreatedAt)
	}
	return out
}

// listFilters are the filters each list endpoint defines.
var listFilters = map[channelbody.Resource][]string{
	channelbody.Tasks:        {"channel_company_id", "status"},
	channelbody.Applications: {"channel_user_id", "channel_task_id", "status", "start_date", "end_date"},
	channelbody.Payments:     {"channel_user_id", "channel_application_id", "payment_type", "status", "start_date", "end_date"},
}

// ListTasks reads a page of tasks (filters: channel_company_id, status).
func (c *Client) ListTasks(ctx context.Context, p ListParams) (Page, error) {
	return c.list(ctx, channelbody.Tasks, p)
}

// ListApplications reads a page of applications (filters: channel_user_id,
// channel_task_id, status, start_date, end_date).
func (c *Client) ListApplications(ctx context.Context, p ListParams) (Page, error) {
	return c.list(ctx, channelbody.Applications, p)
}

// ListPayments reads a page of payments (filters: channel_user_id,
// channel_application_id, payment_type, status, start_date, end_date).
func (c *Client) ListPayments(ctx context.Context, p ListParams) (Page, error) {
	return c.list(ctx, channelbody.Payments, p)
}

func (c *Client) list(ctx context.Context, kind channelbody.Resource, p ListParams) (Page, error) {
	given := map[string]string{
		"channel_company_id":     p.ChannelCompanyID,
		"channel_user_id":        p.ChannelUserID,
		"channel_task_id":        p.ChannelTaskID,
		"channel_application_id": p.ChannelApplicationID,
		"payment_type":           p.PaymentType,
		"status":                 p.Status,
		"start_date":             p.StartDate,
		"end_date":               p.EndDate,
	}
	q := url.Values{}
	allowed := listFilters[kind]
	for name, v := range given {
		if v == "" {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			return Page{}, fmt.Errorf("list %s: filter %s is not defined for this list", kind.Plural(), name)
		}
		q.Set(name, v)
	}
	if p.Page < 0 || p.PageSize < 0 {
		return Page{}, fmt.Errorf("list %s: page and page_size must not be negative", kind.Plural())
	}
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(p.PageSize))
	}
	data, err := c.do(ctx, http.MethodGet, "/"+kind.Plural(), q, nil, true)
	if err != nil {
		return Page{}, err
	}
	return decodePage(data)
}

// decodePage reads a list answer leniently: an array, or an object holding
// the array under list, items, records or data, with optional paging. An
// object with no such array is an error (read as an empty page, it would
// make every record look missing), unless its total says 0.
func decodePage(data json.RawMessage) (Page, error) {
	var page Page
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return page, nil
	}
	if trimmed[0] == '[' {
		err := json.Unmarshal(trimmed, &page.Items)
		return page, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return page, fmt.Errorf("decode list: %w", err)
	}
	found := false
	for _, key := range []string{"list", "items", "records", "data"} {
		if raw, ok := obj[key]; ok {
			if err := json.Unmarshal(raw, &page.Items); err != nil {
				return page, fmt.Errorf("decode list %s: %w", key, err)
			}
			found = true
			break
		}
	}
	for key, dst := range map[string]*int{"total": &page.Total, "page": &page.Page, "page_size": &page.PageSize} {
		if raw, ok := obj[key]; ok {
			var n json.Number
			if json.Unmarshal(raw, &n) == nil {
				if v, err := n.Int64(); err == nil {
					*dst = int(v)
				}
			}
		}
	}
	if !found && !bytes.Equal(bytes.TrimSpace(obj["total"]), []byte("0")) {
		return page, errors.New("decode list: the answer holds no list (list, items, records or data)")
	}
	return page, nil
}

// do sends one call and returns the envelope's data. With auth it carries
// the bearer token and, on 1003 (or a bare 401), renews the token once and
// repeats the call once.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, auth bool) (json.RawMessage, error) {
	var payload []byte
	if body != nil {
		switch b := body.(type) {
		case json.RawMessage:
			payload = b
		case []byte:
			payload = b
		default:
			var err error
			if payload, err = json.Marshal(body); err != nil {
				return nil, fmt.Errorf("channel %s %s: encode body: %w", method, path, err)
			}
		}
	}
	for attempt := 0; ; attempt++ {
		token := ""
		if auth {
			var err error
			if token, err = c.tokens.Token(ctx); err != nil {
				return nil, err
			}
		}
		data, err := c.roundTrip(ctx, method, path, query, payload, token)
		var e *Error
		if auth && attempt == 0 && errors.As(err, &e) &&
			(e.Code == CodeTokenInvalid || (e.Code == 0 && e.HTTPStatus == http.StatusUnauthorized)) {
			c.tokens.Invalidate(token)
			continue
		}
		if auth && errors.As(err, &e) && e.Code == 0 && e.HTTPStatus == http.StatusUnauthorized {
			e.Class = ClassAuth
		}
		return data, err
	}
}

// markToken marks e, a failure of a token endpoint, as such: it matches
// ErrTokenEndpoint, and unless it is transient or rate-limited it is
// ClassAuth. 1001, 1004, an unknown code or a bare 4xx from /auth/token
// means the channel will not hand out a token, which says nothing of the
// record being pushed: it must not be dead-lettered for it.
func markToken(e *Error) *Error {
	e.TokenEndpoint = true
	if e.Class == ClassPermanent {
		e.Class = ClassAuth
	}
	return e
}

func (c *Client) roundTrip(ctx context.Context, method, path string, query url.Values, payload []byte, token string) (json.RawMessage, error) {
	op := method + " " + path
	// route names the endpoint without the record id, for metrics.
	route := op
	segs := strings.Split(path, "/")
	isTokenEndpoint := len(segs) > 1 && segs[1] == "auth"
	if len(segs) > 2 && !isTokenEndpoint {
		route = method + " /" + segs[1] + "/:id"
	}
	// fail finishes an error the same way on every path.
	fail := func(e *Error) *Error {
		if isTokenEndpoint {
			markToken(e)
		}
		return e
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fail(&Error{Op: op, Err: err, Class: ClassTransient})
		}
	}
	u := *c.base
	// Ids are validated to hold no '/', so each is one path segment;
	// URL.String escapes what needs escaping.
	u.Path = c.base.Path + path
	u.RawPath = ""
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rdr io.Reader
	if payload != nil {
		rdr = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rdr)
	if err != nil {
		return nil, fail(&Error{Op: op, Err: err, Class: ClassPermanent})
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error repeats the URL; keep only the cause.
			cause = ue.Err
		}
		c.logger.DebugContext(ctx, "channel request failed", slog.String("method", method), slog.String("path", path),
			slog.Duration("took", c.now().Sub(start)), slog.String("error", cause.Error()))
		e := fail(&Error{Op: op, Err: netCause(cause), Class: ClassTransient})
		if !isCallerDone(ctx, err) {
			c.observe(route, e, c.now().Sub(start))
		}
		return nil, e
	}
	defer resp.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	var env struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	hasEnv := rerr == nil && json.Unmarshal(raw, &env) == nil && env.Code != nil
	code := 0
	if hasEnv {
		code = *env.Code
	}
	c.logger.DebugContext(ctx, "channel request", slog.String("method", method), slog.String("path", path),
		slog.Int("status", resp.StatusCode), slog.Int("code", code), slog.Duration("took", c.now().Sub(start)))

	if hasEnv && code == CodeOK && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		c.observe(route, nil, c.now().Sub(start))
		return env.Data, nil
	}
	e := &Error{Op: op, HTTPStatus: resp.StatusCode}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// Not followed (see New); name where it pointed, nothing more.
		if loc, err := resp.Location(); err == nil {
			e.Redirect = cutText(loc.Host)
		}
	case hasEnv:
		e.Code, e.Message = code, cutText(env.Message)
	case rerr != nil:
		e.Err = netCause(rerr)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		e.Message = "answer is not a JSON envelope"
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now(), c.maxRetryAfter)
	}
	classify(e)
	fail(e)
	c.observe(route, e, c.now().Sub(start))
	return nil, e
}

// netCause trims a network error to its cause, free of URLs.
func netCause(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}
