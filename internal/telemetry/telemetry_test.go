package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/telemetry"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	pool  *pgxpool.Pool
	clock *clock
	url   string
}

// setup serves /metrics with a DBCollector reading through a pool of its
// own (so that its connection use can be counted).
func setup(t *testing.T, cfg telemetry.DBCollectorConfig) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	pool, err := database.NewPool(context.Background(), s.URL, database.PoolConfig{MaxConns: 4, ApplicationName: "telemetry-test"})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	clk := &clock{t: time.Now()}
	cfg.NowFunc = clk.Now
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewDBCollector(pool, cfg))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return &testBundle{pool: pool, clock: clk, url: srv.URL}
}

func (b *testBundle) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(b.url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(body)
}

// TestMetricsFloodSharesOneRead: fifty scrapes at once read the database
// once (three queries on one connection at a time) and later scrapes reuse
// the read until it is CacheTTL old, so a flood of /metrics cannot take
// the jobs' connections.
func TestMetricsFloodSharesOneRead(t *testing.T) {
	t.Parallel()
	b := setup(t, telemetry.DBCollectorConfig{CacheTTL: 5 * time.Second})
	before := b.pool.Stat().AcquireCount()

	var wg sync.WaitGroup
	bodies := make([]string, 50)
	for i := range bodies {
		wg.Go(func() {
			resp, err := http.Get(b.url)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			bodies[i] = string(body)
		})
	}
	wg.Wait()
	for _, body := range bodies {
		require.Contains(t, body, "chansync_database_up 1")
	}
	require.EqualValues(t, 4, b.pool.Stat().AcquireCount()-before, "one read: four queries")

	// A record dies; the cached read does not show it until it is old.
	_, err := b.pool.Exec(context.Background(), `INSERT INTO sync_state (target, kind, record_id, status, last_error) VALUES ('channel', 'user', 'U1', 'dead', 'x')`)
	require.NoError(t, err)
	require.NotContains(t, b.scrape(t), `chansync_records_failing{kind="user",status="dead",target="channel"} 1`)
	b.clock.Advance(5 * time.Second)
	require.Contains(t, b.scrape(t), `chansync_records_failing{kind="user",status="dead",target="channel"} 1`)
}

// TestSlowScrapeIsTimeBoxed: a read that runs out of time reports the
// database down rather than holding the scrape (and a connection).
func TestSlowScrapeIsTimeBoxed(t *testing.T) {
	t.Parallel()
	b := setup(t, telemetry.DBCollectorConfig{Timeout: time.Nanosecond})
	body := b.scrape(t)
	require.Contains(t, body, "chansync_database_up 0")
	require.NotContains(t, body, "chansync_records_failing")
}

// TestHostileTargetAddsNoSeries: a target answering with a thousand
// made-up codes adds one series (the target's client labels them "other",
// see the targets' own tests), and its messages are cut before the status
// page shows them.
func TestHostileTargetAddsNoSeries(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := telemetry.NewHealth(reg)
	for range 1000 {
		h.Observe(target.Observation{Target: "channel", Route: "POST /users", Result: "data", Code: "other", Detail: strings.Repeat("m", 100000)})
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "chansync_target_errors_total" {
			require.Len(t, mf.GetMetric(), 1)
			require.Equal(t, float64(1000), mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	h.Observe(target.Observation{Target: "channel", Route: "POST /users", Result: "auth", Code: "1002", Detail: strings.Repeat("m", 100000)})
	state, _, detail := h.State("channel")
	require.Equal(t, telemetry.StateAuthFailing, state)
	require.LessOrEqual(t, len(detail), telemetry.MaxDetail+len("…"))
}
