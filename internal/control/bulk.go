package control

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/target"
)

// KindScan counts what a bulk run found for one kind.
type KindScan struct {
	// Target and Kind name the kind scanned.
	Target string `json:"target"`
	Kind   string `json:"kind"`
	// Scanned is how many records were read.
	Scanned int `json:"scanned"`
	// Enqueued is how many records were enqueued for a push.
	Enqueued int `json:"enqueued"`
	// Unchanged is how many records the target already holds as they are.
	Unchanged int `json:"unchanged"`
	// DeadUnchanged is how many dead or blocked records were left alone
	// because their rows have not changed since (replay them to retry).
	DeadUnchanged int `json:"dead_unchanged"`
	// AlreadyQueued is how many records were left alone because a push job
	// not yet started holds them (an earlier run still draining); that job
	// reads the rows when it runs.
	AlreadyQueued int `json:"already_queued"`
}

// AllOptions tune EnqueueAll.
type AllOptions struct {
	// Kinds limits the run; empty means every kind of every enabled
	// target.
	Kinds []*target.Kind
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

// EnqueueAll enqueues a push for every record whose request differs from
// the one its target last accepted (every record with Force), and records
// the run in bulk_run. It reads the tables a page at a time, in id order,
// so its memory stays flat.
func (c *Controller) EnqueueAll(ctx context.Context, opts AllOptions) (Run, error) {
	kinds := opts.Kinds
	if len(kinds) == 0 {
		kinds = c.reg.Kinds()
	}
	trigger := opts.Trigger
	if trigger == "" {
		trigger = "enqueue all"
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	started, err := c.q.StartBulkRun(ctx, dbsqlc.StartBulkRunParams{Trigger: trigger, Force: opts.Force, Kinds: names})
	if err != nil {
		return Run{}, fmt.Errorf("record bulk run: %w", err)
	}
	run := Run{ID: started.ID, StartedAt: started.StartedAt}
	// A full run covers every change already in the outbox: it reads each
	// row after the change was committed. It clears those entries once
	// done, so that with no relay running (NO_EVENT_RELAY) they do not pile
	// up, and with one they are not pushed twice.
	var covered []dbsqlc.OutboxEntriesRow
	if len(opts.Kinds) == 0 {
		if covered, err = c.q.OutboxEntries(ctx); err != nil {
			return run, fmt.Errorf("read outbox: %w", err)
		}
	}
	var scanned, enqueued, unchanged int32
	for _, k := range kinds {
		scan, err := c.enqueueKind(ctx, k, opts)
		if err != nil {
			return run, err
		}
		run.Scans = append(run.Scans, scan)
		scanned += int32(scan.Scanned)
		enqueued += int32(scan.Enqueued)
		unchanged += int32(scan.Unchanged)
	}
	if err := c.clearOutbox(ctx, covered); err != nil {
		return run, err
	}
	scanJSON, err := encodeScans(run.Scans)
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

func (c *Controller) enqueueKind(ctx context.Context, k *target.Kind, opts AllOptions) (KindScan, error) {
	scan := KindScan{Target: string(k.Target), Kind: k.Name}
	if opts.Force {
		if err := c.q.ForgetAccepted(ctx, dbsqlc.ForgetAcceptedParams{Target: string(k.Target), Kind: k.Name}); err != nil {
			return scan, fmt.Errorf("force %s: %w", k, err)
		}
	}
	queued, err := queue.QueuedIDs(ctx, c.pool, k)
	if err != nil {
		return scan, err
	}
	after := ""
	for {
		built, err := k.Page(ctx, c.pool, after, c.pageSize)
		if err != nil {
			return scan, fmt.Errorf("read %s rows: %w", k, err)
		}
		if len(built) == 0 {
			return scan, nil
		}
		last := built[len(built)-1].Ref.ID
		states, err := c.q.StatesPage(ctx, dbsqlc.StatesPageParams{Target: string(k.Target), Kind: k.Name, After: after, Upto: last})
		if err != nil {
			return scan, fmt.Errorf("read %s sync state: %w", k, err)
		}
		byID := make(map[string]dbsqlc.StatesPageRow, len(states))
		for _, s := range states {
			byID[s.RecordID] = s
		}
		var refs []target.Ref
		for _, b := range built {
			scan.Scanned++
			s, seen := byID[b.Ref.ID]
			_, isQueued := queued[b.Ref.ID]
			switch {
			case isQueued:
				scan.AlreadyQueued++
			case seen && s.Status.DeadLetter() && s.SourceUpdatedAt != nil && s.SourceUpdatedAt.Equal(b.UpdatedAt):
				// Waits for a fix and a replay, or (blocked) for its parent,
				// whose acceptance wakes it.
				scan.DeadUnchanged++
			case seen && b.Valid() && s.AcceptedHash != nil && bytes.Equal(s.AcceptedHash, b.Hash):
				scan.Unchanged++
			default:
				refs = append(refs, b.Ref)
			}
		}
		// Each page is enqueued as it is read (in jobs of BatchSize
		// records, whose records the engine pushes side by side), so the
		// workers start on it while the next page is read.
		if len(refs) > 0 {
			if _, err := c.inserter.Insert(ctx, c.client, refs, queue.Bulk); err != nil {
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

// KindSummary is what a bulk run did for one kind.
type KindSummary struct {
	Target    string `json:"target"`
	Kind      string `json:"kind"`
	Enqueued  int64  `json:"enqueued"`
	Pushed    int64  `json:"pushed"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"skipped_unchanged"`
	Retried   int64  `json:"retried"`
	Retrying  int64  `json:"retrying"`
	Blocked   int64  `json:"blocked"`
	Dead      int64  `json:"dead"`
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
	type key struct{ target, kind string }
	byKind := map[key]dbsqlc.RunOutcomesRow{}
	for _, o := range outcomes {
		byKind[key{o.Target, o.Kind}] = o
	}
	retried := map[key]int64{}
	for _, r := range retries {
		retried[key{r.Target, r.Kind}] = r.Retries
	}
	for _, scan := range run.Scans {
		kk := key{scan.Target, scan.Kind}
		o := byKind[kk]
		ks := KindSummary{
			Target: scan.Target, Kind: scan.Kind, Enqueued: int64(scan.Enqueued), Unchanged: int64(scan.Unchanged),
			Pushed: o.Accepted, Created: o.Created, Updated: o.Updated, Retried: retried[kk],
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

// clearOutbox removes the outbox entries a full run covered, unless they
// changed again since it read them.
func (c *Controller) clearOutbox(ctx context.Context, covered []dbsqlc.OutboxEntriesRow) error {
	const chunk = 10000
	for len(covered) > 0 {
		n := min(chunk, len(covered))
		p := dbsqlc.ClearOutboxEntriesParams{
			Kinds: make([]string, n), Ids: make([]string, n), Changed: make([]time.Time, n),
		}
		for i, e := range covered[:n] {
			p.Kinds[i], p.Ids[i], p.Changed[i] = e.Kind, e.RecordID, e.LastChangedAt
		}
		if _, err := c.q.ClearOutboxEntries(ctx, p); err != nil {
			return fmt.Errorf("clear outbox entries the run covered: %w", err)
		}
		covered = covered[n:]
	}
	return nil
}
