package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Targets of the 100,000-record set (issues 4 and 5).
const (
	targetSize        = 100000
	targetRatio50ms   = 0.9
	targetRatio0ms    = 0.5
	targetRerunS      = 10.0
	targetWorkerRSSMB = 200.0
	targetIdleP50MS   = 100.0
	targetIdleP99MS   = 1000.0
	targetLoadedP99MS = 2000.0
)

// runHeader says where and when the benchmark ran.
type runHeader struct {
	Date      string `json:"date"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit"`
	MemoryMB  int    `json:"memory_mb"`
	LoadAvg   string `json:"loadavg_at_start"`
}

// results is everything one run measured.
type results struct {
	Header     runHeader       `json:"header"`
	Sizes      []int           `json:"sizes"`
	Quick      bool            `json:"quick"`
	Throughput []*syncRun      `json:"throughput"`
	Floor      []floorResult   `json:"river_floor"`
	Scale      []*syncRun      `json:"scale_out"`
	Latency    []latencyResult `json:"latency"`
	Errors     []string        `json:"errors,omitempty"`
}

func header() runHeader {
	h := runHeader{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		CPUModel:  procField("/proc/cpuinfo", "model name"),
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		h.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int
		_, _ = fmt.Sscanf(kb, "%d", &n)
		h.MemoryMB = n / 1024
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		h.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			h.Commit += " (with uncommitted changes)"
		}
	}
	return h
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func holds(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func secs(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

// write writes the markdown to path and the JSON beside it.
func (r *results) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "results.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results.json: %w", err)
	}
	if err := os.WriteFile(path, []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (r *results) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	h := r.Header
	p("# chansync benchmark results\n\n")
	p("Written by `make bench` (cmd/bench); rerun it to reproduce. Raw figures: `results.json` beside this file.\n\n")
	p("| | |\n|---|---|\n")
	p("| date | %s |\n| CPUs | %d (%s) |\n| memory | %d MB |\n| Go | %s |\n| commit | %s |\n| load average at start | %s |\n| sizes | %v%s |\n\n",
		h.Date, h.CPUs, h.CPUModel, h.MemoryMB, h.GoVersion, h.Commit, h.LoadAvg, r.Sizes, map[bool]string{true: " (--quick smoke run)", false: ""}[r.Quick])
	p("Everything runs on this one machine: Postgres, the simulator (`bin/channelsim`, loopback HTTP), the worker(s) and `enqueue`, as separate processes. ")
	p("Each sync starts from a fresh copy of a database holding the generated data set (`bin/datagen`, seed 1: 2%% companies, 20%% users, 8%% tasks, 40%% applications, 30%% payments) and a fresh simulator. ")
	p("Wall time is `enqueue all --wait` from start to exit (scan, enqueue, drained). ")
	p("Concurrency N means `WORKER_CONCURRENCY=N`: N push jobs at once, each pushing its records one request at a time, so N requests in flight — like the wire loop's N goroutines. Targets apply to the %d-record set.\n\n", targetSize)

	if len(r.Errors) > 0 {
		p("**The run failed:**\n\n```\n%s\n```\n\n", strings.Join(r.Errors, "\n"))
	}

	if len(r.Throughput) > 0 {
		p("## First full sync vs the wire limit\n\n")
		p("The wire limit: the same payloads POSTed by a plain Go loop with the same concurrency over one keep-alive HTTP client, straight to a fresh simulator with the same latency, tier by tier (companies, users, tasks, applications, payments); no database, no queue.\n\n")
		p("| records | channel latency | concurrency | chansync records/s | wall | wire limit records/s | wire wall | ratio | target | holds? |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range r.Throughput {
			target, hold := "—", "—"
			if t.Size >= targetSize && t.Wire != nil {
				want := targetRatio0ms
				if t.LatencyMS > 0 {
					want = targetRatio50ms
				}
				target, hold = fmt.Sprintf("≥ %.1f×", want), holds(t.Ratio >= want)
			}
			wr, ww := "—", "—"
			if t.Wire != nil {
				wr, ww = fmt.Sprintf("%.0f", t.Wire.RecPerSec), secs(t.Wire.WallS)
			}
			p("| %d | %d ms | %d | %.0f | %s | %s | %s | %.2f× | %s | %s |\n",
				t.Size, t.LatencyMS, t.Concurrency, t.RecPerSec, secs(t.WallS), wr, ww, t.Ratio, target, hold)
		}
		p("\nEvery record was accepted: ")
		var parts []string
		for _, t := range r.Throughput {
			parts = append(parts, fmt.Sprintf("%d/%d ms: %d pushed, %d dead, %d creates at the simulator", t.Size, t.LatencyMS, t.Pushed, t.Dead, t.SimCreates))
		}
		p("%s.\n\n", strings.Join(parts, "; "))

		p("### Where the CPU goes\n\nCPU seconds each process spent during the first sync (Postgres: the backends serving the run's database, sampled from /proc), and during the wire loop; per record in µs. The machine has %d CPUs for all of them.\n\n", h.CPUs)
		p("| records | channel latency | worker | Postgres | enqueue | simulator | total (µs/record) | wire loop | wire simulator | wire total (µs/record) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range r.Throughput {
			if t.CPU == nil || t.Wire == nil || t.Wire.CPU == nil {
				continue
			}
			pg := t.CPU["postgres (this database's backends)"]
			tot := t.CPU["worker"] + pg + t.CPU["enqueue"] + t.CPU["channelsim"]
			wtot := t.Wire.CPU["wire loop"] + t.Wire.CPU["channelsim"]
			p("| %d | %d ms | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s (%.0f) | %.1f s | %.1f s | %.1f s (%.0f) |\n", t.Size, t.LatencyMS,
				t.CPU["worker"], pg, t.CPU["enqueue"], t.CPU["channelsim"], tot, tot*1e6/float64(max(1, t.Pushed)),
				t.Wire.CPU["wire loop"], t.Wire.CPU["channelsim"], wtot, wtot*1e6/float64(max(1, t.Wire.Records)))
		}
		p("\n")
		p("## Second `enqueue all` over unchanged data\n\n| records | channel latency | wall | enqueued | upserts sent | target | holds? |\n|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range r.Throughput {
			if t.Rerun == nil {
				continue
			}
			target, hold := "0 upserts", holds(t.Rerun.Upserts == 0)
			if t.Size >= targetSize {
				target = fmt.Sprintf("< %.0f s, 0 upserts", targetRerunS)
				hold = holds(t.Rerun.Upserts == 0 && t.Rerun.WallS < targetRerunS)
			}
			p("| %d | %d ms | %s | %d | %d | %s | %s |\n", t.Size, t.LatencyMS, secs(t.Rerun.WallS), t.Rerun.Enqueued, t.Rerun.Upserts, target, hold)
		}
		p("\n## 1%% of rows changed, then `enqueue all`\n\nRows whose id ends in `00` in each table get a change the channel sees.\n\n| records | channel latency | rows changed | wall | PUTs | POSTs | exactly that many PUTs? |\n|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range r.Throughput {
			if t.Change == nil {
				continue
			}
			p("| %d | %d ms | %d | %s | %d | %d | %s |\n", t.Size, t.LatencyMS, t.Change.Changed, secs(t.Change.WallS), t.Change.Puts, t.Change.Posts, holds(t.Change.Puts == t.Change.Changed && t.Change.Posts == 0))
		}
		p("\n## Peak RSS\n\nThe kernel's peak resident set of each process (`VmHWM`), read from /proc every 50 ms while it runs and just before it is stopped; a peak in the last 50 ms of a process that exits on its own can be missed. (`ru_maxrss` from the exit status is not used: a Go parent starts its children vfork-style and the kernel counts the parent's own peak into each child's.)\n\n| records | channel latency | concurrency | worker | `enqueue all` (first run) | `enqueue all` (re-run) | target (worker) | holds? |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range r.Throughput {
			wrss := 0.0
			for _, v := range t.WorkerRSSMB {
				wrss = max(wrss, v)
			}
			rr := "—"
			if t.Rerun != nil {
				rr = fmt.Sprintf("%.0f MB", t.Rerun.EnqueueRSSMB)
			}
			target, hold := "—", "—"
			if t.Size >= targetSize {
				target, hold = fmt.Sprintf("< %.0f MB", targetWorkerRSSMB), holds(wrss < targetWorkerRSSMB)
			}
			p("| %d | %d ms | %d | %.0f MB | %.0f MB | %s | %s | %s |\n", t.Size, t.LatencyMS, t.Concurrency, wrss, t.EnqueueRSSMB, rr, target, hold)
		}
		p("\n")
	}

	if len(r.Floor) > 0 {
		p("## River's own cost\n\nJobs/s through a River client with chansync's fetch settings (`FetchCooldown` 10 ms, `FetchPollInterval` 200 ms) and a worker that does nothing: the floor of chansync's per-job overhead. A bulk run spreads each page of 1,000 rows over 64 jobs, so its jobs carry about 16 records and River's share of a record is this cost divided by 16.\n\n")
		p("| jobs | concurrency | insert (InsertManyFast) | work | jobs/s | River cost per record at 16 per job |\n|---:|---:|---:|---:|---:|---:|\n")
		for _, f := range r.Floor {
			p("| %d | %d | %s | %s | %.0f | %.1f µs |\n", f.Jobs, f.Concurrency, secs(f.InsertS), secs(f.WorkS), f.JobsPerSec, 1e6/f.JobsPerSec/16)
		}
		p("\n")
	}

	if len(r.Scale) > 0 {
		p("## Scaling out\n\nThe first full sync of the largest set with 1, 2 and 4 worker processes on this machine, each `WORKER_CONCURRENCY=64`, channel latency 50 ms, no `CHANNEL_RPS` cap (with several processes, `DATABASE_MAX_CONNS` = 72/N each to stay under Postgres' `max_connections` of 100).\n\n")
		p("| workers | records | requests in flight | records/s | wall | speed-up | worker RSS (each) |\n|---:|---:|---:|---:|---:|---:|---|\n")
		base := 0.0
		for _, s := range r.Scale {
			if base == 0 {
				base = s.RecPerSec
			}
			var rss []string
			for _, v := range s.WorkerRSSMB {
				rss = append(rss, fmt.Sprintf("%.0f MB", v))
			}
			p("| %d | %d | %d | %.0f | %s | %.2f× | %s |\n", s.Workers, s.Size, s.Workers*s.Concurrency, s.RecPerSec, secs(s.WallS), s.RecPerSec/base, strings.Join(rss, ", "))
		}
		p("\n")
	}

	if len(r.Latency) > 0 {
		p("## Latency: commit to channel\n\nSingle-row inserts of new users, one every %s (every %s under load), by SQL (autocommit; the clock starts when the commit is acknowledged) and by the worker's ingest endpoint (`POST /v1/users`; the clock starts when it answers 2xx), the two series at once; the clock stops when the simulator receives the push (its request log). Simulator latency 0 ms, `WORKER_CONCURRENCY=16`, `EVENT_CONCURRENCY=16` (the defaults). Under load, a bulk run of the largest set drains meanwhile, and only the writes committed while it drained count (their number is in the load column).\n\n", writePace, loadedWritePace)
		p("| path | load | writes | received | p50 | p95 | p99 | max | target | holds? |\n|---|---|---:|---:|---:|---:|---:|---:|---|---|\n")
		for _, l := range r.Latency {
			load := "idle"
			if l.UnderLoad {
				load = fmt.Sprintf("bulk run of %d draining", l.BulkSize)
				if !l.BulkDraining {
					load += fmt.Sprintf(" (%d of %d writes committed before it finished)", l.DuringDrain, l.Writes)
				}
			}
			if !l.Available {
				p("| %s | %s | %d | — | — | — | — | — | — | %s |\n", l.Path, load, l.Writes, l.Note)
				continue
			}
			target, hold := fmt.Sprintf("p50 < %.0f ms, p99 < %.0f ms", targetIdleP50MS, targetIdleP99MS), holds(l.P50MS < targetIdleP50MS && l.P99MS < targetIdleP99MS && l.Received == l.Writes)
			if l.UnderLoad {
				counted := l.Writes
				if !l.BulkDraining {
					counted = l.DuringDrain
				}
				target, hold = fmt.Sprintf("p99 < %.0f ms", targetLoadedP99MS), holds(l.P99MS < targetLoadedP99MS && l.Received == counted && counted > 0)
			}
			p("| %s | %s | %d | %d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %s | %s |\n", l.Path, load, l.Writes, l.Received, l.P50MS, l.P95MS, l.P99MS, l.MaxMS, target, hold)
			if l.Note != "" {
				p("\n%s\n\n", l.Note)
			}
		}
		p("\n")
	}
	return b.String()
}
