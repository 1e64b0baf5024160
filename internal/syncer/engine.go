// Package syncer is the sync engine: it pushes batches of local records of
// one kind to their target and keeps their sync state. It leases each
// record so that no two pushes of one record run at once (renewing the
// leases while it works, and stopping before they could run out), skips
// records whose payload the target already accepted, waits for parents,
// pushes with create-or-update, looks a record up before creating it again
// when an earlier create's outcome is unknown, pauses a whole target
// across processes while it refuses for a reason that is not a record's
// (a hold), and records every outcome beside the data.
//
// syncer knows nothing of River nor of any target's wire format: the job
// queue calls Engine.Push, and targets are reached through the registry's
// target.Client values.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/semaphore"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// EnqueueFunc asks the job queue to push the given records soon, on the
// named queue (the queue of the push that asks, so that records woken by a
// bulk run come back with the bulk run).
type EnqueueFunc func(ctx context.Context, queue string, refs []target.Ref) error

// Observer receives every record outcome as it is recorded, and every wait
// on a rate limit.
type Observer interface {
	Outcome(k *target.Kind, outcome syncstatus.Outcome, took time.Duration)
	RateLimited(k *target.Kind, wait time.Duration)
}

// Config is everything an Engine needs. Zero durations take the defaults.
type Config struct {
	// Pool is the database.
	Pool *pgxpool.Pool
	// Registry holds the targets and kinds.
	Registry *target.Registry
	// EnqueueFunc pushes parents that nobody is pushing yet and dependants
	// that waited for a record just accepted; nil to do neither.
	EnqueueFunc EnqueueFunc
	// Logger receives the engine's logs. Default: none.
	Logger *slog.Logger
	// Observer, if set, is told of every outcome (for metrics).
	Observer Observer
	// Lease is how long a record stays leased to one push. The push renews
	// its leases every quarter of it, and stops pushing (cancelling what is
	// in flight) when it could not renew them for half of it, so a lease
	// never runs out under a live push. After a crash, the dead push's
	// records are free once it runs out. Default 20s.
	Lease time.Duration
	// ParentWait is how long a batch waits in place for parents that are
	// being pushed elsewhere before it gives the records back. Default 5s.
	ParentWait time.Duration
	// ParentPoll is how often a waiting batch looks again. Default 50ms.
	ParentPoll time.Duration
	// MaxInlineRateWait is the longest Retry-After the engine sleeps through
	// in place; longer waits end the batch. Default 10s.
	MaxInlineRateWait time.Duration
	// HoldProbe is how often a held target is probed by one push, unless
	// the target sets its own. Default 1 minute.
	HoldProbe time.Duration
	// BreakerFailures is how many transient failures in a row open a
	// target's circuit (pushes to it pause). Default 5.
	BreakerFailures uint32
	// BreakerTimeout is how long an open circuit stays open before one
	// probe request. Default 30s.
	BreakerTimeout time.Duration
	// OnBreakerChangeFunc, if set, is told of every change of a target's
	// circuit.
	OnBreakerChangeFunc func(t target.Name, from, to string)
	// InFlight is how many requests the pushes of each queue (by name,
	// Options.Queue) may have in flight at once to each target, across all
	// their jobs: a push sends its records side by side up to that bound,
	// so one job of many records keeps a slow target as busy as many jobs
	// of few. Pushes of a queue it does not name send one request at a
	// time each.
	InFlight map[string]int
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Lease <= 0 {
		c.Lease = 20 * time.Second
	}
	if c.ParentWait <= 0 {
		c.ParentWait = 5 * time.Second
	}
	if c.ParentPoll <= 0 {
		c.ParentPoll = 50 * time.Millisecond
	}
	if c.MaxInlineRateWait <= 0 {
		c.MaxInlineRateWait = 10 * time.Second
	}
	if c.HoldProbe <= 0 {
		c.HoldProbe = time.Minute
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.BreakerTimeout <= 0 {
		c.BreakerTimeout = 30 * time.Second
	}
	return c
}

// Engine pushes batches of records. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	pool    *pgxpool.Pool
	q       *dbsqlc.Queries
	reg     *target.Registry
	logger  *slog.Logger
	targets map[target.Name]*runtime
	holds   *holdCache
}

// runtime is a target as the engine drives it: its client behind a
// circuit breaker.
type runtime struct {
	*target.Target
	breaker   *gobreaker.CircuitBreaker[target.Result]
	holdProbe time.Duration
	// inFlight bounds the requests in flight to the target by the pushes
	// of each queue (Config.InFlight).
	inFlight map[string]*semaphore.Weighted
}

