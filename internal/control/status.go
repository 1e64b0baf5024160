package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/outbox"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// KindStatus is where the records of one kind stand.
type KindStatus struct {
	Target   string `json:"target"`
	Kind     string `json:"kind"`
	Total    int64  `json:"total"`
	InSync   int64  `json:"in_sync"`
	Pending  int64  `json:"pending"`
	Retrying int64  `json:"retrying"`
	Blocked  int64  `json:"blocked"`
	Dead     int64  `json:"dead"`
	// LastAcceptedAt is when the target last accepted a record of this
	// kind; nil if never.
	LastAcceptedAt *time.Time `json:"last_accepted_at,omitempty"`
}

// Hold is a target's pause, as operators see it.
type Hold struct {
	Target string `json:"target"`
	// Reason is why pushing to the target is paused ("auth failing",
	// "points pool too low").
	Reason string `json:"reason"`
	// Detail is the target's last answer, bounded and masked.
	Detail string `json:"detail,omitempty"`
	// Since is when the hold began; NextProbeAt when one push tries again.
	Since       time.Time `json:"since"`
	NextProbeAt time.Time `json:"next_probe_at"`
	// Probes counts the probes that found the target still refusing.
	Probes int32 `json:"probes"`
}

// Status is the whole picture: per kind of every enabled target, the
// queue, the holds, the newest dead letters.
type Status struct {
	Kinds []KindStatus `json:"kinds"`
	// Queue counts push jobs not yet finished by River state, and changes
	// waiting in the outbox under "outbox" while a worker relays them.
	Queue map[string]int64 `json:"queue"`
	// Unrelayed counts changes waiting in the outbox while no worker
	// relays it (every worker runs with NO_EVENT_RELAY): the next full bulk
	// run covers them.
	Unrelayed   int64        `json:"unrelayed,omitempty"`
	Holds       []Hold       `json:"holds"`
	DeadLetters []DeadLetter `json:"dead_letters"`
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

// countsSQL counts one kind's records by standing. %s is the kind's
// VersionsSQL (code of the target's package, never input); the standing is
// chansync_standing's, the only computation of it.
const countsSQL = `SELECT count(*),
    count(*) FILTER (WHERE st = 'in_sync'),
    count(*) FILTER (WHERE st = 'retrying'),
    count(*) FILTER (WHERE st = 'blocked'),
    count(*) FILTER (WHERE st = 'dead'),
    max(accepted_at)
FROM (SELECT chansync_standing(s.status, s.source_updated_at, v.updated_at) AS st, s.accepted_at
      FROM (%s) v
      LEFT JOIN sync_state s ON s.target = $1 AND s.kind = $2 AND s.record_id = v.record_id) x`

// Counts returns where the records of kind k stand.
func (c *Controller) Counts(ctx context.Context, k *target.Kind) (KindStatus, error) {
	ks := KindStatus{Target: string(k.Target), Kind: k.Name}
	err := c.pool.QueryRow(ctx, fmt.Sprintf(countsSQL, k.VersionsSQL), string(k.Target), k.Name).
		Scan(&ks.Total, &ks.InSync, &ks.Retrying, &ks.Blocked, &ks.Dead, &ks.LastAcceptedAt)
	if err != nil {
		return ks, fmt.Errorf("count %s: %w", k, err)
	}
	ks.Pending = ks.Total - ks.InSync - ks.Retrying - ks.Blocked - ks.Dead
	return ks, nil
}

// standingSQL is the standing of one record of a kind, as countsSQL
// counts it.
const standingSQL = `SELECT chansync_standing(s.status, s.source_updated_at, v.updated_at)
FROM (%s) v
LEFT JOIN sync_state s ON s.target = $1 AND s.kind = $2 AND s.record_id = v.record_id
WHERE v.record_id = $3`

// RecordStanding is where one record stands on its target, with its sync
// state (nil when it has none yet).
type RecordStanding struct {
	Kind     *target.Kind
	Standing syncstatus.Standing
	State    *dbsqlc.SyncState
}

// Standing returns where the record named id of kind k stands; found is
// false when the kind has no such record.
func (c *Controller) Standing(ctx context.Context, k *target.Kind, id string) (rs RecordStanding, found bool, err error) {
	rs.Kind = k
	var st string
	err = c.pool.QueryRow(ctx, fmt.Sprintf(standingSQL, k.VersionsSQL), string(k.Target), k.Name, id).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return rs, false, nil
	}
	if err != nil {
		return rs, false, fmt.Errorf("standing of %s/%s: %w", k, id, err)
	}
	if rs.Standing, err = syncstatus.ParseStanding(st); err != nil {
		return rs, false, err
	}
	state, err := c.q.StatusPageSyncState(ctx, dbsqlc.StatusPageSyncStateParams{Target: string(k.Target), Kind: k.Name, RecordID: id})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return rs, false, fmt.Errorf("sync state of %s/%s: %w", k, id, err)
	default:
		rs.State = &state
	}
	return rs, true, nil
}

