package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/control"
)

// syncOpts select one first full sync and what follows it.
type syncOpts struct {
	size    int
	latency time.Duration
	conc    int
	workers int
	// userCentre turns the APIHub user centre on beside the channel.
	userCentre bool
	// rerun follows the first sync with an unchanged enqueue all; change
	// then changes 1% of the rows and runs enqueue all again.
	rerun, change bool
	// profile, when set, receives the worker's CPU profile and Postgres's
	// top statements of the first sync (one worker process only).
	profile *profileResult
}

// syncRun is one first full sync (and, when asked, the unchanged re-run
// and the 1% change after it).
type syncRun struct {
	Size        int `json:"size"`
	LatencyMS   int `json:"latency_ms"`
	Concurrency int `json:"concurrency"`
	Workers     int `json:"workers"`
	// Targets names the targets on; absent (in older results) means the
	// channel alone.
	Targets []string `json:"targets,omitempty"`
	// Pushed counts the records accepted, of every target's kinds.
	Pushed int64   `json:"pushed"`
	Dead   int64   `json:"dead"`
	WallS  float64 `json:"wall_s"`
	// RecPerSec is Pushed over WallS.
	RecPerSec float64 `json:"records_per_s"`
	// SimCreates and SimRequests count the channel simulator's creates and
	// requests; UCRequests and UCWrites the user centre's requests and
	// successful writes (anything but a get-* or list-*).
	SimCreates   int64            `json:"sim_creates"`
	SimRequests  int64            `json:"sim_requests"`
	UCRequests   int64            `json:"uc_requests,omitempty"`
	UCWrites     int64            `json:"uc_writes,omitempty"`
	EnqueueRSSMB float64          `json:"enqueue_rss_mb"`
	WorkerRSSMB  []float64        `json:"worker_rss_mb"`
	Wire         *wireResult      `json:"wire,omitempty"`
	Ratio        float64          `json:"ratio,omitempty"`
	Rerun        *rerunResult     `json:"rerun,omitempty"`
	Change       *changeResult    `json:"change,omitempty"`
	Summary      *control.Summary `json:"summary,omitempty"`
	// CPU is the CPU time (s) each process spent during the first sync.
	CPU map[string]float64 `json:"cpu_s,omitempty"`
}

// rerunResult is a second enqueue all over unchanged data.
type rerunResult struct {
	WallS    float64 `json:"wall_s"`
	Enqueued int64   `json:"enqueued"`
	// Upserts counts the channel's creates and updates; UCWrites the user
	// centre's writes.
	Upserts      int64   `json:"upserts_sent"`
	UCWrites     int64   `json:"uc_writes,omitempty"`
	EnqueueRSSMB float64 `json:"enqueue_rss_mb"`
}

// changeResult is an enqueue all after 1% of the rows changed.
type changeResult struct {
	Changed int64   `json:"rows_changed"`
	WallS   float64 `json:"wall_s"`
	Puts    int64   `json:"puts"`
	Posts   int64   `json:"posts"`
}

// channelOnly names the targets of a run with the user centre off.
var channelOnly = []string{"channel"}

// bothTargets names the targets of a run with the user centre on.
var bothTargets = []string{"channel", "usercenter"}

// targetNames returns the targets the run had on.
func (r *syncRun) targetNames() []string {
	if len(r.Targets) == 0 {
		return channelOnly
	}
	return r.Targets
}

// key identifies the run's setting, to find the same run in earlier
// results.
func (r *syncRun) key() string {
	return fmt.Sprintf("%d/%d/%d/%d/%s", r.Size, r.LatencyMS, r.Concurrency, r.Workers, strings.Join(r.targetNames(), "+"))
}

// label describes the run's setting in a sentence.
func (r *syncRun) label() string {
	return fmt.Sprintf("%d records, channel latency %d ms, concurrency %d, %s", r.Size, r.LatencyMS, r.Concurrency, strings.Join(r.targetNames(), " + "))
}

// setWire records the wire limit the run is compared with.
func (r *syncRun) setWire(w wireResult) {
	r.Wire = &w
	if w.RecPerSec > 0 {
		r.Ratio = r.RecPerSec / w.RecPerSec
	}
}

// pgCPUKey is the CPU map's entry for Postgres.
const pgCPUKey = "postgres (this database's backends)"

