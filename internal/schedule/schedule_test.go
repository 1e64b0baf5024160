package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/schedule"
	"github.com/chansync/chansync/internal/targets"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		spec string
		ok   bool
	}{
		{"0 2 * * *", true},
		{"CRON_TZ=Asia/Shanghai 0 2 * * *", true},
		{"*/15 * * * *", true},
		{"0 2 * *", false},
		{"nightly", false},
		{"61 2 * * *", false},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(tt.spec)
			if !tt.ok {
				require.ErrorContains(t, err, "SYNC_SCHEDULE")
				return
			}
			require.NoError(t, err)
			next := s.Next(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
			require.True(t, next.After(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)))
		})
	}
	s, err := schedule.Parse("0 2 * * *")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC), s.Next(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)))
}

func TestScheduledRunIsUniquePerMinute(t *testing.T) {
	t.Parallel()
	opts := schedule.SyncArgs{}.InsertOpts()
	require.Equal(t, time.Minute, opts.UniqueOpts.ByPeriod, "a second leader inserting the same scheduled run is deduplicated")
}

func TestWorkEnqueuesABulkRun(t *testing.T) {
	t.Parallel()
	s := dbtest.New(t)
	ctx := context.Background()
	set := datagen.Generate(datagen.Options{Records: 30, Seed: 9})
	require.NoError(t, set.LoadQuiet(ctx, s.Pool))
	reg, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	w := rivertest.NewWorker(t, riverpgxv5.New(s.Pool), &river.Config{Schema: database.SchemaOf(s.Pool)},
		schedule.NewWorker(s.Pool, reg, 0, slog.New(slog.NewTextHandler(io.Discard, nil))))
	tx, err := s.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := w.Work(ctx, t, tx, schedule.SyncArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	var trigger string
	var enqueued int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT trigger, enqueued FROM bulk_run`).Scan(&trigger, &enqueued))
	require.Equal(t, "schedule", trigger)
	require.Equal(t, set.Len(), enqueued)
}
