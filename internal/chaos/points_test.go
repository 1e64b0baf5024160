package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/validate"
)

// pointsKey is the points API key in the points scenarios.
const pointsKey = "sk-chaos-points-Vb7q2"

// pointsPool is the developer's pool at the start and what a top-up adds:
// far more than every grant of a full run.
const pointsPool = 1_000_000_000_000

// pointsSim is an apihubsim process (its points API) and a client of the
// points admin API.
type pointsSim struct {
	proc *proc
	// base is APIHUB_BASE_URL (the host's root); admin the points admin
	// endpoints.
	base, admin string
}

// startPointsSim starts apihubsim on a free port with the points faults f,
// accepting pointsKey, with a pool of pointsPool.
func startPointsSim(t *testing.T, name string, f pointssim.Faults) *pointsSim {
	t.Helper()
	faults, err := json.Marshal(f)
	require.NoError(t, err)
	p, base := startAPIHubSim(t, name, []string{"APIHUBSIM_POINTS_API_KEYS=" + pointsKey},
		"--points-faults", string(faults), "--points-pool-cents", strconv.FormatInt(pointsPool, 10))
	return &pointsSim{proc: p, base: base, admin: base + pointssim.DefaultAdminPrefix}
}

func (s *pointsSim) stats(t *testing.T) pointssim.Stats {
	return adminGet[pointssim.Stats](t, s.admin+"/stats")
}

func (s *pointsSim) state(t *testing.T) pointssim.State {
	return adminGet[pointssim.State](t, s.admin+"/state")
}

func (s *pointsSim) requests(t *testing.T) []pointssim.Request {
	return adminGet[[]pointssim.Request](t, s.admin+"/requests")
}

func (s *pointsSim) duplicates(t *testing.T) pointssim.DuplicateReport {
	return adminGet[pointssim.DuplicateReport](t, s.admin+"/duplicates")
}

// setPool sets the developer's pool.
func (s *pointsSim) setPool(t *testing.T, cents int64) {
	t.Helper()
	adminCall(t, s.admin+"/pool/set", http.MethodPost, pointssim.PoolChange{BalanceCents: &cents}, nil)
}

// topUp adds to the developer's pool.
func (s *pointsSim) topUp(t *testing.T, cents int64) {
	t.Helper()
	adminCall(t, s.admin+"/pool/topup", http.MethodPost, pointssim.PoolChange{AmountCents: &cents}, nil)
}

// ledger reads a user's ledger, newest first, from the admin API; found is
// false for a user the simulator has never seen.
func (s *pointsSim) ledger(t *testing.T, user string) (entries []pointssim.Entry, found bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin+"/ledger?client_user_id="+url.QueryEscape(user), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode == http.StatusNotFound {
		return nil, false
	}
	require.Equalf(t, http.StatusOK, resp.StatusCode, "ledger of %s: %s", user, b)
	require.NoError(t, json.Unmarshal(b, &entries))
	return entries, true
}

// rechargesSent counts the recharge requests the simulator received.
func (s *pointsSim) rechargesSent(t *testing.T) int64 {
	t.Helper()
	return s.stats(t).Endpoints[string(pointssim.EndpointRecharge)].Requests
}

// badGrant is a grant the points target must refuse, written by SQL as an
// HR system could (points_grants takes it: its rules are the worker's, so
// that a bad row is reported rather than refused).
type badGrant struct {
	id     string
	amount int64
	// field is what the dead letter's reason must name.
	field string
}

// badGrants are the scenario's invalid grants, all to badGrantUser.
var badGrants = []badGrant{
	{"G-BAD-ZERO", 0, "amount_cents"},
	{"G-BAD-NEGATIVE", -500, "amount_cents"},
	{"G-BAD-BEYOND-APIHUB", 1 << 53, "amount_cents"},
	{"", 100, "external_order_id"},
	{strings.Repeat("G", 65), 100, "external_order_id"},
	{"G-BAD SPACE", 100, "external_order_id"},
}

// badGrantUser holds the bad grants and no other: the simulator must never
// hear of them.
const badGrantUser = "U-PTS-BAD"

