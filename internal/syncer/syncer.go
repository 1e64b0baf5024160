// Package syncer pushes batches of local records to a target and keeps their
// sync state: it leases each record so that no two pushes of one record run
// at once, skips records whose payload the target already accepted, waits for
// parents, pushes with create-or-update, and records every outcome (synced,
// retrying, blocked, dead) beside the data.
//
// syncer knows nothing of River nor of the channel's wire format: the job
// queue calls Engine.Push, and the target is reached through a Pusher.
package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/payload"
	"github.com/chansync/chansync/internal/record"
)

// Class says what kind of failure a push met.
type Class int

// The classes of failure.
const (
	// Transient failures are retried with backoff.
	Transient Class = iota
	// RateLimited failures wait for RetryAfter and do not count as attempts.
	RateLimited
	// AuthFailed means the credentials are wrong: pushing pauses, jobs wait.
	AuthFailed
	// Permanent failures dead-letter the record at once.
	Permanent
	// Paused means the target is unavailable (a circuit breaker is open):
	// the batch stops and waits RetryAfter, spending no attempt.
	Paused
)

// Failure is a classified push error.
type Failure struct {
	// Class is what to do about it.
	Class Class
	// Conflict is set for a rejection that may only mean the target already
	// has (or lacks) the record; the engine confirms with Exists and switches
	// between create and update before calling it a data error.
	Conflict bool
	// RetryAfter is how long the target asked us to wait, if it did.
	RetryAfter time.Duration
	// Reason is the target's answer in one line, free of secrets.
	Reason string
}

// Pusher reaches the target. Bodies are the JSON built by package payload.
type Pusher interface {
	// Create creates the record and returns the target's own id for it.
	Create(ctx context.Context, kind record.Kind, body json.RawMessage) (ref string, err error)
	// Update replaces the record named id and returns the target's own id.
	Update(ctx context.Context, kind record.Kind, id string, body json.RawMessage) (ref string, err error)
	// Exists reports whether the target holds the record named id.
	Exists(ctx context.Context, kind record.Kind, id string) (ref string, found bool, err error)
	// Classify classifies an error returned by the other methods.
	Classify(err error) Failure
}

// EnqueueFunc asks the job queue to push the given records soon.
type EnqueueFunc func(ctx context.Context, refs []record.Ref) error

// Config tunes an Engine. Zero values take the defaults.
type Config struct {
	// Lease is how long a record stays leased to one push before another may
	// take it (renewed while a long batch runs). Default 2 minutes.
	Lease time.Duration
	// ParentWait is how long a batch waits in place for parents that are
	// being pushed elsewhere before it gives the records back. Default 5s.
	ParentWait time.Duration
	// ParentPoll is how often a waiting batch looks again. Default 50ms.
	ParentPoll time.Duration
	// MaxInlineRateWait is the longest Retry-After the engine sleeps through
	// in place; longer waits end the batch. Default 10s.
	MaxInlineRateWait time.Duration
	// Observer, if set, is told of every outcome (for metrics).
	Observer Observer
}

// Observer receives every record outcome as it is recorded, and every wait
// on a rate limit.
type Observer interface {
	Outcome(kind record.Kind, outcome Outcome, took time.Duration)
	RateLimited(kind record.Kind, wait time.Duration)
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.Lease <= 0 {
		out.Lease = 2 * time.Minute
	}
	if out.ParentWait <= 0 {
		out.ParentWait = 5 * time.Second
	}
	if out.ParentPoll <= 0 {
		out.ParentPoll = 50 * time.Millisecond
	}
	if out.MaxInlineRateWait <= 0 {
		out.MaxInlineRateWait = 10 * time.Second
	}
	return out
}

// Engine pushes batches of records. It is safe for concurrent use.
type Engine struct {
	pool    *pgxpool.Pool
	q       *dbsqlc.Queries
	pusher  Pusher
	enqueue EnqueueFunc
	logger  *slog.Logger
	cfg     Config
}

