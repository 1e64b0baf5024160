// Package ucapi is a typed client for the APIHub user centre (seed 002,
// apihub-api.md "User centre"): accounts and their system attributes,
// enabling and disabling them, groups and memberships, roles, and the
// account list.
//
// Every call carries an app token the client signs itself (HS256 with
// APIHUB_SK; see MintAppToken) and renews before it expires. The SK never
// appears in a log line, an error, or a printed value. Calls are not
// retried: a failure is an *Error whose Class says what to do (transient,
// rate-limited, auth, data), so that the caller, which knows whether a
// call is idempotent, decides. create-user and create-group are not: after
// a transient error the account or group may exist. (net/http itself may
// resend a GET whose reused connection closed before any answer; it never
// resends a POST or PUT.)
package ucapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// PathPrefix is where the user centre's endpoints live under the base URL.
const PathPrefix = "/api/user-center-admin"

// Defaults applied by New to zero fields of Config.
const (
	// DefaultTimeout bounds one request.
	DefaultTimeout = 15 * time.Second
	// DefaultMaxRetryAfter caps the wait a 429 may ask for.
	DefaultMaxRetryAfter = 15 * time.Minute
	// DefaultMaxAnswerBytes caps how much of an answer is read.
	DefaultMaxAnswerBytes = 4 << 20
)

// ErrInvalidConfig is wrapped by the errors of New.
var ErrInvalidConfig = errors.New("ucapi: invalid config")

// Config configures a Client. Zero fields take the defaults above.
type Config struct {
	// BaseURL is APIHUB_BASE_URL, the platform's root, e.g.
	// https://open.apihub.net; the client appends PathPrefix and the
	// endpoint. It must be https, unless its host is a loopback address
	// (localhost, 127.0.0.0/8, ::1), and carry no user info, query or
	// fragment.
	BaseURL string
	// AppKey is APIHUB_AK: the app token's sub and iss (required).
	AppKey string
	// SecretKey is APIHUB_SK, the app token's signing key (required).
	SecretKey Secret
	// Timeout bounds how long one request can be in flight, from dialling
	// to the last byte of the answer (http.Client.Timeout; default 15 s).
	// When a call returns, this client no longer sends or waits for its
	// request: the caller's exactly-once logic relies on that, as in "wait
	// out Timeout after a lost answer, then look the record up". It is set
	// on HTTPClient too, overriding that client's own Timeout.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a keep-alive client for one
	// host. Whatever is given, the client uses a copy that follows no
	// redirects (a 3xx is an error naming the target host) and has Timeout.
	HTTPClient *http.Client
	// MaxRetryAfter caps the Retry-After of a 429 (default 15 min).
	MaxRetryAfter time.Duration
	// MaxAnswerBytes caps how much of an answer is read (default 4 MiB); a
	// longer answer is a transient error.
	MaxAnswerBytes int64
	// RenewBefore is how long before its expiry the app token is replaced
	// by a new one (default 10 min; tokens live 2 h).
	RenewBefore time.Duration
	// Limiter, if set, is waited on before every request.
	Limiter *rate.Limiter
	// Logger receives one debug line per request (route, status, code,
	// duration): never a body, a token or the SK. Nil discards.
	Logger *slog.Logger
	// NowFunc is the clock for the app token and Retry-After dates
	// (default time.Now).
	NowFunc func() time.Time
	// ObserveFunc, if set, is told of every request's outcome, for
	// metrics: route is one of a fixed set of names such as
	// "POST create-user" (never an id), err is nil on success. Requests the
	// caller cancelled and requests the client refused to send are not
	// reported.
	ObserveFunc func(route string, err *Error, took time.Duration)
}

// Client calls the user centre. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	appKey      string
	http        *http.Client
	maxRetry    time.Duration
	maxAnswer   int64
	limiter     *rate.Limiter
	logger      *slog.Logger
	nowFunc     func() time.Time
	observeFunc func(route string, err *Error, took time.Duration)
	tokens      *tokenCache
}