// TestPointsNoisyPoolEmptiedAndKilled: three workers credit points grants
// (550, or 5,400 at full size; one user's fill more than a ledger page) while
// the points API loses the answer of one recharge in ten after applying it
// and answers 500 to one request in twenty on recharge, logs and balance;
// mid-run the developer's pool is emptied (402: the target is held, "points
// pool too low", in every worker, and no grant dies for it) and topped up
// again, and then one worker is killed with SIGKILL and restarted. In the
// end every valid grant is credited exactly once (one recharge entry
// carrying its order id, of its amount, in its user's ledger), every
// balance is the sum of its user's valid grants, and the invalid grants are
// dead letters naming the field, never sent. The channel, pushed beside,
// keeps its own invariants.
func TestPointsNoisyPoolEmptiedAndKilled(t *testing.T) {
	t.Parallel()
	noisy := simkit.Faults{Status500Rate: 0.05, Latency: time.Millisecond, Jitter: 4 * time.Millisecond}
	lossy := noisy
	lossy.DropAfterRate = 0.1
	probe := size(2*time.Second, 5*time.Second)
	b := setup(t, "points", options{
		simArgs: []string{"--latency", "2ms", "--jitter", "5ms"},
		grants:  size(300, 5000),
		// The projects endpoints (an hourly mirror) are spared: a mirror
		// run would only add noise.
		points: &pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{
			pointssim.EndpointRecharge: lossy, pointssim.EndpointLogs: noisy, pointssim.EndpointBalance: noisy,
		}},
		workerEnv: []string{
			"POINTS_POOL_PROBE=" + probe.String(),
			// Paced, so that the pool and the kill meet grants on their way.
			"APIHUB_RPS=" + strconv.Itoa(size(15, 40)),
			"HTTP_ADDR=127.0.0.1:0",
		},
	})
	ctx := context.Background()

	// One user with more grants than a ledger page holds, and the bad
	// grants, on a user of their own.
	heavy := b.someIDs("user", 1, 0)[0]
	_, err := b.pool.Exec(ctx, `INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason)
		SELECT 'GH' || lpad(i::text, 5, '0'), $1, (i % 50 + 1) * 100, '批量奖励' FROM generate_series(1, $2::int) AS i`,
		heavy, size(250, 400))
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ($1, '积分测试', $2, '13900139000')`,
		badGrantUser, datagen.IDCard(rand.New(rand.NewPCG(12, 9))))
	require.NoError(t, err)
	for _, g := range badGrants {
		_, err := b.pool.Exec(ctx, `INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason) VALUES ($1, $2, $3, '无效发放')`,
			g.id, badGrantUser, g.amount)
		require.NoErrorf(t, err, "the table takes grant %q", g.id)
	}
	var valid int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM points_grants WHERE channel_user_id <> $1`, badGrantUser).Scan(&valid))

	w1 := b.startWorker()
	b.startWorker()
	b.startWorker()
	start := time.Now()
	b.enqueueAll()

	// The pool runs dry once a quarter of the grants are credited.
	b.waitGrantsCredited(valid/4, 5*time.Minute)
	b.points.setPool(t, 0)
	emptied := time.Now()
	hold := b.waitPointsHold(time.Minute)
	require.Equal(t, points.HoldPoolLow, hold.Reason)
	t.Logf("points: pool emptied after %s with %d of %d grants credited; held %s later (%s)",
		emptied.Sub(start).Round(time.Millisecond), b.grantsCredited(), valid, time.Since(emptied).Round(time.Millisecond), hold.Detail)

	// What operators see: enqueue status and every worker's metrics.
	code, out := b.enqueue(time.Minute, "status", "--target", "points", "--json")
	require.Equalf(t, 0, code, "enqueue status: %s", out)
	var st control.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Truef(t, slices.ContainsFunc(st.Holds, func(h control.Hold) bool {
		return h.Target == string(points.Name) && h.Reason == points.HoldPoolLow
	}), "enqueue status shows the hold: %+v", st.Holds)
	for _, w := range b.workers {
		require.Truef(t, b.metricHeld(w), "%s: chansync_target_held{target=points, reason=%q} is 1", w.name, points.HoldPoolLow)
	}

	// Dry for a while: grants wait, none dies.
	for deadline := time.Now().Add(size(5*time.Second, 20*time.Second)); time.Now().Before(deadline); {
		b.checkWorkersAlive()
		require.Empty(t, b.deadGrants(), "no grant dies while the pool is empty")
		time.Sleep(200 * time.Millisecond)
	}
	dry := b.points.stats(t)
	b.points.topUp(t, pointsPool)
	toppedUp := time.Now()
	b.waitPointsResumed(dry.Recharges, size(2*time.Minute, 5*time.Minute))
	hl := b.holdLog(emptied, toppedUp)
	t.Logf("points: pool topped up after %s dry; the hold (since %s) was lifted %s after the top-up: it lasted %s; "+
		"%d probes, %d pushes met 402 (probes included); the hold was lifted %d times while the pool was still dry (at %s)",
		toppedUp.Sub(emptied).Round(time.Millisecond), hold.Since.Format("15:04:05.000"),
		hl.lifted.Sub(toppedUp).Round(time.Millisecond), hl.lifted.Sub(hold.Since).Round(time.Millisecond),
		hl.probes, hl.held, len(hl.liftedDry), hl.liftedDry)

	// Kill a worker once most grants are in.
	b.waitGrantsCredited(valid*6/10, 5*time.Minute)
	w1ID := riverClientID(t, w1)
	w1.signal(t, syscall.SIGKILL)
	require.Equal(t, -1, w1.wait(t, 30*time.Second), "SIGKILL")
	t.Logf("points: killed %s with %d of %d grants credited; it held the leases of %d grants not yet credited",
		w1.name, b.grantsCredited(), valid, b.grantsLeasedBy(w1ID))
	b.startWorker() // the restart

	b.requireInvariants(checks{})
	f := b.requirePoints(heavy)
	f.beforeTopUp = dry.Recharges
	// What the pool paid after the top-up: the valid grants not credited
	// before it ran dry (nothing was applied while it was).
	require.Equal(t, pointsPool-(f.cents-dry.RechargedCents), b.points.state(t).PoolCents, "the pool paid for the valid grants only")
	t.Logf("points: %s", f)
}

