package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/outbox"
	"github.com/chansync/chansync/internal/record"
)

type testBundle struct {
	pool *pgxpool.Pool
	set  *datagen.Set
	mu   sync.Mutex
	got  []record.Ref
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	b := &testBundle{pool: s.Pool, set: datagen.Generate(datagen.Options{Records: 40, Seed: 5})}
	require.NoError(t, b.set.LoadQuiet(context.Background(), s.Pool))
	return b
}

func (b *testBundle) relay(cfg outbox.Config, insert outbox.InsertTxFunc) *outbox.Relay {
	if insert == nil {
		insert = func(_ context.Context, _ pgx.Tx, refs []record.Ref) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.got = append(b.got, refs...)
			return nil
		}
	}
	return outbox.New(b.pool, insert, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
}

func (b *testBundle) entries(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_outbox`).Scan(&n))
	return n
}

var now = outbox.Config{Debounce: time.Microsecond, MaxDelay: time.Microsecond}

func TestRelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CommittedWriteIsRecordedRolledBackIsNot", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		tx, err := b.pool.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `UPDATE users SET name = '李雷' WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback(ctx))
		require.Zero(t, b.entries(t))

		_, err = b.pool.Exec(ctx, `UPDATE users SET name = '韩梅梅' WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		n, err := b.relay(now, nil).RelayOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []record.Ref{{Kind: record.User, ID: id}}, b.got)
		require.Zero(t, b.entries(t))
	})

	t.Run("BurstCoalescesIntoOneEntry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Tasks[0].ChannelTaskID
		for i := range 100 {
			_, err := b.pool.Exec(ctx, `UPDATE tasks SET recruit_count = $1 WHERE channel_task_id = $2`, i+1, id)
			require.NoError(t, err)
		}
		var changes int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT changes FROM sync_outbox WHERE record_id = $1`, id).Scan(&changes))
		require.Equal(t, 100, changes)
		_, err := b.relay(now, nil).RelayOnce(ctx)
		require.NoError(t, err)
		require.Len(t, b.got, 1)
	})

	t.Run("DebounceHoldsABusyRecord", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(ctx, `UPDATE companies SET business_scope = 'x' WHERE channel_company_id = $1`, b.set.Companies[0].ChannelCompanyID)
		require.NoError(t, err)
		n, err := b.relay(outbox.Config{Debounce: time.Hour, MaxDelay: time.Hour}, nil).RelayOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "not quiet long enough yet")
		require.Equal(t, 1, b.entries(t))
	})

	t.Run("ThreeRelaysRelayEachChangeOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(ctx, `UPDATE applications SET remark = 'x'`)
		require.NoError(t, err)
		want := len(b.set.Applications)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := b.relay(outbox.Config{Debounce: time.Microsecond, MaxDelay: time.Microsecond, MaxBatch: 3}, nil)
				_, err := r.RelayOnce(ctx)
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		require.Len(t, b.got, want)
		seen := map[record.Ref]bool{}
		for _, r := range b.got {
			require.False(t, seen[r], "relayed twice: %s", r)
			seen[r] = true
		}
	})

	t.Run("FailedRelayLosesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(ctx, `UPDATE payments SET remark = 'x' WHERE channel_payment_id = $1`, b.set.Payments[0].ChannelPaymentID)
		require.NoError(t, err)
		// The worker "dies" between taking the entries and committing.
		_, err = b.relay(now, func(context.Context, pgx.Tx, []record.Ref) error { return errors.New("killed") }).RelayOnce(ctx)
		require.Error(t, err)
		require.Equal(t, 1, b.entries(t), "the entry is still there")
		n, err := b.relay(now, nil).RelayOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})

	t.Run("RunIsWokenByNotify", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		r := b.relay(outbox.Config{Debounce: time.Millisecond, MaxDelay: 5 * time.Millisecond, PollInterval: time.Hour}, nil)
		go func() { defer close(done); r.Run(rctx) }()
		defer func() { cancel(); <-done }()
		time.Sleep(200 * time.Millisecond) // let it LISTEN
		_, err := b.pool.Exec(ctx, `UPDATE users SET name = '张伟' WHERE channel_user_id = $1`, b.set.Users[1].ChannelUserID)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return len(b.got) == 1
		}, 5*time.Second, 5*time.Millisecond, "relayed without waiting for the hour-long poll")
	})
}
