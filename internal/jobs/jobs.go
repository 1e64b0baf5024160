// Package jobs works pushes through River: the worker of push jobs (their
// encoding lives in internal/queue), the mapping of push outcomes to
// River's retry, snooze and completion, a retry policy with exponential
// backoff and jitter, and the River client's configuration.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target"
)

// Pusher pushes a batch of records of one kind; *syncer.Engine is one.
type Pusher interface {
	Push(ctx context.Context, k *target.Kind, ids []string, opts syncer.Options) (syncer.Result, error)
}

// Config tunes the job queue. Zero values take the defaults.
type Config struct {
	// Concurrency is how many bulk pushes run at once. Default 16.
	Concurrency int
	// EventConcurrency is how many event-triggered pushes run at once, beside
	// the bulk ones. Default 16.
	EventConcurrency int
	// MaxAttempts is how many times a failing record is tried before it is
	// dead-lettered. Default 25.
	MaxAttempts int
	// RetryPolicy schedules retries. Default DefaultRetryPolicy.
	RetryPolicy *RetryPolicy
	// JobTimeout bounds one run of one job. Default 2 minutes.
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may stay running (its worker
	// killed) before River hands it to another worker. Default 5 minutes.
	RescueStuckJobsAfter time.Duration
	// WaitSnooze is how long a job whose records wait for parents sleeps
	// before it looks again. Default 1s.
	WaitSnooze time.Duration
	// UnknownKindPause is how long a job of a kind this process does not take
	// waits before it is offered again. Default 1 minute.
	UnknownKindPause time.Duration
	// FetchPollInterval is how often an idle worker polls for jobs when no
	// notification wakes it. Default 200ms.
	FetchPollInterval time.Duration
	// PeriodicJobs are scheduled by the leader (the nightly sync).
	PeriodicJobs []*river.PeriodicJob
	// Logger receives River's own logs.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.EventConcurrency <= 0 {
		c.EventConcurrency = 16
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 25
	}
	if c.RetryPolicy == nil {
		p := DefaultRetryPolicy
		c.RetryPolicy = &p
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 2 * time.Minute
	}
	if c.RescueStuckJobsAfter <= 0 {
		c.RescueStuckJobsAfter = 5 * time.Minute
	}
	if c.RescueStuckJobsAfter <= c.JobTimeout {
		c.RescueStuckJobsAfter = c.JobTimeout + time.Minute
	}
	if c.WaitSnooze <= 0 {
		c.WaitSnooze = time.Second
	}
	if c.UnknownKindPause <= 0 {
		c.UnknownKindPause = time.Minute
	}
	if c.FetchPollInterval <= 0 {
		c.FetchPollInterval = 200 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// PushWorker works push jobs (queue.PushArgs) of every kind.
type PushWorker struct {
	river.WorkerDefaults[queue.PushArgs]
	registry *target.Registry
	pusher   Pusher
	cfg      Config
}

// NewPushWorker returns a worker that pushes through pusher the records of
// the registry's kinds.
func NewPushWorker(registry *target.Registry, pusher Pusher, cfg Config) *PushWorker {
	return &PushWorker{registry: registry, pusher: pusher, cfg: cfg.withDefaults()}
}

// Work pushes one job's records and maps the result to River: done, a
// retry with backoff (transient failures), or a snooze that spends no
// attempt (a held target, a rate limit, an open circuit, a create that may
// still be in flight, records waiting for parents, a shutdown or timeout
// in the middle of the batch). A job of a kind this process does not take
// (its target is not enabled here) is snoozed, never dropped.
func (w *PushWorker) Work(ctx context.Context, job *river.Job[queue.PushArgs]) error {
	args := job.Args
	k, err := w.registry.Kind(args.KindName)
	if err != nil || string(k.Target) != args.Target {
		w.cfg.Logger.ErrorContext(ctx, "push job of a kind this worker does not take: is its target enabled here?",
			slog.String("target", args.Target), slog.String("kind", args.KindName), slog.Int64("job_id", job.ID))
		return river.JobSnooze(w.cfg.UnknownKindPause)
	}
	res, err := w.pusher.Push(ctx, k, args.IDs, syncer.Options{
		FinalAttempt: job.Attempt >= job.MaxAttempts,
		Attempt:      job.Attempt,
		JobID:        job.ID,
		Queue:        job.Queue,
	})
	if err != nil {
		if ctx.Err() != nil {
			// Shutdown or job timeout: hand the batch back without spending
			// an attempt; work already done is kept.
			return river.JobSnooze(time.Second)
		}
		return fmt.Errorf("push %s batch: %w", k, err)
	}
	return w.verdict(ctx, k, len(args.IDs), res)
}

// Timeout bounds one run of a push job (Config.JobTimeout): a longer batch
// is cut short and its job snoozed, to resume where it stopped.
func (w *PushWorker) Timeout(*river.Job[queue.PushArgs]) time.Duration { return w.cfg.JobTimeout }

// verdict maps a push's result to what River does with its job.
func (w *PushWorker) verdict(ctx context.Context, k *target.Kind, n int, res syncer.Result) error {
	switch {
	case res.Held != "":
		return river.JobSnooze(max(res.SnoozeFor, time.Second))
	case res.Failed > 0:
		return fmt.Errorf("push %s: %d of %d records failed, last: %s", k, res.Failed, n, res.LastError)
	case res.SnoozeFor > 0:
		return river.JobSnooze(res.SnoozeFor)
	case res.Waiting > 0:
		if ctx.Err() != nil {
			return river.JobSnooze(time.Second)
		}
		return river.JobSnooze(w.cfg.WaitSnooze)
	}
	return nil
}

// NewClient returns a River client. With workers nil it only inserts jobs
// (the enqueue command); otherwise it works the bulk and events queues.
func NewClient(pool *pgxpool.Pool, workers *river.Workers, cfg Config) (*river.Client[pgx.Tx], error) {
	cfg = cfg.withDefaults()
	rc := &river.Config{
		Schema:            database.SchemaOf(pool),
		Logger:            cfg.Logger,
		MaxAttempts:       cfg.MaxAttempts,
		RetryPolicy:       cfg.RetryPolicy,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: cfg.FetchPollInterval,
		JobTimeout:        cfg.JobTimeout,
		// A killed worker's jobs are handed back after this long.
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		PeriodicJobs:         cfg.PeriodicJobs,
	}
	if workers != nil {
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: 2},
			queue.Bulk:         {MaxWorkers: cfg.Concurrency},
			queue.Events:       {MaxWorkers: cfg.EventConcurrency},
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}
