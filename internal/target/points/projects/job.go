package projects

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// DefaultSchedule is the mirror's schedule when PROJECTS_SCHEDULE is
// empty and APIHUB_API_KEY is set: hourly, on the hour (UTC).
const DefaultSchedule = "0 * * * *"

// MirrorArgs is the scheduled run of the mirror. It carries nothing.
type MirrorArgs struct{}

// Kind returns the River job kind.
func (MirrorArgs) Kind() string { return "projects_mirror" }

// InsertOpts puts the job on the default queue, unique per minute: a
// second leader inserting the same scheduled run is deduplicated.
func (MirrorArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       river.QueueDefault,
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByPeriod: time.Minute},
	}
}

// MirrorWorker runs the mirror for MirrorArgs jobs.
type MirrorWorker struct {
	river.WorkerDefaults[MirrorArgs]
	pool   *pgxpool.Pool
	api    *pointsapi.Client
	logger *slog.Logger
}

// NewMirrorWorker returns the worker of the scheduled mirror: it mirrors
// through api into pool's apihub_projects and logs each run to logger (nil:
// none).
func NewMirrorWorker(pool *pgxpool.Pool, api *pointsapi.Client, logger *slog.Logger) *MirrorWorker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &MirrorWorker{pool: pool, api: api, logger: logger}
}

// Work runs the mirror once, as TriggerSchedule. A failed run is recorded
// and returned, so River tries it again (up to MaxAttempts).
func (w *MirrorWorker) Work(ctx context.Context, job *river.Job[MirrorArgs]) error {
	run, err := mirror(ctx, w.pool, w.api, TriggerSchedule)
	if err != nil {
		w.logger.WarnContext(ctx, "projects mirror failed", slog.Int64("run_id", run.ID),
			slog.String("error", err.Error()), slog.Int64("job_id", job.ID), slog.Int("attempt", job.Attempt))
		return err
	}
	w.logger.InfoContext(ctx, "projects mirrored", slog.Int64("run_id", run.ID),
		slog.Int("published", run.Published), slog.Int("added", run.Added), slog.Int("updated", run.Updated),
		slog.Int("unpublished", run.Unpublished), slog.Int("republished", run.Republished),
		slog.Int64("job_id", job.ID))
	return nil
}

// Parse parses PROJECTS_SCHEDULE: a standard five-field cron expression
// (a "CRON_TZ=Asia/Shanghai " prefix sets the time zone, UTC otherwise);
// empty is DefaultSchedule.
func Parse(spec string) (cron.Schedule, error) {
	if spec == "" {
		spec = DefaultSchedule
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("PROJECTS_SCHEDULE %q: %w", spec, err)
	}
	return s, nil
}

// PeriodicJob returns the River periodic job of the mirror on spec
// (PROJECTS_SCHEDULE; empty: hourly). Only the elected leader enqueues it.
func PeriodicJob(spec string) (*river.PeriodicJob, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	return river.NewPeriodicJob(s, func() (river.JobArgs, *river.InsertOpts) {
		return MirrorArgs{}, nil
	}, &river.PeriodicJobOpts{ID: "projects_mirror"}), nil
}
