package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/ingest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
	"github.com/chansync/chansync/internal/testkit"
)

// TestWritesReachTheChannel runs the real push path (River workers, the
// syncer, the channel client) against the simulator: every record written
// through the API reaches the channel, and its GET ends in sync.
func TestWritesReachTheChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	const appKey, secret = "ingest-e2e", "ingest-e2e-secret-4Fq"
	sim := channelsimtest.Start(t, channelsim.Config{AppKey: appKey, Secret: secret})
	s := dbtest.New(t)
	tgt, err := channel.New(channel.Settings{BaseURL: sim.URL(), AppKey: appKey, Secret: secret}, target.Deps{Logger: logger})
	require.NoError(t, err)
	registry, err := target.NewRegistry(tgt)
	require.NoError(t, err)
	events := &queue.Inserter{Registry: registry, BatchSize: 10}
	engine, err := syncer.New(syncer.Config{
		Pool: s.Pool, Registry: registry, Logger: logger,
		EnqueueFunc: func(ctx context.Context, _ string, refs []target.Ref) error {
			_, err := events.InsertFromJob(ctx, refs, queue.Events)
			return err
		},
	})
	require.NoError(t, err)
	jcfg := jobs.Config{FetchPollInterval: 50 * time.Millisecond, WaitSnooze: 100 * time.Millisecond, Logger: logger}
	workers := river.NewWorkers()
	river.AddWorker(workers, jobs.NewPushWorker(registry, engine, jcfg))
	rc, err := jobs.NewClient(s.Pool, workers, jcfg)
	require.NoError(t, err)
	require.NoError(t, rc.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.Stop(stopCtx)
	})

	h, err := ingest.New(ingest.Config{Pool: s.Pool, Controller: control.New(control.Config{Pool: s.Pool, Registry: registry, Client: rc}), Token: token, Logger: logger})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := &testBundle{pool: s.Pool, url: srv.URL, logs: &testkit.SyncBuffer{}, set: datagen.Generate(datagen.Options{Records: 60, Seed: 3})}

	want := map[string][]string{}
	for _, k := range kinds {
		bodies := b.bodies(t, k)
		res := b.post(t, k, bodies)
		want[k] = res.IDs
	}

	deadline := time.Now().Add(60 * time.Second)
	for _, k := range kinds {
		for _, id := range want[k] {
			for {
				v := b.getRecord(t, k, id)
				if v.Sync.Status == ingest.StatusInSync {
					require.NotEmpty(t, v.Sync.ChannelID)
					require.NotNil(t, v.Sync.AcceptedAt)
					break
				}
				require.NotContains(t, []string{ingest.StatusDead, ingest.StatusBlocked}, v.Sync.Status, "%s %s: %s", k, id, v.Sync.Reason)
				require.True(t, time.Now().Before(deadline), "%s %s still %s", k, id, v.Sync.Status)
				time.Sleep(20 * time.Millisecond)
			}
			_, ok := sim.Record(string(k), id)
			require.True(t, ok, "the channel holds %s %s", k, id)
		}
		require.Equal(t, len(want[k]), sim.Count(string(k)))
	}
	resp := b.do(t, http.MethodGet, "/v1/users/"+want["user"][0], nil)
	require.Equal(t, http.StatusOK, resp.status)
}
