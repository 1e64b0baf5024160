// Package jobs carries pushes through River: one job kind per record kind,
// each job naming a small batch of records by id (the worker reads the rows
// when it runs, so the newest data wins), a retry policy with exponential
// backoff and jitter, and the mapping of push outcomes to River's retry,
// snooze and completion.
package jobs

import (
	"fmt"

	"github.com/riverqueue/river"

	"github.com/chansync/chansync/internal/record"
)

// Queue names.
const (
	// QueueBulk carries bulk runs (enqueue all, replay, push).
	QueueBulk = "bulk"
	// QueueEvents carries event-triggered pushes, so that they never wait
	// behind a bulk run.
	QueueEvents = "events"
)

// PushArgs names the records of one kind that a job pushes.
type PushArgs struct {
	// IDs are the records' channel_*_id values.
	IDs []string `json:"ids"`
}

// PushUserArgs pushes users.
type PushUserArgs struct{ PushArgs }

// PushCompanyArgs pushes companies.
type PushCompanyArgs struct{ PushArgs }

// PushTaskArgs pushes tasks.
type PushTaskArgs struct{ PushArgs }

// PushApplicationArgs pushes applications.
type PushApplicationArgs struct{ PushArgs }

// PushPaymentArgs pushes payments.
type PushPaymentArgs struct{ PushArgs }

// Kind returns the River job kind.
func (PushUserArgs) Kind() string { return JobKind(record.User) }

// Kind returns the River job kind.
func (PushCompanyArgs) Kind() string { return JobKind(record.Company) }

// Kind returns the River job kind.
func (PushTaskArgs) Kind() string { return JobKind(record.Task) }

// Kind returns the River job kind.
func (PushApplicationArgs) Kind() string { return JobKind(record.Application) }

// Kind returns the River job kind.
func (PushPaymentArgs) Kind() string { return JobKind(record.Payment) }

func (a PushArgs) args() PushArgs { return a }

// JobKind returns the River job kind that pushes records of kind k, such as
// "push_user".
func JobKind(k record.Kind) string { return "push_" + string(k) }

// NewArgs returns the job args that push ids of kind k.
func NewArgs(k record.Kind, ids []string) (river.JobArgs, error) {
	a := PushArgs{IDs: ids}
	switch k {
	case record.User:
		return PushUserArgs{a}, nil
	case record.Company:
		return PushCompanyArgs{a}, nil
	case record.Task:
		return PushTaskArgs{a}, nil
	case record.Application:
		return PushApplicationArgs{a}, nil
	case record.Payment:
		return PushPaymentArgs{a}, nil
	}
	return nil, fmt.Errorf("job args: unknown kind %q", k)
}

// Priority returns the River priority of pushes of kind k: parents before
// children (River works priority 1 first).
func Priority(k record.Kind) int { return k.Tier() + 1 }
