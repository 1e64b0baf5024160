// Command worker keeps the channel in step with the local tables: it works
// the push queues until SIGINT or SIGTERM. `worker migrate` applies the
// database migrations.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/chansync/chansync/internal/cli"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/schedule"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target/points/projects"
	"github.com/chansync/chansync/internal/worker"
)

// minTokenLen is the shortest admin or ingest token accepted: shorter ones
// are guessable.
const minTokenLen = 16

type runCmd struct {
	cli.Database
	cli.Targets
	cli.Log
	Concurrency      int           `name:"concurrency" env:"WORKER_CONCURRENCY" default:"16" help:"How many bulk jobs run at once, and how many requests their pushes keep in flight to each target."`
	EventConcurrency int           `name:"event-concurrency" env:"EVENT_CONCURRENCY" default:"16" help:"How many event-triggered jobs run at once, and how many requests they keep in flight to each target, beside the bulk ones."`
	BatchSize        int           `name:"batch-size" env:"BATCH_SIZE" default:"100" help:"The most records one bulk job pushes (side by side, within the concurrency)."`
	MaxAttempts      int           `name:"max-attempts" env:"MAX_ATTEMPTS" default:"25" help:"Attempts before a transiently failing record is dead-lettered."`
	JobTimeout       time.Duration `name:"job-timeout" env:"JOB_TIMEOUT" default:"2m" help:"Longest run of one job; a longer batch is handed back and resumed."`
	RescueAfter      time.Duration `name:"rescue-after" env:"RESCUE_STUCK_JOBS_AFTER" default:"5m" help:"How long a job of a killed worker stays running before River hands it to another worker."`
	MaxConns         int32         `name:"database-max-conns" env:"DATABASE_MAX_CONNS" default:"0" help:"Cap on this worker's database connections; 0 for half the concurrency plus 6 (8 to 40)."`
	HTTPAddr         string        `name:"http-addr" env:"HTTP_ADDR" help:"Address for /healthz, /readyz, /metrics, the status page (/) and ingest (/v1/), e.g. 127.0.0.1:8080; empty for none."`
	IngestToken      string        `name:"ingest-token" env:"INGEST_TOKEN" help:"Bearer token of the ingest API (POST/PUT/GET /v1/{resource}) on HTTP_ADDR; ingest answers 503 when empty (prefer the environment variable: flags show in ps)."`
	AdminToken       string        `name:"admin-token" env:"ADMIN_TOKEN" help:"The operator's token for the status page at / of HTTP_ADDR; the page is off when empty (prefer the environment variable: flags show in ps)."`
	ShutdownTimeout  time.Duration `name:"shutdown-timeout" env:"SHUTDOWN_TIMEOUT" default:"30s" help:"How long in-flight jobs may finish after SIGTERM before they are handed back."`
	SyncSchedule     string        `name:"sync-schedule" env:"SYNC_SCHEDULE" help:"Cron expression (UTC unless prefixed CRON_TZ=Zone) on which the worker runs the bulk sync itself, e.g. '0 2 * * *'; off when empty."`
	ProjectsSchedule string        `name:"projects-schedule" env:"PROJECTS_SCHEDULE" help:"Cron expression (UTC unless prefixed CRON_TZ=Zone) of the projects mirror when points is on; hourly ('0 * * * *') when empty."`
	NoEventRelay     bool          `name:"no-event-relay" env:"NO_EVENT_RELAY" help:"Do not push table changes as events; they wait for the next bulk run."`
	BreakerFailures  uint32        `name:"breaker-failures" env:"BREAKER_FAILURES" default:"5" help:"Transient channel failures in a row that pause pushing (circuit open)."`
	BreakerTimeout   time.Duration `name:"breaker-timeout" env:"BREAKER_TIMEOUT" default:"30s" help:"How long pushing pauses before one probe request is let through."`
	RetryInitial     time.Duration `name:"retry-initial" env:"RETRY_INITIAL" default:"1s" help:"Wait before the first retry of a transiently failing push; it doubles with each retry."`
	RetryMax         time.Duration `name:"retry-max" env:"RETRY_MAX" default:"10m" help:"Longest wait between retries of a transiently failing push."`
	RecordLease      time.Duration `name:"record-lease" env:"RECORD_LEASE" default:"20s" help:"How long a record stays leased to one push (renewed every quarter of it while the push works); after a crash, its records go to the other workers once it runs out."`
	HoldProbe        time.Duration `name:"hold-probe" env:"HOLD_PROBE" default:"1m" help:"How often a held target (credentials refused, token endpoint failing) is probed with one push."`
	HTTPReadTimeout  time.Duration `name:"http-read-timeout" env:"HTTP_READ_TIMEOUT" default:"30s" help:"Longest time to read a whole HTTP request, body included; a client that sends its headers and never its body is cut off after it."`
	HTTPWriteTimeout time.Duration `name:"http-write-timeout" env:"HTTP_WRITE_TIMEOUT" default:"60s" help:"Longest time to answer an HTTP request, from the end of its headers."`
	HTTPIdleTimeout  time.Duration `name:"http-idle-timeout" env:"HTTP_IDLE_TIMEOUT" default:"2m" help:"How long a kept-alive HTTP connection may wait for its next request."`
	AuthMaxFailures  int           `name:"auth-max-failures" env:"AUTH_MAX_FAILURES" default:"10" help:"Failed logins or bearer tokens (status page and ingest together) one client address may send before it gets 429."`
	AuthWindow       time.Duration `name:"auth-failure-window" env:"AUTH_FAILURE_WINDOW" default:"10m" help:"How long a throttled address takes to regain AUTH_MAX_FAILURES attempts (one comes back every AUTH_FAILURE_WINDOW / AUTH_MAX_FAILURES)."`
	TrustedProxies   string        `name:"trusted-proxies" env:"TRUSTED_PROXIES" help:"Comma-separated networks (10.0.0.0/8) or addresses of reverse proxies whose X-Forwarded-For names the client for throttling; empty: the connection's address is the client."`
	AdminSessionTTL  time.Duration `name:"admin-session-ttl" env:"ADMIN_SESSION_TTL" default:"12h" help:"How long a status page login lasts at most."`
	AdminSessionIdle time.Duration `name:"admin-session-idle" env:"ADMIN_SESSION_IDLE" default:"30m" help:"A status page session ends this long after its last request."`
	CPUProfile       string        `name:"cpu-profile" env:"CPU_PROFILE" help:"Write a CPU profile (go tool pprof) of the whole run to this file, for performance work; written when the worker stops."`
}

