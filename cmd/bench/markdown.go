package main

import (
	"fmt"
	"strings"
)

// md accumulates the markdown of RESULTS.md.
type md struct {
	strings.Builder
}

// p appends formatted text.
func (m *md) p(format string, a ...any) { fmt.Fprintf(m, format, a...) }

// markdown renders the results as RESULTS.md.
func (r *results) markdown() string {
	var m md
	r.writeHeader(&m)
	if len(r.Errors) > 0 {
		m.p("**The run failed:**\n\n```\n%s\n```\n\n", strings.Join(r.Errors, "\n"))
	}
	r.writeSummary(&m)
	if len(r.Throughput) > 0 {
		r.writeThroughput(&m)
		r.writeRerun(&m)
		r.writeChange(&m)
		r.writeRSS(&m)
	}
	if len(r.Targets) > 0 {
		r.writeTargets(&m)
	}
	if len(r.Relay) > 0 {
		r.writeRelay(&m)
	}
	if len(r.Throughput)+len(r.Targets)+len(r.Relay) > 0 {
		r.writeCPU(&m)
	}
	if r.Profile != nil {
		r.writeProfile(&m)
	}
	if len(r.Floor) > 0 {
		r.writeFloor(&m)
	}
	if len(r.Scale) > 0 {
		r.writeScale(&m)
	}
	if len(r.Latency) > 0 {
		r.writeLatency(&m)
	}
	return m.String()
}

func (r *results) writeHeader(m *md) {
	h := r.Header
	m.p("# chansync benchmark results\n\n")
	m.p("Written by `make bench` (cmd/bench); rerun it to reproduce. Raw figures: `results.json` beside this file.\n\n")
	m.p("| | |\n|---|---|\n")
	m.p("| date | %s |\n| CPUs | %d (%s) |\n| memory | %d MB |\n| Go | %s |\n| commit | %s |\n| load average at start | %s |\n| sizes | %v%s |\n",
		h.Date, h.CPUs, h.CPUModel, h.MemoryMB, h.GoVersion, h.Commit, h.LoadAvg, r.Sizes, map[bool]string{true: " (--quick smoke run)", false: ""}[r.Quick])
	if len(r.RelaySizes) > 0 {
		m.p("| relay sizes | %v |\n", r.RelaySizes)
	}
	before := "none"
	if r.BeforeFrom != "" {
		before = r.BeforeFrom
	}
	m.p("| \"before\" figures | %s |\n\n", before)
	m.p("Everything runs on this one machine: Postgres, the simulators (`bin/channelsim`; `bin/apihubsim` for the user centre; loopback HTTP), the worker(s) and `enqueue`, as separate processes. ")
	m.p("Each sync starts from a fresh copy of a database holding the generated data set (`bin/datagen`, seed 1: 2%% companies, 20%% users, 8%% tasks, 40%% applications, 30%% payments) and fresh simulators. ")
	m.p("Wall time is `enqueue all --wait` from start to exit (scan, enqueue, drained). ")
	m.p("Concurrency N means `WORKER_CONCURRENCY=N`: up to N push jobs at once, pushing their records side by side with at most N requests in flight to each target — like the plain loop's N goroutines. Targets apply to the %d-record set. ", targetSize)
	m.p("\"Before\" figures are the same setting's in the previous committed `results.json`; the machine is shared, so compare ratios rather than raw rates across runs.\n\n")
}

// summaryRow is one line of the summary: a measure, its result, its
// target, and whether it holds.
type summaryRow struct {
	measure, result, target, holds string
}

