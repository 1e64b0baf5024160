package badinput_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
	"github.com/chansync/chansync/internal/target/usercenter"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim/ucsimtest"
	"github.com/chansync/chansync/internal/targets"
	"github.com/chansync/chansync/internal/testkit"
	"github.com/chansync/chansync/internal/worker"
	"github.com/chansync/chansync/internal/worker/workertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const (
	appKey = "badinput-appkey"
	secret = "badinput-secret-K7p2"
)

type testBundle struct {
	pool *pgxpool.Pool
	sim  *channelsimtest.Server
	// uc is the user centre's simulator (setupWithUserCentre), else nil.
	uc  *ucsimtest.Server
	ctl *control.Controller
	reg *target.Registry
}

// setup starts a simulator that logs every request and an in-process
// worker on a fresh schema. The outbox triggers are disabled in that
// schema, and the relay is off, so that only the bulk run and replays push:
// a fixed row reaches the channel through the replay and nothing else.
func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupTargets(t, false)
}

// setupWithUserCentre is setup with the user centre on too, against a
// strict simulator that logs every request.
func setupWithUserCentre(t *testing.T) *testBundle {
	t.Helper()
	return setupTargets(t, true)
}

func setupTargets(t *testing.T, userCentre bool) *testBundle {
	t.Helper()
	schema := dbtest.New(t)
	sim := channelsimtest.Start(t, channelsim.Config{AppKey: appKey, Secret: secret, Seed: 7, RecordRequests: true})
	b := &testBundle{pool: schema.Pool, sim: sim}
	for _, k := range kinds {
		_, err := schema.Pool.Exec(context.Background(), fmt.Sprintf("ALTER TABLE %s DISABLE TRIGGER %s_outbox", k.Table(), k.Table()))
		require.NoError(t, err)
	}
	settings := targets.Settings{Channel: channel.Settings{BaseURL: sim.URL(), AppKey: appKey, Secret: secret}}
	if userCentre {
		b.uc = ucsimtest.Start(t, ucsim.Config{AppKey: ucAK, SecretKey: ucSK, RecordRequests: true})
		settings.UserCenter = usercenter.Settings{
			BaseURL: b.uc.BaseURL(), AppKey: ucAK, SecretKey: ucSK,
			// Short, so that a create whose answer is lost is looked up
			// soon; no fault is injected here.
			Timeout: 5 * time.Second, SettleMargin: 100 * time.Millisecond,
		}
	}

	workertest.Start(t, worker.Config{
		DatabaseURL: schema.URL,
		Targets:     settings,
		Jobs: jobs.Config{
			Concurrency:       8,
			EventConcurrency:  2,
			FetchPollInterval: 50 * time.Millisecond,
			WaitSnooze:        100 * time.Millisecond,
		},
		BatchSize:       25,
		DisableRelay:    true,
		ShutdownTimeout: 10 * time.Second,
		Logger:          slog.New(slog.DiscardHandler),
	})

	rc, err := jobs.NewClient(schema.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	b.reg, err = targets.Describe(settings)
	require.NoError(t, err)
	b.ctl = control.New(control.Config{Pool: schema.Pool, Registry: b.reg, Client: rc, BatchSize: 25})
	return b
}

// drain waits until no push job is waiting or running.
func (b *testBundle) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := b.ctl.WaitIdle(ctx, 50*time.Millisecond, nil, nil)
	require.NoError(t, err)
}

func (b *testBundle) state(t *testing.T, ref rref) dbsqlc.SyncState {
	t.Helper()
	st, err := dbsqlc.New(b.pool).SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: "channel", Kinds: []string{string(ref.Kind)}, Ids: []string{ref.ID}})
	require.NoError(t, err)
	require.Lenf(t, st, 1, "no sync state for %s", ref)
	return st[0]
}

// requested returns every record the channel received a request for.
func (b *testBundle) requested() map[rref]bool {
	out := map[rref]bool{}
	for _, r := range b.sim.Requests() {
		if r.Kind != "" && r.ID != "" {
			out[rref{Kind: rkind(r.Kind), ID: r.ID}] = true
		}
	}
	return out
}

