// Package worker assembles the long-running process: the database pool,
// the registry of enabled targets, the sync engine, River's client working
// the push queues, the outbox relay, the sweeper of lost leases, the HTTP
// server (health, metrics, ingest, status page), and a graceful shutdown.
// Like river.Client, a Worker is built with every collaborator at once
// (New), then started and stopped.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/ingest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/outbox"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/schedule"
	"github.com/chansync/chansync/internal/statuspage"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/targets"
	"github.com/chansync/chansync/internal/telemetry"
)

// Config is everything the worker needs. Zero values take the defaults of
// the packages they are passed to.
type Config struct {
	// DatabaseURL is the Postgres connection string.
	DatabaseURL string
	// Targets are the targets' settings; a target whose settings are unset
	// is off (the channel is always on).
	Targets targets.Settings
	// Jobs tunes the job queue (concurrency, attempts, timeouts).
	Jobs jobs.Config
	// Engine tunes the sync engine (leases, parent waits, holds, the
	// circuit breaker); its Pool, Registry, EnqueueFunc, Logger and
	// Observer are the worker's.
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
	// SyncSchedule, if set, is a cron expression on which the worker runs
	// the bulk sync itself (e.g. "0 2 * * *").
	SyncSchedule string
	// ProjectsSchedule is the cron expression of the projects mirror when
	// points is on (hourly when empty).
	ProjectsSchedule string
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
	// worker is working (Run only).
	ReadyFunc func(httpAddr string)
}

// Worker is the long-running process's parts, built and ready to start.
type Worker struct {
	cfg      Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	registry *target.Registry
	engine   *syncer.Engine
	river    *river.Client[pgx.Tx]
	ctl      *control.Controller
	relay    *outbox.Relay
	outcomes *telemetry.Outcomes
	router   *queue.Router
	server   *http.Server
	listener net.Listener

	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

// New builds a worker: it connects to the database and checks its
// migrations, builds the enabled targets, the engine, the River client and
// every other part, and listens on HTTPAddr (so its address is known
// before Start). Nothing runs until Start.
func New(ctx context.Context, cfg Config) (*Worker, error) {
	w := &Worker{cfg: cfg, logger: cfg.Logger}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	if w.cfg.ShutdownTimeout <= 0 {
		w.cfg.ShutdownTimeout = 30 * time.Second
	}
	if w.cfg.ReportInterval <= 0 {
		w.cfg.ReportInterval = 10 * time.Second
	}
	if w.cfg.EventBatchSize <= 0 {
		w.cfg.EventBatchSize = 10
	}
	logger := w.logger
	jcfg := cfg.Jobs
	jcfg.Logger = logger.With(slog.String("component", "river"))
	if jcfg.Concurrency <= 0 {
		jcfg.Concurrency = 16
	}
	if jcfg.EventConcurrency <= 0 {
		jcfg.EventConcurrency = 16
	}

	// Jobs hold a connection only for their short queries, never while they
	// wait on a target: half the concurrency, plus River's listener and the
	// outbox relay's, is plenty.
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = int32(min(max(8, (jcfg.Concurrency+jcfg.EventConcurrency)/2+6), 40))
	}
	pool, err := database.NewPool(ctx, cfg.DatabaseURL, database.PoolConfig{
		MaxConns:        maxConns,
		ApplicationName: "chansync-worker",
	})
	if err != nil {
		return nil, err
	}
	w.pool = pool
	fail := func(err error) (*Worker, error) {
		w.close()
		return nil, err
	}
	if err := database.CheckMigrations(ctx, pool); err != nil {
		return fail(err)
	}

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w.outcomes = telemetry.NewOutcomes(metrics)
	health := telemetry.NewHealth(metrics)
	metrics.MustRegister(telemetry.NewDBCollector(pool, telemetry.DBCollectorConfig{}))

	hostname, _ := os.Hostname()
	w.registry, err = targets.Build(cfg.Targets, target.Deps{
		Pool:        pool,
		Logger:      logger.With(slog.String("component", "target")),
		ObserveFunc: health.Observe,
		Holder:      fmt.Sprintf("%s/%d", hostname, os.Getpid()),
	})
	if err != nil {
		return fail(err)
	}
	for _, t := range w.registry.Targets() {
		health.Track(t.Name)
	}
	services, err := targets.BuildServices(cfg.Targets, targets.ServiceSettings{ProjectsSchedule: cfg.ProjectsSchedule}, pool, target.Deps{
		Pool: pool, Logger: logger.With(slog.String("component", "target")), ObserveFunc: health.Observe,
	})
	if err != nil {
		return fail(err)
	}

	w.router = &queue.Router{
		Events:     &queue.Inserter{Registry: w.registry, BatchSize: w.cfg.EventBatchSize},
		Bulk:       &queue.Inserter{Registry: w.registry, BatchSize: cfg.BatchSize},
		EventSlots: jcfg.EventConcurrency, BulkSlots: jcfg.Concurrency,
	}
	ecfg := cfg.Engine
	ecfg.Pool, ecfg.Registry, ecfg.Observer = pool, w.registry, w.outcomes
	ecfg.Logger = logger
	ecfg.InFlight = map[string]int{queue.Bulk: jcfg.Concurrency, queue.Events: jcfg.EventConcurrency}
	ecfg.EnqueueFunc = func(ctx context.Context, queueName string, refs []target.Ref) error {
		_, err := w.router.FromJob(ctx, pool, queueName, refs)
		return err
	}
	if w.engine, err = syncer.New(ecfg); err != nil {
		return fail(err)
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, jobs.NewPushWorker(w.registry, w.engine, jcfg))
	river.AddWorker(workers, schedule.NewWorker(pool, w.registry, cfg.BatchSize, logger))
	services.AddWorkers(workers)
	jcfg.PeriodicJobs = append(jcfg.PeriodicJobs, services.PeriodicJobs...)
	if cfg.SyncSchedule != "" {
		pj, err := schedule.PeriodicJob(cfg.SyncSchedule)
		if err != nil {
			return fail(err)
		}
		jcfg.PeriodicJobs = append(jcfg.PeriodicJobs, pj)
	}
	if w.river, err = jobs.NewClient(pool, workers, jcfg); err != nil {
		return fail(err)
	}
	w.ctl = control.New(control.Config{Pool: pool, Registry: w.registry, Client: w.river, BatchSize: cfg.BatchSize, Router: w.router})
	w.relay = outbox.New(pool, w.registry, w.insertTx, logger.With(slog.String("component", "outbox")), cfg.Outbox)

	if cfg.HTTPAddr != "" {
		if err := w.buildHTTP(metrics, health, services); err != nil {
			return fail(err)
		}
	}
	return w, nil
}