// writeSummary lists every figure that has a target: those of the sets the
// targets apply to, and the idle latency, whatever the sets.
func (r *results) writeSummary(m *md) {
	var rows []summaryRow
	for _, t := range r.Throughput {
		if t.Size < targetSize || t.Wire == nil {
			continue
		}
		want, tgt := ratioTarget(t.LatencyMS)
		rows = append(rows, summaryRow{
			fmt.Sprintf("first full sync, %d ms, concurrency %d, channel", t.LatencyMS, t.Concurrency),
			fmt.Sprintf("%.0f records/s; wire limit %.0f/s → **%.2f×**", t.RecPerSec, t.Wire.RecPerSec, t.Ratio), tgt, holds(t.Ratio >= want)})
	}
	for _, t := range append(append([]*syncRun{}, r.Throughput...), r.Targets...) {
		if t.Size < targetSize || t.Rerun == nil {
			continue
		}
		rows = append(rows, summaryRow{
			fmt.Sprintf("unchanged re-run, %d ms, %s", t.LatencyMS, strings.Join(t.targetNames(), " + ")),
			fmt.Sprintf("%s, %d writes", secs(t.Rerun.WallS), t.Rerun.Upserts+t.Rerun.UCWrites),
			fmt.Sprintf("< %.0f s, no writes", targetRerunS), holds(rerunHolds(t.Rerun))})
	}
	for _, t := range r.Targets {
		if t.Size < targetSize || t.Wire == nil {
			continue
		}
		rows = append(rows, summaryRow{
			fmt.Sprintf("first full sync, %d ms, concurrency %d, channel + user centre", t.LatencyMS, t.Concurrency),
			fmt.Sprintf("%.0f records/s; plain loop %.0f/s → **%.2f×**", t.RecPerSec, t.Wire.RecPerSec, t.Ratio), "reported", "—"})
	}
	for _, rr := range r.Relay {
		if rr.Size < targetSize || rr.Off == nil {
			continue
		}
		rows = append(rows,
			summaryRow{fmt.Sprintf("rows written with the relay on, %d ms, concurrency %d", rr.LatencyMS, rr.Concurrency),
				fmt.Sprintf("%.0f records/s → **%.2f×** the wire limit", rr.RecPerSec, rr.Ratio), fmt.Sprintf("≥ %.1f×", targetRatio50ms), holds(rr.Ratio >= targetRatio50ms)},
			summaryRow{fmt.Sprintf("the same rows, relay off, %d ms, concurrency %d", rr.LatencyMS, rr.Concurrency),
				fmt.Sprintf("%.0f records/s → **%.2f×** the wire limit", rr.Off.RecPerSec, rr.Off.Ratio), fmt.Sprintf("≥ %.1f×", targetRatio50ms), holds(rr.Off.Ratio >= targetRatio50ms)})
	}
	for _, t := range r.Throughput {
		if t.Size < targetSize {
			continue
		}
		rss := maxOf(t.WorkerRSSMB)
		rows = append(rows, summaryRow{fmt.Sprintf("worker peak RSS, concurrency %d", t.Concurrency), fmt.Sprintf("%.0f MB", rss), fmt.Sprintf("< %.0f MB", targetWorkerRSSMB), holds(rss < targetWorkerRSSMB)})
	}
	for _, l := range r.Latency {
		if !l.Available || (l.UnderLoad && l.BulkSize < targetSize) {
			continue
		}
		measure := fmt.Sprintf("commit → channel, %s, idle", l.Path)
		if l.UnderLoad {
			measure = fmt.Sprintf("commit → channel, %s, while a %d-record bulk run drains", l.Path, l.BulkSize)
		}
		target, hold := latencyTarget(l)
		rows = append(rows, summaryRow{measure, fmt.Sprintf("p50 %.0f ms, p99 %.0f ms", l.P50MS, l.P99MS), target, hold})
	}
	if len(rows) == 0 {
		return
	}
	m.p("## Summary\n\nEvery figure that has a target (those of a data set: of its %d-record set; the idle latency: of any); the sections below give the details.\n\n| measure | result | target | holds? |\n|---|---|---|---|\n", targetSize)
	for _, row := range rows {
		m.p("| %s | %s | %s | %s |\n", row.measure, row.result, row.target, row.holds)
	}
	m.p("\n")
}

// ratioTarget returns the wire-limit ratio a first sync at latencyMS must
// reach, and the target as shown.
func ratioTarget(latencyMS int) (float64, string) {
	if latencyMS > 0 {
		return targetRatio50ms, fmt.Sprintf("≥ %.1f×", targetRatio50ms)
	}
	return targetRatio0ms, fmt.Sprintf("≥ %.1f× (aim %.1f×)", targetRatio0ms, aimRatio0ms)
}

// rerunHolds reports whether an unchanged re-run was quick and wrote
// nothing.
func rerunHolds(rr *rerunResult) bool {
	return rr.Upserts == 0 && rr.UCWrites == 0 && rr.WallS < targetRerunS
}