// New returns a Client for cfg. The error wraps ErrInvalidConfig and names
// the missing or bad setting; it never holds the SK.
func New(cfg Config) (*Client, error) {
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.AppKey == "":
		return nil, fmt.Errorf("%w: AppKey (APIHUB_AK) is required", ErrInvalidConfig)
	case cfg.SecretKey.IsZero():
		return nil, fmt.Errorf("%w: SecretKey (APIHUB_SK) is required", ErrInvalidConfig)
	case cfg.Timeout < 0, cfg.MaxRetryAfter < 0, cfg.MaxAnswerBytes < 0, cfg.RenewBefore < 0:
		return nil, fmt.Errorf("%w: Timeout, MaxRetryAfter, MaxAnswerBytes and RenewBefore must not be negative", ErrInvalidConfig)
	case cfg.RenewBefore >= AppTokenLifetime:
		return nil, fmt.Errorf("%w: RenewBefore %s must be shorter than the token lifetime %s", ErrInvalidConfig, cfg.RenewBefore, AppTokenLifetime)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.MaxAnswerBytes == 0 {
		cfg.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = DefaultRenewBefore
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ObserveFunc == nil {
		cfg.ObserveFunc = func(string, *Error, time.Duration) {}
	}
	hc := DefaultHTTPClient()
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.Timeout = cfg.Timeout
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		base:        base,
		appKey:      cfg.AppKey,
		http:        hc,
		maxRetry:    cfg.MaxRetryAfter,
		maxAnswer:   cfg.MaxAnswerBytes,
		limiter:     cfg.Limiter,
		logger:      cfg.Logger,
		nowFunc:     cfg.NowFunc,
		observeFunc: cfg.ObserveFunc,
		tokens:      &tokenCache{signer: newSigner(cfg.AppKey, cfg.SecretKey), renewBefore: cfg.RenewBefore, nowFunc: cfg.NowFunc},
	}, nil
}

// checkBaseURL parses the base URL and refuses plain http to a host that
// is not a loopback address.
func checkBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: BaseURL (APIHUB_BASE_URL) is required", ErrInvalidConfig)
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("%w: BaseURL is not a URL", ErrInvalidConfig)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Opaque != "":
		return nil, fmt.Errorf("%w: BaseURL %q is not an http(s) URL with a host", ErrInvalidConfig, u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("%w: BaseURL %q must not carry user info", ErrInvalidConfig, u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: BaseURL %q must not carry a query or fragment", ErrInvalidConfig, u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%w: BaseURL %q: plain http is allowed only to a loopback host; use https", ErrInvalidConfig, u.Redacted())
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

// DefaultHTTPClient returns a keep-alive HTTP client for up to 64
// concurrent callers against one host. New sets its Timeout and makes it
// follow no redirects.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: DefaultTimeout}
}

