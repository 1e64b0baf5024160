package chaos_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/source"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// TestNoisyChannel: 5001s (as HTTP 500 and as HTTP 200 with code 5001),
// bare 502s with HTML, 429s with Retry-After, dropped connections before
// and after the request is applied, and latency with jitter.
func TestNoisyChannel(t *testing.T) {
	t.Parallel()
	b := setup(t, "noisy", options{simArgs: []string{
		"--status500-rate", "0.05", "--code-rate", "5001=0.05",
		"--bad-gateway-rate", "0.05",
		"--rate-limit-rate", "0.05", "--retry-after", "1",
		"--drop-before-rate", "0.01", "--drop-after-rate", "0.01",
		"--latency", "2ms", "--jitter", "8ms",
	}})
	b.startWorker()
	b.startWorker()
	b.enqueueAll()
	b.requireInvariants(checks{})
	st := b.sim.stats(t)
	for _, f := range []string{"status_500", "code_5001", "bad_gateway", "rate_limit", "drop_before", "drop_after", "latency"} {
		require.Positivef(t, st.Faults[f], "fault %s was never injected", f)
	}
}

// TestTokens: tokens live a few seconds and every token is revoked
// mid-run; three workers share one token through Postgres, so the channel
// sees a handful of token requests per refresh cycle, not one per worker.
func TestTokens(t *testing.T) {
	t.Parallel()
	const ttl = 3 * time.Second
	b := setup(t, "tokens", options{
		simArgs:   []string{"--token-ttl", ttl.String(), "--latency", "3ms", "--jitter", "5ms"},
		workerEnv: []string{"CHANNEL_RPS=" + strconv.Itoa(size(15, 60))},
	})
	const workers = 3
	for range workers {
		b.startWorker()
	}
	start := time.Now()
	b.enqueueAll()
	b.waitSynced(b.total()*4/10, 5*time.Minute)
	b.sim.revoke(t)
	revokedAt := time.Now()
	b.drain(5 * time.Minute)
	busy := time.Since(start)
	st := b.sim.stats(t)
	auth := st.TokenRequests + st.RefreshRequests
	cycles := int64(busy/ttl) + 1
	t.Logf("tokens: %d token and %d refresh requests over %s of pushing (%d cycles of %s, revoked after %s), %d workers; 1003 answers: %d",
		st.TokenRequests, st.RefreshRequests, busy.Round(time.Millisecond), cycles, ttl, revokedAt.Sub(start).Round(time.Millisecond), workers, rejections(st, 1003))
	// About one per cycle, however many workers: at most one and a half
	// per cycle, plus the first fetch, the revocation and one race. Without
	// the shared token it would be one per worker and cycle.
	require.LessOrEqualf(t, auth, cycles*3/2+3, "token requests: %d over %d refresh cycles with %d workers", auth, cycles, workers)
	b.requireInvariants(checks{})
}