// syncRun clones the template, starts the simulators and the workers, and
// times `enqueue all --wait` from start to drained.
func (b *bench) syncRun(ctx context.Context, tmpl string, o syncOpts) (*syncRun, error) {
	run := &syncRun{Size: o.size, LatencyMS: int(o.latency / time.Millisecond), Concurrency: o.conc, Workers: o.workers, Targets: channelOnly}
	if o.userCentre {
		run.Targets = bothTargets
	}
	name, dbURL, err := b.createDB(ctx, tmpl)
	if err != nil {
		return nil, err
	}
	defer b.dropDB(name)
	sims, err := b.startSims(o.latency, o.userCentre)
	if err != nil {
		return nil, err
	}
	defer sims.stop()
	var stmts *statementWatch
	profilePath := ""
	if o.profile != nil {
		stmts = b.watchStatements(ctx, dbURL)
		profilePath = filepath.Join(b.tmp, name+"-worker.pprof")
	}
	ws, err := b.startWorkers(ctx, dbURL, sims, o, profilePath)
	defer func() { stopWorkers(ws) }()
	if err != nil {
		return nil, err
	}

	env := sims.env(dbURL)
	meter := meterCPU(name, sims.procs("worker", ws))
	sum, enqCPU, rss, wall, err := b.enqueueAllCPU(env)
	run.CPU = meter.finish()
	if err != nil {
		return nil, err
	}
	run.CPU["enqueue"] = enqCPU
	run.Summary = &sum
	run.Pushed, run.Dead = sum.Total.Pushed, sum.Total.Dead+sum.Total.Blocked
	run.WallS = wall.Seconds()
	run.RecPerSec = float64(sum.Total.Pushed) / wall.Seconds()
	run.EnqueueRSSMB = rss
	w0, err := sims.count(ctx)
	if err != nil {
		return nil, err
	}
	run.SimCreates, run.SimRequests, run.UCRequests, run.UCWrites = w0.creates, w0.requests, w0.ucRequests, w0.ucWrites

	if o.profile != nil {
		// Stop the worker now, so that its profile covers the first sync
		// alone; a fresh one serves what follows.
		o.profile.Statements, o.profile.PGNote = stmts.top(ctx)
		run.WorkerRSSMB = stopWorkers(ws)
		ws = nil
		b.summarizeProfile(ctx, o.profile, profilePath)
		if o.rerun || o.change {
			if ws, err = b.startWorkers(ctx, dbURL, sims, o, ""); err != nil {
				return nil, err
			}
		}
	}
	if o.rerun {
		if run.Rerun, err = b.rerun(ctx, env, sims); err != nil {
			return nil, err
		}
	}
	if o.change {
		if run.Change, err = b.change(ctx, dbURL, env, sims); err != nil {
			return nil, err
		}
	}
	for i, v := range stopWorkers(ws) {
		if i < len(run.WorkerRSSMB) {
			run.WorkerRSSMB[i] = max(run.WorkerRSSMB[i], v)
		} else {
			run.WorkerRSSMB = append(run.WorkerRSSMB, v)
		}
	}
	ws = nil
	return run, nil
}

