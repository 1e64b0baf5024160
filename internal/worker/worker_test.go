package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
	"github.com/chansync/chansync/internal/targets"
	"github.com/chansync/chansync/internal/testkit"
	"github.com/chansync/chansync/internal/worker"
	"github.com/chansync/chansync/internal/worker/workertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const (
	appKey = "e2e-appkey"
	secret = "e2e-secret-Zq81vN"
)

type testBundle struct {
	// httpAddr is where the worker serves health and metrics.
	httpAddr string
	pool     *pgxpool.Pool
	sim      *channelsimtest.Server
	ctl      *control.Controller
	reg      *target.Registry
	set      *datagen.Set
	logs     *testkit.SyncBuffer
	// invalid and dependants are the ids AddInvalid put in the set.
	invalid, dependants []string
}

type setupOpts struct {
	records     int
	faults      channelsim.Faults
	retry       *jobs.RetryPolicy
	maxAttempts int
	breaker     time.Duration
	// adminToken turns the status page on; ingestToken the ingest API.
	adminToken, ingestToken string
	// noRelay turns event-triggered pushes off.
	noRelay bool
}

func setup(t *testing.T, opts setupOpts) *testBundle {
	t.Helper()
	schema := dbtest.New(t)
	sim := channelsimtest.Start(t, channelsim.Config{AppKey: appKey, Secret: secret, Faults: opts.faults, Seed: 42})
	b := &testBundle{pool: schema.Pool, sim: sim, logs: &testkit.SyncBuffer{}}

	b.set = datagen.Generate(datagen.Options{Records: opts.records, Seed: 11})
	b.invalid, b.dependants = b.set.AddInvalid("")
	require.NoError(t, b.set.LoadQuiet(context.Background(), schema.Pool))

	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b.httpAddr = workertest.Start(t, worker.Config{
		DatabaseURL: schema.URL,
		Targets: targets.Settings{Channel: channel.Settings{
			BaseURL: sim.URL(), AppKey: appKey, Secret: secret,
		}},
		Jobs: jobs.Config{
			Concurrency:       8,
			EventConcurrency:  4,
			FetchPollInterval: 50 * time.Millisecond,
			WaitSnooze:        100 * time.Millisecond,
			RetryPolicy:       opts.retry,
			MaxAttempts:       opts.maxAttempts,
		},
		Engine:          syncer.Config{BreakerTimeout: opts.breaker},
		BatchSize:       25,
		HTTPAddr:        "127.0.0.1:0",
		AdminToken:      opts.adminToken,
		IngestToken:     opts.ingestToken,
		DisableRelay:    opts.noRelay,
		ShutdownTimeout: 10 * time.Second,
		Logger:          logger,
	}).HTTPAddr()

	rc, err := jobs.NewClient(schema.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	reg, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	b.reg = reg
	b.ctl = control.New(control.Config{Pool: schema.Pool, Registry: reg, Client: rc, BatchSize: 25})
	return b
}

// syncAll runs a bulk enqueue and waits for the queue to drain.
func (b *testBundle) syncAll(t *testing.T) []control.KindScan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := b.ctl.EnqueueAll(ctx, control.AllOptions{})
	require.NoError(t, err)
	b.drain(t)
	return run.Scans
}

func (b *testBundle) drain(t *testing.T) control.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := b.ctl.WaitIdle(ctx, 50*time.Millisecond, nil, nil)
	require.NoError(t, err)
	return st
}

