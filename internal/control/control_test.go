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

// TestOutboxAndBulkRuns: a full run covers the changes already in the
// outbox and clears them; a run of some kinds leaves them to the relay;
// the status tells changes on their way from changes nobody relays.
func TestOutboxAndBulkRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outboxCount := func(t *testing.T, b *testBundle) int {
		t.Helper()
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sync_outbox`).Scan(&n))
		return n
	}
	touch := func(t *testing.T, b *testBundle, n int) {
		t.Helper()
		_, err := b.pool.Exec(ctx, `UPDATE users SET name = name || '·' WHERE channel_user_id IN (SELECT channel_user_id FROM users ORDER BY 1 LIMIT $1)`, n)
		require.NoError(t, err)
	}

	t.Run("NobodyRelays", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		touch(t, b, 5)
		st, err := b.ctl.Status(ctx, nil, 0)
		require.NoError(t, err)
		require.EqualValues(t, 5, st.Unrelayed, "no relay has made a pass: the changes wait for a full run")
		require.Zero(t, st.Queue["outbox"])

		_, err = b.pool.Exec(ctx, `INSERT INTO outbox_relay (last_pass_at) VALUES (now())`)
		require.NoError(t, err)
		st, err = b.ctl.Status(ctx, nil, 0)
		require.NoError(t, err)
		require.EqualValues(t, 5, st.Queue["outbox"], "a relay runs: the changes are on their way")
		require.Zero(t, st.Unrelayed)
	})

	t.Run("AFullRunClearsWhatItCovered", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		touch(t, b, 5)
		user, err := b.reg.Kind("user")
		require.NoError(t, err)
		_, err = b.ctl.EnqueueAll(ctx, control.AllOptions{Kinds: []*target.Kind{user}})
		require.NoError(t, err)
		require.Equal(t, 5, outboxCount(t, b), "a run of some kinds leaves the outbox to the relay")

		_, err = b.ctl.EnqueueAll(ctx, control.AllOptions{})
		require.NoError(t, err)
		require.Zero(t, outboxCount(t, b), "a full run covered them")
	})
}