func (r *results) writeThroughput(m *md) {
	m.p("## First full sync vs the wire limit\n\n")
	m.p("The wire limit: the same payloads POSTed by a plain Go loop with the same concurrency over one keep-alive HTTP client, straight to a fresh simulator with the same latency, tier by tier (companies, users, tasks, applications, payments); no database, no queue.\n\n")
	m.p("| records | channel latency | concurrency | chansync records/s | wall | wire limit records/s | wire wall | ratio | before: ratio (records/s) | target | holds? |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.Throughput {
		target, hold := "—", "—"
		if t.Size >= targetSize && t.Wire != nil {
			want, tgt := ratioTarget(t.LatencyMS)
			target, hold = tgt, holds(t.Ratio >= want)
		}
		wr, ww := "—", "—"
		if t.Wire != nil {
			wr, ww = fmt.Sprintf("%.0f", t.Wire.RecPerSec), secs(t.Wire.WallS)
		}
		m.p("| %d | %d ms | %d | %.0f | %s | %s | %s | %.2f× | %s | %s | %s |\n",
			t.Size, t.LatencyMS, t.Concurrency, t.RecPerSec, secs(t.WallS), wr, ww, t.Ratio, prevRatio(r.prevRun(t)), target, hold)
	}
	m.p("\nEvery record was accepted: ")
	var parts []string
	for _, t := range r.Throughput {
		parts = append(parts, fmt.Sprintf("%d/%d ms: %d pushed, %d dead, %d creates at the simulator", t.Size, t.LatencyMS, t.Pushed, t.Dead, t.SimCreates))
	}
	m.p("%s.\n\n", strings.Join(parts, "; "))
}

// prevRatio renders a previous run's ratio and rate, or "—".
func prevRatio(p *syncRun) string {
	if p == nil || p.Ratio == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f× (%.0f)", p.Ratio, p.RecPerSec)
}

// cpuFigures are a run's CPU seconds per process and the records they
// bought.
type cpuFigures struct {
	cpu     map[string]float64
	records int64
}

// perRecord returns the µs of CPU a record of key's process, and whether
// the run measured that process.
func (f *cpuFigures) perRecord(key string) (float64, bool) {
	if f == nil || f.records <= 0 {
		return 0, false
	}
	v, ok := f.cpu[key]
	return v * 1e6 / float64(f.records), ok
}

// total returns the CPU seconds of every process.
func (f *cpuFigures) total() float64 {
	t := 0.0
	for _, v := range f.cpu {
		t += v
	}
	return t
}

// syncFigures and wireFigures return a run's CPU figures, nil when it has
// none.
func syncFigures(t *syncRun) *cpuFigures {
	if t == nil || t.CPU == nil {
		return nil
	}
	return &cpuFigures{cpu: t.CPU, records: t.Pushed}
}

func wireFigures(w *wireResult) *cpuFigures {
	if w == nil || w.CPU == nil {
		return nil
	}
	return &cpuFigures{cpu: w.CPU, records: int64(w.Records)}
}

// cpuProcesses are the entries of a run's CPU map, in the order shown, with
// their names; loopProcesses those of the plain loop's.
var (
	cpuProcesses = [][2]string{
		{"worker", "worker"}, {pgCPUKey, "Postgres"}, {"enqueue", "enqueue"}, {"datagen", "datagen (the load)"},
		{"channelsim", "channel simulator"}, {"apihubsim", "APIHub simulator"},
	}
	loopProcesses = [][2]string{{"wire loop", "plain loop"}, {"channelsim", "channel simulator"}, {"apihubsim", "APIHub simulator"}}
)

func (r *results) writeCPU(m *md) {
	m.p("## Where the CPU goes\n\nCPU each process spent during the first sync — the worker, Postgres (the backends serving the run's database, sampled from /proc every 200 ms), `enqueue` and the simulator(s), all from the same run — and what the plain loop and its simulator(s) spent sending the same requests, per record in µs. \"Before\" is the same run's figure in the previous results. The machine has %d CPUs for all of them.\n\n", r.Header.CPUs)
	m.p("| run | process | CPU | µs/record | before µs/record |\n|---|---|---:|---:|---:|\n")
	for _, t := range r.Throughput {
		r.writeCPURun(m, t)
	}
	for _, t := range r.Targets {
		r.writeCPURun(m, t)
	}
	for _, rr := range r.Relay {
		var prev *cpuFigures
		if p := r.prevRelay(rr); p != nil && p.CPU != nil {
			prev = &cpuFigures{cpu: p.CPU, records: p.Synced}
		}
		writeCPUBlock(m, fmt.Sprintf("%d rec, %d ms, c%d, relay on", rr.Size, rr.LatencyMS, rr.Concurrency), &cpuFigures{cpu: rr.CPU, records: rr.Synced}, prev, cpuProcesses, "chansync total")
	}
	m.p("\n")
}

