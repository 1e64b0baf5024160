package queue

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
)

// Unqueued returns refs without the records that already wait in a push job
// no worker has started: that job reads their rows when it runs, after any
// change committed before this call, so queueing them again would push the
// same thing twice.
func Unqueued(ctx context.Context, db dbsqlc.DBTX, refs []target.Ref) ([]target.Ref, error) {
	if len(refs) == 0 {
		return refs, nil
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	rows, err := dbsqlc.New(db).WaitingAmong(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read queued pushes: %w", err)
	}
	if len(rows) == 0 {
		return refs, nil
	}
	waiting := make(map[target.Ref]bool, len(rows))
	for _, r := range rows {
		waiting[target.Ref{Target: target.Name(r.Target), Kind: r.Kind, ID: r.RecordID}] = true
	}
	out := make([]target.Ref, 0, len(refs))
	for _, r := range refs {
		if !waiting[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// Router places pushes on the two queues so that they cooperate: a record
// already waiting in a job is not queued again, a burst of events spills
// into the bulk queue when that queue has less work per worker than the
// events queue (so a large import never drains through the few event
// workers while the bulk workers sit idle, and an event never waits behind
// a bulk backlog longer than its own), and records woken by a push go back
// on that push's queue.
type Router struct {
	// Events batches event-triggered pushes; Bulk batches the rest.
	Events, Bulk *Inserter
	// EventSlots and BulkSlots are how many jobs of each queue a worker
	// runs at once.
	EventSlots, BulkSlots int
}

// EventsTx enqueues event-triggered pushes of refs inside tx and returns
// how many jobs it inserted. Records already waiting in a job are skipped.
// A burst (more than one event job's worth) fills the events queue's idle
// workers first; what remains goes to the queue with less work waiting per
// worker, the events queue on a tie.
func (r *Router) EventsTx(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, refs []target.Ref) (int, error) {
	refs, err := Unqueued(ctx, tx, refs)
	if err != nil || len(refs) == 0 {
		return 0, err
	}
	toEvents, toBulk := refs, []target.Ref(nil)
	// A pass that fits one event job goes to the events queue without
	// weighing the queues: that is the common case of an event, and the
	// read of the queues' load cost it latency (a p99 of 180 ms instead of
	// 45 ms from commit to channel).
	if r.BulkSlots > 0 && r.EventSlots > 0 && len(refs) > r.Events.batchSize() {
		load, err := dbsqlc.New(tx).PushLoad(ctx)
		if err != nil {
			return 0, fmt.Errorf("read queue load: %w", err)
		}
		var events, bulk Load
		for _, l := range load {
			switch l.Queue {
			case Events:
				events = Load{Jobs: int(l.Jobs), Records: int(l.Records)}
			case Bulk:
				bulk = Load{Jobs: int(l.Jobs), Records: int(l.Records)}
			}
		}
		toEvents, toBulk = r.split(refs, events, bulk)
	}
	n, err := r.Events.InsertTx(ctx, client, tx, toEvents, Events)
	if err != nil {
		return 0, err
	}
	m, err := r.Bulk.InsertTx(ctx, client, tx, toBulk, Bulk)
	return n + m, err
}

// Load is the push work a queue holds: jobs running or waiting to run, and
// the records they carry.
type Load struct{ Jobs, Records int }

// split divides refs (a pass of events) between the queues given their
// loads: the events queue's idle workers take a batch each, and the rest
// goes where less work waits per worker.
func (r *Router) split(refs []target.Ref, events, bulk Load) (toEvents, toBulk []target.Ref) {
	room := max(0, r.EventSlots-events.Jobs) * r.Events.batchSize()
	if len(refs) <= room {
		return refs, nil
	}
	// Parents first, so that the records that start at once are the ones
	// others wait for.
	refs = slices.Clone(refs)
	slices.SortStableFunc(refs, func(a, b target.Ref) int { return r.tier(a) - r.tier(b) })
	toEvents, rest := refs[:room], refs[room:]
	eventsPerSlot := float64(events.Records+room) / float64(r.EventSlots)
	bulkPerSlot := float64(bulk.Records) / float64(r.BulkSlots)
	if bulkPerSlot < eventsPerSlot {
		return toEvents, rest
	}
	return refs, nil
}

func (r *Router) tier(ref target.Ref) int {
	if k, err := r.Events.Registry.Kind(ref.Kind); err == nil {
		return k.Tier()
	}
	return 0
}

// FromJob enqueues pushes of refs on the named queue through the River
// client of the job whose context ctx is: the records a push woke or whose
// parents it found idle go back at that push's pace. Records already
// waiting in a job are skipped.
func (r *Router) FromJob(ctx context.Context, db dbsqlc.DBTX, queueName string, refs []target.Ref) (int, error) {
	refs, err := Unqueued(ctx, db, refs)
	if err != nil || len(refs) == 0 {
		return 0, err
	}
	in := r.Events
	if queueName == Bulk {
		in = r.Bulk
	} else {
		queueName = Events
	}
	return in.InsertFromJob(ctx, refs, queueName)
}

func (in *Inserter) batchSize() int {
	if in.BatchSize <= 0 {
		return 100
	}
	return in.BatchSize
}