// String describes the client: base URL and AK, never the SK.
func (c *Client) String() string {
	return "ucapi.Client{BaseURL: " + c.base.Redacted() + ", AppKey: " + c.appKey + "}"
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// TokensMinted returns how many app tokens the client has signed.
func (c *Client) TokensMinted() int64 { return c.tokens.count() }

// Endpoints of the user centre the client calls, as route names ("METHOD
// name") for ObserveFunc and Error.Route.
const (
	RouteGetUserBySysAttr    = "POST get-user-by-sys-attr"
	RouteGetUserByUsername   = "POST get-user-by-username"
	RouteGetUserByID         = "POST get-user-by-id"
	RouteCreateUser          = "POST create-user"
	RouteSaveUserSysAttrs    = "PUT save-user-sys-attrs"
	RouteEnableUserAccount   = "POST enable-user-account"
	RouteListUsers           = "GET list-users"
	RouteCreateGroup         = "POST create-group"
	RouteUpdateGroup         = "POST update-group"
	RouteListChildGroups     = "GET list-child-groups"
	RouteAddUserToGroup      = "POST add-user-to-group"
	RouteRemoveUserFromGroup = "POST remove-user-from-group"
	RouteListUserGroups      = "POST list-user-groups"
	RouteListRoles           = "GET list-roles"
	RouteSaveRole            = "PUT save-role"
	RouteAssignUserRole      = "POST assign-user-role"
	RouteListUserRoles       = "POST list-user-roles"
)

// GetUserBySysAttr finds the account whose sys_attrs[key] equals value,
// type included (send chansync's channel_user_id as a string). It returns
// nil and no error when there is none. When several match, the service
// returns one of them.
func (c *Client) GetUserBySysAttr(ctx context.Context, key string, value any) (*User, error) {
	if err := required(RouteGetUserBySysAttr, "key", key); err != nil {
		return nil, err
	}
	if value == nil {
		return nil, refused(RouteGetUserBySysAttr, "value", "is required")
	}
	return c.optionalUser(ctx, RouteGetUserBySysAttr, map[string]any{"key": key, "value": value})
}

// GetUserByUsername returns the account whose username is exactly
// username, or nil and no error when there is none.
func (c *Client) GetUserByUsername(ctx context.Context, username string) (*User, error) {
	if err := required(RouteGetUserByUsername, "username", username); err != nil {
		return nil, err
	}
	return c.optionalUser(ctx, RouteGetUserByUsername, map[string]any{"username": username})
}

// GetUserByID returns the account with the _id id, or nil and no error
// when the service answers with no user.
func (c *Client) GetUserByID(ctx context.Context, id string) (*User, error) {
	if err := required(RouteGetUserByID, "target_user_id", id); err != nil {
		return nil, err
	}
	return c.optionalUser(ctx, RouteGetUserByID, map[string]any{"target_user_id": id})
}

func (c *Client) optionalUser(ctx context.Context, route string, body any) (*User, error) {
	var u *User
	if err := c.call(ctx, route, nil, body, &u); err != nil {
		return nil, err
	}
	return u, nil
}

// CreateUser creates a MEMBER account. It is not idempotent: after a
// transient error the account may exist (look it up by a system attribute
// before trying again). A taken username is a ClassData error.
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (*User, error) {
	if err := required(RouteCreateUser, "username", req.Username); err != nil {
		return nil, err
	}
	if req.Password.IsZero() {
		return nil, refused(RouteCreateUser, "password", "is required")
	}
	return c.user(ctx, RouteCreateUser, createUserWire{
		Username: req.Username, Password: req.Password.reveal(), Attrs: req.Attrs, SysAttrs: req.SysAttrs,
	})
}

// SaveUserSysAttrs merges sysAttrs into the account's system attributes:
// keys given are added or replaced, others are kept, and a dotted key
// ("a.b") updates a nested value. It returns the updated account.
func (c *Client) SaveUserSysAttrs(ctx context.Context, userID string, sysAttrs map[string]any) (*User, error) {
	if err := required(RouteSaveUserSysAttrs, "target_user_id", userID); err != nil {
		return nil, err
	}
	if sysAttrs == nil {
		return nil, refused(RouteSaveUserSysAttrs, "sys_attrs", "is required")
	}
	return c.user(ctx, RouteSaveUserSysAttrs, map[string]any{"target_user_id": userID, "sys_attrs": sysAttrs})
}

// EnableUserAccount enables (true) or disables (false) an account and
// returns it.
func (c *Client) EnableUserAccount(ctx context.Context, userID string, enable bool) (*User, error) {
	if err := required(RouteEnableUserAccount, "target_user_id", userID); err != nil {
		return nil, err
	}
	return c.user(ctx, RouteEnableUserAccount, map[string]any{"target_user_id": userID, "enable": enable})
}

func (c *Client) user(ctx context.Context, route string, body any) (*User, error) {
	var u *User
	if err := c.call(ctx, route, nil, body, &u); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, c.noResult(route)
	}
	return u, nil
}