// pointsFigures are a points run's numbers, for the log.
type pointsFigures struct {
	grants, users, heavyEntries         int
	sent, applied, lost, lostOther      int64
	poolTooLow, status500               int64
	ledgerPages, ledgerReads, laterPage int
	credits                             map[int]int
	// cents is the sum of the valid grants; beforeTopUp the recharges
	// applied before the pool was topped up.
	cents, beforeTopUp int64
}

func (f pointsFigures) String() string {
	return fmt.Sprintf("%d valid grants of %d users (one with %d ledger entries); recharges sent %d, applied %d, answers lost %d "+
		"(and %d answers to recharges not applied), 402 answers %d, injected 500s %d; ledger reads: %d pages "+
		"(%d reads from page 1, %d later pages); credits per grant %v; %d recharges applied before the pool ran dry",
		f.grants, f.users, f.heavyEntries, f.sent, f.applied, f.lost, f.lostOther, f.poolTooLow, f.status500,
		f.ledgerPages, f.ledgerReads, f.laterPage, f.credits, f.beforeTopUp)
}

// grantsCredited counts the grants the points target accepted so far.
func (b *bundle) grantsCredited() int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM sync_state WHERE target = 'points' AND accepted_at IS NOT NULL`).Scan(&n))
	return n
}

// waitGrantsCredited waits until at least n grants were credited.
func (b *bundle) waitGrantsCredited(n int, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for b.grantsCredited() < n {
		if time.Now().After(deadline) {
			b.t.Fatalf("fewer than %d grants credited after %s (%d)", n, d, b.grantsCredited())
		}
		b.checkWorkersAlive()
		time.Sleep(50 * time.Millisecond)
	}
}

// pointsHold returns the hold on points, if any.
func (b *bundle) pointsHold() (control.Hold, bool) {
	b.t.Helper()
	holds, err := b.ctl.Holds(context.Background())
	require.NoError(b.t, err)
	for _, h := range holds {
		if h.Target == string(points.Name) {
			return h, true
		}
	}
	return control.Hold{}, false
}

// waitPointsHold waits until points is held, and returns the hold.
func (b *bundle) waitPointsHold(d time.Duration) control.Hold {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if h, ok := b.pointsHold(); ok {
			return h
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("points was not held within %s of the pool running dry", d)
		}
		b.checkWorkersAlive()
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPointsResumed waits until points is no longer held and a recharge
// was applied after the applied-th: pushing resumed after the top-up.
func (b *bundle) waitPointsResumed(applied int64, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		h, held := b.pointsHold()
		if held {
			require.Equal(b.t, points.HoldPoolLow, h.Reason, "held for the pool only")
		} else if b.points.stats(b.t).Recharges > applied {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("points did not resume within %s of the top-up: held %v %+v", d, held, h)
		}
		b.checkWorkersAlive()
		time.Sleep(20 * time.Millisecond)
	}
}

// holdLog is the pool hold as the workers logged it.
type holdLog struct {
	// lifted is when a probe lifted it after the top-up.
	lifted time.Time
	// liftedDry are the times a probe lifted it while the pool was still
	// dry.
	liftedDry []string
	// probes counts the probes; held the pushes that met 402 and held the
	// target (probes among them).
	probes, held int
}

// holdLog reads the workers' logs for the pool hold between the pool
// running dry and the first lift after the top-up (waiting up to a few
// seconds for that line to be written).
func (b *bundle) holdLog(emptied, toppedUp time.Time) holdLog {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var hl holdLog
		var lines []logLine
		for _, w := range b.workers {
			for _, l := range w.logLines(string(points.Name)) {
				if l.at.After(emptied) {
					lines = append(lines, l)
				}
			}
		}
		slices.SortFunc(lines, func(a, b logLine) int { return a.at.Compare(b.at) })
		for _, l := range lines {
			switch {
			case l.msg == "target hold lifted: pushing resumes" && l.at.Before(toppedUp):
				hl.liftedDry = append(hl.liftedDry, l.at.Format("15:04:05.000"))
			case l.msg == "target hold lifted: pushing resumes":
				hl.lifted = l.at
			case l.msg == "probing a held target":
				hl.probes++
			case l.msg == "target held: pushing to it paused in every worker":
				hl.held++
			}
			if !hl.lifted.IsZero() {
				return hl
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no worker logged the lift of the hold after the top-up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deadGrants returns the grants that are dead letters, other than the bad
// ones, with their reasons.
func (b *bundle) deadGrants() map[string]string {
	b.t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT record_id, coalesce(last_error, '') FROM sync_state WHERE target = 'points' AND status = 'dead'`)
	require.NoError(b.t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, reason string
		require.NoError(b.t, rows.Scan(&id, &reason))
		if !slices.ContainsFunc(badGrants, func(g badGrant) bool { return g.id == id }) {
			out[id] = reason
		}
	}
	require.NoError(b.t, rows.Err())
	return out
}

