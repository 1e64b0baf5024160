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
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/outbox"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
)

type testBundle struct {
	pool *pgxpool.Pool
	reg  *target.Registry
	set  *datagen.Set
	mu   sync.Mutex
	got  []target.Ref
}

// mirror is a second target, as a test sees one: its kind "person" carries
// users' ids and changes with a user or one of the user's applications.
var mirror = &target.Target{Name: "mirror", Kinds: []*target.Kind{{
	Target: "mirror", Name: "person", Plural: "people", IDField: "channel_user_id", Source: "user",
	Load:        func(context.Context, dbsqlc.DBTX, []string) (map[string]*target.Built, error) { return nil, nil },
	Page:        func(context.Context, dbsqlc.DBTX, string, int32) ([]*target.Built, error) { return nil, nil },
	VersionsSQL: "SELECT channel_user_id AS record_id, updated_at FROM users",
	Affected: map[string]target.AffectedFunc{
		"user": target.Identity,
		"application": func(ctx context.Context, db dbsqlc.DBTX, ids []string) ([]string, error) {
			return dbsqlc.New(db).UsersOfApplications(ctx, ids)
		},
	},
}}}

func setup(t *testing.T) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	reg, err := target.NewRegistry(&target.Target{Name: channel.Name, Kinds: channel.Kinds()}, mirror)
	require.NoError(t, err)
	b := &testBundle{pool: s.Pool, reg: reg, set: datagen.Generate(datagen.Options{Records: 40, Seed: 5})}
	require.NoError(t, b.set.LoadQuiet(context.Background(), s.Pool))
	return b
}

func (b *testBundle) relay(cfg outbox.Config, insert outbox.InsertTxFunc) *outbox.Relay {
	if insert == nil {
		insert = func(_ context.Context, _ pgx.Tx, refs []target.Ref) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.got = append(b.got, refs...)
			return nil
		}
	}
	return outbox.New(b.pool, b.reg, insert, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
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
		require.ElementsMatch(t, []target.Ref{{Target: channel.Name, Kind: "user", ID: id}, {Target: "mirror", Kind: "person", ID: id}}, b.got,
			"one change reaches every target that takes the record")
		require.Zero(t, b.entries(t))
	})

	t.Run("ChangeReachesTheRecordsItAffects", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		app := b.set.Applications[0]
		_, err := b.pool.Exec(ctx, `UPDATE applications SET status = 'rejected' WHERE channel_application_id = $1`, app.ChannelApplicationID)
		require.NoError(t, err)
		_, err = b.relay(now, nil).RelayOnce(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []target.Ref{
			{Target: channel.Name, Kind: "application", ID: app.ChannelApplicationID},
			{Target: "mirror", Kind: "person", ID: app.ChannelUserID},
		}, b.got)
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
		// Each entry (an application) is relayed once; the user records it
		// affects may be named by more than one relay's batch.
		seen := map[target.Ref]bool{}
		for _, r := range b.got {
			if r.Kind != "application" {
				continue
			}
			require.False(t, seen[r], "relayed twice: %s", r)
			seen[r] = true
		}
		require.Len(t, seen, want)
	})

	t.Run("FailedRelayLosesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(ctx, `UPDATE payments SET remark = 'x' WHERE channel_payment_id = $1`, b.set.Payments[0].ChannelPaymentID)
		require.NoError(t, err)
		// The worker "dies" between taking the entries and committing.
		_, err = b.relay(now, func(context.Context, pgx.Tx, []target.Ref) error { return errors.New("killed") }).RelayOnce(ctx)
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
			return len(b.got) == 2
		}, 5*time.Second, 5*time.Millisecond, "relayed without waiting for the hour-long poll")
	})
}