// New returns an Engine for the registry's targets.
func New(cfg Config) (*Engine, error) {
	if cfg.Pool == nil || cfg.Registry == nil {
		return nil, errors.New("sync engine: Pool and Registry are required")
	}
	cfg = cfg.withDefaults()
	e := &Engine{
		cfg:     cfg,
		pool:    cfg.Pool,
		q:       dbsqlc.New(cfg.Pool),
		reg:     cfg.Registry,
		logger:  cfg.Logger,
		targets: map[target.Name]*runtime{},
		holds:   newHoldCache(),
	}
	for _, t := range cfg.Registry.Targets() {
		if t.Client == nil {
			return nil, fmt.Errorf("sync engine: target %s has no client", t.Name)
		}
		rt := &runtime{Target: t, holdProbe: cmpOr(t.HoldProbe, cfg.HoldProbe), inFlight: map[string]*semaphore.Weighted{}}
		for queue, n := range cfg.InFlight {
			if n > 0 {
				rt.inFlight[queue] = semaphore.NewWeighted(int64(n))
			}
		}
		client, name := t.Client, t.Name
		rt.breaker = gobreaker.NewCircuitBreaker[target.Result](gobreaker.Settings{
			Name:        string(name),
			MaxRequests: 1,
			Timeout:     cfg.BreakerTimeout,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.BreakerFailures },
			IsSuccessful: func(err error) bool {
				return err == nil || errors.Is(err, context.Canceled) || client.Classify(err).Class != target.Transient
			},
			OnStateChange: func(_ string, from, to gobreaker.State) {
				cfg.Logger.Warn("target circuit breaker", slog.String("target", string(name)), slog.String("from", from.String()), slog.String("to", to.String()))
				if cfg.OnBreakerChangeFunc != nil {
					cfg.OnBreakerChangeFunc(name, from.String(), to.String())
				}
			},
		})
		e.targets[name] = rt
	}
	return e, nil
}

func cmpOr(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// Open reports whether the target's circuit is open (pushes paused).
func (e *Engine) Open(t target.Name) bool {
	rt, ok := e.targets[t]
	return ok && rt.breaker.State() == gobreaker.StateOpen
}

// Options tune one Push call.
type Options struct {
	// FinalAttempt turns transient failures into dead letters: the job will
	// not be retried again.
	FinalAttempt bool
	// Attempt is the job's attempt number, for logs.
	Attempt int
	// JobID is the job's id, for logs and lease holders.
	JobID int64
	// Queue is the job's queue: records the push wakes or enqueues go
	// there.
	Queue string
}

// Result counts the outcomes of one Push.
type Result struct {
	Created, Updated, Unchanged, Failed, Dead, Blocked, Waiting, Kept int
	// Adopted counts records found on the target after a create whose
	// outcome was unknown, and adopted instead of created again (counted
	// in Created too).
	Adopted int
	// SnoozeFor is set when the batch stopped on something that is no
	// record's failure — a rate limit longer than the engine waits in
	// place, an open circuit, a held target, a create that may still be in
	// flight: the job should wait this long, spending no attempt.
	SnoozeFor time.Duration
	// Held names the reason of the hold the batch met, if any.
	Held string
	// LastError is the reason of the last transient failure.
	LastError string
}

// Pending reports how many records still need another run of the job.
func (r Result) Pending() int { return r.Failed + r.Waiting }

func (r *Result) snooze(d time.Duration) {
	r.SnoozeFor = max(r.SnoozeFor, d)
}

// Push pushes the named records of kind k, and records every outcome. An
// error is returned only when the sync state could not be read or written;
// failures of the target are counted in Result.
func (e *Engine) Push(ctx context.Context, k *target.Kind, ids []string, opts Options) (Result, error) {
	rt, ok := e.targets[k.Target]
	if !ok {
		return Result{}, fmt.Errorf("push %s: target %s is not enabled", k, k.Target)
	}
	p := newPush(e, rt, k, opts)
	return p.run(ctx, ids)
}

// stateTx runs fn in a transaction. Unless durable, it commits without
// waiting for its WAL to reach disk (synchronous_commit off, for this
// transaction only): leases and outcomes are a record of work the target
// has already seen, so if a Postgres crash loses the last few hundred
// milliseconds of them, the records are simply pushed again — a record
// still leased when the crash came is looked up first, and a create the
// target holds is adopted — and nothing is lost. Waiting for the disk on
// every batch was most of a bulk run's database time. Claims on a target
// that cannot de-duplicate creates are durable: the lease is the record
// that a create may be in flight.
func (e *Engine) stateTx(ctx context.Context, durable bool, fn func(q *dbsqlc.Queries) error) error {
	return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if !durable {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("relax commit: %w", err)
			}
		}
		return fn(e.q.WithTx(tx))
	})
}
