package httpserver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chansync/chansync/internal/database"
)

// Defaults of HealthConfig.
const (
	// DefaultReadyCacheTTL is how long a readiness answer is reused.
	DefaultReadyCacheTTL = 2 * time.Second
	// DefaultReadyTimeout bounds one readiness check.
	DefaultReadyTimeout = 2 * time.Second
	// DefaultMaxScrapes is how many /metrics requests are served at once;
	// more answer 503.
	DefaultMaxScrapes = 4
	// DefaultScrapeTimeout bounds one /metrics answer.
	DefaultScrapeTimeout = 10 * time.Second
)

// HealthConfig configures the routes NewMux serves.
type HealthConfig struct {
	// ReadyFunc checks that the worker can serve (the database answers,
	// migrations are current); nil is always ready. Its result is shared
	// by concurrent /readyz requests and reused for ReadyCacheTTL, so that
	// a flood of probes runs at most one check at a time.
	ReadyFunc func(ctx context.Context) error
	// ReadyCacheTTL is how long a readiness result is reused. Default
	// DefaultReadyCacheTTL.
	ReadyCacheTTL time.Duration
	// ReadyTimeout bounds one check. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Gatherer is what /metrics serves; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// MaxScrapes bounds the /metrics requests served at once (more answer
	// 503). Default DefaultMaxScrapes.
	MaxScrapes int
	// ScrapeTimeout bounds one /metrics answer. Default
	// DefaultScrapeTimeout.
	ScrapeTimeout time.Duration
	// NowFunc tells the time (the readiness cache). Default time.Now.
	NowFunc func() time.Time
}

// NewMux returns a mux serving GET /healthz (always 200), GET /readyz (200,
// or 503 naming the failed check) and GET /metrics. Mount the ingest API
// and the status page on it.
func NewMux(cfg HealthConfig) *http.ServeMux {
	if cfg.ReadyCacheTTL <= 0 {
		cfg.ReadyCacheTTL = DefaultReadyCacheTTL
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.MaxScrapes <= 0 {
		cfg.MaxScrapes = DefaultMaxScrapes
	}
	if cfg.ScrapeTimeout <= 0 {
		cfg.ScrapeTimeout = DefaultScrapeTimeout
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	ready := &readiness{cfg: cfg}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready.check(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok: database reachable, migrations current\n"))
	})
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			MaxRequestsInFlight: cfg.MaxScrapes,
			Timeout:             cfg.ScrapeTimeout,
		}))
	}
	return mux
}

// readiness runs ReadyFunc at most once at a time and reuses its result
// for ReadyCacheTTL.
type readiness struct {
	cfg HealthConfig

	mu      sync.Mutex
	checked time.Time
	err     error
}

// check returns the cached result, or runs the check; concurrent callers
// wait for it (at most ReadyTimeout) and share its result.
func (rd *readiness) check(ctx context.Context) error {
	if rd.cfg.ReadyFunc == nil {
		return nil
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.checked.IsZero() && rd.cfg.NowFunc().Sub(rd.checked) < rd.cfg.ReadyCacheTTL {
		return rd.err
	}
	// The result is shared: the check runs on its own deadline, not on the
	// request's.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rd.cfg.ReadyTimeout)
	defer cancel()
	rd.err = rd.cfg.ReadyFunc(cctx)
	rd.checked = rd.cfg.NowFunc()
	return rd.err
}

// DatabaseReady returns a ReadyFunc that pings pool and checks that every
// migration (chansync's and River's) is applied.
func DatabaseReady(pool *pgxpool.Pool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return errors.New("database: unreachable")
		}
		if err := database.CheckMigrations(ctx, pool); err != nil {
			return errors.New("migrations: " + err.Error())
		}
		return nil
	}
}
