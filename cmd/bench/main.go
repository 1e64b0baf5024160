// Command bench is chansync's benchmark (make bench). It runs the built
// binaries in bin/ (worker, enqueue, channelsim, datagen) as real processes
// against fresh databases it creates on the server at --database-url, and
// writes what it measured to bench/RESULTS.md and bench/results.json:
// throughput of a first full sync against the wire limit, an unchanged
// re-run, a 1% change, peak RSS, River's own cost, scaling out to several
// worker processes, and the latency from a committed write to the channel.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database"
)

const (
	appKey      = "bench-appkey"
	secret      = "bench-secret-not-a-real-one"
	ingestToken = "bench-ingest-token"
)

// bench holds what every step needs.
type bench struct {
	baseURL string
	bin     string
	tmp     string
	prefix  string
	procN   int
	dbN     int
	logger  *slog.Logger
	created []string
}

func main() {
	var (
		sizesFlag = flag.String("sizes", "10000,100000", "data set sizes (records across the five kinds), comma-separated")
		quick     = flag.Bool("quick", false, "a smoke run on tiny sizes (1000 records, 100 latency writes)")
		out       = flag.String("out", "bench/RESULTS.md", "where to write the results (results.json goes beside it)")
		dbURL     = flag.String("database-url", os.Getenv("DATABASE_URL"), "a Postgres server the benchmark may create and drop databases on")
		bin       = flag.String("bin", "bin", "directory of the built binaries")
		writes    = flag.Int("latency-writes", 1000, "single-row writes per latency measurement")
		only      = flag.String("only", "", "run only these parts (comma-separated: throughput,floor,scale,latency)")
	)
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sizes, err := parseSizes(*sizesFlag)
	if err != nil {
		fail(err)
	}
	if *quick {
		sizes = []int{1000}
		*writes = 100
	}
	if *dbURL == "" {
		fail(errors.New("--database-url (or DATABASE_URL) is required; scripts/bench.sh finds one with scripts/ensure-postgres.sh"))
	}
	tmp, err := os.MkdirTemp("", "chansync-bench-")
	if err != nil {
		fail(err)
	}
	b := &bench{baseURL: *dbURL, bin: *bin, tmp: tmp, prefix: fmt.Sprintf("chansync_bench_%d", os.Getpid()), logger: logger}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	parts := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p != "" {
			parts[p] = true
		}
	}
	want := func(p string) bool { return len(parts) == 0 || parts[p] }

	res := &results{Header: header(), Sizes: sizes, Quick: *quick}
	logger.Info("bench: logs of every process", slog.String("dir", tmp))
	runErr := b.all(ctx, res, sizes, *writes, want)
	b.cleanup()
	if runErr != nil {
		res.Errors = append(res.Errors, runErr.Error())
		logger.Error("bench", slog.String("error", runErr.Error()))
	}
	if err := res.write(*out); err != nil {
		fail(err)
	}
	logger.Info("bench: results written", slog.String("markdown", *out))
	if runErr != nil {
		os.Exit(1)
	}
}