// field returns the value at a dotted JSON path of a record the channel
// holds, rendered with fmt.Sprint.
func field(rec map[string]any, path string) (string, bool) {
	var cur any = rec
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[p]; !ok {
			return "", false
		}
	}
	return fmt.Sprint(cur), true
}

// insertAll inserts the fixtures, every case's row and every dependant,
// and every now-accepted row, in one transaction, parents before children.
func insertAll(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	type stmt struct {
		kind rkind
		sql  string
	}
	var stmts []stmt
	for _, f := range fixtures {
		stmts = append(stmts, stmt{f.kind, f.insert})
	}
	for _, c := range catalogue {
		stmts = append(stmts, stmt{c.kind, insertSQL(c.kind, c.id(), c.set...)})
		for _, d := range c.dependants() {
			stmts = append(stmts, stmt{d.ref.Kind, d.insert})
		}
	}
	for _, c := range nowAccepted {
		stmts = append(stmts, stmt{c.kind, insertSQL(c.kind, c.id(), c.set...)})
	}
	slices.SortStableFunc(stmts, func(a, b stmt) int { return a.kind.Tier() - b.kind.Tier() })
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	for _, s := range stmts {
		_, err := tx.Exec(ctx, s.sql)
		require.NoErrorf(t, err, "insert: %s", s.sql)
	}
	require.NoError(t, tx.Commit(ctx))
}