// writeCPURun writes the CPU rows of one sync and of its plain loop.
func (r *results) writeCPURun(m *md, t *syncRun) {
	if t.CPU == nil {
		return
	}
	label := fmt.Sprintf("%d rec, %d ms, c%d, %s", t.Size, t.LatencyMS, t.Concurrency, strings.Join(t.targetNames(), " + "))
	prev := r.prevRun(t)
	writeCPUBlock(m, label, syncFigures(t), syncFigures(prev), cpuProcesses, "chansync total")
	if t.Wire != nil {
		var prevWire *cpuFigures
		if prev != nil {
			prevWire = wireFigures(prev.Wire)
		}
		writeCPUBlock(m, "", wireFigures(t.Wire), prevWire, loopProcesses, "plain loop total")
	}
}

// writeCPUBlock writes one row per process the run measured, then the
// total; label goes on the first row.
func writeCPUBlock(m *md, label string, f, prev *cpuFigures, procs [][2]string, totalName string) {
	if f == nil {
		return
	}
	for _, pr := range procs {
		us, ok := f.perRecord(pr[0])
		if !ok {
			continue
		}
		m.p("| %s | %s | %.1f s | %.0f | %s |\n", label, pr[1], f.cpu[pr[0]], us, beforeUS(prev, pr[0]))
		label = ""
	}
	before := "—"
	if prev != nil && prev.records > 0 {
		before = fmt.Sprintf("%.0f", prev.total()*1e6/float64(prev.records))
	}
	m.p("| %s | **%s** | %.1f s | **%.0f** | %s |\n", label, totalName, f.total(), f.total()*1e6/float64(max(1, f.records)), before)
}

// beforeUS renders the previous µs/record of a process, or "—".
func beforeUS(prev *cpuFigures, key string) string {
	if us, ok := prev.perRecord(key); ok {
		return fmt.Sprintf("%.0f", us)
	}
	return "—"
}

func (r *results) writeProfile(m *md) {
	p := r.Profile
	m.p("## The worker's CPU profile\n\nThe worker of the run %s ran with `CPU_PROFILE` (written when it stopped, right after the first sync drained: a fresh worker served the re-run and the 1%% change). ", p.Run)
	if p.PprofFile != "" {
		m.p("The raw profile is [`%s`](%s) beside this file: `go tool pprof bin/worker bench/%s`. ", p.PprofFile, p.PprofFile, p.PprofFile)
	}
	m.p("Its top %d functions by own time (`go tool pprof -top -nodecount=%d bin/worker`):\n\n", pprofNodes, pprofNodes)
	if p.PprofTop != "" {
		m.p("```\n%s\n```\n\n", p.PprofTop)
	}
	if p.PprofNote != "" {
		m.p("Profile: %s\n\n", p.PprofNote)
	}
	m.p("## Postgres's top statements\n\nThe statements of the same first sync with the most total execution time, from `pg_stat_statements` (reset for the run's database before the worker started; the worker's and `enqueue`'s statements together), query text cut to %d characters.\n\n", statementLength)
	if len(p.Statements) == 0 {
		m.p("pg_stat_statements: %s\n\n", orDash(p.PGNote))
		return
	}
	m.p("| query | calls | total | mean | rows |\n|---|---:|---:|---:|---:|\n")
	for _, s := range p.Statements {
		m.p("| `%s` | %d | %s | %.3f ms | %d |\n", strings.ReplaceAll(s.Query, "|", "\\|"), s.Calls, millis(s.TotalMS), s.MeanMS, s.Rows)
	}
	m.p("\n")
}

