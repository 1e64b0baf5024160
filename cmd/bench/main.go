// Command bench is chansync's benchmark (make bench). It runs the built
// binaries in bin/ (worker, enqueue, channelsim, apihubsim, datagen) as
// real processes against fresh databases it creates on the server at
// --database-url, and writes what it measured to bench/RESULTS.md and
// bench/results.json: throughput of a first full sync against the wire
// limit (with where the CPU goes: per process, the worker's CPU profile
// and Postgres's top statements), an unchanged re-run, a 1% change, peak
// RSS, the same with the APIHub user centre on beside the channel, rows
// written while the event relay runs, River's own cost, scaling out to
// several worker processes, and the latency from a committed write to the
// channel. Each figure of the previous committed run is shown beside its
// new value where both exist.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/database"
)

const (
	appKey      = "bench-appkey"
	secret      = "bench-secret-not-a-real-one"
	ingestToken = "bench-ingest-token"
	// hubAK and hubSK are the user centre's AK and SK, given to apihubsim
	// and to the worker alike.
	hubAK = "bench-apihub-ak"
	hubSK = "bench-apihub-sk-not-a-real-one"
)

// parts are the benchmark's parts, in the order they run; --only selects
// some of them.
var parts = []string{"throughput", "targets", "relay", "floor", "scale", "latency"}

// bench holds what every step needs.
type bench struct {
	baseURL string
	bin     string
	tmp     string
	// outDir is where RESULTS.md goes; the worker's CPU profile is copied
	// beside it.
	outDir string
	prefix string
	procN  int
	dbN    int
	logger *slog.Logger
	// created lists every database made, to drop at the end.
	created []string
	// templates maps a data set size to its template database.
	templates map[int]string
	// targetTiers caches the both-targets wire loop's records per template.
	targetTiers map[string][][]wireRecord
}

// config is what the command line asks for.
type config struct {
	sizes      []int
	relaySizes []int
	writes     int
	quick      bool
	want       func(part string) bool
}

