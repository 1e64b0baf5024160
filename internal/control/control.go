// Package control holds the operator's controls over the sync: enqueue every
// changed record (the nightly bulk run), push named records, replay dead
// letters, and report the status per kind. The enqueue command and the
// worker's status page both call it, so that they never disagree.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/payload"
	"github.com/chansync/chansync/internal/record"
)

// Controller runs the operator's controls against one database.
type Controller struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	inserter *jobs.Inserter
	// PageSize is how many rows a bulk run reads at a time. Default 1000.
	PageSize int32
}

// New returns a Controller that enqueues through inserter.
func New(pool *pgxpool.Pool, inserter *jobs.Inserter) *Controller {
	return &Controller{pool: pool, q: dbsqlc.New(pool), inserter: inserter, PageSize: 1000}
}

// KindScan counts what a bulk run found for one kind.
type KindScan struct {
	// Kind is the kind scanned.
	Kind record.Kind `json:"kind"`
	// Scanned is how many rows were read.
	Scanned int `json:"scanned"`
	// Enqueued is how many records were enqueued for a push.
	Enqueued int `json:"enqueued"`
	// Unchanged is how many records the channel already holds as they are.
	Unchanged int `json:"unchanged"`
	// DeadUnchanged is how many dead or blocked records were left alone
	// because their row has not changed since (replay them to retry).
	DeadUnchanged int `json:"dead_unchanged"`
	// AlreadyQueued is how many records were left alone because a push job
	// not yet started holds them (an earlier run still draining); that job
	// reads the row when it runs.
	AlreadyQueued int `json:"already_queued"`
}

// AllOptions tune EnqueueAll.
type AllOptions struct {
	// Kinds limits the run; empty means every kind.
	Kinds []record.Kind
	// Force pushes every record again, changed or not.
	Force bool
	// ProgressFunc, if set, is called after each page.
	ProgressFunc func(KindScan)
	// Trigger names who started the run ("enqueue all", "schedule").
	// Default "enqueue all".
	Trigger string
}

// Run is a bulk run: when it started and what its scan found.
type Run struct {
	ID        int64      `json:"id"`
	StartedAt time.Time  `json:"started_at"`
	Scans     []KindScan `json:"scans"`
}