// New returns an Engine. enqueue is used to push parents that nobody is
// pushing yet and dependants that waited for a record just accepted.
func New(pool *pgxpool.Pool, pusher Pusher, enqueue EnqueueFunc, logger *slog.Logger, cfg Config) *Engine {
	return &Engine{
		pool:    pool,
		q:       dbsqlc.New(pool),
		pusher:  pusher,
		enqueue: enqueue,
		logger:  logger,
		cfg:     cfg.withDefaults(),
	}
}

// Outcome is what happened to one record in one push.
type Outcome string

// The outcomes, as stored by the RecordOutcomes query.
const (
	// Accepted: the target accepted the payload (created or updated).
	Accepted Outcome = "accepted"
	// Unchanged: the payload equals the last accepted one; nothing sent.
	Unchanged Outcome = "unchanged"
	// Failed: a transient failure; the job will retry.
	Failed Outcome = "failed"
	// Dead: a permanent failure; waits for a fix and a replay.
	Dead Outcome = "dead"
	// Blocked: a parent is dead; waits for the parent.
	Blocked Outcome = "blocked"
	// Waiting: a parent is not accepted yet, or another push holds the
	// record; the job will look again.
	Waiting Outcome = "waiting"
	// Keep: nothing to do (row gone, or dead and unchanged); state kept.
	Keep Outcome = "missing"
)

// Options tune one Push call.
type Options struct {
	// FinalAttempt turns transient failures into dead letters: the job will
	// not be retried again.
	FinalAttempt bool
	// Attempt is the job's attempt number, for logs.
	Attempt int
	// JobID is the job's id, for logs.
	JobID int64
}

// Result counts the outcomes of one Push.
type Result struct {
	Created, Updated, Unchanged, Failed, Dead, Blocked, Waiting, Kept int
	// RateLimitedFor is set when the batch stopped on a rate limit longer
	// than the engine waits in place, or because the target is unavailable
	// (circuit open): the job should wait this long, spending no attempt.
	RateLimitedFor time.Duration
	// AuthFailed is set when the target refused our credentials.
	AuthFailed bool
	// LastError is the reason of the last transient failure.
	LastError string
}

// Pending reports how many records still need another run of the job.
func (r Result) Pending() int { return r.Failed + r.Waiting }

type item struct {
	id      string
	state   dbsqlc.SyncState
	built   *payload.Built
	outcome Outcome
	ref     string
	created bool
	reason  string
	blocked record.Ref
	took    time.Duration
	sent    bool
}

// Push pushes the named records of one kind, and records every outcome. An
// error is returned only when the sync state could not be read or written;
// failures of the target are counted in Result.
func (e *Engine) Push(ctx context.Context, kind record.Kind, ids []string, opts Options) (Result, error) {
	var res Result
	todo := dedupe(ids)
	deadline := time.Now().Add(e.cfg.ParentWait)
	// pending maps each record still to be pushed to what it waits for: a
	// parent, or (a ref to itself) the lease another push holds.
	pending := map[string]record.Ref{}
	for len(todo) > 0 {
		items, unclaimed, err := e.claim(ctx, kind, todo)
		if err != nil {
			return res, err
		}
		for _, id := range unclaimed {
			pending[id] = record.Ref{Kind: kind, ID: id}
		}
		if len(items) > 0 {
			stop := e.process(ctx, kind, items, opts, &res, time.Now())
			if err := e.record(ctx, kind, items, &res); err != nil {
				return res, err
			}
			for _, it := range items {
				if it.outcome == Waiting {
					pending[it.id] = it.blocked
				}
			}
			if stop {
				res.Waiting += len(pending)
				return res, ctx.Err()
			}
		}
		if todo, err = e.awaitProgress(ctx, kind, pending, deadline); err != nil {
			return res, err
		}
	}
	if len(pending) > 0 {
		res.Waiting += len(pending)
		e.enqueueIdleParents(ctx, kind, pending)
	}
	return res, nil
}