// StandingsOf returns where the record of source named id stands on every
// kind that carries that source's ids (a user: the channel's user, the
// user centre's account and membership), in registry order.
func (c *Controller) StandingsOf(ctx context.Context, source, id string) ([]RecordStanding, error) {
	var out []RecordStanding
	for _, k := range c.reg.BySource(source) {
		rs, found, err := c.Standing(ctx, k, id)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, rs)
		}
	}
	return out, nil
}

// Status reads where every selected kind stands (every kind when kinds is
// empty), the queue depth, the holds and up to maxDead of the newest dead
// letters of those kinds' targets.
func (c *Controller) Status(ctx context.Context, kinds []*target.Kind, maxDead int32) (Status, error) {
	var st Status
	if len(kinds) == 0 {
		kinds = c.reg.Kinds()
	}
	var targets []string
	seen := map[target.Name]bool{}
	for _, k := range kinds {
		ks, err := c.Counts(ctx, k)
		if err != nil {
			return st, err
		}
		st.Kinds = append(st.Kinds, ks)
		if !seen[k.Target] {
			seen[k.Target] = true
			targets = append(targets, string(k.Target))
		}
	}
	var err error
	if st.Queue, st.Unrelayed, err = c.queueDepth(ctx); err != nil {
		return st, err
	}
	if st.Holds, err = c.Holds(ctx); err != nil {
		return st, err
	}
	var kind *string
	if len(kinds) == 1 {
		kind = &kinds[0].Name
	}
	dead, err := c.q.DeadLetters(ctx, dbsqlc.DeadLettersParams{Targets: targets, Kind: kind, MaxRows: maxDead})
	if err != nil {
		return st, fmt.Errorf("dead letters: %w", err)
	}
	for _, d := range dead {
		st.DeadLetters = append(st.DeadLetters, DeadLetter{
			Target: d.Target, Kind: d.Kind, ID: d.RecordID, Status: d.Status, Reason: deref(d.LastError),
			Attempts: int(d.Attempts), FirstFailedAt: d.FirstFailedAt, LastFailedAt: d.LastFailedAt,
		})
	}
	return st, nil
}

// Holds returns every target's hold (targets pushing normally have none).
func (c *Controller) Holds(ctx context.Context) ([]Hold, error) {
	rows, err := c.q.ListHolds(ctx)
	if err != nil {
		return nil, fmt.Errorf("holds: %w", err)
	}
	out := make([]Hold, len(rows))
	for i, h := range rows {
		out[i] = Hold{Target: h.Target, Reason: h.Reason, Detail: deref(h.Detail), Since: h.Since, NextProbeAt: h.NextProbeAt, Probes: h.Probes}
	}
	return out, nil
}

// queueDepth counts unfinished push jobs by River state, and changes
// waiting in the outbox: under "outbox" while a worker relays them, as
// unrelayed otherwise.
func (c *Controller) queueDepth(ctx context.Context) (depth map[string]int64, unrelayed int64, err error) {
	if depth, err = queue.Depth(ctx, c.pool); err != nil {
		return nil, 0, err
	}
	lag, err := c.q.OutboxLag(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: %w", err)
	}
	if lag.Entries == 0 {
		return depth, 0, nil
	}
	alive, err := outbox.Alive(ctx, c.pool)
	if err != nil {
		return nil, 0, err
	}
	if !alive {
		return depth, lag.Entries, nil
	}
	depth["outbox"] = lag.Entries
	return depth, 0, nil
}

// WaitIdle polls every `every` until no push job is waiting or running and
// the outbox is empty, and returns the full status then. Each poll reads
// only the queue depth and the outbox, which stay cheap however large the
// tables are; tick, if set, is called after each poll that did not find the
// queue idle, and reads what it needs itself. The full status, which counts
// every table, is read once, at the end.
func (c *Controller) WaitIdle(ctx context.Context, every time.Duration, kinds []*target.Kind, tick func()) (Status, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		depth, _, err := c.queueDepth(ctx)
		if err != nil {
			return Status{}, err
		}
		if (Status{Queue: depth}).QueueIdle() {
			st, err := c.Status(ctx, kinds, 20)
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
