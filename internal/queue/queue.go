// Package queue is the one place that knows how a push travels through
// River: the job args (one job kind, "push", naming a target, a kind and a
// small batch of ids), the two queues, how records become jobs (batched,
// prioritised parents first), and the reads of River's job table that
// depend on that encoding (what is queued, how deep the queue is). Its
// tests prove that the reads find what the inserter writes.
package queue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
)

// Queue names.
const (
	// Bulk carries bulk runs (enqueue all, replay).
	Bulk = "bulk"
	// Events carries event-triggered pushes (the outbox, ingest, enqueue
	// push, wake-ups), so that they never wait behind a bulk run.
	Events = "events"
)

// JobKind is the River job kind of every push.
const JobKind = "push"

// PushArgs names the records of one kind that a job pushes. The worker
// reads the rows when the job runs, so the newest data wins.
type PushArgs struct {
	// Target and KindName name the kind (target.Kind.Target, .Name).
	Target   string `json:"target"`
	KindName string `json:"kind"`
	// IDs are our ids of the records.
	IDs []string `json:"ids"`
}

// Kind returns the River job kind.
func (PushArgs) Kind() string { return JobKind }

// Priority returns the River priority of pushes of kind k: parents before
// children (River works priority 1 first, and has four).
func Priority(k *target.Kind) int { return min(k.Tier(), 3) + 1 }

// Inserter turns records into push jobs. A job of many records is no
// slower than many jobs of few: the engine pushes a job's records side by
// side (syncer.Config.InFlight), so jobs are as large as BatchSize allows,
// which keeps the queue's own cost per record low.
type Inserter struct {
	// Registry knows each kind's priority.
	Registry *target.Registry
	// BatchSize is the most records one job pushes. Default 100.
	BatchSize int
}

// Params returns the insert parameters for pushing refs on queue: one job
// per batch of records of a kind, prioritised parents first. A ref of a
// kind the registry does not hold (a disabled target) is an error.
func (in *Inserter) Params(refs []target.Ref, queue string) ([]river.InsertManyParams, error) {
	size := in.BatchSize
	if size <= 0 {
		size = 100
	}
	type key struct{ target, kind string }
	byKind := map[key][]string{}
	for _, r := range refs {
		k := key{string(r.Target), r.Kind}
		byKind[k] = append(byKind[k], r.ID)
	}
	var params []river.InsertManyParams
	for _, k := range in.Registry.Kinds() {
		ids := byKind[key{string(k.Target), k.Name}]
		delete(byKind, key{string(k.Target), k.Name})
		for len(ids) > 0 {
			n := min(size, len(ids))
			params = append(params, river.InsertManyParams{
				Args:       PushArgs{Target: string(k.Target), KindName: k.Name, IDs: ids[:n:n]},
				InsertOpts: &river.InsertOpts{Queue: queue, Priority: Priority(k)},
			})
			ids = ids[n:]
		}
	}
	for k := range byKind {
		return nil, fmt.Errorf("push jobs: kind %s/%s is not enabled", k.target, k.kind)
	}
	return params, nil
}

// Insert enqueues pushes of refs on queue through client.
func (in *Inserter) Insert(ctx context.Context, client *river.Client[pgx.Tx], refs []target.Ref, queue string) (int, error) {
	params, err := in.Params(refs, queue)
	if err != nil || len(params) == 0 {
		return 0, err
	}
	n, err := client.InsertManyFast(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("insert push jobs: %w", err)
	}
	return n, nil
}

// InsertTx enqueues pushes of refs on queue inside tx.
func (in *Inserter) InsertTx(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, refs []target.Ref, queue string) (int, error) {
	params, err := in.Params(refs, queue)
	if err != nil || len(params) == 0 {
		return 0, err
	}
	n, err := client.InsertManyFastTx(ctx, tx, params)
	if err != nil {
		return 0, fmt.Errorf("insert push jobs: %w", err)
	}
	return n, nil
}

// InsertFromJob enqueues pushes of refs on queue through the River client
// of the job whose context ctx is (river.ClientFromContext).
func (in *Inserter) InsertFromJob(ctx context.Context, refs []target.Ref, queue string) (int, error) {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return 0, fmt.Errorf("insert push jobs: %w", err)
	}
	return in.Insert(ctx, client, refs, queue)
}

// QueuedIDs returns the ids of kind k waiting in push jobs not yet
// started.
func QueuedIDs(ctx context.Context, db dbsqlc.DBTX, k *target.Kind) (map[string]struct{}, error) {
	ids, err := dbsqlc.New(db).QueuedIDs(ctx, dbsqlc.QueuedIDsParams{Target: string(k.Target), Kind: k.Name})
	if err != nil {
		return nil, fmt.Errorf("read queued %s pushes: %w", k, err)
	}
	out := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		out[id] = struct{}{}
	}
	return out, nil
}

// Depth counts push jobs not yet finished, by River state.
func Depth(ctx context.Context, db dbsqlc.DBTX) (map[string]int64, error) {
	rows, err := dbsqlc.New(db).QueueDepth(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.State] = r.Jobs
	}
	return out, nil
}

// KindDepth is the number of unfinished push jobs of one kind, queue and
// River state.
type KindDepth struct {
	Target, Kind, Queue, State string
	Jobs                       int64
}

// DepthByKind counts unfinished push jobs by target, kind, queue and
// River state.
func DepthByKind(ctx context.Context, db dbsqlc.DBTX) ([]KindDepth, error) {
	rows, err := dbsqlc.New(db).QueueDepthByKind(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue depth by kind: %w", err)
	}
	out := make([]KindDepth, len(rows))
	for i, r := range rows {
		out[i] = KindDepth{Target: r.Target, Kind: r.Kind, Queue: r.Queue, State: r.State, Jobs: r.Jobs}
	}
	return out, nil
}