// ListUsers reads one page of MEMBER accounts.
func (c *Client) ListUsers(ctx context.Context, p ListUsersParams) (*UserPage, error) {
	switch {
	case p.Skip < 0:
		return nil, refused(RouteListUsers, "skip", "must not be negative")
	case p.Limit < 0:
		return nil, refused(RouteListUsers, "limit", "must not be negative")
	case p.SortDirection != 0 && p.SortDirection != 1 && p.SortDirection != -1:
		return nil, refused(RouteListUsers, "sort_direction", "must be 1 or -1")
	}
	q := url.Values{}
	q.Set("skip", strconv.Itoa(p.Skip))
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.SortKey != "" {
		q.Set("sort_key", p.SortKey)
	}
	if p.SortDirection != 0 {
		q.Set("sort_direction", strconv.Itoa(p.SortDirection))
	}
	var page *UserPage
	if err := c.call(ctx, RouteListUsers, q, nil, &page); err != nil {
		return nil, err
	}
	if page == nil {
		return nil, c.noResult(RouteListUsers)
	}
	return page, nil
}

// Users yields every MEMBER account, pageSize at a time (0: 100), oldest
// first (sorted by firstCreated ascending, so that accounts created while
// it runs come last rather than shifting the pages). It stops at the first
// error, which it yields. It advances by the number of accounts each page
// held, so a service that caps the page size is read correctly.
func (c *Client) Users(ctx context.Context, pageSize int) iter.Seq2[User, error] {
	if pageSize <= 0 {
		pageSize = 100
	}
	return func(yield func(User, error) bool) {
		skip := 0
		for {
			page, err := c.ListUsers(ctx, ListUsersParams{Skip: skip, Limit: pageSize, SortKey: "firstCreated", SortDirection: 1})
			if err != nil {
				yield(User{}, err)
				return
			}
			for _, u := range page.Items {
				if !yield(u, nil) {
					return
				}
			}
			skip += len(page.Items)
			if len(page.Items) == 0 || skip >= page.Total {
				return
			}
		}
	}
}

// CreateGroup creates a group. It is not idempotent: names need not be
// unique, and after a transient error the group may exist (look it up
// among the top-level groups before trying again). A name or type holding
// "/" is refused before sending.
func (c *Client) CreateGroup(ctx context.Context, req CreateGroupRequest) (*Group, error) {
	if err := groupName(RouteCreateGroup, "name", req.Name); err != nil {
		return nil, err
	}
	if strings.Contains(req.Type, "/") {
		return nil, refused(RouteCreateGroup, "type", `must not contain "/"`)
	}
	return c.group(ctx, RouteCreateGroup, req)
}

// UpdateGroup updates the fields of req that are set, and returns the
// group.
func (c *Client) UpdateGroup(ctx context.Context, req UpdateGroupRequest) (*Group, error) {
	if err := required(RouteUpdateGroup, "id", req.ID); err != nil {
		return nil, err
	}
	if req.Name != nil {
		if err := groupName(RouteUpdateGroup, "name", *req.Name); err != nil {
			return nil, err
		}
	}
	if req.Type != nil && strings.Contains(*req.Type, "/") {
		return nil, refused(RouteUpdateGroup, "type", `must not contain "/"`)
	}
	return c.group(ctx, RouteUpdateGroup, req)
}

func (c *Client) group(ctx context.Context, route string, body any) (*Group, error) {
	var g *Group
	if err := c.call(ctx, route, nil, body, &g); err != nil {
		return nil, err
	}
	if g == nil || g.ID == "" {
		return nil, c.noResult(route)
	}
	return g, nil
}

// ListChildGroups returns the children of the group parent ("" for the
// top-level groups), with their own children when recursive.
func (c *Client) ListChildGroups(ctx context.Context, parent string, recursive bool) ([]Group, error) {
	q := url.Values{}
	q.Set("parent", parent)
	q.Set("recursive", strconv.FormatBool(recursive))
	var gs []Group
	if err := c.call(ctx, RouteListChildGroups, q, nil, &gs); err != nil {
		return nil, err
	}
	return gs, nil
}

// AddUserToGroup makes the account a member of the group.
func (c *Client) AddUserToGroup(ctx context.Context, groupID, userID string) error {
	return c.membership(ctx, RouteAddUserToGroup, groupID, userID)
}

// RemoveUserFromGroup ends the account's membership of the group.
func (c *Client) RemoveUserFromGroup(ctx context.Context, groupID, userID string) error {
	return c.membership(ctx, RouteRemoveUserFromGroup, groupID, userID)
}

