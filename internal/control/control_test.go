package control_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/targets"
)

type testBundle struct {
	pool *pgxpool.Pool
	reg  *target.Registry
	ctl  *control.Controller
	set  *datagen.Set
}

// setup loads a small data set into a schema of its own; no worker runs,
// so enqueued jobs stay queued.
func setup(t *testing.T) *testBundle {
	t.Helper()
	schema := dbtest.New(t)
	set := datagen.Generate(datagen.Options{Records: 200, Seed: 3})
	require.NoError(t, set.LoadQuiet(context.Background(), schema.Pool))
	rc, err := jobs.NewClient(schema.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	reg, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	return &testBundle{pool: schema.Pool, reg: reg, ctl: control.New(control.Config{Pool: schema.Pool, Registry: reg, Client: rc, BatchSize: 25}), set: set}
}

func (b *testBundle) queuedIDs(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM river_job, jsonb_array_elements_text(args -> 'ids') WHERE state = 'available'`).Scan(&n))
	return n
}

func total(run control.Run) (scanned, enqueued, queued int) {
	for _, s := range run.Scans {
		scanned += s.Scanned
		enqueued += s.Enqueued
		queued += s.AlreadyQueued
	}
	return scanned, enqueued, queued
}

func TestEnqueueAll(t *testing.T) {
	t.Parallel()

	t.Run("SecondRunWhileDrainingDoesNotDoubleTheWork", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		first, err := b.ctl.EnqueueAll(ctx, control.AllOptions{})
		require.NoError(t, err)
		scanned, enqueued, _ := total(first)
		require.Positive(t, scanned)
		require.Equal(t, scanned, enqueued, "a first run enqueues every record")
		require.Equal(t, scanned, b.queuedIDs(t))

		second, err := b.ctl.EnqueueAll(ctx, control.AllOptions{})
		require.NoError(t, err)
		_, enqueued, queued := total(second)
		require.Zero(t, enqueued)
		require.Equal(t, scanned, queued)
		require.Equal(t, scanned, b.queuedIDs(t), "no job was added")

		forced, err := b.ctl.EnqueueAll(ctx, control.AllOptions{Force: true})
		require.NoError(t, err)
		_, enqueued, _ = total(forced)
		require.Zero(t, enqueued, "--force leaves queued records to their job too")
	})

	t.Run("KindsLimitTheRun", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		task, err := b.reg.Kind("task")
		require.NoError(t, err)
		run, err := b.ctl.EnqueueAll(context.Background(), control.AllOptions{Kinds: []*target.Kind{task}})
		require.NoError(t, err)
		require.Len(t, run.Scans, 1)
		require.Equal(t, "task", run.Scans[0].Kind)
		require.Equal(t, len(b.set.Tasks), run.Scans[0].Enqueued)
	})
}
