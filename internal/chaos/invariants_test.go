package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// checks tunes the invariant checker for a scenario.
type checks struct {
	// refused are ids the channel refuses (1004): like invalid records,
	// they and their dependants must be dead or blocked, with a reason.
	refused map[string]bool
}

// localRecord is one local row, built as the worker builds it.
type localRecord struct {
	built *target.Built
	// expected reports that the channel must hold it: valid, not refused,
	// and every parent expected too.
	expected bool
	// parentsExpected reports that every parent is expected.
	parentsExpected bool
	body            map[string]any
}

// local reads every local record, parents first.
func (b *bundle) local(c checks) map[string]map[string]*localRecord {
	b.t.Helper()
	out := map[string]map[string]*localRecord{}
	for _, kd := range b.reg.Kinds() {
		k := kd.Name
		out[k] = map[string]*localRecord{}
		after := ""
		for {
			page, err := kd.Page(context.Background(), b.pool, after, 1000)
			require.NoError(b.t, err)
			for _, bt := range page {
				lr := &localRecord{built: bt, parentsExpected: true}
				for _, p := range bt.Parents {
					if parent, ok := out[p.Ref.Kind][p.Ref.ID]; !ok || !parent.expected {
						lr.parentsExpected = false
					}
				}
				lr.expected = bt.Valid() && !c.refused[bt.Ref.ID] && lr.parentsExpected
				if lr.expected {
					lr.body = decode(b.t, bt.JSON)
				}
				out[k][bt.Ref.ID] = lr
			}
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].Ref.ID
		}
	}
	return out
}