// expected builds, from the local tables, what the channel must hold: the
// payload of every valid record whose parents are all expected too, keyed by
// kind and id.
func (b *testBundle) expected(t *testing.T) map[string]map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]map[string]any{}
	for _, kd := range b.reg.Kinds() { // parents come first
		k := kd.Name
		out[k] = map[string]map[string]any{}
		built, err := kd.Page(context.Background(), b.pool, "", 1_000_000)
		require.NoError(t, err)
	next:
		for _, bt := range built {
			if !bt.Valid() {
				continue
			}
			for _, p := range bt.Parents {
				if _, ok := out[p.Ref.Kind][p.Ref.ID]; !ok {
					continue next
				}
			}
			out[k][bt.Ref.ID] = decode(t, bt.JSON)
		}
	}
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// requireConverged asserts that the channel holds exactly the valid local
// records, field by field, and nothing else.
func (b *testBundle) requireConverged(t *testing.T, exclude map[string]bool) {
	t.Helper()
	want := b.expected(t)
	for _, kd := range b.reg.Kinds() {
		k := kd.Name
		held := b.sim.Records(k)
		for id, fields := range want[k] {
			if exclude[id] {
				continue
			}
			got, ok := held[id]
			require.Truef(t, ok, "channel lacks %s/%s", k, id)
			// Round-trip through JSON so numbers compare as json.Number.
			raw, err := json.Marshal(got)
			require.NoError(t, err)
			require.Equalf(t, fields, decode(t, raw), "%s/%s differs from its row", k, id)
		}
		for id := range held {
			_, ok := want[k][id]
			require.Truef(t, ok || exclude[id], "channel holds %s/%s, which is not a valid local record", k, id)
		}
	}
}

func (b *testBundle) state(t *testing.T, kind string, id string) dbsqlc.SyncState {
	t.Helper()
	st, err := dbsqlc.New(b.pool).SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: "channel", Kinds: []string{kind}, Ids: []string{id}})
	require.NoError(t, err)
	require.Lenf(t, st, 1, "no sync state for %s/%s", kind, id)
	return st[0]
}

func (b *testBundle) kind(t *testing.T, name string) *target.Kind {
	t.Helper()
	k, err := b.reg.Kind(name)
	require.NoError(t, err)
	return k
}

func kindOf(t *testing.T, id string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(id, "U"):
		return "user"
	case strings.HasPrefix(id, "C"):
		return "company"
	case strings.HasPrefix(id, "T"):
		return "task"
	case strings.HasPrefix(id, "A"):
		return "application"
	case strings.HasPrefix(id, "P"):
		return "payment"
	}
	t.Fatalf("no kind for id %s", id)
	return ""
}

