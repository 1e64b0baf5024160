// Package usercenter is the APIHub user centre target (apihub-api.md, seed
// 002): users become MEMBER accounts (found by sys_attrs.channel_user_id;
// users.active enables or disables them), companies become top-level
// groups of type company (found by attrs.channel_company_id), and pending
// or accepted applications make a user a member of the company's group.
// On when APIHUB_BASE_URL, APIHUB_AK and APIHUB_SK are set.
//
// Neither create is idempotent on the user centre: a create whose outcome
// is unknown is looked up (once the request can no longer be in flight)
// and adopted before anything else, never sent again blind; a username
// taken by an account that is not ours is a dead letter naming username,
// never an adoption.
//
// Its parts: ucapi (the HTTP client, which mints the app token), ucsim
// (the strict simulator), and this package: the kinds (row → request), the
// engine's client, the verifier and the constructor.
package usercenter

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
)

// Settings reach the user centre.
type Settings struct {
	// BaseURL is APIHUB_BASE_URL, the platform's root.
	BaseURL string
	// AppKey and SecretKey are APIHUB_AK and APIHUB_SK.
	AppKey    string
	SecretKey string
	// MemberRole, if set, is the role every account has
	// (APIHUB_MEMBER_ROLE).
	MemberRole string
	// RPS caps requests per second from this process; 0 for no cap.
	RPS float64
	// MaxRetryAfter caps a Retry-After; 0 takes the client's default.
	MaxRetryAfter time.Duration
	// Timeout bounds one request; 0 takes the client's default (15 s).
	Timeout time.Duration
	// SettleMargin is added to Timeout to bound how long after it was sent
	// a request may still be applied (a server that queues requests may act
	// on one after the client gave up); 0 takes 5 s.
	SettleMargin time.Duration
}

// Enabled reports whether the settings turn the user centre on.
func (s Settings) Enabled() bool { return s.BaseURL != "" && s.AppKey != "" && s.SecretKey != "" }

// New returns the user centre target.
func New(s Settings, deps target.Deps) (*target.Target, error) {
	var limiter *rate.Limiter
	if s.RPS > 0 {
		limiter = rate.NewLimiter(rate.Limit(s.RPS), max(1, int(s.RPS)))
	}
	cfg := ucapi.Config{
		BaseURL:       s.BaseURL,
		AppKey:        s.AppKey,
		SecretKey:     ucapi.NewSecret(s.SecretKey),
		Timeout:       s.Timeout,
		MaxRetryAfter: s.MaxRetryAfter,
		Limiter:       limiter,
		Logger:        deps.Logger,
	}
	if deps.ObserveFunc != nil {
		observe := deps.ObserveFunc
		cfg.ObserveFunc = func(route string, err *ucapi.Error, took time.Duration) { observe(observation(route, err, took)) }
	}
	api, err := ucapi.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("usercenter target: %w", err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	margin := s.SettleMargin
	if margin <= 0 {
		margin = 5 * time.Second
	}
	c := &client{api: api, role: s.MemberRole}
	return &target.Target{
		Name:          Name,
		Kinds:         Kinds(s.MemberRole),
		Client:        c,
		InFlightBound: timeout + margin,
		Verifier:      &verifier{c: c},
	}, nil
}

// observation turns one request of the user-centre client into bounded
// labels.
func observation(route string, err *ucapi.Error, took time.Duration) target.Observation {
	o := target.Observation{Target: Name, Route: route, Result: "ok", Took: took}
	if err == nil {
		return o
	}
	o.Detail = err.Error()
	switch err.Class {
	case ucapi.ClassAuth:
		o.Result = "auth"
	case ucapi.ClassRateLimited:
		o.Result = "rate_limited"
	case ucapi.ClassData:
		o.Result = "data"
	default:
		o.Result = "transient"
	}
	switch {
	case err.HTTPStatus == 0:
		o.Code = "network"
	case err.HTTPStatus >= 200 && err.HTTPStatus < 300:
		o.Code = "refused"
	default:
		o.Code = target.StatusCode(err.HTTPStatus)
	}
	return o
}
