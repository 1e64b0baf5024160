package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/queue"
)

// Defaults of DBCollectorConfig.
const (
	// DefaultScrapeCacheTTL is how long one read of the database serves
	// scrapes.
	DefaultScrapeCacheTTL = 5 * time.Second
	// DefaultScrapeQueryTimeout bounds one read (all its queries).
	DefaultScrapeQueryTimeout = 3 * time.Second
)

// DBCollectorConfig configures a DBCollector. Zero values take the
// defaults.
type DBCollectorConfig struct {
	// CacheTTL is how long one read serves later scrapes. Default
	// DefaultScrapeCacheTTL.
	CacheTTL time.Duration
	// Timeout bounds one read; a read that runs out reports
	// chansync_database_up 0. Default DefaultScrapeQueryTimeout.
	Timeout time.Duration
	// NowFunc tells the time. Default time.Now.
	NowFunc func() time.Time
}

// DBCollector reads gauges from the database at scrape time: queue depth by
// target, kind, queue and state, dead, blocked and retrying records by
// target and kind, held targets, and the outbox lag. Concurrent scrapes share one read, which is reused for
// CacheTTL and bounded by Timeout, so that a flood of scrapes costs the
// database at most one connection at a time and a few queries per
// CacheTTL.
type DBCollector struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
	cfg  DBCollectorConfig

	queue, records, held, heldSince, outboxEntries, outboxAge, up *prometheus.Desc

	mu     sync.Mutex
	readAt time.Time
	last   []prometheus.Metric
}

// NewDBCollector returns a collector reading through pool.
func NewDBCollector(pool *pgxpool.Pool, cfg DBCollectorConfig) *DBCollector {
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultScrapeCacheTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultScrapeQueryTimeout
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &DBCollector{
		pool:          pool,
		q:             dbsqlc.New(pool),
		cfg:           cfg,
		queue:         prometheus.NewDesc("chansync_queue_jobs", "Push jobs not yet finished, by target, kind, queue and River state.", []string{"target", "kind", "queue", "state"}, nil),
		records:       prometheus.NewDesc("chansync_records_failing", "Records that are dead, blocked (waiting for a dead parent) or retrying, by target, kind and status.", []string{"target", "kind", "status"}, nil),
		held:          prometheus.NewDesc("chansync_target_held", "1 while pushing to a target is paused in every worker (a hold), by target and reason (auth failing, token endpoint failing, points pool too low).", []string{"target", "reason"}, nil),
		heldSince:     prometheus.NewDesc("chansync_target_held_since_seconds", "When a target's hold began (Unix time), by target and reason.", []string{"target", "reason"}, nil),
		outboxEntries: prometheus.NewDesc("chansync_outbox_entries", "Changes recorded by the table triggers and not yet relayed into jobs.", nil, nil),
		outboxAge:     prometheus.NewDesc("chansync_outbox_oldest_seconds", "Age of the oldest change waiting in the outbox (outbox lag).", nil, nil),
		up:            prometheus.NewDesc("chansync_database_up", "1 when the scrape could read the database.", nil, nil),
	}
}

// Describe sends the descriptors.
func (c *DBCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queue
	ch <- c.records
	ch <- c.held
	ch <- c.heldSince
	ch <- c.outboxEntries
	ch <- c.outboxAge
	ch <- c.up
}

// Collect sends the last read's metrics, reading the database first when
// that read is older than CacheTTL. Concurrent calls wait for one read.
func (c *DBCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.last == nil || c.cfg.NowFunc().Sub(c.readAt) >= c.cfg.CacheTTL {
		c.last = c.read()
		c.readAt = c.cfg.NowFunc()
	}
	metrics := c.last
	c.mu.Unlock()
	for _, m := range metrics {
		ch <- m
	}
}

// read runs the queries, one after another (one connection at a time),
// within Timeout.
func (c *DBCollector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	var out []prometheus.Metric
	up := 1.0
	if rows, err := queue.DepthByKind(ctx, c.pool); err == nil {
		for _, r := range rows {
			out = append(out, prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(r.Jobs), r.Target, r.Kind, r.Queue, r.State))
		}
	} else {
		up = 0
	}
	if rows, err := c.q.DeadLetterCounts(ctx); err == nil {
		for _, r := range rows {
			out = append(out, prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(r.Records), r.Target, r.Kind, string(r.Status)))
		}
	} else {
		up = 0
	}
	if rows, err := c.q.ListHolds(ctx); err == nil {
		for _, h := range rows {
			out = append(out,
				prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, 1, h.Target, h.Reason),
				prometheus.MustNewConstMetric(c.heldSince, prometheus.GaugeValue, float64(h.Since.Unix()), h.Target, h.Reason))
		}
	} else {
		up = 0
	}
	if lag, err := c.q.OutboxLag(ctx); err == nil {
		out = append(out,
			prometheus.MustNewConstMetric(c.outboxEntries, prometheus.GaugeValue, float64(lag.Entries)),
			prometheus.MustNewConstMetric(c.outboxAge, prometheus.GaugeValue, lag.OldestSeconds))
	} else {
		up = 0
	}
	return append(out, prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up))
}
