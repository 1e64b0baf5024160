package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/targets"
)

// fakePusher answers every push with a scripted result: a stand-in for
// the engine, so that the mapping of results to River is tested alone.
type fakePusher struct {
	res    syncer.Result
	err    error
	cancel bool
	got    []string
}

func (f *fakePusher) Push(ctx context.Context, k *target.Kind, ids []string, opts syncer.Options) (syncer.Result, error) {
	f.got = append(f.got, k.String())
	if f.cancel {
		<-ctx.Done()
		return f.res, ctx.Err()
	}
	return f.res, f.err
}

type testBundle struct {
	schema *dbtest.Schema
	reg    *target.Registry
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	reg, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	return &testBundle{schema: dbtest.New(t), reg: reg}
}

// work runs one push job of args through the worker under a real River
// execution (rivertest) and returns what River made of it, and the error
// the worker returned (a snooze is no error).
func (b *testBundle) work(t *testing.T, p jobs.Pusher, args queue.PushArgs, cfg jobs.Config) (*rivertest.WorkResult, error) {
	t.Helper()
	ctx := context.Background()
	w := rivertest.NewWorker(t, riverpgxv5.New(b.schema.Pool), &river.Config{Schema: database.SchemaOf(b.schema.Pool)},
		jobs.NewPushWorker(b.reg, p, cfg))
	tx, err := b.schema.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := w.Work(ctx, t, tx, args, &river.InsertOpts{Queue: queue.Bulk})
	require.NotNil(t, res, "worked: %v", err)
	return res, err
}

var users = queue.PushArgs{Target: "channel", KindName: "user", IDs: []string{"U1", "U2"}}

// TestPushResultsMapToRiver: a push's result decides what River does with
// its job — done, a retry with backoff that spends an attempt, or a snooze
// that spends none.
func TestPushResultsMapToRiver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		res     syncer.Result
		err     error
		want    river.EventKind
		attempt bool // whether the attempt is spent (failed) rather than given back
	}{
		{"AllAcceptedCompletes", syncer.Result{Created: 2}, nil, river.EventKindJobCompleted, false},
		{"UnchangedCompletes", syncer.Result{Unchanged: 2}, nil, river.EventKindJobCompleted, false},
		{"DeadAndBlockedComplete", syncer.Result{Dead: 1, Blocked: 1}, nil, river.EventKindJobCompleted, false},
		{"TransientFailureRetries", syncer.Result{Created: 1, Failed: 1, LastError: "5001"}, nil, river.EventKindJobFailed, true},
		{"HeldTargetSnoozes", syncer.Result{Failed: 1, Waiting: 1, Held: "auth failing", SnoozeFor: time.Minute}, nil, river.EventKindJobSnoozed, false},
		{"RateLimitSnoozes", syncer.Result{Waiting: 2, SnoozeFor: 20 * time.Second}, nil, river.EventKindJobSnoozed, false},
		{"UnsettledCreateSnoozes", syncer.Result{Created: 1, Waiting: 1, SnoozeFor: 15 * time.Second}, nil, river.EventKindJobSnoozed, false},
		{"WaitingForParentsSnoozes", syncer.Result{Waiting: 2}, nil, river.EventKindJobSnoozed, false},
		{"StateNotWrittenFails", syncer.Result{}, errors.New("write outcome: connection refused"), river.EventKindJobFailed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := &fakePusher{res: tt.res, err: tt.err}
			res, err := b.work(t, p, users, jobs.Config{})
			require.Equal(t, tt.attempt, err != nil, "an error only when an attempt is spent: %v", err)
			require.Equal(t, tt.want, res.EventKind)
			require.Equal(t, []string{"channel/user"}, p.got)
			if tt.want == river.EventKindJobSnoozed {
				require.True(t, res.Job.ScheduledAt.After(time.Now()), "snoozed into the future")
			}
			if tt.attempt {
				require.NotEmpty(t, res.Job.Errors, "the failure is recorded against an attempt")
			} else {
				require.Empty(t, res.Job.Errors)
			}
		})
	}
}

// TestSnoozeLengths: how long a job waits is what the push asked for.
func TestSnoozeLengths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		res  syncer.Result
		want time.Duration
	}{
		{"HoldWaitsForTheProbe", syncer.Result{Waiting: 1, Held: "points pool too low", SnoozeFor: 3 * time.Minute}, 3 * time.Minute},
		{"RetryAfter", syncer.Result{Waiting: 1, SnoozeFor: 40 * time.Second}, 40 * time.Second},
		{"ParentsLookAgainSoon", syncer.Result{Waiting: 1}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			before := time.Now()
			res, err := b.work(t, &fakePusher{res: tt.res}, users, jobs.Config{WaitSnooze: 2 * time.Second})
			require.NoError(t, err)
			require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
			require.WithinDuration(t, before.Add(tt.want), res.Job.ScheduledAt, 2*time.Second)
		})
	}
}

// TestJobOfAKindNotTakenHereWaits: a job of a target this process does not
// enable (another worker does) is snoozed, never dropped or failed.
func TestJobOfAKindNotTakenHereWaits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := &fakePusher{}
	res, err := b.work(t, p, queue.PushArgs{Target: "usercenter", KindName: "account", IDs: []string{"U1"}}, jobs.Config{UnknownKindPause: time.Minute})
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.Empty(t, p.got, "nothing pushed")
	require.Empty(t, res.Job.Errors)
}

// TestShutdownMidBatchGivesTheJobBack: a push cut short by a shutdown or
// the job's timeout snoozes the job; no attempt is spent.
func TestShutdownMidBatchGivesTheJobBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.work(t, &fakePusher{cancel: true}, users, jobs.Config{JobTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.Empty(t, res.Job.Errors)
}
