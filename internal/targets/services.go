package targets

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/projects"
)

// Services are what enabled targets add to the worker beyond their kinds:
// jobs of their own, and what the status page shows of them.
type Services struct {
	// AddWorkers registers the targets' own job workers.
	AddWorkers func(*river.Workers)
	// PeriodicJobs are the targets' scheduled jobs (the projects mirror).
	PeriodicJobs []*river.PeriodicJob
	// UserPoints returns a user's points balance and newest ledger
	// entries (at most n); nil when points is off.
	UserPoints func(ctx context.Context, userID string, n int) (UserPoints, error)
	// MirrorOn reports whether the projects mirror runs.
	MirrorOn bool
}

// UserPoints is a user's points balance and newest ledger entries.
type UserPoints struct {
	BalanceCents int64
	Entries      []LedgerEntry
}

// LedgerEntry is one entry of a user's points ledger.
type LedgerEntry struct {
	CreatedAt    string
	RecordType   string
	ChangeCents  int64
	BalanceAfter int64
	Reason       string
}

// ServiceSettings are the settings of the targets' services.
type ServiceSettings struct {
	// ProjectsSchedule is the projects mirror's cron schedule (hourly when
	// empty).
	ProjectsSchedule string
}

// BuildServices returns the services of the targets s enables.
func BuildServices(s Settings, ss ServiceSettings, pool *pgxpool.Pool, deps target.Deps) (Services, error) {
	svc := Services{AddWorkers: func(*river.Workers) {}}
	if !s.Points.Enabled() {
		return svc, nil
	}
	api, err := points.NewAPI(s.Points, deps)
	if err != nil {
		return svc, err
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pj, err := projects.PeriodicJob(ss.ProjectsSchedule)
	if err != nil {
		return svc, err
	}
	svc.PeriodicJobs = append(svc.PeriodicJobs, pj)
	svc.AddWorkers = func(w *river.Workers) { river.AddWorker(w, projects.NewMirrorWorker(pool, api, logger)) }
	svc.MirrorOn = true
	svc.UserPoints = func(ctx context.Context, userID string, n int) (UserPoints, error) {
		balance, entries, err := points.Recent(ctx, api, userID, n)
		if err != nil {
			return UserPoints{}, err
		}
		out := UserPoints{BalanceCents: balance}
		for _, e := range entries {
			out.Entries = append(out.Entries, LedgerEntry{
				CreatedAt: e.CreatedAt, RecordType: e.RecordType, ChangeCents: e.ChangeCents,
				BalanceAfter: e.BalanceAfter, Reason: e.Reason,
			})
		}
		return out, nil
	}
	return svc, nil
}