// grantsLeasedBy counts the grants not yet credited whose leases are held
// by pushes of the worker whose River client id is clientID.
func (b *bundle) grantsLeasedBy(clientID string) int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.pool.QueryRow(context.Background(), `
		SELECT count(*) FROM sync_state s
		JOIN river_job j ON j.id::text = split_part(s.lease_holder, '/', 1)
		WHERE s.target = 'points' AND s.accepted_at IS NULL AND s.lease_until > now()
		  AND j.attempted_by[array_upper(j.attempted_by, 1)] = $1`, clientID).Scan(&n))
	return n
}

// metricHeld reports whether a worker's /metrics shows points held for
// the pool.
func (b *bundle) metricHeld(w *proc) bool {
	b.t.Helper()
	addr, ok := w.logAttr("worker started", "http_addr")
	require.Truef(b.t, ok && addr != "", "%s logged no http_addr", w.name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	require.NoError(b.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	require.Equal(b.t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "chansync_target_held{") && strings.Contains(line, `target="points"`) &&
			strings.Contains(line, `reason="`+points.HoldPoolLow+`"`) {
			return strings.HasSuffix(line, " 1")
		}
	}
	require.NoError(b.t, sc.Err())
	return false
}

// localGrant is one points_grants row.
type localGrant struct {
	id, user string
	amount   int64
}

// requirePoints checks the points target's invariants once the queue is
// idle: every valid grant synced and credited exactly once (one recharge
// entry in its user's ledger carrying its order id, of its amount), each
// balance the sum of its user's valid grants, nothing else credited; every
// bad grant dead with a reason naming the field, never sent; no dead
// letter but those, and none for 402. heavy is the user with more grants
// than a ledger page holds. It returns the run's figures.
func (b *bundle) requirePoints(heavy string) pointsFigures {
	t := b.t
	t.Helper()
	ctx := context.Background()
	bad := map[string]badGrant{}
	for _, g := range badGrants {
		bad[g.id] = g
	}

	// The rows, as the points target reads them (by id: a bulk run's
	// paging never sees the order id ""): exactly the bad grants are
	// invalid.
	var ids []string
	rows, err := b.pool.Query(ctx, `SELECT external_order_id FROM points_grants`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	built, err := points.Kinds()[0].Load(ctx, b.pool, ids)
	require.NoError(t, err)
	require.Len(t, built, len(ids))
	var valid []localGrant
	byUser := map[string][]localGrant{}
	for _, id := range ids {
		bt := built[id]
		g, isBad := bad[id]
		require.Equalf(t, !isBad, bt.Valid(), "grant %q: valid as the scenario made it (%v)", id, bt.Errs)
		if isBad {
			require.Truef(t, slices.ContainsFunc(bt.Errs, func(e validate.FieldError) bool { return e.Field == g.field }),
				"grant %q: its error names %s: %v", id, g.field, bt.Errs)
			continue
		}
		body := bt.Body.(*points.Grant)
		lg := localGrant{id: body.ExternalOrderID, user: body.ClientUserID, amount: body.AmountCents}
		valid = append(valid, lg)
		byUser[lg.user] = append(byUser[lg.user], lg)
	}

	// Sync states: every valid grant synced, every bad one dead naming
	// the field, nothing else.
	type state struct {
		status syncstatus.Status
		reason string
	}
	states := map[string]state{}
	rows, err = b.pool.Query(ctx, `SELECT record_id, status, coalesce(last_error, '') FROM sync_state WHERE target = 'points'`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		var s state
		require.NoError(t, rows.Scan(&id, &s.status, &s.reason))
		states[id] = s
	}
	require.NoError(t, rows.Err())
	for _, g := range valid {
		s, ok := states[g.id]
		require.Truef(t, ok, "nothing lost: grant %s has no sync state", g.id)
		require.Equalf(t, syncstatus.Synced, s.status, "nothing lost: grant %s is %s (%s)", g.id, s.status, s.reason)
	}
	for _, g := range badGrants {
		s, ok := states[g.id]
		require.Truef(t, ok, "bad grant %q has no sync state", g.id)
		require.Equalf(t, syncstatus.Dead, s.status, "bad grant %q is dead", g.id)
		require.Containsf(t, s.reason, g.field+": ", "bad grant %q: the reason names the field", g.id)
		t.Logf("points: bad grant %q: %s", g.id, s.reason)
	}
	require.Len(t, states, len(valid)+len(badGrants), "one sync state per grant, nothing else")
	require.Empty(t, b.deadGrants(), "no dead letter but the bad grants")

	// No grant died, or even failed, for 402.
	var for402 int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sync_attempt
		WHERE target = 'points' AND outcome IN ('failed', 'dead') AND (error LIKE '%402%' OR error ILIKE '%pool%')`).Scan(&for402))
	require.Zero(t, for402, "no attempt of a grant was spent on 402")

	// Every valid grant credited exactly once, in its user's ledger.
	f := pointsFigures{grants: len(valid), users: len(byUser), credits: map[int]int{}}
	var total int64
	for user, gs := range byUser {
		ledger, found := b.points.ledger(t, user)
		require.Truef(t, found, "the simulator never heard of %s, who has %d grants", user, len(gs))
		var sum int64
		for _, g := range gs {
			var entries []pointssim.Entry
			for _, e := range ledger {
				if e.RecordType == pointsapi.RecordRecharge && pointsapi.ReasonMentions(e.Reason, g.id) {
					entries = append(entries, e)
				}
			}
			f.credits[len(entries)]++
			require.Lenf(t, entries, 1, "grant %s credited exactly once: %+v", g.id, entries)
			require.Equalf(t, g.amount, entries[0].AmountCents, "grant %s: the amount credited", g.id)
			sum += g.amount
		}
		var recharges int
		for _, e := range ledger {
			if e.RecordType == pointsapi.RecordRecharge {
				recharges++
			}
		}
		require.Equalf(t, len(gs), recharges, "%s: one recharge entry per grant, nothing else", user)
		require.NotEmpty(t, ledger)
		require.Equalf(t, sum, ledger[0].BalanceAfter, "%s: the balance is the sum of the valid grants", user)
		if user == heavy {
			f.heavyEntries = len(ledger)
		}
		total += sum
	}
	require.Greater(t, f.heavyEntries, pointsapi.MaxPageSize, "one ledger is longer than a page")
	require.Equal(t, map[int]int{1: len(valid)}, f.credits, "credits per grant")

	// Nobody else was credited, and no recharge applied twice.
	simState := b.points.state(t)
	for _, u := range simState.Users {
		if _, ok := byUser[u.ClientUserID]; !ok {
			require.Zerof(t, u.BalanceCents, "%s, who has no valid grant, holds points", u.ClientUserID)
			require.NotEqual(t, badGrantUser, u.ClientUserID, "the simulator heard of the user of the bad grants")
		}
	}
	_, found := b.points.ledger(t, badGrantUser)
	require.False(t, found, "the simulator never heard of the user of the bad grants")
	stats := b.points.stats(t)
	require.EqualValues(t, len(valid), stats.Recharges, "recharges applied: one per valid grant")
	require.Equal(t, total, stats.RechargedCents, "cents recharged")
	f.cents = total
	dups := b.points.duplicates(t)
	require.Emptyf(t, dups.ByReason, "no order credited twice: %+v", dups)
	require.Emptyf(t, dups.ByExternalOrderID, "no order credited twice: %+v", dups)

	// The bad grants were never sent: no request named them or their user.
	for _, r := range b.points.requests(t) {
		require.NotEqualf(t, badGrantUser, r.ClientUserID, "a request named the user of the bad grants: %+v", r)
		if r.ExternalOrderID != "" {
			_, isBad := bad[r.ExternalOrderID]
			require.Falsef(t, isBad, "a request carried the bad grant %q: %+v", r.ExternalOrderID, r)
		}
		switch r.Endpoint {
		case pointssim.EndpointRecharge:
			f.sent++
			switch {
			case r.Applied && r.Status == 0:
				f.lost++
			case r.Status == 0:
				f.lostOther++
			}
		case pointssim.EndpointLogs:
			f.ledgerPages++
			if r.Page == 1 {
				f.ledgerReads++
			} else {
				f.laterPage++
			}
		}
	}
	require.Equal(t, stats.Endpoints[string(pointssim.EndpointRecharge)].Requests, f.sent)
	f.applied = stats.Recharges
	f.poolTooLow = stats.PoolTooLow
	f.status500 = stats.Faults[simkit.FaultStatus500]
	require.Positive(t, f.lost, "answers of applied recharges were lost")
	require.Positive(t, f.poolTooLow, "the pool ran dry")
	require.Positive(t, f.laterPage, "a ledger longer than a page was read to its end")
	require.Positive(t, f.status500, "500s were injected")
	faults := maps.Clone(stats.Faults)
	delete(faults, simkit.FaultLatency)
	t.Logf("points: faults %v", faults)
	return f
}

// logLine is one JSON log line: its time and message.
type logLine struct {
	at  time.Time
	msg string
}

// logLines returns the JSON log lines whose attribute target is tgt, in
// the order written.
func (p *proc) logLines(tgt string) []logLine {
	b, err := os.ReadFile(p.log.path)
	if err != nil {
		return nil
	}
	var out []logLine
	for _, line := range bytes.Split(b, []byte("\n")) {
		var m struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			Target string    `json:"target"`
		}
		if json.Unmarshal(line, &m) == nil && m.Target == tgt {
			out = append(out, logLine{m.Time, m.Msg})
		}
	}
	return out
}