// all runs every part of the benchmark, recording into res as it goes so
// that a failure still leaves what was measured.
func (b *bench) all(ctx context.Context, res *results, sizes []int, writes int, want func(string) bool) error {
	largest := sizes[len(sizes)-1]
	templates := map[int]string{}
	template := func(size int) (string, error) {
		if t, ok := templates[size]; ok {
			return t, nil
		}
		t, err := b.template(ctx, size)
		if err != nil {
			return "", err
		}
		templates[size] = t
		return t, nil
	}
	var scaleOne *syncRun
	if want("throughput") {
		for _, size := range sizes {
			tmpl, err := template(size)
			if err != nil {
				return err
			}
			for _, c := range []struct {
				latency time.Duration
				conc    int
			}{{0, 16}, {50 * time.Millisecond, 64}} {
				b.logger.Info("bench: first full sync", slog.Int("size", size), slog.Duration("latency", c.latency), slog.Int("concurrency", c.conc))
				run, err := b.syncRun(ctx, tmpl, size, c.latency, c.conc, 1, true)
				if err != nil {
					return err
				}
				b.logger.Info("bench: wire limit", slog.Int("size", size), slog.Duration("latency", c.latency))
				wire, err := b.wireLimit(ctx, size, c.latency, c.conc)
				if err != nil {
					return err
				}
				run.Wire = &wire
				run.Ratio = run.RecPerSec / wire.RecPerSec
				res.Throughput = append(res.Throughput, run)
				if size == largest && c.latency > 0 {
					scaleOne = run
				}
				b.logger.Info("bench: done", slog.Float64("records_per_s", run.RecPerSec), slog.Float64("wire_records_per_s", wire.RecPerSec), slog.Float64("ratio", run.Ratio))
			}
		}
	}
	if want("floor") {
		n := min(sizes[0], 10000)
		for _, conc := range []int{16, 64} {
			b.logger.Info("bench: River floor", slog.Int("jobs", n), slog.Int("concurrency", conc))
			f, err := b.riverFloor(ctx, n, conc)
			if err != nil {
				return err
			}
			res.Floor = append(res.Floor, f)
		}
	}
	if want("scale") {
		tmpl, err := template(largest)
		if err != nil {
			return err
		}
		for _, n := range []int{1, 2, 4} {
			if n == 1 && scaleOne != nil {
				res.Scale = append(res.Scale, scaleOne)
				continue
			}
			b.logger.Info("bench: scale out", slog.Int("size", largest), slog.Int("workers", n))
			run, err := b.syncRun(ctx, tmpl, largest, 50*time.Millisecond, 64, n, false)
			if err != nil {
				return err
			}
			res.Scale = append(res.Scale, run)
		}
	}
	if want("latency") {
		tmpl, err := template(sizes[0])
		if err != nil {
			return err
		}
		b.logger.Info("bench: latency, idle", slog.Int("writes", writes))
		idle, err := b.latency(ctx, tmpl, writes, false, 0)
		if err != nil {
			return err
		}
		res.Latency = append(res.Latency, idle...)
		big, err := template(largest)
		if err != nil {
			return err
		}
		b.logger.Info("bench: latency, under load", slog.Int("writes", writes), slog.Int("bulk", largest))
		loaded, err := b.latency(ctx, big, writes, true, largest)
		if err != nil {
			return err
		}
		res.Latency = append(res.Latency, loaded...)
	}
	return nil
}

// syncRun is one first full sync (and, when followups, the unchanged re-run
// and the 1% change after it).
type syncRun struct {
	Size         int              `json:"size"`
	LatencyMS    int              `json:"latency_ms"`
	Concurrency  int              `json:"concurrency"`
	Workers      int              `json:"workers"`
	Pushed       int64            `json:"pushed"`
	Dead         int64            `json:"dead"`
	WallS        float64          `json:"wall_s"`
	RecPerSec    float64          `json:"records_per_s"`
	SimCreates   int64            `json:"sim_creates"`
	SimRequests  int64            `json:"sim_requests"`
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
	WallS        float64 `json:"wall_s"`
	Enqueued     int64   `json:"enqueued"`
	Upserts      int64   `json:"upserts_sent"`
	EnqueueRSSMB float64 `json:"enqueue_rss_mb"`
}

// changeResult is an enqueue all after 1% of the rows changed.
type changeResult struct {
	Changed int64   `json:"rows_changed"`
	WallS   float64 `json:"wall_s"`
	Puts    int64   `json:"puts"`
	Posts   int64   `json:"posts"`
}

