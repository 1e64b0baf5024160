package syncer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// errLeaseLost cancels a push whose leases could not be renewed in time.
var errLeaseLost = errors.New("leases could not be renewed: stopped pushing before they ran out")

// push is one Push call: the records it holds and what became of them.
type push struct {
	e      *Engine
	rt     *runtime
	k      *target.Kind
	opts   Options
	holder string
	res    Result

	mu   sync.Mutex
	held map[string]bool // records whose lease this push holds

	resMu sync.Mutex // guards res while records are pushed side by side

	// stopped is set once an answer stopped the batch (a hold, a pause, a
	// long rate limit): records pushed side by side send nothing more.
	stopped atomic.Bool

	// writeMu orders the push's own writes to its records' state (claims,
	// lease renewals, outcomes): run side by side, two of them could lock
	// the same rows in different orders and deadlock.
	writeMu sync.Mutex
}

// snooze asks the job to wait at least d before its next run.
func (p *push) snooze(d time.Duration) { p.tally(func(r *Result) { r.snooze(d) }) }

// tally updates the push's result; records pushed side by side share it.
func (p *push) tally(f func(r *Result)) {
	p.resMu.Lock()
	defer p.resMu.Unlock()
	f(&p.res)
}

type item struct {
	id        string
	state     dbsqlc.SyncState
	built     *target.Built
	outcome   syncstatus.Outcome
	ref       string
	created   bool
	reason    string
	blocked   target.Ref
	took      time.Duration
	sent      bool
	unsettled *time.Time
	keepLease bool
	// later is set on a record that cannot move in this push (a create
	// that may still be in flight): the job snoozes for it.
	later bool
	// answered is set when the target itself answered the refusal that
	// killed the record.
	answered bool
	// held is set when the record met a failure that holds the target.
	held bool
}

func newPush(e *Engine, rt *runtime, k *target.Kind, opts Options) *push {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &push{
		e: e, rt: rt, k: k, opts: opts,
		holder: fmt.Sprintf("%d/%d/%s", opts.JobID, opts.Attempt, hex.EncodeToString(b[:])),
		held:   map[string]bool{},
	}
}

func (p *push) run(ctx context.Context, ids []string) (Result, error) {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beat := make(chan struct{})
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		p.heartbeat(pctx, cancel, beat)
	}()
	defer func() {
		close(beat)
		<-beatDone
		p.releaseHeld(ctx)
	}()

	todo := dedupe(ids)
	deadline := time.Now().Add(p.e.cfg.ParentWait)
	// pending maps each record still to be pushed to what it waits for: a
	// parent, or (a ref to itself) the lease another push holds.
	pending := map[string]target.Ref{}
	for len(todo) > 0 {
		items, unclaimed, err := p.claim(pctx, todo)
		if err != nil {
			if pctx.Err() != nil && ctx.Err() == nil {
				// Lost the leases while claiming: give the records back.
				p.res.Waiting += len(todo)
				p.res.snooze(time.Second)
				return p.res, nil
			}
			return p.res, err
		}
		for _, id := range unclaimed {
			pending[id] = p.k.Ref(id)
		}
		if len(items) > 0 {
			stop := p.process(pctx, items)
			if err := p.record(pctx, items, stop); err != nil {
				return p.res, err
			}
			for _, it := range items {
				switch {
				case it.outcome != syncstatus.Waiting:
				case it.later:
					p.res.Waiting++
				case it.blocked.Kind != "":
					pending[it.id] = it.blocked
				default:
					pending[it.id] = p.k.Ref(it.id)
				}
			}
			if stop || pctx.Err() != nil {
				p.res.Waiting += len(pending)
				if ctx.Err() != nil {
					return p.res, ctx.Err()
				}
				if context.Cause(pctx) == errLeaseLost {
					p.e.logger.WarnContext(ctx, "push stopped: "+errLeaseLost.Error(), p.attrs("")...)
					p.res.snooze(time.Second)
				}
				return p.res, nil
			}
		}
		if todo, err = p.awaitProgress(pctx, pending, deadline); err != nil {
			return p.res, err
		}
	}
	if len(pending) > 0 {
		p.res.Waiting += len(pending)
		p.enqueueIdleParents(ctx, pending)
	}
	return p.res, nil
}

