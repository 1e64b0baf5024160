package queue_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/target"
)

type routerBundle struct {
	s      *dbtest.Schema
	client *river.Client[pgx.Tx]
	router *queue.Router
}

func setupRouter(t *testing.T) routerBundle {
	t.Helper()
	s := dbtest.New(t)
	reg := registry(t)
	client, err := jobs.NewClient(s.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	return routerBundle{s: s, client: client, router: &queue.Router{
		Events:     &queue.Inserter{Registry: reg, BatchSize: 10},
		Bulk:       &queue.Inserter{Registry: reg, BatchSize: 100},
		EventSlots: 16, BulkSlots: 64,
	}}
}

// events routes refs as the outbox relay does and returns the records
// queued on each queue.
func (b routerBundle) events(t *testing.T, refs []target.Ref) map[string]int {
	t.Helper()
	ctx := context.Background()
	tx, err := b.s.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = b.router.EventsTx(ctx, b.client, tx, refs)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	return b.queued(t)
}

// queued counts the records waiting in push jobs, by queue.
func (b routerBundle) queued(t *testing.T) map[string]int {
	t.Helper()
	rows, err := b.s.Pool.Query(context.Background(),
		`SELECT queue, sum(jsonb_array_length(args->'ids'))::int FROM river_job WHERE kind = 'push' AND state = 'available' GROUP BY queue`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var q string
		var n int
		require.NoError(t, rows.Scan(&q, &n))
		out[q] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// TestRouter: the two queues cooperate.
func TestRouter(t *testing.T) {
	t.Parallel()

	t.Run("AFewEventsGoToTheEventsQueue", func(t *testing.T) {
		t.Parallel()
		b := setupRouter(t)
		require.Equal(t, map[string]int{queue.Events: 30}, b.events(t, refs("user", 30)))
	})

	t.Run("ARecordAlreadyQueuedIsNotQueuedAgain", func(t *testing.T) {
		t.Parallel()
		b := setupRouter(t)
		_, err := b.router.Bulk.Insert(context.Background(), b.client, refs("user", 20), queue.Bulk)
		require.NoError(t, err)
		got := b.events(t, refs("user", 25))
		require.Equal(t, map[string]int{queue.Bulk: 20, queue.Events: 5}, got, "the 20 users a bulk job holds are not queued again")
		require.Equal(t, got, b.events(t, refs("user", 25)), "nor are the five now queued as events")
	})

	t.Run("ABurstSpillsIntoAnIdleBulkQueue", func(t *testing.T) {
		t.Parallel()
		b := setupRouter(t)
		got := b.events(t, refs("payment", 1000))
		require.Equal(t, 16*10, got[queue.Events], "the idle event workers take a batch each")
		require.Equal(t, 1000-16*10, got[queue.Bulk], "the rest goes to the idle bulk workers")
	})

	t.Run("ABurstStaysOffABusierBulkQueue", func(t *testing.T) {
		t.Parallel()
		b := setupRouter(t)
		_, err := b.router.Bulk.Insert(context.Background(), b.client, refs("user", 64*200), queue.Bulk)
		require.NoError(t, err)
		got := b.events(t, refs("payment", 1000))
		require.Equal(t, 1000, got[queue.Events], "events never queue behind a longer bulk backlog")
	})
}

// TestFromJobSkipsQueuedRecords: a woken record already waiting in a job
// is not queued again, and the rest go to the queue named.
func TestFromJobSkipsQueuedRecords(t *testing.T) {
	t.Parallel()
	b := setupRouter(t)
	ctx := context.Background()
	_, err := b.router.Bulk.Insert(ctx, b.client, refs("payment", 5), queue.Bulk)
	require.NoError(t, err)
	left, err := queue.Unqueued(ctx, b.s.Pool, refs("payment", 8))
	require.NoError(t, err)
	require.Equal(t, refs("payment", 8)[5:], left)
	other := []target.Ref{{Target: "channel", Kind: "application", ID: "payment-0001"}}
	left, err = queue.Unqueued(ctx, b.s.Pool, other)
	require.NoError(t, err)
	require.Equal(t, other, left, "a record of another kind with the same id is not taken for it")
}
