package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/syncer"
)

// Pusher pushes a batch of records of one kind; *syncer.Engine is one.
type Pusher interface {
	Push(ctx context.Context, kind record.Kind, ids []string, opts syncer.Options) (syncer.Result, error)
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
	// AuthPause is how long jobs wait after the channel refused our
	// credentials. Default 1 minute.
	AuthPause time.Duration
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
	if c.AuthPause <= 0 {
		c.AuthPause = time.Minute
	}
	if c.FetchPollInterval <= 0 {
		c.FetchPollInterval = 200 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// PushWorker works push jobs of every kind; a worker of each job kind wraps it.
type PushWorker struct {
	// Pusher does the work; it may be set after the River client is built.
	Pusher Pusher
	cfg    Config
	logger *slog.Logger
}

// NewPushWorker returns a worker with the given configuration.
func NewPushWorker(cfg Config) *PushWorker {
	cfg = cfg.withDefaults()
	return &PushWorker{cfg: cfg, logger: cfg.Logger}
}

// Work pushes one job's records and maps the result to River: done, a
// retry with backoff (transient failures), or a snooze that spends no
// attempt (records waiting for parents, a rate limit, refused credentials,
// a shutdown or timeout in the middle of the batch).
func (w *PushWorker) Work(ctx context.Context, kind record.Kind, job *rivertype.JobRow, args PushArgs) error {
	res, err := w.Pusher.Push(ctx, kind, args.IDs, syncer.Options{
		FinalAttempt: job.Attempt >= job.MaxAttempts,
		Attempt:      job.Attempt,
		JobID:        job.ID,
	})
	if err != nil {
		if ctx.Err() != nil {
			// Shutdown or job timeout: hand the batch back without spending
			// an attempt; work already done is kept.
			return river.JobSnooze(time.Second)
		}
		return fmt.Errorf("push %s batch: %w", kind, err)
	}
	switch {
	case res.AuthFailed:
		return river.JobSnooze(w.cfg.AuthPause)
	case res.Failed > 0:
		return fmt.Errorf("push %s: %d of %d records failed, last: %s", kind, res.Failed, len(args.IDs), res.LastError)
	case res.RateLimitedFor > 0:
		return river.JobSnooze(res.RateLimitedFor)
	case res.Waiting > 0:
		if ctx.Err() != nil {
			return river.JobSnooze(time.Second)
		}
		return river.JobSnooze(w.cfg.WaitSnooze)
	}
	return nil
}

type argsOf interface {
	river.JobArgs
	args() PushArgs
}

type kindWorker[T argsOf] struct {
	river.WorkerDefaults[T]
	kind record.Kind
	w    *PushWorker
}

func (k *kindWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	return k.w.Work(ctx, k.kind, job.JobRow, job.Args.args())
}

// Register adds a River worker for each push job kind to workers.
func Register(workers *river.Workers, w *PushWorker) {
	river.AddWorker(workers, &kindWorker[PushUserArgs]{kind: record.User, w: w})
	river.AddWorker(workers, &kindWorker[PushCompanyArgs]{kind: record.Company, w: w})
	river.AddWorker(workers, &kindWorker[PushTaskArgs]{kind: record.Task, w: w})
	river.AddWorker(workers, &kindWorker[PushApplicationArgs]{kind: record.Application, w: w})
	river.AddWorker(workers, &kindWorker[PushPaymentArgs]{kind: record.Payment, w: w})
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
			QueueBulk:          {MaxWorkers: cfg.Concurrency},
			QueueEvents:        {MaxWorkers: cfg.EventConcurrency},
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

// SpreadJobs and MinSpreadBatch shape Inserter.Params: a kind with fewer
// than SpreadJobs×BatchSize records is split into about SpreadJobs jobs of
// at least MinSpreadBatch records rather than a few full ones, so that with
// a slow channel the pushes of a small kind (companies, tasks, whose children
// wait for them) run side by side instead of one request at a time per job.
const (
	SpreadJobs     = 64
	MinSpreadBatch = 10
)

// Inserter inserts push jobs.
type Inserter struct {
	// Client inserts the jobs.
	Client *river.Client[pgx.Tx]
	// BatchSize is the most records one job pushes. Default 100.
	BatchSize int
}

// Params returns the insert parameters for pushing refs on queue: one job
// per BatchSize records of a kind, prioritised parents first.
func (in *Inserter) Params(refs []record.Ref, queue string) ([]river.InsertManyParams, error) {
	size := in.BatchSize
	if size <= 0 {
		size = 100
	}
	byKind := map[record.Kind][]string{}
	for _, r := range refs {
		byKind[r.Kind] = append(byKind[r.Kind], r.ID)
	}
	var params []river.InsertManyParams
	for _, k := range record.Kinds {
		ids := byKind[k]
		// Spread a kind over at least SpreadJobs jobs (of at least
		// MinSpreadBatch records) so that a small kind, whose children
		// wait for it, keeps many pushes in flight.
		kindSize := min(size, max(MinSpreadBatch, (len(ids)+SpreadJobs-1)/SpreadJobs))
		for len(ids) > 0 {
			n := min(kindSize, len(ids))
			args, err := NewArgs(k, ids[:n:n])
			if err != nil {
				return nil, err
			}
			params = append(params, river.InsertManyParams{
				Args:       args,
				InsertOpts: &river.InsertOpts{Queue: queue, Priority: Priority(k)},
			})
			ids = ids[n:]
		}
	}
	return params, nil
}

// Insert enqueues pushes of refs on queue.
func (in *Inserter) Insert(ctx context.Context, refs []record.Ref, queue string) (int, error) {
	params, err := in.Params(refs, queue)
	if err != nil || len(params) == 0 {
		return 0, err
	}
	n, err := in.Client.InsertManyFast(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("insert push jobs: %w", err)
	}
	return n, nil
}

// InsertTx enqueues pushes of refs on queue inside tx.
func (in *Inserter) InsertTx(ctx context.Context, tx pgx.Tx, refs []record.Ref, queue string) (int, error) {
	params, err := in.Params(refs, queue)
	if err != nil || len(params) == 0 {
		return 0, err
	}
	n, err := in.Client.InsertManyFastTx(ctx, tx, params)
	if err != nil {
		return 0, fmt.Errorf("insert push jobs: %w", err)
	}
	return n, nil
}

// ErrNoWork is returned by helpers that find nothing to enqueue.
var ErrNoWork = errors.New("nothing to enqueue")

// EventConcurrency returns how many event-triggered pushes run at once.
func (w *PushWorker) EventConcurrency() int { return w.cfg.EventConcurrency }
