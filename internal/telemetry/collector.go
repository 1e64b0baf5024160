package telemetry

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/dbsqlc"
)

// DBCollector reads gauges from the database at scrape time: queue depth by
// job kind and state, dead, blocked and retrying records by kind, and the
// outbox lag.
type DBCollector struct {
	q *dbsqlc.Queries

	queue, records, outboxEntries, outboxAge, up *prometheus.Desc
}

// NewDBCollector returns a collector reading through pool.
func NewDBCollector(pool *pgxpool.Pool) *DBCollector {
	return &DBCollector{
		q:             dbsqlc.New(pool),
		queue:         prometheus.NewDesc("chansync_queue_jobs", "Push jobs not yet finished, by job kind and River state.", []string{"job_kind", "state"}, nil),
		records:       prometheus.NewDesc("chansync_records_failing", "Records that are dead, blocked (waiting for a dead parent) or retrying, by kind and status.", []string{"kind", "status"}, nil),
		outboxEntries: prometheus.NewDesc("chansync_outbox_entries", "Changes recorded by the table triggers and not yet relayed into jobs.", nil, nil),
		outboxAge:     prometheus.NewDesc("chansync_outbox_oldest_seconds", "Age of the oldest change waiting in the outbox (outbox lag).", nil, nil),
		up:            prometheus.NewDesc("chansync_database_up", "1 when the scrape could read the database.", nil, nil),
	}
}

// Describe sends the descriptors.
func (c *DBCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queue
	ch <- c.records
	ch <- c.outboxEntries
	ch <- c.outboxAge
	ch <- c.up
}

// Collect runs the queries, within 5 seconds.
func (c *DBCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	if rows, err := c.q.QueueDepthByKind(ctx); err == nil {
		for _, r := range rows {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(r.Jobs), r.Kind, r.State)
		}
	} else {
		up = 0
	}
	if rows, err := c.q.DeadLetterCounts(ctx); err == nil {
		for _, r := range rows {
			ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(r.Records), r.Kind, r.Status)
		}
	} else {
		up = 0
	}
	if lag, err := c.q.OutboxLag(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.outboxEntries, prometheus.GaugeValue, float64(lag.Entries))
		ch <- prometheus.MustNewConstMetric(c.outboxAge, prometheus.GaugeValue, lag.OldestSeconds)
	} else {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