// TestCrash: three workers; one is killed with SIGKILL mid-run and
// restarted; the records it held are pushed by the others once its leases
// run out, without waiting for River to rescue its jobs, and none of them
// is created twice; another worker gets SIGTERM and must exit 0 within its
// shutdown timeout; no job is lost.
func TestCrash(t *testing.T) {
	t.Parallel()
	const shutdown = 5 * time.Second
	b := setup(t, "crash", options{
		simArgs: []string{"--latency", "3ms", "--jitter", "5ms"},
		// Recovery is measured with the default lease: the killed worker's
		// leases end RECORD_LEASE after their last renewal, and the others
		// sweep lapsed leases every quarter of theirs.
		defaults: []string{"RECORD_LEASE"},
		workerEnv: []string{
			"CHANNEL_RPS=" + strconv.Itoa(size(15, 40)), "SHUTDOWN_TIMEOUT=" + shutdown.String(),
			// River rescues a dead worker's jobs after 40 s or a minute here
			// (5 min by default): too late to take part in the recovery
			// measured below (the test logs whether it did; in full mode it
			// requires that it did not), soon enough for the run to drain
			// afterwards.
			"RESCUE_STUCK_JOBS_AFTER=" + size(40*time.Second, time.Minute).String(),
		},
	})
	// The worker to be killed runs with the defaults of everything that
	// bounds its jobs and leases.
	w1 := b.startWorkerEnv(withoutKeys(b.env, "JOB_TIMEOUT", "RESCUE_STUCK_JOBS_AFTER"))
	w1ID := riverClientID(t, w1)
	w2 := b.startWorker()
	b.startWorker()
	b.enqueueAll()

	b.waitSynced(b.total()/4, 5*time.Minute)
	w1.signal(t, syscall.SIGKILL)
	killedAt := time.Now()
	require.Equal(t, -1, w1.wait(t, 30*time.Second), "SIGKILL")
	h := b.heldBy(w1ID)
	require.NotEmpty(t, h.refs, "the killed worker was pushing records")
	recovered := b.watchRecovery(h, killedAt)
	b.startWorker() // the restart

	b.waitSynced(b.total()/2, 5*time.Minute)
	w2.signal(t, syscall.SIGTERM)
	stoppedAt := time.Now()
	// The shutdown timeout, plus the hard stop's own bound (in-flight jobs
	// cancelled and handed back) — exit 0 either way.
	require.Equal(t, 0, w2.wait(t, shutdown+15*time.Second), "SIGTERM: exit code")
	t.Logf("crash: SIGTERM to exit took %s (shutdown timeout %s)", time.Since(stoppedAt).Round(time.Millisecond), shutdown)
	require.True(t, w2.log.contains(`"worker stopped"`), "the stopped worker says so")

	r := <-recovered
	require.NoError(t, r.err)
	t.Logf("crash: the killed worker held %d records not yet accepted (%d of them leased) in %d running jobs; "+
		"the last of them was accepted %s after the kill (default RECORD_LEASE); %d of its %d jobs were still running in River (not rescued) then",
		len(h.refs), h.leased, len(h.jobs), r.took.Round(time.Millisecond), r.stillRunning, len(h.jobs))
	if full() {
		require.Less(t, r.took, 60*time.Second, "a killed worker's records are pushed by the others within 60 s")
		require.Equal(t, len(h.jobs), r.stillRunning, "recovered without River's rescue of the killed worker's jobs")
	}
	b.requireInvariants(checks{})
}

// TestDatabaseTrouble: the workers' Postgres connections are terminated
// (pg_terminate_backend) several times mid-run; the workers recover on
// their own.
func TestDatabaseTrouble(t *testing.T) {
	t.Parallel()
	b := setup(t, "dbtrouble", options{
		simArgs:   []string{"--latency", "3ms", "--jitter", "5ms"},
		workerEnv: []string{"CHANNEL_RPS=" + strconv.Itoa(size(20, 60))},
	})
	b.startWorker()
	b.startWorker()
	b.enqueueAll()
	var killed int
	for _, frac := range []int{2, 4, 6} {
		b.waitSynced(b.total()*frac/10, 5*time.Minute)
		n := b.terminateWorkerConnections()
		require.Positive(t, n, "the workers' connections were found")
		killed += n
	}
	t.Logf("dbtrouble: terminated %d worker connections in three rounds", killed)
	b.requireInvariants(checks{})
	b.checkWorkersAlive()
}

// TestOutage: the channel answers nothing, then 503, for longer than the
// few attempts the workers may spend would survive; the circuit breaker
// pauses pushes, so no record is used up as a dead letter by the outage.
func TestOutage(t *testing.T) {
	t.Parallel()
	b := setup(t, "outage", options{
		simArgs: []string{"--latency", "2ms", "--jitter", "5ms"},
		workerEnv: []string{
			"CHANNEL_RPS=" + strconv.Itoa(size(20, 60)),
			// Three attempts 200ms and 400ms apart: without the breaker,
			// every record pushed during the outage would be dead in a second.
			"MAX_ATTEMPTS=3", "RETRY_INITIAL=200ms", "RETRY_MAX=400ms",
			"BREAKER_FAILURES=3", "BREAKER_TIMEOUT=500ms",
		},
	})
	b.startWorker()
	b.startWorker()
	b.enqueueAll()
	b.waitSynced(b.total()/5, 5*time.Minute)
	outage := size(6*time.Second, 20*time.Second)
	b.sim.setFaults(t, channelsim.Faults{Down: channelsim.DownClose})
	time.Sleep(outage / 2) // the outage itself: connections closed...
	b.sim.setFaults(t, channelsim.Faults{Down: channelsim.Down503})
	time.Sleep(outage / 2) // ...then 503s
	b.sim.setFaults(t, channelsim.Faults{})
	st := b.sim.stats(t)
	down := st.Faults[channelsim.FaultDownClose] + st.Faults[channelsim.FaultDown503]
	t.Logf("outage: %s down, %d requests refused meanwhile", outage, down)
	require.Positive(t, down, "the workers met the outage")
	b.requireInvariants(checks{})
}

