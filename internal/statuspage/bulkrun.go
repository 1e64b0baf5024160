package statuspage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
		return run, nil
	}
}