func TestCatalogueIsDistinctAndLargeEnough(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	rules := map[string]bool{}
	perKind := map[rkind]int{}
	for _, c := range catalogue {
		require.Falsef(t, names[c.name], "case %s twice", c.name)
		names[c.name] = true
		perKind[c.kind]++
		if !c.blocked {
			rules[string(c.kind)+" "+c.field+" "+c.rule] = true
		}
		require.NotEmptyf(t, c.fix, "%s has no fix", c.name)
		require.NotEmptyf(t, c.want, "%s checks no fixed field", c.name)
	}
	for _, c := range nowAccepted {
		require.Falsef(t, names[c.name], "case %s twice", c.name)
		names[c.name] = true
		require.NotEmptyf(t, c.want, "%s checks no field", c.name)
	}
	require.GreaterOrEqual(t, len(rules), 25, "distinct (kind, field, rule) triples")
	for _, k := range kinds {
		require.GreaterOrEqualf(t, perKind[k], 3, "cases of kind %s", k)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	insertAll(t, b.pool)

	_, err := b.ctl.EnqueueAll(ctx, control.AllOptions{})
	require.NoError(t, err)
	b.drain(t)

	t.Run("ValidRecordsStillSync", func(t *testing.T) {
		for _, ref := range []rref{{Kind: kCompany, ID: "C-OK"}, {Kind: kUser, ID: "U-OK"}, {Kind: kTask, ID: "T-OK"}, {Kind: kApplication, ID: "A-OK"}} {
			require.Equalf(t, syncstatus.Synced, b.state(t, ref).Status, "%s", ref)
			_, ok := b.sim.Record(string(ref.Kind), ref.ID)
			require.Truef(t, ok, "channel lacks %s", ref)
		}
		for k, ks := range b.sim.Stats().Kinds {
			require.Zerof(t, ks.OrderViolations, "order violations for %s", k)
		}
		require.Equal(t, syncstatus.Dead, b.state(t, rref{Kind: kUser, ID: "U-DEAD-PARENT"}).Status)
	})

	// Records that break only rules the seed does not state are pushed
	// like any valid record.
	t.Run("NowAccepted", func(t *testing.T) {
		for _, c := range nowAccepted {
			t.Run(c.name, func(t *testing.T) {
				ref := c.ref()
				st := b.state(t, ref)
				require.Equalf(t, syncstatus.Synced, st.Status, "%s: %v", ref, st.LastError)
				rec, ok := b.sim.Record(string(ref.Kind), ref.ID)
				require.Truef(t, ok, "channel lacks %s", ref)
				for path, want := range c.want {
					got, ok := field(rec, path)
					require.Truef(t, ok, "channel's %s lacks %s", ref, path)
					require.Equalf(t, want, got, "%s %s", ref, path)
				}
			})
		}
	})

	requested := b.requested()

	t.Run("DeadLettered", func(t *testing.T) {
		for _, c := range catalogue {
			t.Run(c.name, func(t *testing.T) {
				ref := c.ref()
				st := b.state(t, ref)
				require.NotNil(t, st.LastError)
				reason := *st.LastError
				t.Logf("%s: %s", st.Status, reason)
				want := "dead"
				if c.blocked {
					want = "blocked"
				}
				require.Equal(t, want, string(st.Status), reason)
				require.Containsf(t, reason, c.field+": ", "the reason names the field")
				require.Containsf(t, reason, c.says, "the reason states the rule")

				k, err := b.reg.Kind(string(c.kind))
				require.NoError(t, err)
				built, err := k.Load(ctx, b.pool, []string{ref.ID})
				require.NoError(t, err)
				require.Contains(t, built, ref.ID)
				if c.blocked {
					require.True(t, built[ref.ID].Valid(), "the record itself is valid")
				} else {
					require.Truef(t, built[ref.ID].Errs.Has(c.field, c.rule), "want %s: %s, got %v", c.field, c.rule, built[ref.ID].Errs)
					require.Equal(t, built[ref.ID].Reason(), reason, "the stored reason is the validator's")
				}

				require.Falsef(t, requested[ref], "the channel received a request for %s", ref)
				_, held := b.sim.Record(string(ref.Kind), ref.ID)
				require.False(t, held)

				for _, d := range c.dependants() {
					ds := b.state(t, d.ref)
					require.NotNil(t, ds.LastError, d.ref.String())
					require.Equalf(t, syncstatus.Blocked, ds.Status, "%s: %s", d.ref, *ds.LastError)
					require.Containsf(t, *ds.LastError, "waits for "+d.parent.String(), "%s names its parent", d.ref)
					require.NotNil(t, ds.BlockedOnID)
					require.Equal(t, d.parent.ID, *ds.BlockedOnID)
					require.Falsef(t, requested[d.ref], "the channel received a request for %s", d.ref)
				}
			})
		}
	})

	// Fix every row, then replay each case by kind and id, as
	// `enqueue replay --kind K --id ID` does.
	for _, c := range catalogue {
		_, err := b.pool.Exec(ctx, fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s", c.kind.Table(), c.fix, c.kind.IDField(), quote(c.id())))
		require.NoErrorf(t, err, "fix %s", c.name)
	}
	for _, c := range catalogue {
		n, err := b.ctl.Replay(ctx, control.ReplayFilter{Kind: string(c.kind), ID: c.id()})
		require.NoError(t, err)
		require.Equalf(t, 1, n, "replay %s", c.name)
	}
	b.drain(t)

	t.Run("FixedAndReplayed", func(t *testing.T) {
		for _, c := range catalogue {
			t.Run(c.name, func(t *testing.T) {
				ref := c.ref()
				require.Equal(t, syncstatus.Synced, b.state(t, ref).Status)
				rec, ok := b.sim.Record(string(ref.Kind), ref.ID)
				require.Truef(t, ok, "channel lacks %s", ref)
				for path, want := range c.want {
					got, ok := field(rec, path)
					require.Truef(t, ok, "channel's %s lacks %s", ref, path)
					require.Equalf(t, want, got, "%s %s", ref, path)
				}
				for _, d := range c.dependants() {
					require.Equalf(t, syncstatus.Synced, b.state(t, d.ref).Status, "%s", d.ref)
					_, ok := b.sim.Record(string(d.ref.Kind), d.ref.ID)
					require.Truef(t, ok, "channel lacks dependant %s", d.ref)
				}
			})
		}
		for k, ks := range b.sim.Stats().Kinds {
			require.Zerof(t, ks.OrderViolations, "order violations for %s", k)
			require.Zerof(t, ks.DuplicateCreates, "duplicate creates for %s", k)
		}
	})
}