func (c *runCmd) Validate() error {
	if err := cli.First(c.Database.Validate, c.Targets.Validate, c.Log.Validate); err != nil {
		return err
	}
	switch {
	case c.Concurrency < 1:
		return errors.New("WORKER_CONCURRENCY (--concurrency) must be at least 1")
	case c.EventConcurrency < 1:
		return errors.New("EVENT_CONCURRENCY (--event-concurrency) must be at least 1")
	case c.BatchSize < 1 || c.BatchSize > 1000:
		return errors.New("BATCH_SIZE (--batch-size) must be between 1 and 1000")
	case c.MaxAttempts < 1:
		return errors.New("MAX_ATTEMPTS (--max-attempts) must be at least 1")
	case c.JobTimeout <= 0:
		return errors.New("JOB_TIMEOUT (--job-timeout) must be positive")
	case c.RescueAfter <= c.JobTimeout:
		return errors.New("RESCUE_STUCK_JOBS_AFTER (--rescue-after) must be longer than JOB_TIMEOUT")
	case c.BreakerFailures < 1:
		return errors.New("BREAKER_FAILURES (--breaker-failures) must be at least 1")
	case c.BreakerTimeout <= 0:
		return errors.New("BREAKER_TIMEOUT (--breaker-timeout) must be positive")
	case c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial:
		return errors.New("RETRY_INITIAL (--retry-initial) must be positive and at most RETRY_MAX (--retry-max)")
	case c.HoldProbe < time.Second:
		return errors.New("HOLD_PROBE (--hold-probe) must be at least 1s")
	case c.RecordLease < time.Second:
		return errors.New("RECORD_LEASE (--record-lease) must be at least 1s")
	case c.ShutdownTimeout <= 0:
		return errors.New("SHUTDOWN_TIMEOUT (--shutdown-timeout) must be positive")
	case c.AdminToken != "" && len(c.AdminToken) < minTokenLen:
		return fmt.Errorf("ADMIN_TOKEN (--admin-token) must be at least %d characters", minTokenLen)
	case c.IngestToken != "" && len(c.IngestToken) < minTokenLen:
		return fmt.Errorf("INGEST_TOKEN (--ingest-token) must be at least %d characters", minTokenLen)
	case c.AdminToken != "" && c.AdminToken == c.IngestToken:
		return errors.New("ADMIN_TOKEN (--admin-token) and INGEST_TOKEN (--ingest-token) are equal: give each its own token, or an ingest client could run the status page's actions")
	case c.HTTPReadTimeout < time.Second:
		return errors.New("HTTP_READ_TIMEOUT (--http-read-timeout) must be at least 1s")
	case c.HTTPWriteTimeout < time.Second:
		return errors.New("HTTP_WRITE_TIMEOUT (--http-write-timeout) must be at least 1s")
	case c.HTTPIdleTimeout < time.Second:
		return errors.New("HTTP_IDLE_TIMEOUT (--http-idle-timeout) must be at least 1s")
	case c.AuthMaxFailures < 1:
		return errors.New("AUTH_MAX_FAILURES (--auth-max-failures) must be at least 1")
	case c.AuthWindow < time.Second:
		return errors.New("AUTH_FAILURE_WINDOW (--auth-failure-window) must be at least 1s")
	case c.AdminSessionTTL < time.Minute:
		return errors.New("ADMIN_SESSION_TTL (--admin-session-ttl) must be at least 1m")
	case c.AdminSessionIdle < time.Minute || c.AdminSessionIdle > c.AdminSessionTTL:
		return errors.New("ADMIN_SESSION_IDLE (--admin-session-idle) must be at least 1m and at most ADMIN_SESSION_TTL")
	case c.IngestToken != "" && c.HTTPAddr == "":
		return errors.New("INGEST_TOKEN (--ingest-token) is set but HTTP_ADDR (--http-addr) is empty: ingest needs an address")
	case c.AdminToken != "" && c.HTTPAddr == "":
		return errors.New("ADMIN_TOKEN (--admin-token) is set but HTTP_ADDR (--http-addr) is empty: the status page needs an address")
	}
	if _, err := authguard.ParsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("TRUSTED_PROXIES (--trusted-proxies): %w", err)
	}
	if c.ProjectsSchedule != "" {
		if _, err := projects.Parse(c.ProjectsSchedule); err != nil {
			return err
		}
	}
	if c.SyncSchedule != "" {
		if _, err := schedule.Parse(c.SyncSchedule); err != nil {
			return err
		}
	}
	return nil
}

