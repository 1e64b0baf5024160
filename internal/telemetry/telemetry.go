// Package telemetry counts what the worker does: push outcomes per target
// and kind (exported to Prometheus, and logged as a periodic progress
// line), push latency, waits on rate limits, each target's requests and
// health, and gauges read from the database at scrape time. Every label
// comes from a fixed set: nothing a caller or a target sends can make a
// new series.
package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// Outcomes counts push outcomes. It implements syncer.Observer and is safe
// for concurrent use.
type Outcomes struct {
	pushes    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	rateWaits *prometheus.CounterVec
	rateSecs  *prometheus.CounterVec
}

// NewOutcomes returns counters registered with reg (nil: not exported).
func NewOutcomes(reg prometheus.Registerer) *Outcomes {
	o := &Outcomes{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_pushes_total",
			Help: "Records processed by push jobs, by target, kind and outcome (accepted, unchanged, failed, dead, blocked, missing).",
		}, []string{"target", "kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chansync_push_duration_seconds",
			Help:    "Time to push one record to its target (requests only, including create-or-update switches and lookups), by target and kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"target", "kind"}),
		rateWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_rate_limit_waits_total",
			Help: "Times a push waited because its target answered HTTP 429, by target and kind.",
		}, []string{"target", "kind"}),
		rateSecs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_rate_limit_wait_seconds_total",
			Help: "Seconds pushes waited on their target's Retry-After, by target and kind.",
		}, []string{"target", "kind"}),
	}
	if reg != nil {
		reg.MustRegister(o.pushes, o.latency, o.rateWaits, o.rateSecs)
	}
	return o
}

// RateLimited records one wait on a rate limit.
func (o *Outcomes) RateLimited(k *target.Kind, wait time.Duration) {
	o.rateWaits.WithLabelValues(string(k.Target), k.Name).Inc()
	o.rateSecs.WithLabelValues(string(k.Target), k.Name).Add(wait.Seconds())
}

// Outcome records one record's outcome.
func (o *Outcomes) Outcome(k *target.Kind, outcome syncstatus.Outcome, took time.Duration) {
	o.pushes.WithLabelValues(string(k.Target), k.Name, string(outcome)).Inc()
	if took > 0 {
		o.latency.WithLabelValues(string(k.Target), k.Name).Observe(took.Seconds())
	}
}

// kindKey names one kind in a snapshot.
type kindKey struct{ target, kind string }

// snapshot reads the push counters back from Prometheus.
func (o *Outcomes) snapshot() map[kindKey]map[string]int64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		o.pushes.Collect(ch)
		close(ch)
	}()
	out := map[kindKey]map[string]int64{}
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		var key kindKey
		var outcome string
		for _, l := range pb.GetLabel() {
			switch l.GetName() {
			case "target":
				key.target = l.GetValue()
			case "kind":
				key.kind = l.GetValue()
			case "outcome":
				outcome = l.GetValue()
			}
		}
		if out[key] == nil {
			out[key] = map[string]int64{}
		}
		out[key][outcome] = int64(pb.GetCounter().GetValue())
	}
	return out
}

// Report logs one line per kind with what changed since the last report,
// every interval, until ctx ends; then it logs the totals once. Kinds are
// logged in reg's order.
func (o *Outcomes) Report(ctx context.Context, logger *slog.Logger, reg *target.Registry, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := o.snapshot()
	for {
		select {
		case <-ctx.Done():
			logTotals(logger, reg, "worker totals", o.snapshot(), nil)
			return
		case <-t.C:
			now := o.snapshot()
			logTotals(logger, reg, "worker progress", now, last)
			last = now
		}
	}
}

// reported are the outcomes a progress line shows.
var reported = []syncstatus.Outcome{syncstatus.Accepted, syncstatus.Unchanged, syncstatus.Failed, syncstatus.Died, syncstatus.WasBlocked}

func logTotals(logger *slog.Logger, reg *target.Registry, msg string, now, before map[kindKey]map[string]int64) {
	for _, k := range reg.Kinds() {
		key := kindKey{string(k.Target), k.Name}
		m := now[key]
		if m == nil {
			continue
		}
		attrs := []any{slog.String("target", key.target), slog.String("kind", key.kind)}
		var changed bool
		for _, oc := range reported {
			n := m[string(oc)]
			if before != nil {
				n -= before[key][string(oc)]
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