func main() {
	var (
		sizesFlag = flag.String("sizes", "10000,100000", "data set sizes (records across the five kinds), comma-separated; the largest is also the size of the targets, scale and loaded latency parts")
		relayFlag = flag.String("relay-sizes", "20000,100000", "data set sizes of the relay part (rows written while the event relay runs), comma-separated")
		quick     = flag.Bool("quick", false, "a smoke run of every part on tiny sizes (1000 records, 100 latency writes)")
		out       = flag.String("out", "bench/RESULTS.md", "where to write the results (results.json and worker.pprof go beside it)")
		before    = flag.String("before", "", `the previous run's results.json, shown beside the new figures; empty: the committed results.json beside --out (git show HEAD:…); "none": no comparison`)
		dbURL     = flag.String("database-url", os.Getenv("DATABASE_URL"), "a Postgres server the benchmark may create and drop databases on")
		bin       = flag.String("bin", "bin", "directory of the built binaries")
		writes    = flag.Int("latency-writes", 1000, "single-row writes per latency measurement")
		only      = flag.String("only", "", "run only these parts, comma-separated: "+strings.Join(parts, ","))
	)
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := newConfig(*sizesFlag, *relayFlag, *only, *writes, *quick)
	if err != nil {
		fail(err)
	}
	if *dbURL == "" {
		fail(errors.New("--database-url (or DATABASE_URL) is required; scripts/bench.sh finds one with scripts/ensure-postgres.sh"))
	}
	tmp, err := os.MkdirTemp("", "chansync-bench-")
	if err != nil {
		fail(err)
	}
	b := &bench{
		baseURL: *dbURL, bin: *bin, tmp: tmp, outDir: filepath.Dir(*out),
		prefix: fmt.Sprintf("chansync_bench_%d", os.Getpid()), logger: logger,
		templates: map[int]string{}, targetTiers: map[string][][]wireRecord{},
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	res := &results{Header: header(), Sizes: cfg.sizes, RelaySizes: cfg.relaySizes, Quick: cfg.quick}
	if prev, from, err := loadBefore(*before, *out); err == nil {
		res.before, res.BeforeFrom = prev, from
		logger.Info("bench: previous figures shown beside the new ones", slog.String("from", from))
	} else if !errors.Is(err, errNoBefore) || *before != "none" {
		logger.Warn("bench: no previous figures to compare with", slog.String("reason", err.Error()))
	}
	logger.Info("bench: logs of every process", slog.String("dir", tmp))
	runErr := b.all(ctx, res, cfg)
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

// newConfig checks and combines the flags.
func newConfig(sizes, relaySizes, only string, writes int, quick bool) (config, error) {
	cfg := config{writes: writes, quick: quick}
	var err error
	if cfg.sizes, err = parseSizes("--sizes", sizes); err != nil {
		return cfg, err
	}
	if cfg.relaySizes, err = parseSizes("--relay-sizes", relaySizes); err != nil {
		return cfg, err
	}
	if quick {
		cfg.sizes, cfg.relaySizes, cfg.writes = []int{1000}, []int{1000}, 100
	}
	if cfg.writes < 1 {
		return cfg, fmt.Errorf("--latency-writes: %d is not at least 1", cfg.writes)
	}
	if cfg.want, err = parseParts(only); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseParts turns --only into a selector; empty selects every part.
func parseParts(only string) (func(string) bool, error) {
	chosen := map[string]bool{}
	for _, p := range strings.Split(only, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(parts, p) {
			return nil, fmt.Errorf("--only: unknown part %q: want some of %s", p, strings.Join(parts, ","))
		}
		chosen[p] = true
	}
	return func(p string) bool { return len(chosen) == 0 || chosen[p] }, nil
}

// all runs every chosen part of the benchmark, recording into res as it
// goes so that a failure still leaves what was measured.
func (b *bench) all(ctx context.Context, res *results, cfg config) error {
	steps := []struct {
		part string
		run  func() error
	}{
		{"throughput", func() error { return b.throughputPart(ctx, res, cfg.sizes) }},
		{"targets", func() error { return b.targetsPart(ctx, res, largest(cfg.sizes)) }},
		{"relay", func() error { return b.relayPart(ctx, res, cfg.relaySizes) }},
		{"floor", func() error { return b.floorPart(ctx, res, min(cfg.sizes[0], 10000)) }},
		{"scale", func() error { return b.scalePart(ctx, res, largest(cfg.sizes)) }},
		{"latency", func() error { return b.latencyPart(ctx, res, cfg.sizes[0], largest(cfg.sizes), cfg.writes) }},
	}
	for _, s := range steps {
		if !cfg.want(s.part) {
			continue
		}
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.part, err)
		}
	}
	return nil
}

// firstSyncCases are the two first-sync settings every size is measured
// with: a channel answering at once with the default concurrency, and one
// answering in 50 ms with 64 requests in flight.
var firstSyncCases = []struct {
	latency time.Duration
	conc    int
}{{0, 16}, {50 * time.Millisecond, 64}}

// throughputPart measures the first full sync of every size against the
// wire limit, with its re-run and 1% change; the 0 ms run of the largest
// size also profiles the worker and Postgres.
func (b *bench) throughputPart(ctx context.Context, res *results, sizes []int) error {
	for _, size := range sizes {
		tmpl, err := b.template(ctx, size)
		if err != nil {
			return err
		}
		for _, c := range firstSyncCases {
			o := syncOpts{size: size, latency: c.latency, conc: c.conc, workers: 1, rerun: true, change: true}
			if size == largest(sizes) && c.latency == 0 {
				o.profile = &profileResult{}
			}
			b.logger.Info("bench: first full sync", slog.Int("size", size), slog.Duration("latency", c.latency), slog.Int("concurrency", c.conc))
			run, err := b.syncRun(ctx, tmpl, o)
			if err != nil {
				return err
			}
			b.logger.Info("bench: wire limit", slog.Int("size", size), slog.Duration("latency", c.latency))
			wire, err := b.wireLimit(ctx, size, c.latency, c.conc)
			if err != nil {
				return err
			}
			run.setWire(wire)
			res.Throughput = append(res.Throughput, run)
			if o.profile != nil {
				o.profile.Run = run.label()
				res.Profile = o.profile
			}
			b.logger.Info("bench: done", slog.Float64("records_per_s", run.RecPerSec), slog.Float64("wire_records_per_s", wire.RecPerSec), slog.Float64("ratio", run.Ratio))
		}
	}
	return nil
}

// targetsPart measures the first full sync of size records with the user
// centre on beside the channel, against a plain loop sending the same
// requests to both simulators, and the unchanged re-run.
func (b *bench) targetsPart(ctx context.Context, res *results, size int) error {
	tmpl, err := b.template(ctx, size)
	if err != nil {
		return err
	}
	for _, c := range firstSyncCases {
		b.logger.Info("bench: first full sync, channel and user centre", slog.Int("size", size), slog.Duration("latency", c.latency), slog.Int("concurrency", c.conc))
		run, err := b.syncRun(ctx, tmpl, syncOpts{size: size, latency: c.latency, conc: c.conc, workers: 1, userCentre: true, rerun: true})
		if err != nil {
			return err
		}
		b.logger.Info("bench: wire limit, channel and user centre", slog.Int("size", size), slog.Duration("latency", c.latency))
		wire, err := b.wireLimitTargets(ctx, tmpl, c.latency, c.conc)
		if err != nil {
			return err
		}
		run.setWire(wire)
		res.Targets = append(res.Targets, run)
		b.logger.Info("bench: done", slog.Float64("records_per_s", run.RecPerSec), slog.Float64("wire_records_per_s", wire.RecPerSec), slog.Float64("ratio", run.Ratio))
	}
	return nil
}

// relayLatency and relayConc are the relay part's channel: 50 ms, 64
// requests in flight.
const (
	relayLatency = 50 * time.Millisecond
	relayConc    = 64
)

// relayPart measures, for each size, rows written while a worker relays
// their outbox entries as events, then enqueue all, beside the same rows
// loaded quietly (relay off) and the wire limit; it reuses the throughput
// part's run and wire limit of the same size where there is one.
func (b *bench) relayPart(ctx context.Context, res *results, sizes []int) error {
	for _, size := range sizes {
		off, wire := res.throughputAt(size, relayLatency, relayConc)
		if off == nil {
			tmpl, err := b.template(ctx, size)
			if err != nil {
				return err
			}
			b.logger.Info("bench: relay off", slog.Int("size", size))
			if off, err = b.syncRun(ctx, tmpl, syncOpts{size: size, latency: relayLatency, conc: relayConc, workers: 1}); err != nil {
				return err
			}
		}
		if wire == nil {
			b.logger.Info("bench: wire limit", slog.Int("size", size), slog.Duration("latency", relayLatency))
			w, err := b.wireLimit(ctx, size, relayLatency, relayConc)
			if err != nil {
				return err
			}
			wire = &w
		}
		b.logger.Info("bench: relay on", slog.Int("size", size))
		on, err := b.relayRun(ctx, size, relayLatency, relayConc)
		if err != nil {
			return err
		}
		on.setComparisons(off, wire)
		res.Relay = append(res.Relay, on)
		b.logger.Info("bench: done", slog.Float64("records_per_s", on.RecPerSec), slog.Float64("relay_off_records_per_s", off.RecPerSec), slog.Float64("ratio", on.Ratio))
	}
	return nil
}

// floorPart measures River's own cost with n no-op jobs.
func (b *bench) floorPart(ctx context.Context, res *results, n int) error {
	for _, conc := range []int{16, 64} {
		b.logger.Info("bench: River floor", slog.Int("jobs", n), slog.Int("concurrency", conc))
		f, err := b.riverFloor(ctx, n, conc)
		if err != nil {
			return err
		}
		res.Floor = append(res.Floor, f)
	}
	return nil
}

// scaleWorkers are the worker process counts of the scale part.
var scaleWorkers = []int{1, 2, 4}

// scalePart measures the first full sync of size records at 50 ms with 1,
// 2 and 4 worker processes; one worker reuses the throughput part's run.
func (b *bench) scalePart(ctx context.Context, res *results, size int) error {
	tmpl, err := b.template(ctx, size)
	if err != nil {
		return err
	}
	for _, n := range scaleWorkers {
		if one, _ := res.throughputAt(size, 50*time.Millisecond, 64); n == 1 && one != nil {
			res.Scale = append(res.Scale, one)
			continue
		}
		b.logger.Info("bench: scale out", slog.Int("size", size), slog.Int("workers", n))
		run, err := b.syncRun(ctx, tmpl, syncOpts{size: size, latency: 50 * time.Millisecond, conc: 64, workers: n})
		if err != nil {
			return err
		}
		res.Scale = append(res.Scale, run)
	}
	return nil
}

// latencyPart measures commit-to-channel latency idle (over the smallest
// set) and while a bulk run of the largest set drains.
func (b *bench) latencyPart(ctx context.Context, res *results, smallest, biggest, writes int) error {
	tmpl, err := b.template(ctx, smallest)
	if err != nil {
		return err
	}
	b.logger.Info("bench: latency, idle", slog.Int("writes", writes))
	idle, err := b.latency(ctx, tmpl, writes, false, 0)
	if err != nil {
		return err
	}
	res.Latency = append(res.Latency, idle...)
	big, err := b.template(ctx, biggest)
	if err != nil {
		return err
	}
	b.logger.Info("bench: latency, under load", slog.Int("writes", writes), slog.Int("bulk", biggest))
	loaded, err := b.latency(ctx, big, writes, true, biggest)
	if err != nil {
		return err
	}
	res.Latency = append(res.Latency, loaded...)
	return nil
}

func largest(sizes []int) int { return slices.Max(sizes) }

// template returns a database holding the migrated schema and the
// generated data set of size records, with no outbox entries, to be
// cloned; it is made on first use.
func (b *bench) template(ctx context.Context, size int) (string, error) {
	if t, ok := b.templates[size]; ok {
		return t, nil
	}
	b.logger.Info("bench: loading data set", slog.Int("size", size))
	name, dbURL, err := b.migratedDB(ctx)
	if err != nil {
		return "", err
	}
	if _, _, _, err := b.run("datagen", []string{"--records", strconv.Itoa(size), "--quiet"}, dbEnv(dbURL)); err != nil {
		return "", err
	}
	b.templates[size] = name
	return name, nil
}

// migratedDB creates a database holding chansync's schema and no rows.
func (b *bench) migratedDB(ctx context.Context) (string, string, error) {
	name, dbURL, err := b.createDB(ctx, "")
	if err != nil {
		return "", "", err
	}
	if _, _, _, err := b.run("worker", []string{"migrate"}, dbEnv(dbURL)); err != nil {
		return "", "", err
	}
	return name, dbURL, nil
}

// dbEnv is the environment of a command that only needs the database.
func dbEnv(dbURL string) []string { return []string{"DATABASE_URL=" + dbURL, "LOG_LEVEL=warn"} }

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
	dbURL, err := b.dbURL(name)
	if err != nil {
		return "", "", err
	}
	return name, dbURL, nil
}

// dbURL returns the URL of the database name on the benchmark's server.
func (b *bench) dbURL(name string) (string, error) {
	u, err := url.Parse(b.baseURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
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

// parseSizes reads a comma-separated list of data set sizes given as the
// flag name.
func parseSizes(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			return nil, fmt.Errorf("%s: %q is not a size of at least 10", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	os.Exit(1)
}
