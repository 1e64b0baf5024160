// Package worker assembles the long-running process: the database pool, the
// channel client, the sync engine, River's client working the push queues,
// the HTTP server for health and metrics, and a graceful shutdown.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/channelpush"
	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/ingest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/outbox"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/schedule"
	"github.com/chansync/chansync/internal/statuspage"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/telemetry"
	"github.com/chansync/chansync/internal/target/channel/tokenstore"
)

// Config is everything the worker needs. Zero values take the defaults of
// the packages they are passed to.
type Config struct {
	// DatabaseURL is the Postgres connection string.
	DatabaseURL string
	// ChannelBaseURL, ChannelAppKey and ChannelSecret reach the channel.
	ChannelBaseURL string
	ChannelAppKey  string
	ChannelSecret  string
	// ChannelRPS caps requests per second to the channel from this process;
	// 0 means no cap.
	ChannelRPS float64
	// Jobs tunes the job queue (concurrency, attempts, timeouts).
	Jobs jobs.Config
	// Engine tunes the sync engine (leases, parent waits).
	Engine syncer.Config
	// BatchSize is how many records one job pushes. Default 100.
	BatchSize int
	// EventBatchSize is how many records one event-triggered job pushes.
	// Default 10.
	EventBatchSize int
	// Outbox tunes the relay of table changes into event pushes.
	Outbox outbox.Config
	// DisableRelay turns event-triggered pushes off (changes then wait for
	// the next bulk run).
	DisableRelay bool
	// BreakerFailures is how many transient failures in a row pause pushes
	// (circuit open). Default 5.
	BreakerFailures uint32
	// BreakerTimeout is how long pushes pause before one probe. Default 30s.
	BreakerTimeout time.Duration
	// SyncSchedule, if set, is a cron expression on which the worker runs
	// the bulk sync itself (e.g. "0 2 * * *").
	SyncSchedule string
	// MaxConns caps the worker's database connections. Default: half the
	// push concurrency plus 6, between 8 and 40.
	MaxConns int32
	// HTTPAddr, if set, serves /healthz, /readyz and /metrics, and the
	// status page at / when AdminToken is set.
	HTTPAddr string
	// AdminToken is the operator's secret for the status page; empty turns
	// the page off.
	AdminToken string
	// IngestToken is the bearer token of the ingest API at /v1/; empty
	// turns ingest off (every request answers 503).
	IngestToken string
	// HTTP sets the HTTP server's limits (timeouts, header bytes); its
	// Logger defaults to Logger.
	HTTP httpserver.Config
	// AuthGuard throttles failed logins and bearer checks per client
	// address (status page and ingest together); its Logger defaults to
	// Logger.
	AuthGuard authguard.Config
	// AdminSessionTTL and AdminSessionIdle end a status page session that
	// long after login and after its last request. Defaults 12h and 30m.
	AdminSessionTTL  time.Duration
	AdminSessionIdle time.Duration
	// ShutdownTimeout bounds how long in-flight jobs may run after a stop
	// signal before they are cancelled and handed back. Default 30s.
	ShutdownTimeout time.Duration
	// ReportInterval is how often a progress line is logged. Default 10s.
	ReportInterval time.Duration
	// Logger receives every log line.
	Logger *slog.Logger
	// ReadyFunc, if set, is called with the HTTP listener's address once the
	// worker is working.
	ReadyFunc func(httpAddr string)
}

