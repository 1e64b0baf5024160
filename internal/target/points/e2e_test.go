package points_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// startWorker starts a River client working push jobs through its own
// engine, as one worker process does, and stops it when the test ends.
func (b *testBundle) startWorker(t *testing.T) *river.Client[pgx.Tx] {
	t.Helper()
	engine := b.newEngine(t)
	jcfg := jobs.Config{FetchPollInterval: 50 * time.Millisecond, WaitSnooze: 100 * time.Millisecond, Logger: discard()}
	workers := river.NewWorkers()
	river.AddWorker(workers, jobs.NewPushWorker(b.reg, engine, jcfg))
	rc, err := jobs.NewClient(b.pool, workers, jcfg)
	require.NoError(t, err)
	require.NoError(t, rc.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.Stop(ctx)
	})
	return rc
}

// TestEmptyPoolPausesEveryWorkerUntilToppedUp runs the real push path
// (River, two worker processes, the engine, the points client) against
// the simulator with an empty pool: every grant waits, none is failed or
// dead, and once the pool is topped up a probe resumes them all, each
// credited once.
func TestEmptyPoolPausesEveryWorkerUntilToppedUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	require.NoError(t, b.sim.SetPool(0))
	const n = 12
	refs := make([]target.Ref, n)
	for i := range n {
		id := fmt.Sprintf("G%02d", i)
		b.grant(t, id, fmt.Sprintf("U%d", i%4+1), int64(100+i), "季度奖励")
		refs[i] = b.kind.Ref(id)
	}
	rc := b.startWorker(t)
	b.startWorker(t)
	in := &queue.Inserter{Registry: b.reg, BatchSize: 3}
	_, err := in.Insert(ctx, rc, refs, queue.Events)
	require.NoError(t, err)

	// Held: the pool refused, and probes keep being refused.
	require.Eventually(t, func() bool { return b.sim.Stats().PoolTooLow >= 2 }, 30*time.Second, 50*time.Millisecond)
	h, err := b.q.GetHold(ctx, "points")
	require.NoError(t, err)
	require.Equal(t, "points pool too low", h.Reason)
	var failed int
	require.NoError(t, b.pool.QueryRow(ctx,
		`SELECT count(*) FROM sync_state WHERE target = 'points' AND (attempts > 0 OR status IN ('retrying', 'dead'))`).Scan(&failed))
	require.Zero(t, failed, "no grant failed, dead or charged an attempt")
	require.Empty(t, b.sim.Recharges())

	_, err = b.sim.TopUpPool(1_000_000)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var synced int
		require.NoError(t, b.pool.QueryRow(ctx,
			`SELECT count(*) FROM sync_state WHERE target = 'points' AND status = $1`, syncstatus.Synced).Scan(&synced))
		return synced == n
	}, 60*time.Second, 100*time.Millisecond)
	require.Len(t, b.sim.Recharges(), n)
	b.requireNoDoubleCredit(t)
	_, err = b.q.GetHold(ctx, "points")
	require.ErrorIs(t, err, pgx.ErrNoRows, "the hold is lifted")
}