// millis renders a duration in ms with a decimal below 100 ms.
func millis(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (r *results) writeRerun(m *md) {
	m.p("## Second `enqueue all` over unchanged data\n\n| records | channel latency | wall | enqueued | upserts sent | target | holds? |\n|---:|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.Throughput {
		if t.Rerun == nil {
			continue
		}
		target, hold := "0 upserts", holds(t.Rerun.Upserts == 0)
		if t.Size >= targetSize {
			target = fmt.Sprintf("< %.0f s, 0 upserts", targetRerunS)
			hold = holds(rerunHolds(t.Rerun))
		}
		m.p("| %d | %d ms | %s | %d | %d | %s | %s |\n", t.Size, t.LatencyMS, secs(t.Rerun.WallS), t.Rerun.Enqueued, t.Rerun.Upserts, target, hold)
	}
	m.p("\n")
}

func (r *results) writeChange(m *md) {
	m.p("## 1%% of rows changed, then `enqueue all`\n\nRows whose id ends in `00` in each table get a change the channel sees.\n\n| records | channel latency | rows changed | wall | PUTs | POSTs | exactly that many PUTs? |\n|---:|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.Throughput {
		if t.Change == nil {
			continue
		}
		m.p("| %d | %d ms | %d | %s | %d | %d | %s |\n", t.Size, t.LatencyMS, t.Change.Changed, secs(t.Change.WallS), t.Change.Puts, t.Change.Posts, holds(t.Change.Puts == t.Change.Changed && t.Change.Posts == 0))
	}
	m.p("\n")
}

func maxOf(vs []float64) float64 {
	out := 0.0
	for _, v := range vs {
		out = max(out, v)
	}
	return out
}

func (r *results) writeRSS(m *md) {
	m.p("## Peak RSS\n\nThe kernel's peak resident set of each process (`VmHWM`), read from /proc every 50 ms while it runs and just before it is stopped; a peak in the last 50 ms of a process that exits on its own can be missed. (`ru_maxrss` from the exit status is not used: a Go parent starts its children vfork-style and the kernel counts the parent's own peak into each child's.)\n\n| records | channel latency | concurrency | worker | `enqueue all` (first run) | `enqueue all` (re-run) | target (worker) | holds? |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.Throughput {
		wrss := maxOf(t.WorkerRSSMB)
		rr := "—"
		if t.Rerun != nil {
			rr = fmt.Sprintf("%.0f MB", t.Rerun.EnqueueRSSMB)
		}
		target, hold := "—", "—"
		if t.Size >= targetSize {
			target, hold = fmt.Sprintf("< %.0f MB", targetWorkerRSSMB), holds(wrss < targetWorkerRSSMB)
		}
		m.p("| %d | %d ms | %d | %.0f MB | %.0f MB | %s | %s | %s |\n", t.Size, t.LatencyMS, t.Concurrency, wrss, t.EnqueueRSSMB, rr, target, hold)
	}
	m.p("\n")
}

func (r *results) writeTargets(m *md) {
	m.p("## Both targets: the channel and the user centre\n\n")
	m.p("The first full sync with the APIHub user centre on beside the channel (`bin/apihubsim`, its user centre answering with the same latency as the channel; points off): accounts (one per user), groups (one per company) and memberships (one per user: `list-user-groups`, then `add-user-to-group` per company of the user's pending or accepted applications) besides the channel's five kinds. A record is one record of one target's kind. ")
	m.p("The plain loop sends the same requests with the same concurrency over one keep-alive client per simulator, tier by tier (companies, users, accounts and groups; then tasks and memberships; then applications; then payments), the user centre's through `ucapi` (signed app tokens), its records read from the loaded database by the targets' own kinds.\n\n")
	m.p("| records (rows) | latency | concurrency | records pushed | chansync records/s | wall | plain loop records/s | loop wall | loop requests | ratio | before: ratio (records/s) | target | holds? |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, t := range r.Targets {
		wr, ww, wq := "—", "—", "—"
		if t.Wire != nil {
			wr, ww, wq = fmt.Sprintf("%.0f", t.Wire.RecPerSec), secs(t.Wire.WallS), fmt.Sprintf("%d", t.Wire.Requests)
		}
		m.p("| %d | %d ms | %d | %d | %.0f | %s | %s | %s | %s | %.2f× | %s | reported | — |\n",
			t.Size, t.LatencyMS, t.Concurrency, t.Pushed, t.RecPerSec, secs(t.WallS), wr, ww, wq, t.Ratio, prevRatio(r.prevRun(t)))
	}
	m.p("\nPushed by kind: ")
	var parts []string
	for _, t := range r.Targets {
		parts = append(parts, fmt.Sprintf("%d ms: %s; %d dead; %d user-centre requests, %d writes", t.LatencyMS, kindCounts(t), t.Dead, t.UCRequests, t.UCWrites))
	}
	m.p("%s.\n\n", strings.Join(parts, "; "))
	m.p("### Unchanged re-run, both targets on\n\n| records | latency | wall | enqueued | channel upserts | user-centre writes | target | holds? |\n|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, t := range r.Targets {
		if t.Rerun == nil {
			continue
		}
		target, hold := "no writes", holds(t.Rerun.Upserts == 0 && t.Rerun.UCWrites == 0)
		if t.Size >= targetSize {
			target, hold = fmt.Sprintf("< %.0f s, no writes", targetRerunS), holds(rerunHolds(t.Rerun))
		}
		m.p("| %d | %d ms | %s | %d | %d | %d | %s | %s |\n", t.Size, t.LatencyMS, secs(t.Rerun.WallS), t.Rerun.Enqueued, t.Rerun.Upserts, t.Rerun.UCWrites, target, hold)
	}
	m.p("\n")
}

// kindCounts renders the records pushed of each kind of a run.
func kindCounts(t *syncRun) string {
	if t.Summary == nil {
		return "—"
	}
	var parts []string
	for _, k := range t.Summary.Kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k.Kind, k.Pushed))
	}
	return strings.Join(parts, ", ")
}