func (c *Client) membership(ctx context.Context, route, groupID, userID string) error {
	if err := required(route, "group_id", groupID); err != nil {
		return err
	}
	if err := required(route, "target_user_id", userID); err != nil {
		return err
	}
	// The seed documents no result: whatever comes is ignored.
	return c.call(ctx, route, nil, map[string]any{"group_id": groupID, "target_user_id": userID}, nil)
}

// ListUserGroups returns the groups the account belongs to.
func (c *Client) ListUserGroups(ctx context.Context, userID string) ([]Group, error) {
	if err := required(RouteListUserGroups, "target_user_id", userID); err != nil {
		return nil, err
	}
	var gs []Group
	if err := c.call(ctx, RouteListUserGroups, nil, map[string]any{"target_user_id": userID}, &gs); err != nil {
		return nil, err
	}
	return gs, nil
}

// ListRoles returns the application's roles.
func (c *Client) ListRoles(ctx context.Context) ([]Role, error) {
	var rs []Role
	if err := c.call(ctx, RouteListRoles, nil, nil, &rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// SaveRole creates the role req.Code, or updates its name and description,
// and returns it.
func (c *Client) SaveRole(ctx context.Context, req SaveRoleRequest) (*Role, error) {
	if err := required(RouteSaveRole, "code", req.Code); err != nil {
		return nil, err
	}
	var r *Role
	if err := c.call(ctx, RouteSaveRole, nil, req, &r); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, c.noResult(RouteSaveRole)
	}
	return r, nil
}

// AssignUserRole gives the account the role roleCode.
func (c *Client) AssignUserRole(ctx context.Context, userID, roleCode string) error {
	if err := required(RouteAssignUserRole, "target_user_id", userID); err != nil {
		return err
	}
	if err := required(RouteAssignUserRole, "role_code", roleCode); err != nil {
		return err
	}
	return c.call(ctx, RouteAssignUserRole, nil, map[string]any{"target_user_id": userID, "role_code": roleCode}, nil)
}

// ListUserRoles returns the account's roles: its type (MEMBER or ADMIN)
// first, then the roles assigned to it.
func (c *Client) ListUserRoles(ctx context.Context, userID string) ([]string, error) {
	if err := required(RouteListUserRoles, "target_user_id", userID); err != nil {
		return nil, err
	}
	var rs []string
	if err := c.call(ctx, RouteListUserRoles, nil, map[string]any{"target_user_id": userID}, &rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// refused is the error of a request the client will not send.
func refused(route, field, rule string) *Error {
	return &Error{Route: route, Field: field, Message: rule, Class: ClassData}
}

func required(route, field, v string) error {
	if v == "" {
		return refused(route, field, "is required")
	}
	return nil
}

func groupName(route, field, v string) error {
	if v == "" {
		return refused(route, field, "is required")
	}
	if strings.Contains(v, "/") {
		return refused(route, field, `must not contain "/"`)
	}
	return nil
}

// noResult is the error of a success whose result is missing.
func (c *Client) noResult(route string) *Error {
	return &Error{Route: route, HTTPStatus: http.StatusOK, Message: "success without a result", Class: ClassTransient}
}

// envelope is the user centre's answer.
type envelope struct {
	Success *bool           `json:"success"`
	Trace   string          `json:"trace"`
	Result  json.RawMessage `json:"result"`
	Code    json.RawMessage `json:"code"`
	Msg     string          `json:"msg"`
	Message string          `json:"message"`
}

// codeText renders an envelope code, string or number, as text.
func codeText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return cut(s)
	}
	return cut(string(raw))
}

// call sends one request to route ("METHOD name") and decodes the
// envelope's result into out (nil: ignore it).
func (c *Client) call(ctx context.Context, route string, query url.Values, body any, out any) error {
	method, name, _ := strings.Cut(route, " ")
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			// json's errors name the type, never the values.
			return &Error{Route: route, Message: "encode body", Err: err, Class: ClassData}
		}
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return &Error{Route: route, Message: "wait for the rate limiter", Err: err, Class: ClassTransient}
		}
	}
	// After the wait, so that a long wait cannot eat the token's margin.
	token, err := c.tokens.get()
	if err != nil {
		return &Error{Route: route, Message: "mint app token", Err: err, Class: ClassAuth}
	}
	u := *c.base
	u.Path = c.base.Path + PathPrefix + "/" + name
	u.RawPath = ""
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var rdr io.Reader
	if payload != nil {
		rdr = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rdr)
	if err != nil {
		return &Error{Route: route, Message: "build request", Err: err, Class: ClassData}
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("apihub-token", token)

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		e := &Error{Route: route, Err: transportCause(err), Class: ClassTransient}
		c.finish(ctx, route, e, start, isCallerDone(ctx, err))
		return e
	}
	defer resp.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	e := &Error{Route: route, HTTPStatus: resp.StatusCode}
	var env envelope
	isEnvelope := rerr == nil && int64(len(raw)) <= c.maxAnswer && json.Unmarshal(raw, &env) == nil && env.Success != nil
	switch {
	case rerr != nil:
		e.Err, e.Class = transportCause(rerr), ClassTransient
		c.finish(ctx, route, e, start, isCallerDone(ctx, rerr))
		return e
	case int64(len(raw)) > c.maxAnswer:
		e.Message, e.Class = fmt.Sprintf("answer larger than %d bytes", c.maxAnswer), ClassTransient
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Message, e.Class = redirectMessage(resp), ClassTransient
	case isEnvelope && *env.Success && resp.StatusCode >= 200 && resp.StatusCode < 300:
		if out != nil {
			if err := decodeNumbers(env.Result, out); err != nil {
				e.Message, e.Trace, e.Class = cut("decode result: "+err.Error()), cut(env.Trace), ClassTransient
				break
			}
		}
		c.finish(ctx, route, nil, start, false)
		c.logDone(ctx, route, resp.StatusCode, "", start)
		return nil
	case isEnvelope:
		e.Envelope = true
		e.Code, e.Trace, e.Class = codeText(env.Code), cut(env.Trace), classOfStatus(resp.StatusCode)
		e.Message = cut(env.Msg)
		if e.Message == "" {
			e.Message = cut(env.Message)
		}
		if *env.Success {
			e.Message = cut("success with HTTP " + strconv.Itoa(resp.StatusCode) + "; " + e.Message)
		}
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		e.Message, e.Class = "answer is not the user centre's envelope", ClassTransient
	default:
		e.Class = classOfStatus(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.nowFunc(), c.maxRetry)
	}
	if e.Class == ClassAuth {
		c.tokens.drop(token)
	}
	c.finish(ctx, route, e, start, false)
	c.logDone(ctx, route, resp.StatusCode, e.Code, start)
	return e
}

