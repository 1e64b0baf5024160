package queue_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/targets"
)

func registry(t *testing.T) *target.Registry {
	t.Helper()
	reg, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	return reg
}

func refs(kind string, n int) []target.Ref {
	out := make([]target.Ref, n)
	for i := range out {
		out[i] = target.Ref{Target: "channel", Kind: kind, ID: fmt.Sprintf("%s-%04d", kind, i)}
	}
	return out
}

// TestParams: records become jobs of one kind each, parents first and
// prioritised by tier, in jobs as full as the batch size allows.
func TestParams(t *testing.T) {
	t.Parallel()
	in := &queue.Inserter{Registry: registry(t), BatchSize: 100}
	tests := []struct {
		name      string
		refs      []target.Ref
		jobs      int
		firstKind string
	}{
		{"SmallKindTakesOneJob", refs("company", 60), 1, "company"},
		{"LargeKindUsesFullBatches", refs("payment", 64*100*2+1), 129, "payment"},
		{"ParentsComeFirst", append(refs("payment", 10), refs("company", 10)...), 2, "company"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			params, err := in.Params(tt.refs, queue.Bulk)
			require.NoError(t, err)
			require.Len(t, params, tt.jobs)
			first := params[0].Args.(queue.PushArgs)
			require.Equal(t, tt.firstKind, first.KindName)
			ids := 0
			for _, p := range params {
				a := p.Args.(queue.PushArgs)
				ids += len(a.IDs)
				require.Equal(t, queue.Bulk, p.InsertOpts.Queue)
				k, err := in.Registry.Kind(a.KindName)
				require.NoError(t, err)
				require.Equal(t, queue.Priority(k), p.InsertOpts.Priority)
			}
			require.Equal(t, len(tt.refs), ids, "every record is in one job")
		})
	}

	t.Run("TierSetsThePriority", func(t *testing.T) {
		t.Parallel()
		reg := registry(t)
		for name, want := range map[string]int{"company": 1, "user": 1, "task": 2, "application": 3, "payment": 4} {
			k, err := reg.Kind(name)
			require.NoError(t, err)
			require.Equal(t, want, queue.Priority(k), name)
		}
	})

	t.Run("DisabledKindIsRefused", func(t *testing.T) {
		t.Parallel()
		_, err := in.Params([]target.Ref{{Target: "usercenter", Kind: "account", ID: "U1"}}, queue.Events)
		require.ErrorContains(t, err, "usercenter/account is not enabled")
	})
}

// TestReadsFindWhatTheInserterWrites: the reads of River's job table
// decode the args the inserter encodes (one definition, proved both
// ways).
func TestReadsFindWhatTheInserterWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.New(t)
	reg := registry(t)
	client, err := jobs.NewClient(s.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	in := &queue.Inserter{Registry: reg, BatchSize: 10}
	n, err := in.Insert(ctx, client, append(refs("task", 25), refs("user", 3)...), queue.Events)
	require.NoError(t, err)
	require.Equal(t, 4, n, "25 tasks in jobs of 10, 3 users in one")

	task, err := reg.Kind("task")
	require.NoError(t, err)
	queued, err := queue.QueuedIDs(ctx, s.Pool, task)
	require.NoError(t, err)
	require.Len(t, queued, 25)
	require.Contains(t, queued, "task-0024")

	depth, err := queue.Depth(ctx, s.Pool)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"available": int64(n)}, depth)

	byKind, err := queue.DepthByKind(ctx, s.Pool)
	require.NoError(t, err)
	var tasks int64
	for _, d := range byKind {
		require.Equal(t, "channel", d.Target)
		require.Equal(t, queue.Events, d.Queue)
		if d.Kind == "task" {
			tasks += d.Jobs
		}
	}
	require.Positive(t, tasks)
}
