package statuspage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
)

// recordedBulkRun returns a BulkRunFunc that reads the newest run in
// bulk_run and its progress from control's RunSummary, as `enqueue all
// --wait` follows it.
func recordedBulkRun(q *dbsqlc.Queries, ctl *control.Controller) BulkRunFunc {
	return func(ctx context.Context) (*BulkRun, error) {
		row, err := q.LastBulkRun(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read last bulk run: %w", err)
		}
		var scans []control.KindScan
		if len(row.Scan) > 0 {
			if err := json.Unmarshal(row.Scan, &scans); err != nil {
				return nil, fmt.Errorf("read bulk run %d: %w", row.ID, err)
			}
		}
		run := &BulkRun{
			ID: row.ID, Trigger: row.Trigger, Force: row.Force, Kinds: row.Kinds,
			StartedAt: row.StartedAt, EnqueuedAt: row.EnqueuedAt, FinishedAt: row.FinishedAt,
			Scanned: int64(row.Scanned), Enqueued: int64(row.Enqueued), Unchanged: int64(row.Unchanged),
		}
		if row.EnqueuedAt == nil {
			return run, nil
		}
		sum, err := ctl.RunSummary(ctx, control.Run{ID: row.ID, StartedAt: row.StartedAt, Scans: scans})
		if err != nil {
			return nil, fmt.Errorf("bulk run %d progress: %w", row.ID, err)
		}
		run.Done = sum.Done()
		run.Pushed = sum.Total.Pushed
		run.Retrying = sum.Total.Retrying
		run.Blocked = sum.Total.Blocked
		run.Dead = sum.Total.Dead
		type key struct{ target, kind string }
		byKind := make(map[key]control.KindSummary, len(sum.Kinds))
		for _, k := range sum.Kinds {
			byKind[key{k.Target, k.Kind}] = k
		}
		for _, sc := range scans {
			k := byKind[key{sc.Target, sc.Kind}]
			run.Scans = append(run.Scans, BulkScan{
				Target: sc.Target, Kind: sc.Kind,
				Scanned: int64(sc.Scanned), Enqueued: int64(sc.Enqueued), Unchanged: int64(sc.Unchanged),
				Pushed: k.Pushed, Retrying: k.Retrying, Blocked: k.Blocked, Dead: k.Dead,
			})
		}
		return run, nil
	}
}

// RecordedMirrorRun returns a LastMirrorRunFunc that reads the newest run
// of the projects mirror recorded in projects_mirror_run. Give it to
// Config.LastMirrorRunFunc when the mirror is on.
func RecordedMirrorRun(pool *pgxpool.Pool) LastMirrorRunFunc {
	q := dbsqlc.New(pool)
	return func(ctx context.Context) (*MirrorRun, error) {
		row, err := q.LastMirrorRun(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read last projects mirror run: %w", err)
		}
		started := row.StartedAt
		return &MirrorRun{
			StartedAt: &started, FinishedAt: row.FinishedAt,
			Published: int(row.Published), Added: int(row.Added),
			Unpublished: int(row.Unpublished), Republished: int(row.Republished),
			Error: derefString(row.Error),
		}, nil
	}
}