// heartbeat renews the push's leases every quarter lease until beat is
// closed. When it could not renew them for half a lease (the database
// unreachable), or another push took one, it cancels the push, which then
// sends nothing more: a lease never runs out while its holder still
// pushes.
func (p *push) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, beat <-chan struct{}) {
	lease := p.e.cfg.Lease
	t := time.NewTicker(lease / 4)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-beat:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := p.heldIDs()
		if len(ids) == 0 {
			lastOK = time.Now()
			continue
		}
		asked := time.Now()
		rctx, rcancel := context.WithTimeout(ctx, lease/4)
		p.writeMu.Lock()
		renewed, err := p.e.q.RenewLeases(rctx, dbsqlc.RenewLeasesParams{
			Target: string(p.k.Target), Kind: p.k.Name, Ids: ids, Holder: p.holder, LeaseSeconds: lease.Seconds(),
		})
		p.writeMu.Unlock()
		rcancel()
		switch {
		case err == nil && len(renewed) < len(ids) && len(renewed) < len(p.heldIDs()):
			p.e.logger.WarnContext(ctx, "push lost leases to another push", p.attrs("", slog.Int("held", len(ids)), slog.Int("renewed", len(renewed)))...)
			cancel(errLeaseLost)
			return
		case err == nil:
			lastOK = asked
		case ctx.Err() != nil:
			return
		default:
			p.e.logger.WarnContext(ctx, "renew leases", p.attrs("", slog.String("error", err.Error()))...)
		}
		if time.Since(lastOK) > lease/2 {
			cancel(errLeaseLost)
			return
		}
	}
}

func (p *push) heldIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.held))
	for id := range p.held {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (p *push) setHeld(ids []string, held bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if held {
			p.held[id] = true
		} else {
			delete(p.held, id)
		}
	}
}

// releaseHeld releases the leases the push still holds (records it gave
// back waiting).
func (p *push) releaseHeld(ctx context.Context) {
	ids := p.heldIDs()
	if len(ids) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if err := p.e.q.ReleaseLeases(wctx, dbsqlc.ReleaseLeasesParams{Target: string(p.k.Target), Kind: p.k.Name, Ids: ids, Holder: p.holder}); err != nil {
		p.e.logger.WarnContext(ctx, "release leases", p.attrs("", slog.String("error", err.Error()))...)
		return
	}
	p.setHeld(ids, false)
}

// claim leases the records and loads their rows and states.
func (p *push) claim(ctx context.Context, ids []string) ([]*item, []string, error) {
	var states []dbsqlc.SyncState
	durable := p.rt.InFlightBound > 0
	p.writeMu.Lock()
	err := p.e.stateTx(ctx, durable, func(q *dbsqlc.Queries) (err error) {
		states, err = q.ClaimRecords(ctx, dbsqlc.ClaimRecordsParams{
			Target: string(p.k.Target), Kind: p.k.Name, Ids: ids, Holder: p.holder,
			LeaseSeconds: p.e.cfg.Lease.Seconds(), SettleSeconds: p.rt.InFlightBound.Seconds(),
		})
		return err
	})
	p.writeMu.Unlock()
	if err != nil {
		return nil, nil, fmt.Errorf("claim %s records: %w", p.k, err)
	}
	claimed := make(map[string]dbsqlc.SyncState, len(states))
	claimedIDs := make([]string, 0, len(states))
	for _, s := range states {
		claimed[s.RecordID] = s
		claimedIDs = append(claimedIDs, s.RecordID)
	}
	p.setHeld(claimedIDs, true)
	var unclaimed []string
	for _, id := range ids {
		if _, ok := claimed[id]; !ok {
			unclaimed = append(unclaimed, id)
		}
	}
	if len(claimedIDs) == 0 {
		return nil, unclaimed, nil
	}
	built, err := p.k.Load(ctx, p.e.pool, claimedIDs)
	if err != nil {
		p.releaseHeld(ctx)
		return nil, nil, fmt.Errorf("load %s rows: %w", p.k, err)
	}
	items := make([]*item, 0, len(claimedIDs))
	for _, id := range claimedIDs {
		st := claimed[id]
		items = append(items, &item{id: id, state: st, built: built[id], unsettled: st.UnsettledUntil})
	}
	return items, unclaimed, nil
}