// Run works until ctx is cancelled, then stops fetching jobs, lets in-flight
// jobs finish within ShutdownTimeout, cancels and hands back the rest, and
// returns nil.
func Run(ctx context.Context, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 10 * time.Second
	}
	jcfg := cfg.Jobs
	jcfg.Logger = logger.With(slog.String("component", "river"))
	if jcfg.Concurrency <= 0 {
		jcfg.Concurrency = 16
	}

	// Jobs hold a connection only for their short queries, never while they
	// wait on the channel: half the concurrency, plus River's listener and
	// the outbox relay's, is plenty.
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = int32(min(max(8, (jcfg.Concurrency+jcfg.EventConcurrency)/2+6), 40))
	}
	pool, err := database.NewPool(ctx, cfg.DatabaseURL, database.PoolConfig{
		MaxConns:        maxConns,
		ApplicationName: "chansync-worker",
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := database.CheckMigrations(ctx, pool); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	outcomes := telemetry.NewOutcomes(reg)
	health := telemetry.NewChannelHealth(reg)
	reg.MustRegister(telemetry.NewDBCollector(pool, telemetry.DBCollectorConfig{}))

	var limiter *rate.Limiter
	if cfg.ChannelRPS > 0 {
		limiter = rate.NewLimiter(rate.Limit(cfg.ChannelRPS), max(1, int(cfg.ChannelRPS)))
	}
	client, err := channelapi.New(channelapi.Config{
		BaseURL:     cfg.ChannelBaseURL,
		AppKey:      cfg.ChannelAppKey,
		Secret:      cfg.ChannelSecret,
		Limiter:     limiter,
		Logger:      logger.With(slog.String("component", "channel")),
		ObserveFunc: health.Observe,
	})
	if err != nil {
		return err
	}
	telemetry.TokenCounters(reg, client)
	// Share one token between every worker process through Postgres.
	hostname, _ := os.Hostname()
	client.Tokens().FetchFunc = tokenstore.New(pool, client.FetchToken, fmt.Sprintf("%s/%d", hostname, os.Getpid())).Fetch

	pushWorker := jobs.NewPushWorker(jcfg)
	workers := river.NewWorkers()
	jobs.Register(workers, pushWorker)
	scheduled := &schedule.Worker{Logger: logger}
	river.AddWorker(workers, scheduled)
	if cfg.SyncSchedule != "" {
		pj, err := schedule.PeriodicJob(cfg.SyncSchedule)
		if err != nil {
			return err
		}
		jcfg.PeriodicJobs = append(jcfg.PeriodicJobs, pj)
	}
	riverClient, err := jobs.NewClient(pool, workers, jcfg)
	if err != nil {
		return err
	}
	if cfg.EventBatchSize <= 0 {
		cfg.EventBatchSize = 10
	}
	eventInserter := &jobs.Inserter{Client: riverClient, BatchSize: cfg.EventBatchSize}
	ctl := control.New(pool, &jobs.Inserter{Client: riverClient, BatchSize: cfg.BatchSize})
	scheduled.Controller = ctl
	ecfg := cfg.Engine
	ecfg.Observer = outcomes
	pusher := channelpush.New(client, channelpush.BreakerConfig{
		Failures: cfg.BreakerFailures,
		Timeout:  cfg.BreakerTimeout,
		OnStateChangeFunc: func(from, to string) {
			logger.Warn("channel circuit breaker", slog.String("from", from), slog.String("to", to))
		},
	})
	pushWorker.Pusher = syncer.New(pool, pusher, func(ctx context.Context, refs []record.Ref) error {
		_, err := eventInserter.Insert(ctx, refs, jobs.QueueEvents)
		return err
	}, logger, ecfg)
	relay := outbox.New(pool, func(ctx context.Context, tx pgx.Tx, refs []record.Ref) error {
		_, err := eventInserter.InsertTx(ctx, tx, refs, jobs.QueueEvents)
		return err
	}, logger.With(slog.String("component", "outbox")), cfg.Outbox)

	var srv *http.Server
	httpAddr := ""
	if cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
		}
		httpAddr = ln.Addr().String()
		gcfg := cfg.AuthGuard
		if gcfg.Logger == nil {
			gcfg.Logger = logger.With(slog.String("component", "auth"))
		}
		guard := authguard.New(gcfg)
		page, err := statuspage.New(statuspage.Config{
			Controller:  ctl,
			Pool:        pool,
			AdminToken:  cfg.AdminToken,
			SessionTTL:  cfg.AdminSessionTTL,
			SessionIdle: cfg.AdminSessionIdle,
			Guard:       guard,
			ChannelStateFunc: func() statuspage.ChannelState {
				state, since, detail := health.State()
				return statuspage.ChannelState{Status: state, Since: since, Detail: detail}
			},
			Logger: logger.With(slog.String("component", "statuspage")),
		})
		if err != nil {
			return fmt.Errorf("status page: %w", err)
		}
		ingestAPI, err := ingest.New(ingest.Config{
			Pool:        pool,
			Inserter:    eventInserter,
			Token:       cfg.IngestToken,
			Logger:      logger.With(slog.String("component", "ingest")),
			ObserveFunc: telemetry.NewIngestObserver(reg),
			Guard:       guard,
		})
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		mux := httpserver.NewMux(httpserver.HealthConfig{ReadyFunc: httpserver.DatabaseReady(pool), Gatherer: reg})
		mux.Handle(ingest.Prefix, ingestAPI)
		mux.Handle("/", page)
		hcfg := cfg.HTTP
		if hcfg.Logger == nil {
			hcfg.Logger = logger
		}
		srv = httpserver.New(hcfg, mux)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("http server", slog.String("error", err.Error()))
			}
		}()
	}

	if err := riverClient.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	logger.Info("worker started",
		slog.Int("concurrency", jcfg.Concurrency), slog.Int("event_concurrency", pushWorker.EventConcurrency()),
		slog.String("http_addr", httpAddr), slog.String("channel", cfg.ChannelBaseURL),
		slog.String("sync_schedule", cfg.SyncSchedule), slog.Bool("event_relay", !cfg.DisableRelay))
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		if !cfg.DisableRelay {
			relay.Run(relayCtx)
		}
	}()
	reportCtx, stopReport := context.WithCancel(context.WithoutCancel(ctx))
	reportDone := make(chan struct{})
	go func() {
		defer close(reportDone)
		outcomes.Report(reportCtx, logger, cfg.ReportInterval)
	}()
	if cfg.ReadyFunc != nil {
		cfg.ReadyFunc(httpAddr)
	}

	<-ctx.Done()
	logger.Info("stopping: finishing in-flight jobs", slog.Duration("timeout", cfg.ShutdownTimeout))
	stopRelay()
	<-relayDone
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := riverClient.Stop(stopCtx); err != nil {
		logger.Warn("in-flight jobs did not finish in time: cancelling and handing them back", slog.String("error", err.Error()))
		hardCtx, hardCancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer hardCancel()
		if err := riverClient.StopAndCancel(hardCtx); err != nil {
			logger.Error("hard stop", slog.String("error", err.Error()))
		}
	}
	if srv != nil {
		shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer shutCancel()
		_ = srv.Shutdown(shutCtx)
	}
	stopReport()
	<-reportDone
	logger.Info("worker stopped")
	return nil
}