func decode(t require.TestingT, raw []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// requireInvariants drains the queue and checks every invariant of
// design.md: convergence field by field, order, no duplicate creates,
// nothing lost, and no needless work on the next bulk run.
func (b *bundle) requireInvariants(c checks) {
	t := b.t
	t.Helper()
	b.drain(size(3*time.Minute, 10*time.Minute))
	recs := b.local(c)

	// 1. Convergence: the channel holds every expected record with equal
	// fields, and nothing else.
	var want, held int
	for _, k := range chaosKinds {
		onChannel := b.sim.records(t, string(k))
		for id, lr := range recs[k] {
			got, ok := onChannel[id]
			if !lr.expected {
				continue
			}
			want++
			require.Truef(t, ok, "convergence: the channel lacks %s/%s", k, id)
			raw, err := json.Marshal(got)
			require.NoError(t, err)
			require.Equalf(t, lr.body, decode(t, raw), "convergence: %s/%s on the channel differs from its row", k, id)
		}
		for id := range onChannel {
			held++
			lr, ok := recs[k][id]
			require.Truef(t, ok && lr.expected, "convergence: the channel holds %s/%s, which is not a valid local record", k, id)
		}
	}
	require.Equal(t, want, held)

	// 2. Order and 3. no duplicate creates.
	stats := b.sim.stats(t)
	for k, ks := range stats.Kinds {
		require.Zerof(t, ks.OrderViolations, "order: %s received before its parents %d times", k, ks.OrderViolations)
	}
	// Not a single create of a record the channel already held may even be
	// attempted, whatever was lost on the way (an answer, a worker, the
	// database): a create whose outcome is unknown is looked up first. The
	// channel refuses such a create (1001) and counts it.
	applied := map[string]bool{}
	var repeated []string
	var lookups int
	for _, r := range b.sim.requests(t) {
		if r.Method == "GET" && r.Kind != "" && r.ID != "" {
			lookups++
		}
		if r.Method != "POST" || r.Kind == "" {
			continue
		}
		ref := r.Kind + "/" + r.ID
		switch {
		case r.Applied:
			require.Falsef(t, applied[ref], "no duplicates: %s created twice", ref)
			applied[ref] = true
		case applied[ref] && r.Code == 1001:
			repeated = append(repeated, fmt.Sprintf("%s (%s)", ref, r.Time.Format("15:04:05.000")))
		}
	}
	t.Logf("%s: %d duplicate-create attempts on the channel (%d lookups by GET)", b.name, stats.DuplicateCreates(), lookups)
	require.Zerof(t, stats.DuplicateCreates(), "no repeated create: the channel was asked to create again records it held: %v", repeated)
	require.Empty(t, repeated, "no repeated create")

	// 4. Nothing lost: every expected record is synced with the hash of its
	// payload; every other one is dead or blocked with a reason.
	states := map[string]dbsqlc.SyncState{}
	rows, err := b.pool.Query(context.Background(), `SELECT kind, record_id, status, accepted_hash, last_error FROM sync_state WHERE target = 'channel'`)
	require.NoError(t, err)
	for rows.Next() {
		var s dbsqlc.SyncState
		require.NoError(t, rows.Scan(&s.Kind, &s.RecordID, &s.Status, &s.AcceptedHash, &s.LastError))
		states[s.Kind+"/"+s.RecordID] = s
	}
	require.NoError(t, rows.Err())
	var synced, dead, blocked int
	for _, k := range chaosKinds {
		for id, lr := range recs[k] {
			s, ok := states[string(k)+"/"+id]
			require.Truef(t, ok, "nothing lost: %s/%s has no sync state", k, id)
			if lr.expected {
				require.Equalf(t, syncstatus.Synced, s.Status, "nothing lost: %s/%s is %s (%v)", k, id, s.Status, deref(s.LastError))
				require.Equalf(t, lr.built.Hash, s.AcceptedHash, "%s/%s: accepted hash", k, id)
				synced++
				continue
			}
			require.Truef(t, s.Status.DeadLetter(), "nothing lost: %s/%s (not expected on the channel) is %s", k, id, s.Status)
			require.NotEmptyf(t, deref(s.LastError), "nothing lost: %s/%s is %s without a reason", k, id, s.Status)
			require.NotContainsf(t, *s.LastError, "gave up", "%s/%s was used up by transient failures: %s", k, id, *s.LastError)
			switch {
			case !lr.built.Valid():
				require.Equalf(t, syncstatus.Dead, s.Status, "%s/%s is invalid", k, id)
				require.Containsf(t, *s.LastError, lr.built.Reason(), "%s/%s: the reason names the field", k, id)
				dead++
			case c.refused[id] && lr.parentsExpected:
				require.Equalf(t, syncstatus.Dead, s.Status, "%s/%s is refused by the channel", k, id)
				require.Containsf(t, *s.LastError, "1004", "%s/%s: the reason names the channel's code", k, id)
				dead++
			default:
				require.Equalf(t, syncstatus.Blocked, s.Status, "%s/%s depends on a dead record", k, id)
				require.Containsf(t, *s.LastError, "waits for", "%s/%s: the reason names the parent", k, id)
				blocked++
			}
		}
	}
	var unfinished []string
	jrows, err := b.pool.Query(context.Background(), `SELECT state::text, kind, count(*) FROM river_job GROUP BY 1, 2`)
	require.NoError(t, err)
	for jrows.Next() {
		var state, kind string
		var n int
		require.NoError(t, jrows.Scan(&state, &kind, &n))
		if state != "completed" {
			unfinished = append(unfinished, state+" "+kind+": "+strconv.Itoa(n))
		}
	}
	require.NoError(t, jrows.Err())
	sort.Strings(unfinished)
	require.Emptyf(t, unfinished, "nothing lost: jobs neither completed nor running")

	// 5. No needless work: another bulk run enqueues nothing and sends no
	// create or update.
	before := upserts(b.sim.requests(t))
	var ucBefore int
	if b.uc != nil {
		ucBefore = ucWrites(b.uc.requests(t))
	}
	var rechargesBefore int64
	if b.points != nil {
		rechargesBefore = b.points.rechargesSent(t)
	}
	run := b.enqueueAll()
	for _, s := range run.Scans {
		require.Zerof(t, s.Enqueued, "no needless work: the next bulk run enqueued %d %s/%s", s.Enqueued, s.Target, s.Kind)
	}
	b.drain(time.Minute)
	require.Equal(t, before, upserts(b.sim.requests(t)), "no needless work: the next bulk run sent creates or updates")
	if b.uc != nil {
		require.Equal(t, ucBefore, ucWrites(b.uc.requests(t)), "no needless work: the next bulk run sent writes to the user centre")
	}
	if b.points != nil {
		require.Equal(t, rechargesBefore, b.points.rechargesSent(t), "no needless work: the next bulk run sent recharges")
	}
	st, err := b.ctl.Status(context.Background(), nil, 5)
	require.NoError(t, err)
	require.True(t, st.QueueIdle())
	t.Logf("%s: invariants hold: %d records synced, %d dead, %d blocked; channel: %d requests, %d token and %d refresh requests, faults %v; %d jobs stuck running until River rescued them",
		b.name, synced, dead, blocked, stats.Requests, stats.TokenRequests, stats.RefreshRequests, stats.Faults, b.rescuedJobs())
	if b.uc != nil {
		b.requireUserCentre()
	}
}

// rescuedJobs counts the push jobs River's rescuer found stuck running
// (their worker died, or could not record their end) and handed back.
func (b *bundle) rescuedJobs() int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'push' AND errors::text LIKE '%Stuck job rescued%'`).Scan(&n))
	return n
}

// upserts counts the creates and updates sent to the channel.
func upserts(reqs []channelsim.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Kind != "" && (r.Method == "POST" || r.Method == "PUT") {
			n++
		}
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
