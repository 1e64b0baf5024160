// Package telemetry counts what the worker does: push outcomes per kind
// (kept in memory for the periodic report line, and exported to Prometheus),
// and push latency.
package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/syncer"
)

// Outcomes counts push outcomes per kind. It implements syncer.Observer and
// is safe for concurrent use.
type Outcomes struct {
	mu     sync.Mutex
	counts map[record.Kind]map[syncer.Outcome]int64

	pushes    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	rateWaits *prometheus.CounterVec
	rateSecs  *prometheus.CounterVec
}

// NewOutcomes returns counters registered with reg (nil: not exported).
func NewOutcomes(reg prometheus.Registerer) *Outcomes {
	o := &Outcomes{
		counts: map[record.Kind]map[syncer.Outcome]int64{},
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_pushes_total",
			Help: "Records processed by push jobs, by kind and outcome (accepted, unchanged, failed, dead, blocked, waiting, missing).",
		}, []string{"kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chansync_push_duration_seconds",
			Help:    "Time to push one record to the channel (requests only, including create-or-update switches), by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"kind"}),
	}
	o.rateWaits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chansync_rate_limit_waits_total",
		Help: "Times a push waited because the channel answered HTTP 429, by kind.",
	}, []string{"kind"})
	o.rateSecs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chansync_rate_limit_wait_seconds_total",
		Help: "Seconds pushes waited on the channel's Retry-After, by kind.",
	}, []string{"kind"})
	if reg != nil {
		reg.MustRegister(o.pushes, o.latency, o.rateWaits, o.rateSecs)
	}
	return o
}

// RateLimited records one wait on a rate limit.
func (o *Outcomes) RateLimited(kind record.Kind, wait time.Duration) {
	o.rateWaits.WithLabelValues(string(kind)).Inc()
	o.rateSecs.WithLabelValues(string(kind)).Add(wait.Seconds())
}

// Outcome records one record's outcome.
func (o *Outcomes) Outcome(kind record.Kind, outcome syncer.Outcome, took time.Duration) {
	o.mu.Lock()
	m := o.counts[kind]
	if m == nil {
		m = map[syncer.Outcome]int64{}
		o.counts[kind] = m
	}
	m[outcome]++
	o.mu.Unlock()
	o.pushes.WithLabelValues(string(kind), string(outcome)).Inc()
	if took > 0 {
		o.latency.WithLabelValues(string(kind)).Observe(took.Seconds())
	}
}

// Snapshot returns a copy of the counts.
func (o *Outcomes) Snapshot() map[record.Kind]map[syncer.Outcome]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[record.Kind]map[syncer.Outcome]int64, len(o.counts))
	for k, m := range o.counts {
		c := make(map[syncer.Outcome]int64, len(m))
		for oc, n := range m {
			c[oc] = n
		}
		out[k] = c
	}
	return out
}

// Report logs one line per kind with what changed since the last report,
// every interval, until ctx ends; then it logs the totals once.
func (o *Outcomes) Report(ctx context.Context, logger *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := o.Snapshot()
	for {
		select {
		case <-ctx.Done():
			logTotals(logger, "worker totals", o.Snapshot(), nil)
			return
		case <-t.C:
			now := o.Snapshot()
			logTotals(logger, "worker progress", now, last)
			last = now
		}
	}
}

func logTotals(logger *slog.Logger, msg string, now, before map[record.Kind]map[syncer.Outcome]int64) {
	for _, k := range record.Kinds {
		m := now[k]
		if m == nil {
			continue
		}
		var attrs []any
		var changed bool
		attrs = append(attrs, slog.String("kind", string(k)))
		for _, oc := range []syncer.Outcome{syncer.Accepted, syncer.Unchanged, syncer.Failed, syncer.Dead, syncer.Blocked} {
			n := m[oc]
			if before != nil {
				n -= before[k][oc]
			}
			if n != 0 {
				changed = true
			}
			attrs = append(attrs, slog.Int64(string(oc), n))
		}
		if changed || before == nil {
			logger.Info(msg, attrs...)
		}
	}
}
