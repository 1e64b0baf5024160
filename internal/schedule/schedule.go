// Package schedule runs the nightly bulk sync inside the worker: a River
// periodic job on a cron schedule (SYNC_SCHEDULE), enqueued by the elected
// leader only and made unique per minute, so it runs exactly once per
// scheduled time however many workers run.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/target"
)

// SyncArgs is the nightly sync job. It carries nothing: it scans every kind.
type SyncArgs struct{}

// Kind returns the River job kind.
func (SyncArgs) Kind() string { return "scheduled_sync" }

// InsertOpts puts the job on the default queue, unique per minute.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       river.QueueDefault,
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByPeriod: time.Minute},
	}
}

// Worker runs a bulk enqueue like `enqueue all`, over every kind of every
// enabled target.
type Worker struct {
	river.WorkerDefaults[SyncArgs]
	pool      *pgxpool.Pool
	registry  *target.Registry
	batchSize int
	logger    *slog.Logger
}

// NewWorker returns the scheduled sync's worker; it enqueues through the
// River client that runs its job.
func NewWorker(pool *pgxpool.Pool, registry *target.Registry, batchSize int, logger *slog.Logger) *Worker {
	return &Worker{pool: pool, registry: registry, batchSize: batchSize, logger: logger}
}

// Work enqueues every changed record and logs what it found.
func (w *Worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	ctl := control.New(control.Config{Pool: w.pool, Registry: w.registry, Client: river.ClientFromContext[pgx.Tx](ctx), BatchSize: w.batchSize})
	run, err := ctl.EnqueueAll(ctx, control.AllOptions{Trigger: "schedule"})
	if err != nil {
		return fmt.Errorf("scheduled sync: %w", err)
	}
	var enqueued, unchanged int
	for _, s := range run.Scans {
		enqueued += s.Enqueued
		unchanged += s.Unchanged
	}
	w.logger.InfoContext(ctx, "scheduled sync enqueued",
		slog.Int64("run_id", run.ID), slog.Int("enqueued", enqueued), slog.Int("unchanged", unchanged),
		slog.Int64("job_id", job.ID))
	return nil
}

// Parse parses a standard five-field cron expression (minute hour
// day-of-month month day-of-week; a "CRON_TZ=Asia/Shanghai " prefix sets the
// time zone, UTC otherwise).
func Parse(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("SYNC_SCHEDULE %q: %w", spec, err)
	}
	return s, nil
}

// PeriodicJob returns the River periodic job for spec.
func PeriodicJob(spec string) (*river.PeriodicJob, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	return river.NewPeriodicJob(s, func() (river.JobArgs, *river.InsertOpts) {
		return SyncArgs{}, nil
	}, &river.PeriodicJobOpts{ID: "scheduled_sync"}), nil
}