// process decides each item's fate and pushes the ready ones. It reports
// whether the batch must stop (rate limit, hold, open circuit,
// cancellation).
func (p *push) process(ctx context.Context, items []*item) bool {
	var candidates []*item
	for _, it := range items {
		b, st := it.built, it.state
		switch {
		case b == nil:
			it.outcome = syncstatus.Kept
		case st.Status == syncstatus.Dead &&
			st.SourceUpdatedAt != nil && b.UpdatedAt.Equal(*st.SourceUpdatedAt):
			// Dead and untouched since: wait for a fix or a replay.
			it.outcome = syncstatus.Kept
		case !b.Valid():
			it.outcome = syncstatus.Died
			it.reason = b.Reason()
		case st.AcceptedHash != nil && string(st.AcceptedHash) == string(b.Hash):
			it.outcome = syncstatus.Unchanged
		default:
			candidates = append(candidates, it)
		}
	}
	if len(candidates) == 0 {
		return false
	}

	probe, wait, reason, err := p.checkHold(ctx)
	if err != nil {
		markRest(candidates, syncstatus.Waiting)
		p.snooze(time.Second)
		return true
	}
	if wait > 0 {
		markRest(candidates, syncstatus.Waiting)
		p.snooze(wait)
		p.tally(func(r *Result) { r.Held = reason })
		return true
	}

	parents, err := p.parentStates(ctx, candidates)
	if err != nil {
		for _, it := range candidates {
			it.outcome = syncstatus.Failed
			it.reason = err.Error()
		}
		return false
	}
	var ready []*item
	for _, it := range candidates {
		p.checkParents(it, parents)
		if it.outcome == "" {
			ready = append(ready, it)
		}
	}
	if probe {
		// One record probes the held target; the others wait for its
		// answer.
		if len(ready) == 0 {
			return len(candidates) > 1
		}
		// Probe with a record that can be sent now: one whose earlier
		// create may still be in flight would send nothing.
		slices.SortStableFunc(ready, func(a, b *item) int { return cmpBool(a.mustWait(), b.mustWait()) })
		if len(ready) > 1 {
			markRest(ready[1:], syncstatus.Waiting)
			p.snooze(time.Second)
		}
		stop := p.pushOne(ctx, ready[0], parents)
		p.endProbe(ctx, ready[0], reason)
		return stop || len(candidates) > 1
	}
	return p.pushReady(ctx, ready, parents)
}

// pushReady pushes the ready records side by side, as many at once as the
// queue's bound on requests in flight to the target allows (one at a time
// without one). Once a push reports that the batch must stop, no more
// start: those not started wait for the job's next run. It reports whether
// the batch must stop.
func (p *push) pushReady(ctx context.Context, ready []*item, parents map[target.Ref]dbsqlc.SyncState) bool {
	sem := p.rt.inFlight[p.opts.Queue]
	if sem == nil {
		for i, it := range ready {
			if ctx.Err() != nil {
				markRest(ready[i:], syncstatus.Waiting)
				return true
			}
			if p.pushOne(ctx, it, parents) {
				p.stopped.Store(true)
				markRest(ready[i+1:], syncstatus.Waiting)
				return true
			}
		}
		return false
	}
	var wg sync.WaitGroup
	for _, it := range ready {
		if p.stopped.Load() || sem.Acquire(ctx, 1) != nil {
			break
		}
		if p.stopped.Load() {
			sem.Release(1)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sem.Release(1)
			if p.pushOne(ctx, it, parents) {
				p.stopped.Store(true)
			}
		}()
	}
	wg.Wait()
	// Records never started (the batch stopped, or ctx ended) wait.
	markRest(ready, syncstatus.Waiting)
	return p.stopped.Load() || ctx.Err() != nil
}

// mustWait reports whether the item is a create that may still be in
// flight from an earlier attempt: its push must wait before it looks it
// up.
func (it *item) mustWait() bool { return it.unsettled != nil && time.Until(*it.unsettled) > 0 }

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func markRest(items []*item, o syncstatus.Outcome) {
	for _, it := range items {
		if it.outcome == "" {
			it.outcome = o
		}
	}
}

func (p *push) parentStates(ctx context.Context, items []*item) (map[target.Ref]dbsqlc.SyncState, error) {
	var kinds, ids []string
	seen := map[target.Ref]bool{}
	for _, it := range items {
		for _, pr := range it.built.Parents {
			if !seen[pr.Ref] {
				seen[pr.Ref] = true
				kinds = append(kinds, pr.Ref.Kind)
				ids = append(ids, pr.Ref.ID)
			}
		}
	}
	out := make(map[target.Ref]dbsqlc.SyncState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	states, err := p.e.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Target: string(p.k.Target), Kinds: kinds, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("read parent states: %w", err)
	}
	for _, s := range states {
		out[target.Ref{Target: p.k.Target, Kind: s.Kind, ID: s.RecordID}] = s
	}
	return out, nil
}

