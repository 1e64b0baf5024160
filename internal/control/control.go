// Package control holds the operator's controls over the sync: enqueue
// every changed record (the nightly bulk run), push named records, replay
// dead letters, report where every kind of every target stands, and
// verify a target against the local tables. The enqueue command, the
// worker's scheduled run and its status page all call it, so that they
// never disagree. It knows targets and kinds only through the registry.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// Controller runs the operator's controls against one database.
type Controller struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	reg      *target.Registry
	client   *river.Client[pgx.Tx]
	inserter *queue.Inserter
	router   *queue.Router
	pageSize int32
}

// Config is what a Controller needs.
type Config struct {
	// Pool is the database.
	Pool *pgxpool.Pool
	// Registry holds the enabled targets and their kinds.
	Registry *target.Registry
	// Client inserts jobs (an insert-only River client will do).
	Client *river.Client[pgx.Tx]
	// BatchSize is the most records one bulk job pushes. Default 100.
	BatchSize int
	// PageSize is how many rows a bulk run reads at a time. Default 1000.
	PageSize int32
	// Router places event-triggered pushes (InsertTx). Default: the events
	// queue, in jobs of 10 records, skipping records already queued.
	Router *queue.Router
}

// New returns a Controller.
func New(cfg Config) *Controller {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	inserter := &queue.Inserter{Registry: cfg.Registry, BatchSize: cfg.BatchSize}
	if cfg.Router == nil {
		cfg.Router = &queue.Router{Events: &queue.Inserter{Registry: cfg.Registry, BatchSize: 10}, Bulk: inserter}
	}
	return &Controller{
		pool: cfg.Pool, q: dbsqlc.New(cfg.Pool), reg: cfg.Registry, client: cfg.Client,
		inserter: inserter, router: cfg.Router, pageSize: cfg.PageSize,
	}
}

// Registry returns the registry the controller works with.
func (c *Controller) Registry() *target.Registry { return c.reg }

// MissingError lists ids that have no local row.
type MissingError struct {
	Kind *target.Kind
	IDs  []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s: no local row for %s", e.Kind.Plural, strings.Join(e.IDs, ", "))
}

// Push enqueues the named records of kind k now, on the events queue; dead
// or blocked ones are put back to pending first. It fails, enqueueing
// nothing, if an id has no local row.
func (c *Controller) Push(ctx context.Context, k *target.Kind, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, errors.New("push: name at least one id")
	}
	built, err := k.Load(ctx, c.pool, ids)
	if err != nil {
		return 0, fmt.Errorf("push: read %s: %w", k, err)
	}
	var missing []string
	refs := make([]target.Ref, 0, len(ids))
	for _, id := range ids {
		if _, ok := built[id]; !ok {
			missing = append(missing, id)
		}
		refs = append(refs, k.Ref(id))
	}
	if len(missing) > 0 {
		return 0, &MissingError{Kind: k, IDs: missing}
	}
	if err := c.q.ResetRecords(ctx, dbsqlc.ResetRecordsParams{Target: string(k.Target), Kind: k.Name, Ids: ids}); err != nil {
		return 0, fmt.Errorf("reset %s: %w", k, err)
	}
	if _, err := c.inserter.Insert(ctx, c.client, refs, queue.Events); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// ReplayFilter selects dead letters to replay. At least one field must be
// set; All selects every dead letter (of Target, when set).
type ReplayFilter struct {
	Target string
	Kind   string
	ID     string
	Reason string
	All    bool
}

// Validate reports a filter that selects nothing on purpose.
func (f ReplayFilter) Validate() error {
	if f.Kind == "" && f.ID == "" && f.Reason == "" && f.Target == "" && !f.All {
		return errors.New("replay: name --target, --kind, --id or --reason, or --all for every dead letter")
	}
	if f.ID != "" && f.Kind == "" {
		return errors.New("replay: --id needs --kind")
	}
	return nil
}

// String renders the filter for logs and the replay log.
func (f ReplayFilter) String() string {
	var parts []string
	if f.All {
		parts = append(parts, "all")
	}
	for _, p := range [][2]string{{"target", f.Target}, {"kind", f.Kind}, {"id", f.ID}, {"reason", f.Reason}} {
		if p[1] != "" {
			parts = append(parts, p[0]+"="+p[1])
		}
	}
	return strings.Join(parts, " ")
}