func (r *results) writeRelay(m *md) {
	m.p("## Rows written with the event relay on\n\n")
	m.p("A worker (`WORKER_CONCURRENCY=%d`, `EVENT_CONCURRENCY` 16, the default) runs against an empty database and a channel answering in %d ms; `bin/datagen` then loads the rows as an HR system's import would (COPY into the five tables in one transaction, whose triggers fill the outbox; the relay turns the entries into event pushes once it commits), and `enqueue all --wait` follows at once, pushing what the events have not and waiting until the queue and the outbox are empty. ", relayConc, relayLatency.Milliseconds())
	m.p("The clock runs from the start of the load (datagen generating the rows included) to the drain. Relay off: the same rows loaded quietly (no outbox entries), then `enqueue all` alone (the throughput part's run of that size, when it has one). The wire limit is the channel-only plain loop's at the same latency and concurrency.\n\n")
	m.p("| records | load | load → drained | of it `enqueue all` | relay on records/s | event / bulk jobs | relay off records/s (wall) | wire limit records/s | relay on ratio | relay off ratio | before: on / off ratio | target | holds? (on / off) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, rr := range r.Relay {
		offRate, offRatio, wr := "—", "—", "—"
		if rr.Off != nil {
			offRate, offRatio = fmt.Sprintf("%.0f (%s)", rr.Off.RecPerSec, secs(rr.Off.WallS)), fmt.Sprintf("%.2f×", rr.Off.Ratio)
		}
		if rr.Wire != nil {
			wr = fmt.Sprintf("%.0f", rr.Wire.RecPerSec)
		}
		prev := "—"
		if p := r.prevRelay(rr); p != nil && p.Off != nil {
			prev = fmt.Sprintf("%.2f× / %.2f×", p.Ratio, p.Off.Ratio)
		}
		target, hold := "—", "—"
		if rr.Size >= targetSize && rr.Off != nil {
			target = fmt.Sprintf("≥ %.1f× both", targetRatio50ms)
			hold = holds(rr.Ratio >= targetRatio50ms) + " / " + holds(rr.Off.Ratio >= targetRatio50ms)
		}
		m.p("| %d | %s | %s | %s | %.0f | %d / %d | %s | %s | %.2f× | %s | %s | %s | %s |\n",
			rr.Size, secs(rr.LoadS), secs(rr.WallS), secs(rr.EnqueueS), rr.RecPerSec, rr.EventJobs, rr.BulkJobs, offRate, wr, rr.Ratio, offRatio, prev, target, hold)
	}
	m.p("\nIn sync at the end: ")
	var parts []string
	for _, rr := range r.Relay {
		parts = append(parts, fmt.Sprintf("%d: %d records, %d dead, %d creates at the simulator, worker peak RSS %.0f MB", rr.Size, rr.Synced, rr.Dead, rr.SimCreates, rr.WorkerRSSMB))
	}
	m.p("%s.\n\n", strings.Join(parts, "; "))
}