// EnqueueAll enqueues a push for every record whose payload differs from the
// one the channel last accepted (every record with Force), and records the
// run in bulk_run. It reads the tables a page at a time, in id order, so its
// memory stays flat.
func (c *Controller) EnqueueAll(ctx context.Context, opts AllOptions) (Run, error) {
	kinds := opts.Kinds
	if len(kinds) == 0 {
		kinds = record.Kinds
	}
	trigger := opts.Trigger
	if trigger == "" {
		trigger = "enqueue all"
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	started, err := c.q.StartBulkRun(ctx, dbsqlc.StartBulkRunParams{Trigger: trigger, Force: opts.Force, Kinds: names})
	if err != nil {
		return Run{}, fmt.Errorf("record bulk run: %w", err)
	}
	run := Run{ID: started.ID, StartedAt: started.StartedAt}
	var scanned, enqueued, unchanged int32
	for _, k := range record.Kinds {
		if !slices.Contains(kinds, k) {
			continue
		}
		scan, err := c.enqueueKind(ctx, k, opts)
		if err != nil {
			return run, err
		}
		run.Scans = append(run.Scans, scan)
		scanned += int32(scan.Scanned)
		enqueued += int32(scan.Enqueued)
		unchanged += int32(scan.Unchanged)
	}
	scanJSON, err := json.Marshal(run.Scans)
	if err != nil {
		return run, err
	}
	if err := c.q.FinishBulkScan(ctx, dbsqlc.FinishBulkScanParams{
		ID: run.ID, Scanned: scanned, Enqueued: enqueued, Unchanged: unchanged, Scan: scanJSON,
	}); err != nil {
		return run, fmt.Errorf("record bulk run: %w", err)
	}
	return run, nil
}

// KindSummary is what a bulk run did for one kind.
type KindSummary struct {
	Kind      record.Kind `json:"kind"`
	Enqueued  int64       `json:"enqueued"`
	Pushed    int64       `json:"pushed"`
	Created   int64       `json:"created"`
	Updated   int64       `json:"updated"`
	Unchanged int64       `json:"skipped_unchanged"`
	Retried   int64       `json:"retried"`
	Retrying  int64       `json:"retrying"`
	Blocked   int64       `json:"blocked"`
	Dead      int64       `json:"dead"`
}

// Summary is what a bulk run did, per kind and in all.
type Summary struct {
	RunID    int64         `json:"run_id"`
	Kinds    []KindSummary `json:"kinds"`
	Total    KindSummary   `json:"total"`
	Elapsed  time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	Finished bool          `json:"finished"`
}

// Done returns how many of the enqueued records have an outcome (pushed,
// dead or blocked).
func (s Summary) Done() int64 { return s.Total.Pushed + s.Total.Dead + s.Total.Blocked }

// RunSummary tells what happened since run started, per kind: pushed
// (created, updated), skipped as unchanged, retried attempts, blocked and
// dead records.
func (c *Controller) RunSummary(ctx context.Context, run Run) (Summary, error) {
	sum := Summary{RunID: run.ID, Elapsed: time.Since(run.StartedAt)}
	outcomes, err := c.q.RunOutcomes(ctx, run.StartedAt)
	if err != nil {
		return sum, fmt.Errorf("run outcomes: %w", err)
	}
	retries, err := c.q.RunRetries(ctx, run.StartedAt)
	if err != nil {
		return sum, fmt.Errorf("run retries: %w", err)
	}
	byKind := map[string]dbsqlc.RunOutcomesRow{}
	for _, o := range outcomes {
		byKind[o.Kind] = o
	}
	retried := map[string]int64{}
	for _, r := range retries {
		retried[r.Kind] = r.Retries
	}
	for _, scan := range run.Scans {
		o := byKind[string(scan.Kind)]
		ks := KindSummary{
			Kind: scan.Kind, Enqueued: int64(scan.Enqueued), Unchanged: int64(scan.Unchanged),
			Pushed: o.Accepted, Created: o.Created, Updated: o.Updated, Retried: retried[string(scan.Kind)],
			Retrying: o.Retrying, Blocked: o.Blocked, Dead: o.Dead,
		}
		sum.Kinds = append(sum.Kinds, ks)
		t := &sum.Total
		t.Enqueued += ks.Enqueued
		t.Pushed += ks.Pushed
		t.Created += ks.Created
		t.Updated += ks.Updated
		t.Unchanged += ks.Unchanged
		t.Retried += ks.Retried
		t.Retrying += ks.Retrying
		t.Blocked += ks.Blocked
		t.Dead += ks.Dead
	}
	sum.Seconds = sum.Elapsed.Seconds()
	return sum, nil
}

// FinishRun marks a run finished (its queue drained).
func (c *Controller) FinishRun(ctx context.Context, run Run) error {
	if err := c.q.FinishBulkRun(ctx, run.ID); err != nil {
		return fmt.Errorf("finish bulk run: %w", err)
	}
	return nil
}

func (c *Controller) enqueueKind(ctx context.Context, k record.Kind, opts AllOptions) (KindScan, error) {
	scan := KindScan{Kind: k}
	if opts.Force {
		if err := c.q.ForgetAccepted(ctx, string(k)); err != nil {
			return scan, fmt.Errorf("force %s: %w", k, err)
		}
	}
	queuedIDs, err := c.q.QueuedIDs(ctx, jobs.JobKind(k))
	if err != nil {
		return scan, fmt.Errorf("read queued %s pushes: %w", k, err)
	}
	queued := make(map[string]struct{}, len(queuedIDs))
	for _, id := range queuedIDs {
		queued[id] = struct{}{}
	}
	after := ""
	for {
		built, err := payload.Page(ctx, c.q, k, after, c.PageSize)
		if err != nil {
			return scan, err
		}
		if len(built) == 0 {
			return scan, nil
		}
		last := built[len(built)-1].Ref.ID
		states, err := c.q.StatesPage(ctx, dbsqlc.StatesPageParams{Kind: string(k), After: after, Upto: last})
		if err != nil {
			return scan, fmt.Errorf("read %s sync state: %w", k, err)
		}
		byID := make(map[string]dbsqlc.StatesPageRow, len(states))
		for _, s := range states {
			byID[s.RecordID] = s
		}
		var refs []record.Ref
		for _, b := range built {
			scan.Scanned++
			s, seen := byID[b.Ref.ID]
			_, isQueued := queued[b.Ref.ID]
			switch {
			case isQueued:
				scan.AlreadyQueued++
			case seen && (s.Status == "dead" || s.Status == "blocked") && s.SourceUpdatedAt != nil && s.SourceUpdatedAt.Equal(b.UpdatedAt):
				// Waits for a fix and a replay, or (blocked) for its parent,
				// whose acceptance wakes it.
				scan.DeadUnchanged++
			case seen && b.Valid() && s.AcceptedHash != nil && bytes.Equal(s.AcceptedHash, b.Hash):
				scan.Unchanged++
			default:
				refs = append(refs, b.Ref)
			}
		}
		// Each page is enqueued as it is read, and so spread over up to
		// jobs.SpreadJobs jobs: about 16 records a job for pages of 1000.
		// Small jobs keep many pushes in flight and let children follow
		// their parents closely, which a channel with real latency needs.
		// Measured with make bench, same machine and day: jobs of 100
		// pushed to a 0 ms channel 26% faster, but to a 50 ms one 3%
		// slower (0.90x of the wire limit, at the edge of its target),
		// and four workers scaled 1.87x instead of 2.11x.
		if len(refs) > 0 {
			if _, err := c.inserter.Insert(ctx, refs, jobs.QueueBulk); err != nil {
				return scan, fmt.Errorf("enqueue %s: %w", k, err)
			}
			scan.Enqueued += len(refs)
		}
		if opts.ProgressFunc != nil {
			opts.ProgressFunc(scan)
		}
		after = last
	}
}

// MissingError lists ids that have no local row.
type MissingError struct {
	Kind record.Kind
	IDs  []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s: no local row for %s", e.Kind.Plural(), strings.Join(e.IDs, ", "))
}

// Push enqueues the named records now, on the events queue; dead or blocked
// ones are put back to pending first. It fails, enqueueing nothing, if an
// id has no local row.
func (c *Controller) Push(ctx context.Context, k record.Kind, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, errors.New("push: name at least one id")
	}
	existing, err := payload.Existing(ctx, c.q, k, ids)
	if err != nil {
		return 0, err
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(existing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return 0, &MissingError{Kind: k, IDs: missing}
	}
	if err := c.q.ResetRecords(ctx, dbsqlc.ResetRecordsParams{Kind: string(k), Ids: ids}); err != nil {
		return 0, fmt.Errorf("reset %s: %w", k, err)
	}
	refs := make([]record.Ref, len(ids))
	for i, id := range ids {
		refs[i] = record.Ref{Kind: k, ID: id}
	}
	if _, err := c.inserter.Insert(ctx, refs, jobs.QueueEvents); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// ReplayFilter selects dead letters to replay. At least one field must be
// set; All selects every dead letter.
type ReplayFilter struct {
	Kind   record.Kind
	ID     string
	Reason string
	All    bool
}

// Validate reports a filter that selects nothing on purpose.
func (f ReplayFilter) Validate() error {
	if f.Kind == "" && f.ID == "" && f.Reason == "" && !f.All {
		return errors.New("replay: name --kind, --id or --reason, or --all for every dead letter")
	}
	if f.ID != "" && f.Kind == "" {
		return errors.New("replay: --id needs --kind")
	}
	return nil
}

func (f ReplayFilter) params() (kind, id, reason *string) {
	if f.Kind != "" {
		s := string(f.Kind)
		kind = &s
	}
	if f.ID != "" {
		id = &f.ID
	}
	if f.Reason != "" {
		reason = &f.Reason
	}
	return kind, id, reason
}

// DeadLetter is one dead or blocked record.
type DeadLetter struct {
	Kind          record.Kind `json:"kind"`
	ID            string      `json:"id"`
	Status        string      `json:"status"`
	Reason        string      `json:"reason"`
	Attempts      int         `json:"attempts"`
	FirstFailedAt *time.Time  `json:"first_failed_at,omitempty"`
	LastFailedAt  *time.Time  `json:"last_failed_at,omitempty"`
}

// ReplayCandidates lists the dead letters a filter selects, without
// changing anything (replay --dry-run).
func (c *Controller) ReplayCandidates(ctx context.Context, f ReplayFilter) ([]DeadLetter, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	kind, id, reason := f.params()
	rows, err := c.q.ReplayCandidates(ctx, dbsqlc.ReplayCandidatesParams{Kind: kind, RecordID: id, Reason: reason})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out := make([]DeadLetter, len(rows))
	for i, r := range rows {
		out[i] = DeadLetter{Kind: record.Kind(r.Kind), ID: r.RecordID, Status: r.Status, Reason: deref(r.LastError)}
	}
	return out, nil
}

// Replay puts the dead letters a filter selects back to pending and
// enqueues them. It returns how many it requeued.
func (c *Controller) Replay(ctx context.Context, f ReplayFilter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	kind, id, reason := f.params()
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := c.q.WithTx(tx).ResetForReplay(ctx, dbsqlc.ResetForReplayParams{Kind: kind, RecordID: id, Reason: reason})
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	refs := make([]record.Ref, len(rows))
	for i, r := range rows {
		refs[i] = record.Ref{Kind: record.Kind(r.Kind), ID: r.RecordID}
	}
	if _, err := c.inserter.InsertTx(ctx, tx, refs, jobs.QueueBulk); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	return len(refs), nil
}

// String renders the filter for logs and the replay log.
func (f ReplayFilter) String() string {
	var parts []string
	if f.All {
		parts = append(parts, "all")
	}
	if f.Kind != "" {
		parts = append(parts, "kind="+string(f.Kind))
	}
	if f.ID != "" {
		parts = append(parts, "id="+f.ID)
	}
	if f.Reason != "" {
		parts = append(parts, "reason="+f.Reason)
	}
	return strings.Join(parts, " ")
}

// LogReplay records that actor replayed (or pushed) count records selected
// by filter, for the operator's page.
func (c *Controller) LogReplay(ctx context.Context, actor, filter string, count int) error {
	if err := c.q.LogReplay(ctx, dbsqlc.LogReplayParams{Actor: actor, Filter: filter, Count: int32(count)}); err != nil {
		return fmt.Errorf("record replay: %w", err)
	}
	return nil
}

// KindStatus is the sync status of one kind.
type KindStatus struct {
	Kind     record.Kind `json:"kind"`
	Total    int64       `json:"total"`
	InSync   int64       `json:"in_sync"`
	Pending  int64       `json:"pending"`
	Retrying int64       `json:"retrying"`
	Blocked  int64       `json:"blocked"`
	Dead     int64       `json:"dead"`
	// LastAcceptedAt is when the channel last accepted a record of this
	// kind; nil if never.
	LastAcceptedAt *time.Time `json:"last_accepted_at,omitempty"`
}

// Status is the whole picture: per kind, the queue, the newest dead letters.
type Status struct {
	Kinds []KindStatus `json:"kinds"`
	// Queue counts push jobs not yet finished by River state, and changes
	// waiting in the outbox under "outbox".
	Queue       map[string]int64 `json:"queue"`
	DeadLetters []DeadLetter     `json:"dead_letters"`
}

// QueueIdle reports whether no push job is waiting or running.
func (s Status) QueueIdle() bool {
	for _, n := range s.Queue {
		if n > 0 {
			return false
		}
	}
	return true
}

// Status reads the status per kind, the queue depth and up to maxDead of the
// newest dead letters (of kind, if not empty).
func (c *Controller) Status(ctx context.Context, kind record.Kind, maxDead int32) (Status, error) {
	var st Status
	counts, err := c.q.StatusCounts(ctx)
	if err != nil {
		return st, fmt.Errorf("status counts: %w", err)
	}
	order := map[string]int{}
	for i, k := range record.Kinds {
		order[string(k)] = i
	}
	slices.SortFunc(counts, func(a, b dbsqlc.StatusCountsRow) int { return order[a.Kind] - order[b.Kind] })
	for _, r := range counts {
		ks := KindStatus{
			Kind: record.Kind(r.Kind), Total: r.Total, InSync: r.InSync, Retrying: r.Retrying,
			Blocked: r.Blocked, Dead: r.Dead,
		}
		ks.Pending = ks.Total - ks.InSync - ks.Retrying - ks.Blocked - ks.Dead
		if r.LastAcceptedAt.After(time.Unix(0, 0)) {
			t := r.LastAcceptedAt
			ks.LastAcceptedAt = &t
		}
		st.Kinds = append(st.Kinds, ks)
	}
	depth, err := c.q.QueueDepth(ctx)
	if err != nil {
		return st, fmt.Errorf("queue depth: %w", err)
	}
	st.Queue = map[string]int64{}
	for _, d := range depth {
		st.Queue[d.State] = d.Jobs
	}
	lag, err := c.q.OutboxLag(ctx)
	if err != nil {
		return st, fmt.Errorf("outbox: %w", err)
	}
	if lag.Entries > 0 {
		st.Queue["outbox"] = lag.Entries
	}
	var kp *string
	if kind != "" {
		s := string(kind)
		kp = &s
	}
	dead, err := c.q.DeadLetters(ctx, dbsqlc.DeadLettersParams{Kind: kp, MaxRows: maxDead})
	if err != nil {
		return st, fmt.Errorf("dead letters: %w", err)
	}
	for _, d := range dead {
		st.DeadLetters = append(st.DeadLetters, DeadLetter{
			Kind: record.Kind(d.Kind), ID: d.RecordID, Status: d.Status, Reason: deref(d.LastError),
			Attempts: int(d.Attempts), FirstFailedAt: d.FirstFailedAt, LastFailedAt: d.LastFailedAt,
		})
	}
	return st, nil
}

// WaitIdle polls every `every` until no push job is waiting or running and
// the outbox is empty, and returns the full status then. Each poll reads
// only the queue depth and the outbox, which stay cheap however large the
// tables are; tick, if set, is called after each poll that did not find the
// queue idle, and reads what it needs itself. The full status, which counts
// every table, is read once, at the end.
func (c *Controller) WaitIdle(ctx context.Context, every time.Duration, tick func()) (Status, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		idle, err := c.queueIdle(ctx)
		if err != nil {
			return Status{}, err
		}
		if idle {
			st, err := c.Status(ctx, "", 20)
			if err != nil {
				return st, err
			}
			if st.QueueIdle() {
				return st, nil
			}
		} else if tick != nil {
			tick()
		}
		select {
		case <-ctx.Done():
			return Status{}, ctx.Err()
		case <-t.C:
		}
	}
}

// queueIdle reports whether no push job is waiting or running and no change
// waits in the outbox.
func (c *Controller) queueIdle(ctx context.Context) (bool, error) {
	depth, err := c.q.QueueDepth(ctx)
	if err != nil {
		return false, fmt.Errorf("queue depth: %w", err)
	}
	for _, d := range depth {
		if d.Jobs > 0 {
			return false, nil
		}
	}
	lag, err := c.q.OutboxLag(ctx)
	if err != nil {
		return false, fmt.Errorf("outbox: %w", err)
	}
	return lag.Entries == 0, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ChangedSincePush reports whether a record's row (last changed at
// rowUpdatedAt) changed after the push that st records read it, or was
// never read by one: then the channel may not hold the row as it is now.
func ChangedSincePush(st dbsqlc.SyncState, rowUpdatedAt time.Time) bool {
	return st.SourceUpdatedAt == nil || st.SourceUpdatedAt.Before(rowUpdatedAt)
}