// startWorkers starts o.workers worker processes against dbURL and the
// simulators; the first writes its CPU profile to profilePath, if given.
// It returns those it started even when one fails.
func (b *bench) startWorkers(ctx context.Context, dbURL string, sims *simSet, o syncOpts, profilePath string) ([]*worker, error) {
	maxConns := 0
	if o.workers > 1 {
		// max_connections is 100 by default: leave room for the rest.
		maxConns = min(40, 72/o.workers)
	}
	var ws []*worker
	for i := range o.workers {
		env := sims.workerEnv()
		if i == 0 && profilePath != "" {
			env = append(env, "CPU_PROFILE="+profilePath)
		}
		w, err := b.startWorker(ctx, dbURL, sims.ch, workerOpts{concurrency: o.conc, maxConns: maxConns, extraEnv: env})
		if err != nil {
			return ws, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// stopWorkers stops the workers (SIGTERM, then SIGKILL after 30 s) and
// returns their peak RSS in MB.
func stopWorkers(ws []*worker) []float64 {
	out := make([]float64, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.p.stop(30*time.Second))
	}
	return out
}

// rerun runs enqueue all over unchanged data and counts the writes it
// caused on the simulators.
func (b *bench) rerun(ctx context.Context, env []string, sims *simSet) (*rerunResult, error) {
	before, err := sims.count(ctx)
	if err != nil {
		return nil, err
	}
	sum, rss, wall, err := b.enqueueAll(env)
	if err != nil {
		return nil, err
	}
	after, err := sims.count(ctx)
	if err != nil {
		return nil, err
	}
	return &rerunResult{
		WallS: wall.Seconds(), Enqueued: sum.Total.Enqueued, EnqueueRSSMB: rss,
		Upserts:  after.creates - before.creates + after.updates - before.updates,
		UCWrites: after.ucWrites - before.ucWrites,
	}, nil
}

// change changes 1% of the rows, runs enqueue all, and counts the
// channel's PUTs and POSTs it caused.
func (b *bench) change(ctx context.Context, dbURL string, env []string, sims *simSet) (*changeResult, error) {
	before, err := sims.count(ctx)
	if err != nil {
		return nil, err
	}
	changed, err := b.changeOnePercent(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	_, _, wall, err := b.enqueueAll(env)
	if err != nil {
		return nil, err
	}
	after, err := sims.count(ctx)
	if err != nil {
		return nil, err
	}
	return &changeResult{Changed: changed, WallS: wall.Seconds(), Puts: after.updates - before.updates, Posts: after.creates - before.creates}, nil
}

// cpuMeter follows the CPU time of a run's processes and of the Postgres
// backends serving its database from the moment it is made.
type cpuMeter struct {
	procs map[string][]*proc
	base  map[string]float64
	pg    *pgSampler
}

// meterCPU starts measuring the named processes (by entry of the CPU map)
// and the backends of the database db.
func meterCPU(db string, procs map[string][]*proc) *cpuMeter {
	m := &cpuMeter{procs: procs, base: map[string]float64{}}
	for name, ps := range procs {
		for _, p := range ps {
			m.base[name] += procCPU(p)
		}
	}
	m.pg = samplePostgres(db)
	return m
}

// finish returns the CPU seconds each entry used since the meter started.
func (m *cpuMeter) finish() map[string]float64 {
	out := map[string]float64{pgCPUKey: m.pg.finish()}
	for name, ps := range m.procs {
		v := 0.0
		for _, p := range ps {
			v += procCPU(p)
		}
		out[name] = v - m.base[name]
	}
	return out
}

// enqueueAllCPU is enqueueAll, also returning the CPU time it used.
func (b *bench) enqueueAllCPU(env []string) (control.Summary, float64, float64, time.Duration, error) {
	var sum control.Summary
	out, p, rss, wall, err := b.runProc("enqueue", []string{"all", "--wait", "--json", "--every", "100ms"}, env)
	cpu := 0.0
	if p != nil {
		cpu = p.cpuSeconds()
	}
	if jerr := json.Unmarshal(out, &sum); jerr != nil {
		if err != nil {
			return sum, cpu, rss, wall, err
		}
		return sum, cpu, rss, wall, fmt.Errorf("enqueue all: parse summary: %w: %q", jerr, out)
	}
	return sum, cpu, rss, wall, nil
}

// enqueueAll runs `enqueue all --wait --json` and parses its summary. Exit
// status 3 (dead letters) is not an error here: the summary says so.
func (b *bench) enqueueAll(env []string) (control.Summary, float64, time.Duration, error) {
	sum, _, rss, wall, err := b.enqueueAllCPU(env)
	return sum, rss, wall, err
}

// changeOnePercent changes about 1% of the rows of every table (those whose
// id ends in 00) in a way the channel sees, and clears the outbox entries
// the change made, so that the change waits for enqueue all.
func (b *bench) changeOnePercent(ctx context.Context, dbURL string) (int64, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var n int64
	for _, q := range []string{
		`UPDATE companies SET business_scope = coalesce(business_scope, '') || '（更新）' WHERE right(channel_company_id, 2) = '00'`,
		`UPDATE users SET phone = '13800' || lpad(right(channel_user_id, 6), 6, '0') WHERE right(channel_user_id, 2) = '00'`,
		`UPDATE tasks SET recruit_count = recruit_count + 1 WHERE right(channel_task_id, 2) = '00'`,
		`UPDATE applications SET remark = 'bench change' WHERE right(channel_application_id, 2) = '00'`,
		`UPDATE payments SET remark = 'bench change' WHERE right(channel_payment_id, 2) = '00'`,
		`DELETE FROM sync_outbox`,
	} {
		tag, err := tx.Exec(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("change 1%%: %w", err)
		}
		if strings.HasPrefix(q, "UPDATE") {
			n += tag.RowsAffected()
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("change 1%%: commit: %w", err)
	}
	return n, nil
}