// awaitProgress sleeps until something a pending record waits for has
// moved (a parent accepted or dead, a lease released), and returns those
// records, removed from pending. It returns nothing when the deadline passes
// or ctx ends first.
func (e *Engine) awaitProgress(ctx context.Context, kind record.Kind, pending map[string]record.Ref, deadline time.Time) ([]string, error) {
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(e.cfg.ParentPoll):
		}
		seen := map[record.Ref]bool{}
		var kinds, ids []string
		for _, ref := range pending {
			if !seen[ref] {
				seen[ref] = true
				kinds, ids = append(kinds, string(ref.Kind)), append(ids, ref.ID)
			}
		}
		rows, err := e.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Kinds: kinds, Ids: ids})
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("read states of awaited records: %w", err)
		}
		states := make(map[record.Ref]dbsqlc.SyncState, len(rows))
		for _, st := range rows {
			states[record.Ref{Kind: record.Kind(st.Kind), ID: st.RecordID}] = st
		}
		now := time.Now()
		var ready []string
		for id, ref := range pending {
			st, ok := states[ref]
			var moved bool
			if ref.Kind == kind && ref.ID == id {
				moved = !ok || st.LeaseUntil == nil || st.LeaseUntil.Before(now)
			} else {
				moved = ok && (st.AcceptedAt != nil || st.Status == "dead" || st.Status == "blocked")
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

// stateTx runs fn in a transaction that commits without waiting for its
// WAL to reach disk (synchronous_commit off, for this transaction only).
// It is used for the sync state alone: leases and outcomes are a record of
// work the channel has already seen, so if a Postgres crash loses the last
// few hundred milliseconds of them, the records are simply pushed again —
// a create the channel already holds is confirmed and sent as an update —
// and nothing is lost. Waiting for the disk on every batch was most of a
// bulk run's database time.
func (e *Engine) stateTx(ctx context.Context, fn func(q *dbsqlc.Queries) error) error {
	return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return fmt.Errorf("relax commit: %w", err)
		}
		return fn(e.q.WithTx(tx))
	})
}

// claim leases the records and loads their rows and states.
func (e *Engine) claim(ctx context.Context, kind record.Kind, ids []string) ([]*item, []string, error) {
	var states []dbsqlc.SyncState
	err := e.stateTx(ctx, func(q *dbsqlc.Queries) (err error) {
		states, err = q.ClaimRecords(ctx, dbsqlc.ClaimRecordsParams{
			Kind: string(kind), Ids: ids, LeaseSeconds: e.cfg.Lease.Seconds(),
		})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("claim %s records: %w", kind, err)
	}
	claimed := make(map[string]dbsqlc.SyncState, len(states))
	claimedIDs := make([]string, 0, len(states))
	for _, s := range states {
		claimed[s.RecordID] = s
		claimedIDs = append(claimedIDs, s.RecordID)
	}
	var unclaimed []string
	for _, id := range ids {
		if _, ok := claimed[id]; !ok {
			unclaimed = append(unclaimed, id)
		}
	}
	if len(claimedIDs) == 0 {
		return nil, unclaimed, nil
	}
	built, err := payload.Load(ctx, e.q, kind, claimedIDs)
	if err != nil {
		e.release(ctx, kind, claimedIDs)
		return nil, nil, err
	}
	items := make([]*item, 0, len(claimedIDs))
	for _, id := range claimedIDs {
		items = append(items, &item{id: id, state: claimed[id], built: built[id]})
	}
	return items, unclaimed, nil
}

func (e *Engine) release(ctx context.Context, kind record.Kind, ids []string) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.q.ReleaseLeases(wctx, dbsqlc.ReleaseLeasesParams{Kind: string(kind), Ids: ids}); err != nil {
		e.logger.WarnContext(ctx, "release leases", slog.String("kind", string(kind)), slog.String("error", err.Error()))
	}
}