func totals(s channelsim.Stats) (creates, updates int64) {
	for _, k := range s.Kinds {
		creates += k.Creates
		updates += k.Updates
	}
	return creates, updates
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{records: 1500})
	ctx := context.Background()

	b.syncAll(t)

	// Convergence, field by field; nothing invalid reached the channel.
	b.requireConverged(t, nil)
	stats := b.sim.Stats()
	for k, ks := range stats.Kinds {
		require.Zerof(t, ks.OrderViolations, "order violations for %s", k)
		require.Zerof(t, ks.DuplicateCreates, "duplicate creates for %s", k)
	}

	// Every invalid row is dead with a reason naming the field; its
	// dependants are blocked with a reason naming the parent.
	reasons := map[string]string{
		"U-BAD-IDCARD":        "id_card",
		"U-BAD-PHONE":         "phone",
		"C-BAD-CREDIT":        "social_credit_code",
		"T-END-BEFORE-START":  "recruitment_end_time",
		"T-BAD-TYPE":          "task_type",
		"P-ZERO-AMOUNT":       "amount",
		"P-USER-WITHOUT-USER": "channel_user_id",
	}
	for _, id := range b.invalid {
		st := b.state(t, kindOf(t, id), id)
		require.Equalf(t, syncstatus.Dead, st.Status, "%s", id)
		require.NotNil(t, st.LastError)
		require.Containsf(t, *st.LastError, reasons[id], "reason of %s", id)
	}
	for _, id := range b.dependants {
		st := b.state(t, kindOf(t, id), id)
		require.Equalf(t, syncstatus.Blocked, st.Status, "%s", id)
		require.Contains(t, *st.LastError, "waits for")
	}

	// Status agrees.
	status, err := b.ctl.Status(ctx, nil, 50)
	require.NoError(t, err)
	var dead, blocked int64
	for _, k := range status.Kinds {
		dead += k.Dead
		blocked += k.Blocked
		require.Zero(t, k.Retrying)
	}
	require.EqualValues(t, len(b.invalid), dead)
	require.EqualValues(t, len(b.dependants), blocked)

	t.Run("SecondRunSendsNothing", func(t *testing.T) {
		creates, updates := totals(b.sim.Stats())
		scans := b.syncAll(t)
		for _, s := range scans {
			require.Zerof(t, s.Enqueued, "%s enqueued on an unchanged run", s.Kind)
		}
		c2, u2 := totals(b.sim.Stats())
		require.Equal(t, creates, c2)
		require.Equal(t, updates, u2)
	})

	t.Run("OneChangedRowSendsOnePut", func(t *testing.T) {
		creates, updates := totals(b.sim.Stats())
		id := b.set.Tasks[3].ChannelTaskID
		_, err := b.pool.Exec(ctx, `UPDATE tasks SET task_name = '夜班分拣员', recruit_count = 42 WHERE channel_task_id = $1`, id)
		require.NoError(t, err)
		// The update reaches the channel as an event, or through the bulk
		// run if that comes first; either way it is one PUT.
		scans := b.syncAll(t)
		var enq int
		for _, s := range scans {
			enq += s.Enqueued
		}
		require.LessOrEqual(t, enq, 1)
		c2, u2 := totals(b.sim.Stats())
		require.Equal(t, creates, c2)
		require.Equal(t, updates+1, u2)
		got, ok := b.sim.Record("task", id)
		require.True(t, ok)
		require.Equal(t, "夜班分拣员", got["task_name"])
		require.Equal(t, json.Number("42"), got["recruit_count"])
	})

	t.Run("ReplayAfterFixPushesTheRecordAndItsDependants", func(t *testing.T) {
		_, err := b.pool.Exec(ctx, `UPDATE companies SET social_credit_code = '91350100M000100Y43' WHERE channel_company_id = 'C-BAD-CREDIT'`)
		require.NoError(t, err)
		n, err := b.ctl.Replay(ctx, control.ReplayFilter{Kind: "company", ID: "C-BAD-CREDIT"})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Eventually(t, func() bool {
			_, okA := b.sim.Record("application", "A-UNDER-BLOCKED-TASK")
			return okA
		}, time.Minute, 50*time.Millisecond, "the company's blocked task and application follow it")
		b.drain(t)
		require.Equal(t, syncstatus.Synced, b.state(t, "task", "T-UNDER-BAD-COMPANY").Status)
		b.requireConverged(t, nil)
		for k, ks := range b.sim.Stats().Kinds {
			require.Zerof(t, ks.OrderViolations, "order violations for %s", k)
		}
	})

	t.Run("HealthAndMetrics", func(t *testing.T) {
		get := func(path string) (int, string) {
			resp, err := http.Get("http://" + b.httpAddr + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, string(body)
		}
		code, _ := get("/healthz")
		require.Equal(t, 200, code)
		code, body := get("/readyz")
		require.Equal(t, 200, code, body)
		code, body = get("/metrics")
		require.Equal(t, 200, code)
		for _, name := range []string{
			`chansync_pushes_total{kind="company",outcome="accepted",target="channel"}`,
			"chansync_push_duration_seconds_bucket",
			`chansync_records_failing{kind="user",status="dead",target="channel"} 2`,
			"chansync_database_up 1", "chansync_outbox_entries", "chansync_outbox_oldest_seconds",
			`chansync_target_requests_total{result="ok",route="POST /auth/token",target="channel"} 1`,
			`chansync_target_state{state="ok",target="channel"} 1`,
			`chansync_target_requests_total{result="ok",route="POST /users",target="channel"}`,
		} {
			require.Truef(t, strings.Contains(body, name), "/metrics lacks %s", name)
		}
		require.NotContains(t, body, b.set.Users[0].ChannelUserID, "no record ids in metrics")
	})

	t.Run("NoSecretsInLogs", func(t *testing.T) {
		logs := b.logs.String()
		require.NotEmpty(t, logs)
		require.NotContains(t, logs, secret)
		require.NotContains(t, logs, b.set.Users[0].IDCard)
		require.NotContains(t, logs, b.set.Users[0].Phone)
	})
}

