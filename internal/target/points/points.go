// Package points is the APIHub points target (apihub-api.md, seed 000):
// each points_grants row is one recharge of a user's points, credited
// exactly once. On when APIHUB_BASE_URL and APIHUB_API_KEY are set.
//
// # Exactly once
//
// A recharge is not idempotent: APIHub credits every request it receives,
// whatever its external_order_id. So the reason chansync sends always ends
// with the order id in brackets ("年终奖励 [G20261130001]"), the one key
// the ledger can be searched by, and the target declares an InFlightBound:
// the engine records a recharge whose outcome is unknown as unsettled, and
// before any new recharge of that grant it waits until the lost request
// can no longer be applied, then reads the user's whole ledger (Find). A
// recharge entry carrying the order id is adopted; only its absence sends
// the grant again.
//
// A grant is immutable once credited: the hash of a grant covers its order
// id, user and amount but not its reason, so a change of reason alone sends
// nothing, and a change of amount or user reaches Update, which refuses it
// with an ImmutableError (a dead letter "amount_cents: already credited
// 1000, now 2000: …"), never a second recharge.
//
// # Holds
//
// 402 (the developer's pool too low) and 401 (the key invalid, disabled or
// expired) are the target's failures, not a grant's: they hold the whole
// target, in every worker process, until one probe recharge (every
// Settings.PoolProbe) succeeds. No grant is dead-lettered for them and no
// attempt is spent.
//
// Its parts: pointsapi (the HTTP client), pointssim (the strict
// simulator), projects (the mirror of the published project forms), and
// this package: the kind (row → request), the engine's client, the
// verifier, the constructor and helpers for the status page and the
// command line.
package points

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// Name is the points target's name.
const Name target.Name = "points"

// Settings reach APIHub points.
type Settings struct {
	// BaseURL is APIHUB_BASE_URL, the platform's root.
	BaseURL string
	// APIKey is APIHUB_API_KEY.
	APIKey string
	// ServiceUser is the client_user_id project tokens are asked for
	// (APIHUB_SERVICE_USER).
	ServiceUser string
	// RPS caps requests per second from this process; 0 for no cap.
	RPS float64
	// MaxRetryAfter caps a Retry-After; 0 takes the client's default.
	MaxRetryAfter time.Duration
	// PoolProbe is how often held grants (pool too low, key refused) are
	// probed with one recharge (POINTS_POOL_PROBE); 0 takes
	// DefaultPoolProbe.
	PoolProbe time.Duration
	// Timeout bounds one request; 0 takes the client's default (15 s).
	Timeout time.Duration
}

// Enabled reports whether the settings turn points on.
func (s Settings) Enabled() bool { return s.BaseURL != "" && s.APIKey != "" }

// DefaultPoolProbe is how often a held points target is probed when
// Settings.PoolProbe is zero.
const DefaultPoolProbe = 3 * time.Minute

// SettleMargin is added to the client's timeout to make the target's
// InFlightBound. The client gives up on a request once its timeout has
// passed since it was sent, and a request APIHub has not read by then is
// not applied later; the margin covers a gateway that holds a request a
// little before the service reads it. After timeout + margin, a lost
// recharge can no longer land, and a ledger without it proves it absent.
const SettleMargin = 5 * time.Second

// The reasons the points target is held for, as operators and metrics see
// them (chansync_target_held{reason=...}).
const (
	// HoldPoolLow: APIHub answered 402, the developer's points pool is too
	// low for a recharge. Top it up in the console; the next probe resumes.
	HoldPoolLow = "points pool too low"
	// HoldAuth: APIHub answered 401, the API key is invalid, disabled or
	// expired.
	HoldAuth = "auth failing"
)

// NewAPI returns the points HTTP client the settings describe: the one
// New uses, and the one the projects mirror, the status page and the
// command line use. Requests are reported to deps.ObserveFunc, if set, with
// bounded labels.
func NewAPI(s Settings, deps target.Deps) (*pointsapi.Client, error) {
	var limiter *rate.Limiter
	if s.RPS > 0 {
		limiter = rate.NewLimiter(rate.Limit(s.RPS), max(1, int(s.RPS)))
	}
	cfg := pointsapi.Config{
		BaseURL:       s.BaseURL,
		APIKey:        pointsapi.Secret(s.APIKey),
		ServiceUser:   s.ServiceUser,
		Timeout:       s.Timeout,
		Limiter:       limiter,
		MaxRetryAfter: s.MaxRetryAfter,
		Logger:        deps.Logger,
	}
	if deps.ObserveFunc != nil {
		observe := deps.ObserveFunc
		cfg.ObserveFunc = func(route string, err *pointsapi.Error, took time.Duration) {
			observe(observation(route, err, took))
		}
	}
	api, err := pointsapi.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("points target: %w", err)
	}
	return api, nil
}

// New returns the points target: the kind grant, the engine's client over
// NewAPI's client, an InFlightBound of the client's timeout plus
// SettleMargin, a HoldProbe of s.PoolProbe, and the verifier.
func New(s Settings, deps target.Deps) (*target.Target, error) {
	if s.PoolProbe < 0 {
		return nil, fmt.Errorf("points target: PoolProbe must not be negative, got %s", s.PoolProbe)
	}
	api, err := NewAPI(s, deps)
	if err != nil {
		return nil, err
	}
	probe := s.PoolProbe
	if probe == 0 {
		probe = DefaultPoolProbe
	}
	c := &client{api: api}
	return &target.Target{
		Name:          Name,
		Kinds:         Kinds(),
		Client:        c,
		InFlightBound: api.MaxInFlight() + SettleMargin,
		HoldProbe:     probe,
		Verifier:      &verifier{api: api},
	}, nil
}

// observation turns one request of the points client into bounded labels:
// Result is ok, transient, rate_limited, auth, pool_low or data; Code is
// http_N for a known status, http_other, redirect, bad_answer (a 2xx the
// client could not use) or network.
func observation(route string, err *pointsapi.Error, took time.Duration) target.Observation {
	o := target.Observation{Target: Name, Route: route, Result: "ok", Took: took}
	if err == nil {
		return o
	}
	o.Detail = err.Error()
	switch err.Class {
	case pointsapi.ClassAuth:
		o.Result = "auth"
	case pointsapi.ClassPoolTooLow:
		o.Result = "pool_low"
	case pointsapi.ClassRateLimited:
		o.Result = "rate_limited"
	case pointsapi.ClassData:
		o.Result = "data"
	default:
		o.Result = "transient"
	}
	switch st := err.HTTPStatus; {
	case st == 0:
		o.Code = "network"
	case st >= 200 && st < 300:
		o.Code = "bad_answer"
	case st >= 300 && st < 400:
		o.Code = "redirect"
	default:
		o.Code = target.StatusCode(st)
	}
	return o
}
