// Package syncstatus owns the sync status of a record: the typed status
// stored in sync_state, the outcomes of a push and the transition each
// causes, and the standing of a record as operators see it (in sync,
// pending, retrying, blocked, dead).
//
// A record's standing is computed in one place only: the SQL function
// chansync_standing (db/schema/00007_targets.sql), which every count, the
// ingest API's GET and the status page read through. Go code never
// recomputes it; it parses the function's answer with ParseStanding.
package syncstatus

import "fmt"

// Status is a record's sync status as stored in sync_state.status.
type Status string

// The statuses.
const (
	// Pending: waiting to be pushed (never pushed, or its push is waiting
	// for a parent or a lease).
	Pending Status = "pending"
	// Synced: the target accepted the payload whose hash is accepted_hash.
	Synced Status = "synced"
	// Retrying: a transient failure; a retry is scheduled.
	Retrying Status = "retrying"
	// Blocked: waits for a parent that is dead (or itself blocked).
	Blocked Status = "blocked"
	// Dead: a permanent failure; waits for a fix and a replay.
	Dead Status = "dead"
)

// Statuses lists every status.
var Statuses = []Status{Pending, Synced, Retrying, Blocked, Dead}

// DeadLetter reports whether a record of this status waits for an
// operator (dead) or for a dead parent (blocked): the dead letters that
// replay brings back.
func (s Status) DeadLetter() bool { return s == Dead || s == Blocked }

// Outcome is what happened to one record in one push.
type Outcome string

// The outcomes.
const (
	// Accepted: the target accepted the payload (created, updated or
	// adopted).
	Accepted Outcome = "accepted"
	// Unchanged: the payload equals the last accepted one; nothing sent.
	Unchanged Outcome = "unchanged"
	// Failed: a transient failure; the job will retry.
	Failed Outcome = "failed"
	// Died: a permanent failure; the record is dead-lettered.
	Died Outcome = "dead"
	// WasBlocked: a parent is dead; the record waits for it.
	WasBlocked Outcome = "blocked"
	// Waiting: a parent is not accepted yet, another push holds the
	// record, or the target is paused; the job will look again.
	Waiting Outcome = "waiting"
	// Kept: nothing to do (row gone, or dead and unchanged); state kept.
	Kept Outcome = "missing"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{Accepted, Unchanged, Failed, Died, WasBlocked, Waiting, Kept}

// Next returns the status a record moves to after outcome o, from prev.
func (o Outcome) Next(prev Status) Status {
	switch o {
	case Accepted, Unchanged:
		return Synced
	case Failed:
		return Retrying
	case Died:
		return Dead
	case WasBlocked:
		return Blocked
	case Waiting:
		return Pending
	case Kept:
		if prev == "" {
			return Pending
		}
		return prev
	}
	panic(fmt.Sprintf("syncstatus: unknown outcome %q", string(o)))
}

// CountsAttempt reports whether the outcome spends one of the record's
// attempts.
func (o Outcome) CountsAttempt() bool { return o == Failed || o == Died }

// Failure reports whether the outcome is a failure kept in the record's
// history (sync_attempt).
func (o Outcome) Failure() bool { return o == Failed || o == Died || o == WasBlocked }

// Standing is where a record stands, as operators see it.
type Standing string

// The standings.
const (
	// InSync: the target holds the row as it is now.
	InSync Standing = "in_sync"
	// StandingPending: never accepted, or the row changed since its last
	// accepted push, and no failure recorded since.
	StandingPending Standing = "pending"
	// StandingRetrying: a transient failure; a retry is scheduled.
	StandingRetrying Standing = "retrying"
	// StandingBlocked: waits for a dead parent.
	StandingBlocked Standing = "blocked"
	// StandingDead: dead-lettered.
	StandingDead Standing = "dead"
)

// Standings lists every standing, in the order operators read them.
var Standings = []Standing{InSync, StandingPending, StandingRetrying, StandingBlocked, StandingDead}

// ParseStanding returns the standing named s, as chansync_standing
// answers it.
func ParseStanding(s string) (Standing, error) {
	for _, st := range Standings {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("syncstatus: unknown standing %q", s)
}