// insertTx enqueues event pushes of refs inside tx through the router.
func (w *Worker) insertTx(ctx context.Context, tx pgx.Tx, refs []target.Ref) error {
	_, err := w.router.EventsTx(ctx, w.river, tx, refs)
	return err
}

func (w *Worker) buildHTTP(metrics *prometheus.Registry, health *telemetry.Health, services targets.Services) error {
	cfg, logger := w.cfg, w.logger
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	w.listener = ln
	gcfg := cfg.AuthGuard
	if gcfg.Logger == nil {
		gcfg.Logger = logger.With(slog.String("component", "auth"))
	}
	guard := authguard.New(gcfg)
	pcfg := statuspage.Config{
		Controller:      w.ctl,
		Pool:            w.pool,
		AdminToken:      cfg.AdminToken,
		SessionTTL:      cfg.AdminSessionTTL,
		SessionIdle:     cfg.AdminSessionIdle,
		Guard:           guard,
		TargetStateFunc: health.State,
		Logger:          logger.With(slog.String("component", "statuspage")),
	}
	if services.UserPoints != nil {
		pcfg.PointsFunc = pagePoints(services.UserPoints)
	}
	if services.MirrorOn {
		pcfg.LastMirrorRunFunc = statuspage.RecordedMirrorRun(w.pool)
	}
	page, err := statuspage.New(pcfg)
	if err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	ingestAPI, err := ingest.New(ingest.Config{
		Pool:        w.pool,
		Controller:  w.ctl,
		Token:       cfg.IngestToken,
		Logger:      logger.With(slog.String("component", "ingest")),
		ObserveFunc: telemetry.NewIngestObserver(metrics),
		Guard:       guard,
	})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	mux := httpserver.NewMux(httpserver.HealthConfig{ReadyFunc: httpserver.DatabaseReady(w.pool), Gatherer: metrics})
	mux.Handle(ingest.Prefix, ingestAPI)
	mux.Handle("/", page)
	hcfg := cfg.HTTP
	if hcfg.Logger == nil {
		hcfg.Logger = logger
	}
	w.server = httpserver.New(hcfg, mux)
	return nil
}