func TestChangeDuringPushStillArrives(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{records: 50})
	ctx := context.Background()
	b.syncAll(t)

	// Slow the channel so that the next push is in flight when the row
	// changes again.
	require.NoError(t, b.sim.SetFaults(channelsim.Faults{Latency: 400 * time.Millisecond}))
	id := b.set.Users[0].ChannelUserID
	_, err := b.pool.Exec(ctx, `UPDATE users SET name = '第一版' WHERE channel_user_id = $1`, id)
	require.NoError(t, err)
	_, err = b.ctl.Push(ctx, b.kind(t, "user"), []string{id})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return b.state(t, "user", id).LeaseUntil != nil
	}, 10*time.Second, 10*time.Millisecond, "the first push starts")

	_, err = b.pool.Exec(ctx, `UPDATE users SET name = '第二版' WHERE channel_user_id = $1`, id)
	require.NoError(t, err)
	_, err = b.ctl.Push(ctx, b.kind(t, "user"), []string{id})
	require.NoError(t, err)
	b.drain(t)

	got, ok := b.sim.Record("user", id)
	require.True(t, ok)
	require.Equal(t, "第二版", got["name"], "the change made during the push reached the channel")
	require.NoError(t, b.sim.SetFaults(channelsim.Faults{}))
	b.requireConverged(t, nil)
}

func TestFaultyChannelConverges(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{records: 600, faults: channelsim.Faults{
		CodeRates:      map[int]float64{5001: 0.05, 1003: 0.02},
		Status500Rate:  0.05,
		BadGatewayRate: 0.03,
		RateLimitRate:  0.03,
		DropBeforeRate: 0.02,
		DropAfterRate:  0.02,
	}, retry: &jobs.RetryPolicy{Initial: 50 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.2}})
	b.syncAll(t)
	st := b.drain(t)
	for _, k := range st.Kinds {
		require.Zerof(t, k.Retrying, "%s still retrying", k.Kind)
	}
	b.requireConverged(t, nil)
	for k, ks := range b.sim.Stats().Kinds {
		require.Zerof(t, ks.OrderViolations, "order violations for %s", k)
	}
	require.NotEmpty(t, b.sim.Stats().Faults)
}

