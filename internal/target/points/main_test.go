package points_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/points/pointssim/pointssimtest"
	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const testKey = "sk-points-target-test"

// testTimeout is the points client's timeout in tests: short, so that the
// settle time of a lost recharge (timeout + points.SettleMargin) is too.
const testTimeout = 2 * time.Second

// testProbe is how often a held target is probed in tests.
const testProbe = 500 * time.Millisecond

type testBundle struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	sim      *pointssimtest.Server
	settings points.Settings
	tgt      *target.Target
	reg      *target.Registry
	kind     *target.Kind
	engine   *syncer.Engine
	// api reaches the simulator as an operator would, to seed and read it.
	api *pointsapi.Client
}

// setup starts a simulator and a schema with users U1 to U4, and builds
// the points target and an engine over them.
func setup(t *testing.T) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	b := &testBundle{pool: s.Pool, q: dbsqlc.New(s.Pool)}
	b.sim = pointssimtest.Start(t, pointssim.Config{APIKeys: []string{testKey}})
	b.settings = points.Settings{BaseURL: b.sim.BaseURL(), APIKey: testKey, Timeout: testTimeout, PoolProbe: testProbe}
	tgt, err := points.New(b.settings, target.Deps{Pool: s.Pool, Logger: discard()})
	require.NoError(t, err)
	b.tgt = tgt
	b.reg, err = target.NewRegistry(tgt)
	require.NoError(t, err)
	b.kind, err = b.reg.Kind("grant")
	require.NoError(t, err)
	b.engine = b.newEngine(t)
	b.api, err = points.NewAPI(b.settings, target.Deps{})
	require.NoError(t, err)
	for i := 1; i <= 4; i++ {
		_, err := b.pool.Exec(context.Background(),
			`INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ($1, $2, '11010519491231002X', '13800138000')`,
			fmt.Sprintf("U%d", i), fmt.Sprintf("用户%d", i))
		require.NoError(t, err)
	}
	return b
}

// newEngine returns another engine on the same database and target, as
// another worker process has.
func (b *testBundle) newEngine(t *testing.T) *syncer.Engine {
	t.Helper()
	e, err := syncer.New(syncer.Config{Pool: b.pool, Registry: b.reg, Logger: discard(), Lease: 2 * time.Second})
	require.NoError(t, err)
	return e
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// grant inserts a grant; reason "" leaves it NULL.
func (b *testBundle) grant(t *testing.T, id, user string, cents int64, reason string) {
	t.Helper()
	var r *string
	if reason != "" {
		r = &reason
	}
	_, err := b.pool.Exec(context.Background(),
		`INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason) VALUES ($1, $2, $3, $4)`, id, user, cents, r)
	require.NoError(t, err)
}

func (b *testBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := b.pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

func (b *testBundle) push(t *testing.T, ids ...string) syncer.Result {
	t.Helper()
	return b.pushWith(t, b.engine, ids...)
}

func (b *testBundle) pushWith(t *testing.T, e *syncer.Engine, ids ...string) syncer.Result {
	t.Helper()
	res, err := e.Push(context.Background(), b.kind, ids, syncer.Options{})
	require.NoError(t, err)
	return res
}

// pushUntil pushes ids until done says the result is what the test waits
// for, and returns that result; it fails the test after a deadline.
func (b *testBundle) pushUntil(t *testing.T, e *syncer.Engine, done func(syncer.Result) bool, ids ...string) syncer.Result {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res := b.pushWith(t, e, ids...)
		if done(res) {
			return res
		}
		require.True(t, time.Now().Before(deadline), "still %+v", res)
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *testBundle) state(t *testing.T, id string) dbsqlc.SyncState {
	t.Helper()
	st, err := b.q.SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: string(points.Name), Kinds: []string{"grant"}, Ids: []string{id}})
	require.NoError(t, err)
	require.Len(t, st, 1)
	return st[0]
}

// rechargeRequests counts the recharge requests the simulator received.
func (b *testBundle) rechargeRequests() int64 {
	return b.sim.Stats().Endpoints[string(pointssim.EndpointRecharge)].Requests
}

// logRequests counts the ledger pages the simulator served.
func (b *testBundle) logRequests() int64 {
	return b.sim.Stats().Endpoints[string(pointssim.EndpointLogs)].Requests
}

// credits counts the applied recharges of an order (as the simulator
// received them).
func (b *testBundle) credits(orderID string) int {
	n := 0
	for _, r := range b.sim.Recharges() {
		if r.ExternalOrderID == orderID || strings.HasSuffix(r.Reason, "["+orderID+"]") {
			n++
		}
	}
	return n
}

// requireNoDoubleCredit fails when the simulator credited an order twice.
func (b *testBundle) requireNoDoubleCredit(t *testing.T) {
	t.Helper()
	d := b.sim.Duplicates(nil)
	require.Empty(t, d.ByExternalOrderID, "orders credited twice")
	require.Empty(t, d.ByReason, "orders credited twice (by reason)")
}