func (c *runCmd) Run() error {
	logger, err := c.Logger()
	if err != nil {
		return err
	}
	if c.CPUProfile != "" {
		stopProfile, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	proxies, err := authguard.ParsePrefixes(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("TRUSTED_PROXIES (--trusted-proxies): %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return worker.Run(ctx, worker.Config{
		DatabaseURL: c.DatabaseURL,
		Targets:     c.Targets.Settings(),
		Jobs: jobs.Config{
			Concurrency:          c.Concurrency,
			EventConcurrency:     c.EventConcurrency,
			MaxAttempts:          c.MaxAttempts,
			JobTimeout:           c.JobTimeout,
			RescueStuckJobsAfter: c.RescueAfter,
			RetryPolicy: &jobs.RetryPolicy{
				Initial: c.RetryInitial, Max: c.RetryMax,
				Multiplier: jobs.DefaultRetryPolicy.Multiplier, Jitter: jobs.DefaultRetryPolicy.Jitter,
			},
		},
		Engine: syncer.Config{
			Lease: c.RecordLease, HoldProbe: c.HoldProbe,
			BreakerFailures: c.BreakerFailures, BreakerTimeout: c.BreakerTimeout,
		},
		BatchSize:   c.BatchSize,
		HTTPAddr:    c.HTTPAddr,
		AdminToken:  c.AdminToken,
		IngestToken: c.IngestToken,
		HTTP: httpserver.Config{
			ReadTimeout:  c.HTTPReadTimeout,
			WriteTimeout: c.HTTPWriteTimeout,
			IdleTimeout:  c.HTTPIdleTimeout,
		},
		AuthGuard: authguard.Config{
			MaxFailures:    c.AuthMaxFailures,
			Window:         c.AuthWindow,
			TrustedProxies: proxies,
		},
		AdminSessionTTL:  c.AdminSessionTTL,
		AdminSessionIdle: c.AdminSessionIdle,
		MaxConns:         c.MaxConns,
		ShutdownTimeout:  c.ShutdownTimeout,
		SyncSchedule:     c.SyncSchedule,
		ProjectsSchedule: c.ProjectsSchedule,
		DisableRelay:     c.NoEventRelay,
		Logger:           logger,
	})
}

type migrateCmd struct {
	cli.Database
	cli.Log
}

func (c *migrateCmd) Validate() error {
	return cli.First(c.Database.Validate, c.Log.Validate)
}

func (c *migrateCmd) Run() error {
	logger, err := c.Logger()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	pool, err := database.NewPool(ctx, c.DatabaseURL, database.PoolConfig{ApplicationName: "chansync-migrate"})
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := database.Migrate(ctx, pool, logger)
	if err != nil {
		return err
	}
	if len(res.AppApplied) == 0 && len(res.RiverApplied) == 0 {
		fmt.Println("migrations: already up to date")
		return nil
	}
	fmt.Printf("migrations: applied %d chansync and %d River migrations\n", len(res.AppApplied), len(res.RiverApplied))
	return nil
}

var cliSpec struct {
	Run     runCmd     `cmd:"" default:"withargs" help:"Work the push queues until SIGINT or SIGTERM (the default)."`
	Migrate migrateCmd `cmd:"" help:"Apply chansync's and River's database migrations; safe to run twice."`
}

// Garbage collector defaults for the worker, unless GOGC or GOMEMLIMIT set
// their own: collect when the heap has grown by 200% rather than 100% (a
// push's garbage is short-lived: collecting it twice as often cost about a
// tenth of the worker's CPU on a first bulk run), but never let the heap
// pass 100 MiB without collecting, so the worker stays well under 200 MB.
const (
	gcPercent   = 200
	memoryLimit = 100 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	parser := kong.Must(&cliSpec,
		kong.Name("worker"),
		kong.Description("chansync worker: pushes local users, companies, tasks, applications and payments to the channel API, in dependency order."),
	)
	ctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: %v\n", err)
		os.Exit(2)
	}
	if err := ctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "worker: %v\n", err)
		os.Exit(1)
	}
}

// startCPUProfile starts profiling the process's CPU into path and returns
// the function that stops and writes the profile.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("CPU_PROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("CPU_PROFILE: start profiling: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