// TestPermission: some ids answer 1004 (simulator --deny, and the admin
// permission endpoint); they are dead-lettered with the reason; once the
// channel allows them, `enqueue replay --all --yes` brings them through and
// nothing else is pushed again.
func TestPermission(t *testing.T) {
	t.Parallel()
	refused := map[string]bool{}
	b := setup(t, "permission", options{
		simArgsFunc: func(b *bundle) []string {
			var args []string
			for _, id := range b.someIDs("user", 2, 1) {
				refused[id] = true
				args = append(args, "--deny", "user/"+id)
			}
			for _, id := range b.someIDs("task", 1, 2) {
				refused[id] = true
				args = append(args, "--deny", "task/"+id)
			}
			return args
		},
		simArgs: []string{"--latency", "1ms", "--jitter", "3ms"},
	})
	later := b.someIDs("application", 5, 1)
	later = append(later, b.someIDs("payment", 7, 1)...)
	b.sim.permission(t, channelsim.PermissionChange{Kind: "*", Deny: later})
	for _, id := range later {
		refused[id] = true
	}
	b.startWorker()
	b.startWorker()
	b.enqueueAll()
	b.requireInvariants(checks{refused: refused})

	// The channel fixes its side; the operator replays every dead letter.
	withRefused, without := b.local(checks{refused: refused}), b.local(checks{})
	replayed := map[string]bool{}
	for _, k := range chaosKinds {
		for id, lr := range without[k] {
			if lr.expected && !withRefused[k][id].expected {
				replayed[id] = true
			}
		}
	}
	b.sim.permission(t, channelsim.PermissionChange{AllowAll: true})
	before := len(b.sim.requests(t))
	code, out := b.enqueue(time.Minute, "replay", "--all", "--yes")
	require.Equalf(t, 0, code, "replay: %s", out)
	t.Logf("permission: %s", out)
	b.drain(3 * time.Minute)
	pushed := map[string]bool{}
	for _, r := range b.sim.requests(t)[before:] {
		if r.Kind != "" && (r.Method == "POST" || r.Method == "PUT") {
			require.Truef(t, replayed[r.ID], "replay pushed %s %s/%s, which was not a dead letter of the refusal", r.Method, r.Kind, r.ID)
			pushed[r.ID] = true
		}
	}
	require.Equal(t, len(replayed), len(pushed), "every refused record and its dependants came through")
	b.requireInvariants(checks{})
}

// someIDs returns n ids of generated (valid) records of a kind, from the
// offset-th on.
func (b *bundle) someIDs(k string, n, offset int) []string {
	b.t.Helper()
	src, err := source.Lookup(k)
	require.NoError(b.t, err)
	rows, err := b.pool.Query(context.Background(),
		`SELECT `+src.IDColumn+` FROM `+src.Table+` WHERE `+src.IDColumn+` ~ '^[A-Z][0-9]+$' ORDER BY 1 OFFSET $1 LIMIT $2`, offset, n)
	require.NoError(b.t, err)
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(b.t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(b.t, rows.Err())
	require.Len(b.t, ids, n)
	return ids
}

func rejections(st channelsim.Stats, code int) int64 {
	n := st.AuthRejections[code]
	for _, k := range st.Kinds {
		n += k.Rejections[code]
	}
	return n
}

// chaosKinds are the channel's kinds, parents first.
var chaosKinds = []string{"company", "user", "task", "application", "payment"}