func (r *results) writeFloor(m *md) {
	m.p("## River's own cost\n\nJobs/s through a River client with chansync's fetch settings (`FetchCooldown` 10 ms, `FetchPollInterval` 200 ms) and a worker that does nothing: the floor of chansync's per-job overhead. A bulk run's jobs carry `BATCH_SIZE` (100) records each, pushed side by side, so River's share of a record is this cost divided by 100.\n\n")
	m.p("| jobs | concurrency | insert (InsertManyFast) | work | jobs/s | River cost per record at 100 per job |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range r.Floor {
		m.p("| %d | %d | %s | %s | %.0f | %.1f µs |\n", f.Jobs, f.Concurrency, secs(f.InsertS), secs(f.WorkS), f.JobsPerSec, 1e6/f.JobsPerSec/100)
	}
	m.p("\n")
}

func (r *results) writeScale(m *md) {
	m.p("## Scaling out\n\nThe first full sync of the largest set with %s worker processes on this machine, each `WORKER_CONCURRENCY=64`, channel latency 50 ms, no `CHANNEL_RPS` cap (with several processes, `DATABASE_MAX_CONNS` = 72/N each to stay under Postgres' `max_connections` of 100).\n\n", joinInts(scaleWorkers))
	m.p("| workers | records | requests in flight | records/s | wall | speed-up | before: records/s | worker RSS (each) |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
	base := 0.0
	for _, s := range r.Scale {
		if base == 0 {
			base = s.RecPerSec
		}
		var rss []string
		for _, v := range s.WorkerRSSMB {
			rss = append(rss, fmt.Sprintf("%.0f MB", v))
		}
		prev := "—"
		if p := r.prevRun(s); p != nil {
			prev = fmt.Sprintf("%.0f", p.RecPerSec)
		}
		m.p("| %d | %d | %d | %.0f | %s | %.2f× | %s | %s |\n", s.Workers, s.Size, s.Workers*s.Concurrency, s.RecPerSec, secs(s.WallS), s.RecPerSec/base, prev, strings.Join(rss, ", "))
	}
	m.p("\n")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// latencyTarget returns a latency series' target and whether it holds:
// every counted write received, within the percentiles.
func latencyTarget(l latencyResult) (string, string) {
	if !l.UnderLoad {
		return fmt.Sprintf("p50 < %.0f ms, p99 < %.0f ms", targetIdleP50MS, targetIdleP99MS),
			holds(l.P50MS < targetIdleP50MS && l.P99MS < targetIdleP99MS && l.Received == l.Writes)
	}
	counted := l.Writes
	if !l.BulkDraining {
		counted = l.DuringDrain
	}
	return fmt.Sprintf("p99 < %.0f ms", targetLoadedP99MS), holds(l.P99MS < targetLoadedP99MS && l.Received == counted && counted > 0)
}

func (r *results) writeLatency(m *md) {
	m.p("## Latency: commit to channel\n\nSingle-row inserts of new users, one every %s (every %s under load), by SQL (autocommit; the clock starts when the commit is acknowledged) and by the worker's ingest endpoint (`POST /v1/users`; the clock starts when it answers 2xx), the two series at once; the clock stops when the simulator receives the push (its request log). Simulator latency 0 ms, `WORKER_CONCURRENCY=16`, `EVENT_CONCURRENCY=16` (the defaults). Under load, a bulk run of the largest set drains meanwhile, and only the writes committed while it drained count (their number is in the load column).\n\n", writePace, loadedWritePace)
	m.p("| path | load | writes | received | p50 | p95 | p99 | max | target | holds? |\n|---|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, l := range r.Latency {
		load := "idle"
		if l.UnderLoad {
			load = fmt.Sprintf("bulk run of %d draining", l.BulkSize)
			if !l.BulkDraining {
				load += fmt.Sprintf(" (%d of %d writes committed before it finished)", l.DuringDrain, l.Writes)
			}
		}
		if !l.Available {
			m.p("| %s | %s | %d | — | — | — | — | — | — | %s |\n", l.Path, load, l.Writes, l.Note)
			continue
		}
		target, hold := latencyTarget(l)
		m.p("| %s | %s | %d | %d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %s | %s |\n", l.Path, load, l.Writes, l.Received, l.P50MS, l.P95MS, l.P99MS, l.MaxMS, target, hold)
		if l.Note != "" {
			m.p("\n%s\n\n", l.Note)
		}
	}
	m.p("\n")
}
