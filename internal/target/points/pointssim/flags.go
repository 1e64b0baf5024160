package pointssim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/chansync/chansync/internal/simkit"
)

// Flags are the simulator's command-line flags (kong tags), for a command
// serving it beside other simulators. Embed them with a prefix:
//
//	Points pointssim.Flags `embed:"" prefix:"points-" envprefix:"APIHUBSIM_POINTS_" group:"Points"`
//
// gives --points-api-key (env APIHUBSIM_POINTS_API_KEYS),
// --points-pool-cents, and so on. What the host command shares between its
// simulators (Config.Seed, RecordRequests, LogRequests) is not here: set
// it on the Config that Config returns.
type Flags struct {
	APIKeys     []string      `name:"api-key" env:"API_KEYS" default:"sk-apihubsim-points" help:"API keys accepted in X-API-Key (repeatable; env: comma-separated; prefer the environment: flags show in ps)."`
	TokenTTL    time.Duration `name:"token-ttl" env:"TOKEN_TTL" default:"7200s" help:"Lifetime of a bearer token from apikeys/token."`
	PoolCents   int64         `name:"pool-cents" env:"POOL_CENTS" default:"10000000" help:"The developer's points pool at the start, in cents (0: empty, every recharge answers 402 until a top-up)."`
	Prefix      string        `name:"prefix" env:"PREFIX" default:"/api/v1/apihub" help:"Path prefix of the points and projects API."`
	AdminPrefix string        `name:"admin-prefix" env:"ADMIN_PREFIX" default:"/_sim/points" help:"Path prefix of its admin endpoints (stats, state, ledger, duplicates, credits, requests, faults, pool, keys, tokens, publish, unpublish, charge, reset)."`
	MaxPageSize int           `name:"max-page-size" env:"MAX_PAGE_SIZE" default:"100" help:"Largest page_size of the ledger."`

	Status500Rate         float64         `name:"status500-rate" env:"STATUS500_RATE" help:"Probability of HTTP 500 (envelope code 500)."`
	RateLimitRate         float64         `name:"rate-limit-rate" env:"RATE_LIMIT_RATE" help:"Probability of HTTP 429 with Retry-After."`
	RateLimitNoHeaderRate float64         `name:"rate-limit-no-header-rate" env:"RATE_LIMIT_NO_HEADER_RATE" help:"Probability of HTTP 429 without Retry-After."`
	RetryAfter            int             `name:"retry-after" env:"RETRY_AFTER" default:"1" help:"Retry-After of a 429, in seconds."`
	BadGatewayRate        float64         `name:"bad-gateway-rate" env:"BAD_GATEWAY_RATE" help:"Probability of a bare HTTP 502 with HTML."`
	DropBeforeRate        float64         `name:"drop-before-rate" env:"DROP_BEFORE_RATE" help:"Probability of closing the connection before applying a request."`
	DropAfterRate         float64         `name:"drop-after-rate" env:"DROP_AFTER_RATE" help:"Probability of closing the connection after applying a request (the answer is lost)."`
	RechargeDropAfterRate float64         `name:"recharge-drop-after-rate" env:"RECHARGE_DROP_AFTER_RATE" help:"Probability that a recharge is applied and its answer lost (recharge only; replaces --drop-after-rate there)."`
	StatusRate            map[int]float64 `name:"status-rate" env:"STATUS_RATE" help:"Probability of answering an HTTP status with the envelope instead of applying a request, e.g. --status-rate 403=0.01 (env: 403=0.01;404=0.01)."`
	Latency               time.Duration   `name:"latency" env:"LATENCY" help:"Delay added to every request."`
	Jitter                time.Duration   `name:"jitter" env:"JITTER" help:"Uniform random delay in [0, jitter] added to every request."`
	Down                  string          `name:"down" env:"DOWN" enum:"off,503,close" default:"off" help:"Start down: off, 503 (every request answers 503) or close (connections are closed)."`
	Faults                string          `name:"faults" env:"FAULTS" help:"Faults as JSON, per endpoint, replacing every fault flag, e.g. {\"endpoints\":{\"recharge\":{\"drop_after_rate\":0.2}}}."`
}

// Config turns the flags into the simulator's config; the error names a
// bad --faults. Check the result with Config.Validate.
func (f Flags) Config(logger *slog.Logger) (Config, error) {
	faults, err := f.faults()
	if err != nil {
		return Config{}, err
	}
	return Config{
		Prefix:      f.Prefix,
		AdminPrefix: f.AdminPrefix,
		APIKeys:     f.APIKeys,
		TokenTTL:    f.TokenTTL,
		PoolCents:   f.PoolCents,
		EmptyPool:   f.PoolCents == 0,
		MaxPageSize: f.MaxPageSize,
		Faults:      faults,
		Logger:      logger,
	}, nil
}

func (f Flags) faults() (Faults, error) {
	if f.Faults != "" {
		var out Faults
		if err := json.Unmarshal([]byte(f.Faults), &out); err != nil {
			return Faults{}, fmt.Errorf("faults flag: %w", err)
		}
		return out, nil
	}
	all := simkit.Faults{
		Status500Rate: f.Status500Rate, RateLimitRate: f.RateLimitRate, RateLimitNoHeaderRate: f.RateLimitNoHeaderRate,
		RetryAfter: f.RetryAfter, BadGatewayRate: f.BadGatewayRate, DropBeforeRate: f.DropBeforeRate,
		DropAfterRate: f.DropAfterRate, Latency: f.Latency, Jitter: f.Jitter,
	}
	out := Faults{All: all, StatusRates: f.StatusRate}
	if f.RechargeDropAfterRate > 0 {
		recharge := all
		recharge.DropAfterRate = f.RechargeDropAfterRate
		out.Endpoints = map[Endpoint]simkit.Faults{EndpointRecharge: recharge}
	}
	if f.Down != "off" {
		out.Down = simkit.DownMode(f.Down)
	}
	return out, nil
}