// process decides each item's fate and pushes the ready ones. It reports
// whether the batch must stop (rate limit, auth failure, cancellation).
func (e *Engine) process(ctx context.Context, kind record.Kind, items []*item, opts Options, res *Result, claimedAt time.Time) bool {
	var candidates []*item
	for _, it := range items {
		b, st := it.built, it.state
		switch {
		case b == nil:
			it.outcome = Keep
		case st.Status == "dead" &&
			st.SourceUpdatedAt != nil && b.UpdatedAt.Equal(*st.SourceUpdatedAt):
			// Dead and untouched since: wait for a fix or a replay.
			it.outcome = Keep
		case !b.Valid():
			it.outcome = Dead
			it.reason = b.Reason()
		case st.AcceptedHash != nil && bytes.Equal(st.AcceptedHash, b.Hash):
			it.outcome = Unchanged
		default:
			candidates = append(candidates, it)
		}
	}
	if len(candidates) == 0 {
		return false
	}

	parents, err := e.parentStates(ctx, candidates)
	if err != nil {
		for _, it := range candidates {
			it.outcome = Failed
			it.reason = err.Error()
		}
		return false
	}
	var ready []*item
	for _, it := range candidates {
		e.checkParents(it, parents)
		if it.outcome == "" {
			ready = append(ready, it)
		}
	}

	lastRenew := claimedAt
	for i, it := range ready {
		if ctx.Err() != nil {
			markRest(ready[i:], Waiting)
			return true
		}
		if time.Since(lastRenew) > e.cfg.Lease/2 {
			e.renew(ctx, kind, ready[i:])
			lastRenew = time.Now()
		}
		stop := e.pushOne(ctx, kind, it, opts, res)
		if stop {
			markRest(ready[i+1:], Waiting)
			return true
		}
	}
	return false
}

func markRest(items []*item, o Outcome) {
	for _, it := range items {
		if it.outcome == "" {
			it.outcome = o
		}
	}
}

func (e *Engine) renew(ctx context.Context, kind record.Kind, items []*item) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	if err := e.q.RenewLeases(ctx, dbsqlc.RenewLeasesParams{Kind: string(kind), Ids: ids, LeaseSeconds: e.cfg.Lease.Seconds()}); err != nil {
		e.logger.WarnContext(ctx, "renew leases", slog.String("kind", string(kind)), slog.String("error", err.Error()))
	}
}

func (e *Engine) parentStates(ctx context.Context, items []*item) (map[record.Ref]dbsqlc.SyncState, error) {
	var kinds, ids []string
	seen := map[record.Ref]bool{}
	for _, it := range items {
		for _, p := range it.built.Parents {
			if !seen[p.Ref] {
				seen[p.Ref] = true
				kinds = append(kinds, string(p.Ref.Kind))
				ids = append(ids, p.Ref.ID)
			}
		}
	}
	out := make(map[record.Ref]dbsqlc.SyncState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	states, err := e.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Kinds: kinds, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("read parent states: %w", err)
	}
	for _, s := range states {
		out[record.Ref{Kind: record.Kind(s.Kind), ID: s.RecordID}] = s
	}
	return out, nil
}

// checkParents sets the item's outcome to Blocked or Waiting when a parent
// has never been accepted by the target; it leaves it empty when all are.
func (e *Engine) checkParents(it *item, parents map[record.Ref]dbsqlc.SyncState) {
	for _, p := range it.built.Parents {
		ps, ok := parents[p.Ref]
		if ok && ps.AcceptedAt != nil {
			continue
		}
		it.blocked = p.Ref
		if ok && (ps.Status == "dead" || ps.Status == "blocked") {
			it.outcome = Blocked
			why := "dead"
			if ps.LastError != nil {
				why = "dead: " + *ps.LastError
			}
			it.reason = fmt.Sprintf("%s/%s: %s: waits for %s, which is %s",
				it.built.Ref.Kind.Plural(), it.id, p.Field, p.Ref, why)
			return
		}
		it.outcome = Waiting
		it.reason = fmt.Sprintf("%s: waits for %s to be accepted", p.Field, p.Ref)
		return
	}
}