// pagePoints adapts a user's points to the status page: the balance and
// the 20 newest ledger entries.
func pagePoints(f func(context.Context, string, int) (targets.UserPoints, error)) func(context.Context, string) (*statuspage.Points, error) {
	return func(ctx context.Context, userID string) (*statuspage.Points, error) {
		up, err := f(ctx, userID, 20)
		if err != nil {
			return nil, err
		}
		out := &statuspage.Points{BalanceCents: up.BalanceCents}
		for _, e := range up.Entries {
			at, _ := time.Parse(time.RFC3339, e.CreatedAt)
			out.Entries = append(out.Entries, statuspage.LedgerEntry{
				At: at, RecordType: e.RecordType, ChangeCents: e.ChangeCents, BalanceAfter: e.BalanceAfter, Reason: e.Reason,
			})
		}
		return out, nil
	}
}

// HTTPAddr returns the address the HTTP server listens on ("" when none).
func (w *Worker) HTTPAddr() string {
	if w.listener == nil {
		return ""
	}
	return w.listener.Addr().String()
}

// Start starts working: River's client (the push queues and the schedule),
// the outbox relay, the sweeper of lost leases, the progress report and
// the HTTP server.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.river.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stopBackground = stop
	if !w.cfg.DisableRelay {
		w.background.Go(func() { w.relay.Run(bg) })
	}
	w.background.Go(func() { w.sweep(bg) })
	w.background.Go(func() { w.outcomes.Report(bg, w.logger, w.registry, w.cfg.ReportInterval) })
	if w.server != nil {
		w.background.Go(func() {
			if err := w.server.Serve(w.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				w.logger.Error("http server", slog.String("error", err.Error()))
			}
		})
	}
	w.logger.Info("worker started",
		slog.Int("concurrency", w.cfg.Jobs.Concurrency), slog.Int("event_concurrency", w.cfg.Jobs.EventConcurrency),
		slog.String("http_addr", w.HTTPAddr()), slog.String("targets", strings.Join(w.registry.TargetNames(), ",")),
		slog.String("sync_schedule", w.cfg.SyncSchedule), slog.Bool("event_relay", !w.cfg.DisableRelay))
	return nil
}

// sweep hands the records of pushes that died (their leases ran out
// unreleased) to the queue again, every quarter lease.
func (w *Worker) sweep(ctx context.Context) {
	lease := w.cfg.Engine.Lease
	if lease <= 0 {
		lease = 20 * time.Second
	}
	t := time.NewTicker(max(lease/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := w.engine.SweepLostLeases(ctx, w.insertTx)
		switch {
		case err != nil && ctx.Err() == nil:
			w.logger.WarnContext(ctx, "sweep lost leases", slog.String("error", err.Error()))
		case n > 0:
			w.logger.InfoContext(ctx, "records of a push that died are queued again", slog.Int("records", n))
		}
	}
}

// Stop stops fetching jobs, lets in-flight jobs finish within
// ShutdownTimeout, cancels and hands back the rest, then stops the relay,
// the sweeper, the report and the HTTP server, and closes the pool.
func (w *Worker) Stop(ctx context.Context) error {
	w.logger.Info("stopping: finishing in-flight jobs", slog.Duration("timeout", w.cfg.ShutdownTimeout))
	stopCtx, cancel := context.WithTimeout(ctx, w.cfg.ShutdownTimeout)
	defer cancel()
	if err := w.river.Stop(stopCtx); err != nil {
		w.logger.Warn("in-flight jobs did not finish in time: cancelling and handing them back", slog.String("error", err.Error()))
		hardCtx, hardCancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer hardCancel()
		if err := w.river.StopAndCancel(hardCtx); err != nil {
			w.logger.Error("hard stop", slog.String("error", err.Error()))
		}
	}
	if w.server != nil {
		shutCtx, shutCancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer shutCancel()
		_ = w.server.Shutdown(shutCtx)
	}
	if w.stopBackground != nil {
		w.stopBackground()
	}
	w.background.Wait()
	w.close()
	w.logger.Info("worker stopped")
	return nil
}

func (w *Worker) close() {
	if w.listener != nil && w.server == nil {
		_ = w.listener.Close()
	}
	if w.pool != nil {
		w.pool.Close()
	}
}

// Run builds a worker, starts it, works until ctx is cancelled, then stops
// it (in-flight jobs finish within ShutdownTimeout, the rest are handed
// back) and returns nil.
func Run(ctx context.Context, cfg Config) error {
	w, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		w.close()
		return err
	}
	if cfg.ReadyFunc != nil {
		cfg.ReadyFunc(w.HTTPAddr())
	}
	<-ctx.Done()
	return w.Stop(context.WithoutCancel(ctx))
}