func TestOutageSpendsNoAttempts(t *testing.T) {
	t.Parallel()
	// Three attempts with fast retries: without the circuit breaker every
	// record would be dead well before the channel comes back.
	b := setup(t, setupOpts{
		records: 300, maxAttempts: 3, breaker: 300 * time.Millisecond,
		retry:  &jobs.RetryPolicy{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		faults: channelsim.Faults{Down: channelsim.Down503},
	})
	ctx := context.Background()
	_, err := b.ctl.EnqueueAll(ctx, control.AllOptions{})
	require.NoError(t, err)
	time.Sleep(3 * time.Second) // the outage
	require.NoError(t, b.sim.SetFaults(channelsim.Faults{}))
	st := b.drain(t)
	for _, k := range st.Kinds {
		require.EqualValuesf(t, 0, k.Retrying, "%s retrying", k.Kind)
	}
	b.requireConverged(t, nil)
	// Only the invalid records are dead: none was used up by the outage.
	status, err := b.ctl.Status(ctx, nil, 100)
	require.NoError(t, err)
	for _, d := range status.DeadLetters {
		require.Containsf(t, append(b.invalid, b.dependants...), d.ID, "%s/%s dead: %s", d.Kind, d.ID, d.Reason)
		require.NotContains(t, d.Reason, "gave up")
	}
	require.Less(t, b.sim.Stats().Faults[channelsim.FaultDown503], int64(200), "the down channel is not hammered")
}

func TestEventTriggeredPushes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{records: 60})
	ctx := context.Background()
	b.syncAll(t)

	t.Run("InsertOnAnotherConnectionReachesTheChannel", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, b.pool.Config().ConnString())
		require.NoError(t, err)
		defer conn.Close(ctx)
		start := time.Now()
		_, err = conn.Exec(ctx, `INSERT INTO companies (channel_company_id, company_name, social_credit_code)
			VALUES ('C-EVENT-1', '事件科技有限公司', '91350100M000100Y43')`)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, ok := b.sim.Record("company", "C-EVENT-1")
			return ok
		}, 10*time.Second, 5*time.Millisecond)
		t.Logf("commit to channel: %s", time.Since(start))
	})

	t.Run("RolledBackInsertTriggersNothing", func(t *testing.T) {
		tx, err := b.pool.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO companies (channel_company_id, company_name, social_credit_code)
			VALUES ('C-ROLLED-BACK', 'x', '91350100M000100Y43')`)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback(ctx))
		time.Sleep(500 * time.Millisecond)
		_, ok := b.sim.Record("company", "C-ROLLED-BACK")
		require.False(t, ok)
	})

	t.Run("BurstOfUpdatesEndsWithTheLastVersionInFewPuts", func(t *testing.T) {
		id := b.set.Users[5].ChannelUserID
		before := b.sim.Stats().Kinds["user"].Updates
		for i := range 100 {
			_, err := b.pool.Exec(ctx, `UPDATE users SET name = $1 WHERE channel_user_id = $2`, fmt.Sprintf("版本%03d", i), id)
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool {
			got, ok := b.sim.Record("user", id)
			return ok && got["name"] == "版本099"
		}, 10*time.Second, 10*time.Millisecond)
		b.drain(t)
		puts := b.sim.Stats().Kinds["user"].Updates - before
		require.LessOrEqual(t, puts, int64(5), "100 updates coalesce into a few pushes")
		t.Logf("100 updates -> %d PUTs", puts)
	})

	t.Run("UpdateThatChangesNothingSendsNothing", func(t *testing.T) {
		b.drain(t)
		before := b.sim.Stats().Kinds["task"].Updates
		_, err := b.pool.Exec(ctx, `UPDATE tasks SET task_name = task_name WHERE channel_task_id = $1`, b.set.Tasks[0].ChannelTaskID)
		require.NoError(t, err)
		time.Sleep(500 * time.Millisecond)
		b.drain(t)
		require.Equal(t, before, b.sim.Stats().Kinds["task"].Updates)
	})
}

// TestIngestReachesChannel writes through the worker's ingest API, as an HR
// system would, and waits for the channel to hold the record.
func TestIngestReachesChannel(t *testing.T) {
	t.Parallel()
	const token = "ingest-test-token-8Fh2kQ"
	b := setup(t, setupOpts{records: 10, ingestToken: token})
	body := `{"channel_user_id": "U-INGEST-1", "name": "张三", "id_card": "11010519491231002X", "phone": "13800138000"}`
	post := func(tok string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, "http://"+b.httpAddr+"/v1/users", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusUnauthorized, post("wrong-token-wrong-token").StatusCode)
	require.Equal(t, http.StatusAccepted, post(token).StatusCode)
	require.Eventually(t, func() bool {
		_, ok := b.sim.Records("user")["U-INGEST-1"]
		return ok
	}, 30*time.Second, 20*time.Millisecond, "the ingested user reaches the channel")
	// The channel holds the user before the push's outcome is written:
	// wait for the job to finish before reading the record's state.
	b.drain(t)
	require.Equal(t, syncstatus.Synced, b.state(t, "user", "U-INGEST-1").Status)
}
