// Package channel is the channel target (channel-api.md, seed 001): the
// staffing platform's channel API, always on. Its five kinds — company,
// user, task, application, payment — are read from the local tables of
// the same names and pushed in dependency order with create-or-update;
// creates are de-duplicated by the channel itself (a POST of an id it
// holds answers 1001), so a create whose outcome is unknown is confirmed
// with GET and needs no settling time.
//
// Its parts: channelbody (request bodies, a leaf package), channelapi (the
// HTTP client), channelsim (the strict simulator), tokenstore (one token
// shared by every worker process), and this package: the kinds (row →
// request), the engine's client, the verifier and the constructor.
package channel

import (
	"fmt"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/tokenstore"
)

// Settings reach the channel.
type Settings struct {
	// BaseURL is the API root including its path prefix.
	BaseURL string
	// AppKey and Secret are the credentials for POST /auth/token.
	AppKey string
	Secret string
	// RPS caps requests per second from this process; 0 for no cap.
	RPS float64
	// MaxRetryAfter caps a Retry-After; 0 takes the client's default.
	MaxRetryAfter time.Duration
}

// New returns the channel target. The token is shared with every other
// worker process through the database when deps.Pool is set.
func New(s Settings, deps target.Deps) (*target.Target, error) {
	var limiter *rate.Limiter
	if s.RPS > 0 {
		limiter = rate.NewLimiter(rate.Limit(s.RPS), max(1, int(s.RPS)))
	}
	cfg := channelapi.Config{
		BaseURL:       s.BaseURL,
		AppKey:        s.AppKey,
		Secret:        s.Secret,
		Limiter:       limiter,
		Logger:        deps.Logger,
		MaxRetryAfter: s.MaxRetryAfter,
	}
	if deps.ObserveFunc != nil {
		observe := deps.ObserveFunc
		cfg.ObserveFunc = func(route string, err *channelapi.Error, took time.Duration) {
			observe(observation(route, err, took))
		}
	}
	if deps.Pool != nil {
		pool, holder := deps.Pool, deps.Holder
		cfg.ShareTokenFunc = func(fetch channelapi.FetchTokenFunc) channelapi.FetchTokenFunc {
			return tokenstore.New(pool, fetch, holder).Fetch
		}
	}
	api, err := channelapi.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("channel target: %w", err)
	}
	return &target.Target{
		Name:     Name,
		Kinds:    Kinds(),
		Client:   &client{api: api},
		Verifier: &verifier{api: api},
	}, nil
}

// knownCodes are the envelope codes the seed defines; any other is
// labelled "other".
var knownCodes = map[int]bool{
	channelapi.CodeParam: true, channelapi.CodeAuthFailed: true, channelapi.CodeTokenInvalid: true,
	channelapi.CodeForbidden: true, channelapi.CodeServer: true,
}

// observation turns one request of the channel client into bounded labels.
func observation(route string, err *channelapi.Error, took time.Duration) target.Observation {
	o := target.Observation{Target: Name, Route: route, Result: "ok", Took: took}
	if err == nil {
		return o
	}
	o.Detail = reason(err)
	switch err.Class {
	case channelapi.ClassRateLimited:
		o.Result = "rate_limited"
	case channelapi.ClassAuth:
		o.Result = "auth"
	case channelapi.ClassPermanent:
		o.Result = "data"
	default:
		o.Result = "transient"
	}
	switch {
	case err.Code != 0 && knownCodes[err.Code]:
		o.Code = strconv.Itoa(err.Code)
	case err.Code != 0:
		o.Code = "other"
	case err.HTTPStatus == 0:
		o.Code = "network"
	default:
		o.Code = target.StatusCode(err.HTTPStatus)
	}
	return o
}
