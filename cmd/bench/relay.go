package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/queue"
)

// relayResult is a first sync of rows written while a worker runs with
// the event relay on: bin/datagen without --quiet loads them (COPY into
// the five tables in one transaction, whose triggers fill the outbox; the
// worker relays the entries as event pushes once it commits), then
// `enqueue all --wait` pushes the rest and waits until the queue and the
// outbox are empty. It is timed from the start of the load to the drain.
type relayResult struct {
	Size        int `json:"size"`
	LatencyMS   int `json:"latency_ms"`
	Concurrency int `json:"concurrency"`
	// LoadS is datagen's wall time: generating the rows, COPY, commit.
	LoadS float64 `json:"load_s"`
	// EnqueueS is enqueue all --wait's wall time, after the load.
	EnqueueS float64 `json:"enqueue_s"`
	// WallS is from the start of the load to the drain.
	WallS float64 `json:"wall_s"`
	// Synced and Dead count the records in sync (dead or blocked) at the
	// end.
	Synced int64 `json:"synced"`
	Dead   int64 `json:"dead"`
	// RecPerSec is Synced over WallS.
	RecPerSec float64 `json:"records_per_s"`
	// EventJobs and BulkJobs count the push jobs of each queue: those the
	// relay inserted and those enqueue all did.
	EventJobs   int64   `json:"event_jobs"`
	BulkJobs    int64   `json:"bulk_jobs"`
	SimCreates  int64   `json:"sim_creates"`
	WorkerRSSMB float64 `json:"worker_rss_mb"`
	// CPU is the CPU time (s) each process spent from the start of the
	// load to the drain.
	CPU map[string]float64 `json:"cpu_s,omitempty"`
	// Wire is the wire limit of the same records at the same concurrency
	// and latency; Ratio is RecPerSec over it.
	Wire  *wireResult `json:"wire,omitempty"`
	Ratio float64     `json:"ratio"`
	// Off is the same rows loaded with the relay's outbox entries removed
	// (datagen --quiet, as in the throughput part), then enqueue all.
	Off *relayOff `json:"relay_off,omitempty"`
}

// relayOff is the relay-off run a relay run is compared with.
type relayOff struct {
	Pushed    int64   `json:"pushed"`
	WallS     float64 `json:"wall_s"`
	RecPerSec float64 `json:"records_per_s"`
	Ratio     float64 `json:"ratio"`
}

// key identifies the run's setting, to find the same run in earlier
// results.
func (r *relayResult) key() string {
	return fmt.Sprintf("%d/%d/%d", r.Size, r.LatencyMS, r.Concurrency)
}

// setComparisons records the relay-off run and the wire limit.
func (r *relayResult) setComparisons(off *syncRun, wire *wireResult) {
	r.Wire = wire
	if wire.RecPerSec > 0 {
		r.Ratio = r.RecPerSec / wire.RecPerSec
	}
	r.Off = &relayOff{Pushed: off.Pushed, WallS: off.WallS, RecPerSec: off.RecPerSec}
	if wire.RecPerSec > 0 {
		r.Off.Ratio = off.RecPerSec / wire.RecPerSec
	}
}

// relayRun starts a channel simulator and a worker (event relay on) on an
// empty migrated database, loads size records with datagen (outbox entries
// kept), runs enqueue all --wait, and times both from the start of the
// load.
func (b *bench) relayRun(ctx context.Context, size int, latency time.Duration, conc int) (*relayResult, error) {
	res := &relayResult{Size: size, LatencyMS: int(latency / time.Millisecond), Concurrency: conc}
	name, dbURL, err := b.migratedDB(ctx)
	if err != nil {
		return nil, err
	}
	defer b.dropDB(name)
	sims, err := b.startSims(latency, false)
	if err != nil {
		return nil, err
	}
	defer sims.stop()
	ws, err := b.startWorkers(ctx, dbURL, sims, syncOpts{conc: conc, workers: 1}, "")
	defer func() { stopWorkers(ws) }()
	if err != nil {
		return nil, err
	}

	meter := meterCPU(name, sims.procs("worker", ws))
	start := time.Now()
	_, load, _, loadWall, err := b.runProc("datagen", []string{"--records", strconv.Itoa(size)}, dbEnv(dbURL))
	if err != nil {
		meter.finish()
		return nil, err
	}
	_, enqCPU, _, enqWall, err := b.enqueueAllCPU(sims.env(dbURL))
	wall := time.Since(start)
	res.CPU = meter.finish()
	if err != nil {
		return nil, err
	}
	res.CPU["enqueue"] = enqCPU
	res.CPU["datagen"] = load.cpuSeconds()
	res.LoadS, res.EnqueueS, res.WallS = loadWall.Seconds(), enqWall.Seconds(), wall.Seconds()

	if err := res.countOutcomes(ctx, dbURL); err != nil {
		return nil, err
	}
	res.RecPerSec = float64(res.Synced) / wall.Seconds()
	c, err := sims.count(ctx)
	if err != nil {
		return nil, err
	}
	res.SimCreates = c.creates
	res.WorkerRSSMB = stopWorkers(ws)[0]
	ws = nil
	return res, nil
}

// countOutcomes reads how many records are in sync and dead, and how many
// push jobs each queue ran.
func (r *relayResult) countOutcomes(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'synced'), count(*) FILTER (WHERE status IN ('dead', 'blocked')) FROM sync_state`).
		Scan(&r.Synced, &r.Dead); err != nil {
		return fmt.Errorf("count sync states: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE queue = $1), count(*) FILTER (WHERE queue = $2) FROM river_job`, queue.Events, queue.Bulk).
		Scan(&r.EventJobs, &r.BulkJobs); err != nil {
		return fmt.Errorf("count jobs: %w", err)
	}
	return nil
}