// checkParents sets the item's outcome to Blocked or Waiting when a parent
// has never been accepted by the target; it leaves it empty when all are.
func (p *push) checkParents(it *item, parents map[target.Ref]dbsqlc.SyncState) {
	for _, pr := range it.built.Parents {
		ps, ok := parents[pr.Ref]
		if ok && ps.AcceptedAt != nil {
			continue
		}
		it.blocked = pr.Ref
		if ok && ps.Status.DeadLetter() {
			it.outcome = syncstatus.WasBlocked
			why := "dead"
			if ps.LastError != nil {
				why = "dead: " + *ps.LastError
			}
			it.reason = fmt.Sprintf("%s: %s: waits for %s, which is %s", it.built.Path(), pr.Field, pr.Ref, why)
			return
		}
		it.outcome = syncstatus.Waiting
		it.keepLease = true
		it.reason = fmt.Sprintf("%s: waits for %s to be accepted", pr.Field, pr.Ref)
		return
	}
}

func (p *push) attrs(id string, extra ...any) []any {
	out := []any{slog.String("target", string(p.k.Target)), slog.String("kind", p.k.Name)}
	if id != "" {
		out = append(out, slog.String("id", id))
	}
	out = append(out, slog.Int64("job_id", p.opts.JobID), slog.Int("attempt", p.opts.Attempt))
	return append(out, extra...)
}

// awaitProgress sleeps until something a pending record waits for has
// moved (a parent accepted or dead, a lease released), and returns those
// records, removed from pending. It returns nothing when the deadline passes
// or ctx ends first.
func (p *push) awaitProgress(ctx context.Context, pending map[string]target.Ref, deadline time.Time) ([]string, error) {
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(p.e.cfg.ParentPoll):
		}
		seen := map[target.Ref]bool{}
		var kinds, ids []string
		for _, ref := range pending {
			if !seen[ref] {
				seen[ref] = true
				kinds, ids = append(kinds, ref.Kind), append(ids, ref.ID)
			}
		}
		rows, err := p.e.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Target: string(p.k.Target), Kinds: kinds, Ids: ids})
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("read states of awaited records: %w", err)
		}
		states := make(map[target.Ref]dbsqlc.SyncState, len(rows))
		for _, st := range rows {
			states[target.Ref{Target: p.k.Target, Kind: st.Kind, ID: st.RecordID}] = st
		}
		now := time.Now()
		var ready []string
		for id, ref := range pending {
			st, ok := states[ref]
			var moved bool
			if ref.Kind == p.k.Name && ref.ID == id {
				moved = !ok || st.LeaseUntil == nil || st.LeaseUntil.Before(now)
			} else {
				moved = ok && (st.AcceptedAt != nil || st.Status.DeadLetter())
			}
			if moved {
				ready = append(ready, id)
				delete(pending, id)
			}
		}
		if len(ready) > 0 {
			return ready, nil
		}
	}
	return nil, nil
}

// enqueueIdleParents asks the queue to push the parents that pending
// records still wait for when no push holds them, so that a child named
// alone (or whose parent nobody enqueued) still gets through.
func (p *push) enqueueIdleParents(ctx context.Context, pending map[string]target.Ref) {
	if p.e.cfg.EnqueueFunc == nil {
		return
	}
	seen := map[target.Ref]bool{}
	var kinds, ids []string
	var refs []target.Ref
	for id, ref := range pending {
		if (ref.Kind == p.k.Name && ref.ID == id) || seen[ref] {
			continue
		}
		seen[ref] = true
		refs = append(refs, ref)
		kinds, ids = append(kinds, ref.Kind), append(ids, ref.ID)
	}
	if len(refs) == 0 {
		return
	}
	states, err := p.e.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Target: string(p.k.Target), Kinds: kinds, Ids: ids})
	if err != nil {
		return
	}
	busy := map[target.Ref]bool{}
	for _, s := range states {
		if s.LeaseUntil != nil && s.LeaseUntil.After(time.Now()) {
			busy[target.Ref{Target: p.k.Target, Kind: s.Kind, ID: s.RecordID}] = true
		}
	}
	var idle []target.Ref
	for _, r := range refs {
		if !busy[r] {
			idle = append(idle, r)
		}
	}
	if len(idle) == 0 {
		return
	}
	if err := p.e.cfg.EnqueueFunc(ctx, p.opts.Queue, idle); err != nil && !errors.Is(err, context.Canceled) {
		p.e.logger.WarnContext(ctx, "enqueue parents", p.attrs("", slog.Int("count", len(idle)), slog.String("error", err.Error()))...)
	}
}

func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