// pushOne pushes one ready record with create-or-update. It reports whether
// the batch must stop.
func (e *Engine) pushOne(ctx context.Context, kind record.Kind, it *item, opts Options, res *Result) bool {
	start := time.Now()
	defer func() { it.took = time.Since(start) }()
	body := json.RawMessage(it.built.JSON)
	create := it.state.ChannelRef == nil && it.state.AcceptedAt == nil
	switched := false
	for {
		var ref string
		var err error
		if create {
			ref, err = e.pusher.Create(ctx, kind, body)
		} else {
			ref, err = e.pusher.Update(ctx, kind, it.id, body)
		}
		it.sent = true
		if err == nil {
			it.outcome, it.ref, it.created = Accepted, ref, create
			if create {
				res.Created++
			} else {
				res.Updated++
			}
			return false
		}
		if ctx.Err() != nil {
			it.outcome = Waiting
			return true
		}
		f := e.pusher.Classify(err)
		switch f.Class {
		case RateLimited:
			wait := f.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			if wait > e.cfg.MaxInlineRateWait {
				it.outcome = Waiting
				res.RateLimitedFor = wait
				return true
			}
			e.logger.InfoContext(ctx, "rate limited, waiting", e.attrs(kind, it.id, opts, slog.Duration("retry_after", wait))...)
			if e.cfg.Observer != nil {
				e.cfg.Observer.RateLimited(kind, wait)
			}
			select {
			case <-ctx.Done():
				it.outcome = Waiting
				return true
			case <-time.After(wait):
			}
			continue
		case Paused:
			it.outcome = Waiting
			res.RateLimitedFor = max(f.RetryAfter, time.Second)
			e.logger.InfoContext(ctx, "channel unavailable, pausing", e.attrs(kind, it.id, opts, slog.String("error", f.Reason), slog.Duration("pause", res.RateLimitedFor))...)
			return true
		case AuthFailed:
			it.outcome = Waiting
			res.AuthFailed = true
			e.logger.ErrorContext(ctx, "channel refused our credentials: pushing paused", e.attrs(kind, it.id, opts, slog.String("error", f.Reason))...)
			return true
		case Permanent:
			if f.Conflict && !switched {
				_, found, gerr := e.pusher.Exists(ctx, kind, it.id)
				if gerr != nil {
					gf := e.pusher.Classify(gerr)
					if gf.Class != Permanent {
						e.fail(ctx, kind, it, opts, res, gf.Reason)
						return false
					}
				} else if found == create {
					// POST of a record the target has, or PUT of one it lacks.
					create = !found
					switched = true
					continue
				}
			}
			it.outcome = Dead
			it.reason = fmt.Sprintf("%s/%s: channel rejected: %s", kind.Plural(), it.id, f.Reason)
			e.logger.WarnContext(ctx, "record dead-lettered", e.attrs(kind, it.id, opts, slog.String("reason", it.reason))...)
			return false
		default:
			e.fail(ctx, kind, it, opts, res, f.Reason)
			return false
		}
	}
}

func (e *Engine) fail(ctx context.Context, kind record.Kind, it *item, opts Options, res *Result, reason string) {
	if opts.FinalAttempt {
		it.outcome = Dead
		it.reason = fmt.Sprintf("%s/%s: gave up after %d attempts: %s", kind.Plural(), it.id, it.state.Attempts+1, reason)
		e.logger.WarnContext(ctx, "record dead-lettered", e.attrs(kind, it.id, opts, slog.String("reason", it.reason))...)
		return
	}
	it.outcome = Failed
	it.reason = reason
	res.LastError = reason
	e.logger.InfoContext(ctx, "push failed, will retry", e.attrs(kind, it.id, opts, slog.String("error", reason))...)
}

func (e *Engine) attrs(kind record.Kind, id string, opts Options, extra ...any) []any {
	return append([]any{
		slog.String("kind", string(kind)), slog.String("id", id),
		slog.Int64("job_id", opts.JobID), slog.Int("attempt", opts.Attempt),
	}, extra...)
}