// finish reports an outcome to ObserveFunc, unless the caller gave up.
func (c *Client) finish(ctx context.Context, route string, e *Error, start time.Time, callerDone bool) {
	took := time.Since(start)
	if e != nil && e.HTTPStatus == 0 {
		c.logger.DebugContext(ctx, "user centre request failed", slog.String("route", route),
			slog.Duration("took", took), slog.String("error", e.Error()))
	}
	if !callerDone {
		c.observeFunc(route, e, took)
	}
}

func (c *Client) logDone(ctx context.Context, route string, status int, code string, start time.Time) {
	c.logger.DebugContext(ctx, "user centre request", slog.String("route", route),
		slog.Int("status", status), slog.String("code", code), slog.Duration("took", time.Since(start)))
}

// redirectMessage names the host a 3xx points to (never its path or
// query, which may carry anything).
func redirectMessage(resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "redirect without a Location (redirects are not followed)"
	}
	target, err := resp.Request.URL.Parse(loc)
	if err != nil || target.Host == "" {
		return "redirect to an unreadable location (redirects are not followed)"
	}
	return cut("redirect to host " + target.Host + " (redirects are not followed; check APIHUB_BASE_URL)")
}

// transportCause trims a transport error to its cause, free of URLs.
func transportCause(err error) error {
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

// isCallerDone reports whether err comes from the caller's own context.
func isCallerDone(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
