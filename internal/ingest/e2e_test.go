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

	"github.com/chansync/chansync/internal/channelpush"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/ingest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
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
	client, err := channelapi.New(channelapi.Config{BaseURL: sim.URL(), AppKey: appKey, Secret: secret, HTTPClient: sim.Client(), Logger: logger})
	require.NoError(t, err)

	s := dbtest.New(t)
	jcfg := jobs.Config{FetchPollInterval: 50 * time.Millisecond, WaitSnooze: 100 * time.Millisecond, Logger: logger}
	pushWorker := jobs.NewPushWorker(jcfg)
	workers := river.NewWorkers()
	jobs.Register(workers, pushWorker)
	rc, err := jobs.NewClient(s.Pool, workers, jcfg)
	require.NoError(t, err)
	inserter := &jobs.Inserter{Client: rc, BatchSize: 10}
	pushWorker.Pusher = syncer.New(s.Pool, channelpush.New(client, channelpush.BreakerConfig{}), func(ctx context.Context, refs []record.Ref) error {
		_, err := inserter.Insert(ctx, refs, jobs.QueueEvents)
		return err
	}, logger, syncer.Config{})
	require.NoError(t, rc.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.Stop(stopCtx)
	})

	h, err := ingest.New(ingest.Config{Pool: s.Pool, Inserter: inserter, Token: token, Logger: logger})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := &testBundle{pool: s.Pool, url: srv.URL, logs: &testkit.SyncBuffer{}, set: datagen.Generate(datagen.Options{Records: 60, Seed: 3})}

	want := map[record.Kind][]string{}
	for _, k := range record.Kinds {
		bodies := b.bodies(t, k)
		res := b.post(t, k, bodies)
		want[k] = res.IDs
	}

	deadline := time.Now().Add(60 * time.Second)
	for _, k := range record.Kinds {
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
	resp := b.do(t, http.MethodGet, "/v1/users/"+want[record.User][0], nil)
	require.Equal(t, http.StatusOK, resp.status)
}