// record writes every item's outcome and releases the leases, then wakes
// the records that waited for the accepted ones.
func (e *Engine) record(ctx context.Context, kind record.Kind, items []*item, res *Result) error {
	outcomes := make([]dbsqlc.RecordOutcomeParams, len(items))
	var failIDs, failOutcomes, failErrors, acceptedIDs []string
	for i, it := range items {
		if it.outcome == "" {
			it.outcome = Waiting
		}
		p := dbsqlc.RecordOutcomeParams{
			Kind: string(kind), RecordID: it.id, Outcome: string(it.outcome),
			ChannelRef: it.ref, Error: it.reason,
			BlockedOnKind: string(it.blocked.Kind), BlockedOnID: it.blocked.ID,
		}
		if it.built != nil {
			p.SourceUpdatedAt = &it.built.UpdatedAt
			if it.outcome == Accepted {
				p.Hash = it.built.Hash
				p.Verb = "update"
				if it.created {
					p.Verb = "create"
				}
			}
			if it.sent && it.outcome != Accepted {
				p.Payload = it.built.JSON
			}
		}
		outcomes[i] = p
		switch it.outcome {
		case Accepted:
			acceptedIDs = append(acceptedIDs, it.id)
		case Unchanged:
			res.Unchanged++
		case Failed:
			res.Failed++
		case Dead:
			res.Dead++
		case Blocked:
			res.Blocked++
		case Keep:
			res.Kept++
		}
		if it.outcome == Failed || it.outcome == Dead || it.outcome == Blocked {
			failIDs = append(failIDs, it.id)
			failOutcomes = append(failOutcomes, string(it.outcome))
			failErrors = append(failErrors, it.reason)
		}
		if e.cfg.Observer != nil && it.outcome != Waiting {
			e.cfg.Observer.Outcome(kind, it.outcome, it.took)
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := e.stateTx(wctx, func(q *dbsqlc.Queries) error {
		var batchErr error
		q.RecordOutcome(wctx, outcomes).Exec(func(i int, err error) {
			if err != nil && batchErr == nil {
				batchErr = fmt.Errorf("record outcome of %s/%s: %w", kind.Plural(), outcomes[i].RecordID, err)
			}
		})
		if batchErr != nil {
			return batchErr
		}
		if len(failIDs) > 0 {
			if err := q.InsertAttempts(wctx, dbsqlc.InsertAttemptsParams{Kind: string(kind), Ids: failIDs, Outcomes: failOutcomes, Errors: failErrors}); err != nil {
				return fmt.Errorf("record %s attempts: %w", kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(acceptedIDs) > 0 && kind != record.Payment {
		blocked, err := e.q.BlockedOn(wctx, dbsqlc.BlockedOnParams{ParentKind: string(kind), ParentIds: acceptedIDs})
		if err != nil {
			return fmt.Errorf("find records blocked on %s: %w", kind, err)
		}
		if len(blocked) > 0 && e.enqueue != nil {
			refs := make([]record.Ref, len(blocked))
			for i, b := range blocked {
				refs[i] = record.Ref{Kind: record.Kind(b.Kind), ID: b.RecordID}
			}
			if err := e.enqueue(wctx, refs); err != nil {
				return fmt.Errorf("wake records blocked on %s: %w", kind, err)
			}
		}
	}
	return nil
}

// enqueueIdleParents asks the queue to push the parents that pending
// records still wait for when no push holds them, so that a child named
// alone (or whose parent nobody enqueued) still gets through.
func (e *Engine) enqueueIdleParents(ctx context.Context, kind record.Kind, pending map[string]record.Ref) {
	if e.enqueue == nil {
		return
	}
	seen := map[record.Ref]bool{}
	var kinds, ids []string
	var refs []record.Ref
	for id, ref := range pending {
		if (ref.Kind == kind && ref.ID == id) || seen[ref] {
			continue
		}
		seen[ref] = true
		refs = append(refs, ref)
		kinds, ids = append(kinds, string(ref.Kind)), append(ids, ref.ID)
	}
	if len(refs) == 0 {
		return
	}
	states, err := e.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Kinds: kinds, Ids: ids})
	if err != nil {
		return
	}
	busy := map[record.Ref]bool{}
	for _, s := range states {
		if s.LeaseUntil != nil && s.LeaseUntil.After(time.Now()) {
			busy[record.Ref{Kind: record.Kind(s.Kind), ID: s.RecordID}] = true
		}
	}
	var idle []record.Ref
	for _, r := range refs {
		if !busy[r] {
			idle = append(idle, r)
		}
	}
	if len(idle) == 0 {
		return
	}
	if err := e.enqueue(ctx, idle); err != nil && !errors.Is(err, context.Canceled) {
		e.logger.WarnContext(ctx, "enqueue parents", slog.Int("count", len(idle)), slog.String("error", err.Error()))
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