// targetsOf returns the names of the targets a filter covers (every
// enabled one when it names none), checking the kind against them.
func (c *Controller) targetsOf(targetName, kindName string) ([]string, *string, error) {
	kinds, err := c.reg.Select(targetName, kindName)
	if err != nil {
		return nil, nil, err
	}
	seen := map[target.Name]bool{}
	var names []string
	for _, k := range kinds {
		if !seen[k.Target] {
			seen[k.Target] = true
			names = append(names, string(k.Target))
		}
	}
	var kind *string
	if kindName != "" {
		kind = &kinds[0].Name
	}
	return names, kind, nil
}

func (f ReplayFilter) params() (id, reason *string) {
	if f.ID != "" {
		id = &f.ID
	}
	if f.Reason != "" {
		reason = &f.Reason
	}
	return id, reason
}

// DeadLetter is one dead or blocked record.
type DeadLetter struct {
	Target        string            `json:"target"`
	Kind          string            `json:"kind"`
	ID            string            `json:"id"`
	Status        syncstatus.Status `json:"status"`
	Reason        string            `json:"reason"`
	Attempts      int               `json:"attempts"`
	FirstFailedAt *time.Time        `json:"first_failed_at,omitempty"`
	LastFailedAt  *time.Time        `json:"last_failed_at,omitempty"`
}

// ReplayCandidates lists the dead letters a filter selects, without
// changing anything (replay --dry-run).
func (c *Controller) ReplayCandidates(ctx context.Context, f ReplayFilter) ([]DeadLetter, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	targets, kind, err := c.targetsOf(f.Target, f.Kind)
	if err != nil {
		return nil, err
	}
	id, reason := f.params()
	rows, err := c.q.ReplayCandidates(ctx, dbsqlc.ReplayCandidatesParams{Targets: targets, Kind: kind, RecordID: id, Reason: reason})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out := make([]DeadLetter, len(rows))
	for i, r := range rows {
		out[i] = DeadLetter{Target: r.Target, Kind: r.Kind, ID: r.RecordID, Status: r.Status, Reason: deref(r.LastError)}
	}
	return out, nil
}

// Replay puts the dead letters a filter selects back to pending and
// enqueues them. It returns how many it requeued.
func (c *Controller) Replay(ctx context.Context, f ReplayFilter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	targets, kind, err := c.targetsOf(f.Target, f.Kind)
	if err != nil {
		return 0, err
	}
	id, reason := f.params()
	var n int
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		rows, err := c.q.WithTx(tx).ResetForReplay(ctx, dbsqlc.ResetForReplayParams{Targets: targets, Kind: kind, RecordID: id, Reason: reason})
		if err != nil {
			return err
		}
		refs := make([]target.Ref, len(rows))
		for i, r := range rows {
			refs[i] = target.Ref{Target: target.Name(r.Target), Kind: r.Kind, ID: r.RecordID}
		}
		n = len(refs)
		_, err = c.inserter.InsertTx(ctx, c.client, tx, refs, queue.Bulk)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	return n, nil
}

// LogReplay records that actor replayed (or pushed) count records selected
// by filter, for the operator's page.
func (c *Controller) LogReplay(ctx context.Context, actor, filter string, count int) error {
	if err := c.q.LogReplay(ctx, dbsqlc.LogReplayParams{Actor: actor, Filter: filter, Count: int32(count)}); err != nil {
		return fmt.Errorf("record replay: %w", err)
	}
	return nil
}

// InsertTx enqueues event-triggered pushes of refs inside tx through the
// router (for callers that write rows and enqueue their push in one
// transaction).
func (c *Controller) InsertTx(ctx context.Context, tx pgx.Tx, refs []target.Ref) error {
	_, err := c.router.EventsTx(ctx, c.client, tx, refs)
	return err
}

// encodeScans renders a run's scans for bulk_run.scan.
func encodeScans(scans []KindScan) ([]byte, error) { return json.Marshal(scans) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