// syncRun clones the template, starts a simulator and n workers, and times
// `enqueue all --wait` from start to drained.
func (b *bench) syncRun(ctx context.Context, tmpl string, size int, latency time.Duration, conc, n int, followups bool) (*syncRun, error) {
	run := &syncRun{Size: size, LatencyMS: int(latency / time.Millisecond), Concurrency: conc, Workers: n}
	name, dbURL, err := b.createDB(ctx, tmpl)
	if err != nil {
		return nil, err
	}
	defer b.dropDB(name)
	s, err := b.startSim(latency, false)
	if err != nil {
		return nil, err
	}
	defer s.p.stop(5 * time.Second)
	var ws []*worker
	defer func() {
		for _, w := range ws {
			w.p.stop(30 * time.Second)
		}
	}()
	maxConns := 0
	if n > 1 {
		// max_connections is 100 by default: leave room for the rest.
		maxConns = min(40, 72/n)
	}
	for range n {
		w, err := b.startWorker(ctx, dbURL, s, workerOpts{concurrency: conc, maxConns: maxConns})
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	env := []string{"DATABASE_URL=" + dbURL, "LOG_LEVEL=warn"}
	pg := samplePostgres(name)
	cpu0 := map[string]float64{"worker": 0, "channelsim": procCPU(s.p)}
	for _, w := range ws {
		cpu0["worker"] += procCPU(w.p)
	}
	sum, enqCPU, rss, wall, err := b.enqueueAllCPU(env)
	pgCPU := pg.finish()
	if err != nil {
		return nil, err
	}
	run.CPU = map[string]float64{"enqueue": enqCPU, "postgres (this database's backends)": pgCPU, "channelsim": procCPU(s.p) - cpu0["channelsim"]}
	for _, w := range ws {
		run.CPU["worker"] += procCPU(w.p)
	}
	run.CPU["worker"] -= cpu0["worker"]
	run.Summary = &sum
	run.Pushed, run.Dead = sum.Total.Pushed, sum.Total.Dead+sum.Total.Blocked
	run.WallS = wall.Seconds()
	run.RecPerSec = float64(sum.Total.Pushed) / wall.Seconds()
	run.EnqueueRSSMB = rss
	st, err := simStats(ctx, s)
	if err != nil {
		return nil, err
	}
	run.SimCreates, _ = writes(st)
	run.SimRequests = st.Requests
	if followups {
		c0, u0 := writes(st)
		sum, rss, wall, err := b.enqueueAll(env)
		if err != nil {
			return nil, err
		}
		st, err := simStats(ctx, s)
		if err != nil {
			return nil, err
		}
		c1, u1 := writes(st)
		run.Rerun = &rerunResult{WallS: wall.Seconds(), Enqueued: sum.Total.Enqueued, Upserts: c1 - c0 + u1 - u0, EnqueueRSSMB: rss}

		changed, err := b.changeOnePercent(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		_, _, wall, err = b.enqueueAll(env)
		if err != nil {
			return nil, err
		}
		st, err = simStats(ctx, s)
		if err != nil {
			return nil, err
		}
		c2, u2 := writes(st)
		run.Change = &changeResult{Changed: changed, WallS: wall.Seconds(), Puts: u2 - u1, Posts: c2 - c1}
	}
	for _, w := range ws {
		run.WorkerRSSMB = append(run.WorkerRSSMB, w.p.stop(30*time.Second))
	}
	ws = nil
	return run, nil
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
	var sum control.Summary
	out, rss, wall, err := b.run("enqueue", []string{"all", "--wait", "--json", "--every", "100ms"}, env)
	if jerr := json.Unmarshal(out, &sum); jerr != nil {
		if err != nil {
			return sum, rss, wall, err
		}
		return sum, rss, wall, fmt.Errorf("enqueue all: parse summary: %w: %q", jerr, out)
	}
	return sum, rss, wall, nil
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

// template creates a database holding the migrated schema and the
// generated data set of size records, with no outbox entries, to be cloned.
func (b *bench) template(ctx context.Context, size int) (string, error) {
	b.logger.Info("bench: loading data set", slog.Int("size", size))
	name, dbURL, err := b.createDB(ctx, "")
	if err != nil {
		return "", err
	}
	env := []string{"DATABASE_URL=" + dbURL, "LOG_LEVEL=warn"}
	if _, _, _, err := b.run("worker", []string{"migrate"}, env); err != nil {
		return "", err
	}
	if _, _, _, err := b.run("datagen", []string{"--records", strconv.Itoa(size), "--quiet"}, env); err != nil {
		return "", err
	}
	return name, nil
}

// admin runs statements on the server's maintenance connection.
func (b *bench) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, b.baseURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", database.Redact(b.baseURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// createDB creates a fresh database (a copy of tmpl, if given) and returns
// its name and URL.
func (b *bench) createDB(ctx context.Context, tmpl string) (string, string, error) {
	b.dbN++
	name := fmt.Sprintf("%s_%d", b.prefix, b.dbN)
	sql := "CREATE DATABASE " + name
	if tmpl != "" {
		sql += " TEMPLATE " + tmpl
	}
	if err := b.admin(ctx, sql); err != nil {
		return "", "", err
	}
	b.created = append(b.created, name)
	u, err := url.Parse(b.baseURL)
	if err != nil {
		return "", "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

// dropDB drops a database made by createDB.
func (b *bench) dropDB(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		b.logger.Warn("bench: drop database", slog.String("error", err.Error()))
	}
}

// cleanup drops every database the run created.
func (b *bench) cleanup() {
	for _, name := range b.created {
		b.dropDB(name)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			return nil, fmt.Errorf("--sizes: %q is not a size of at least 10", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	os.Exit(1)
}
