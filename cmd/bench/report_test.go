package main

// A command's package cannot be imported, so these tests are internal.
// They pin down the report's decisions (which figures hold their targets,
// which earlier figure stands beside which new one); the measuring itself
// runs in `make bench`.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// testBundle is a full-size run's results, with the previous run's.
type testBundle struct {
	res *results
}

func setup(t *testing.T) testBundle {
	t.Helper()
	channel0 := &syncRun{Size: targetSize, LatencyMS: 0, Concurrency: 16, Workers: 1, Targets: channelOnly, Pushed: 100000, WallS: 40, RecPerSec: 2500,
		CPU:   map[string]float64{"worker": 25, pgCPUKey: 25, "enqueue": 2, "channelsim": 13},
		Rerun: &rerunResult{WallS: 1.9}, WorkerRSSMB: []float64{30, 34}}
	channel0.setWire(wireResult{Records: 100000, WallS: 8, RecPerSec: 12500, CPU: map[string]float64{"wire loop": 7, "channelsim": 7}})
	channel50 := &syncRun{Size: targetSize, LatencyMS: 50, Concurrency: 64, Workers: 1, Targets: channelOnly, Pushed: 100000, WallS: 85, RecPerSec: 1176,
		Rerun: &rerunResult{WallS: 2}, WorkerRSSMB: []float64{44}}
	channel50.setWire(wireResult{Records: 100000, WallS: 83, RecPerSec: 1205})
	both := &syncRun{Size: targetSize, LatencyMS: 50, Concurrency: 64, Workers: 1, Targets: bothTargets, Pushed: 142000, WallS: 130, RecPerSec: 1092,
		Rerun: &rerunResult{WallS: 3, UCWrites: 2}}
	both.setWire(wireResult{Targets: bothTargets, Records: 142000, Requests: 165000, WallS: 125, RecPerSec: 1136})
	relay := &relayResult{Size: targetSize, LatencyMS: 50, Concurrency: 64, Synced: 100000, WallS: 120, RecPerSec: 833, Ratio: 0.69,
		Off: &relayOff{Pushed: 100000, WallS: 85, RecPerSec: 1176, Ratio: 0.976}, Wire: channel50.Wire}

	// The previous run: channel-only runs written before runs named their
	// targets, and a slower 0 ms worker.
	var prev results
	prevJSON := `{"quick": false, "throughput": [
		{"size": 100000, "latency_ms": 0, "concurrency": 16, "workers": 1, "pushed": 100000, "records_per_s": 2000, "ratio": 0.16,
		 "cpu_s": {"worker": 30, "postgres (this database's backends)": 25, "enqueue": 2, "channelsim": 13},
		 "wire": {"records": 100000, "records_per_s": 12500, "cpu_s": {"wire loop": 7, "channelsim": 7}}}]}`
	require.NoError(t, json.Unmarshal([]byte(prevJSON), &prev))

	res := &results{
		Throughput: []*syncRun{channel0, channel50}, Targets: []*syncRun{both}, Relay: []*relayResult{relay},
		Profile: &profileResult{Run: channel0.label(), PprofTop: "flat flat%", PprofFile: profileName,
			Statements: []pgStatement{{Query: "SELECT a || b", Calls: 3, TotalMS: 12.5, MeanMS: 4.2, Rows: 3}}},
		BeforeFrom: "bench/results.json at HEAD", before: &prev,
	}
	return testBundle{res: res}
}

// section returns the markdown of the section titled title, up to the
// next section.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+title+"\n")
	require.GreaterOrEqual(t, i, 0, "no section %q", title)
	rest := doc[i+len(title)+2:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// row returns the line of text that contains every part.
func row(t *testing.T, text string, parts ...string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return line
		}
	}
	require.Failf(t, "no row", "no line holds %q in:\n%s", parts, text)
	return ""
}

func TestSummaryJudgesEachTarget(t *testing.T) {
	t.Parallel()
	doc := setup(t).res.markdown()
	sum := section(t, doc, "## Summary")
	require.Contains(t, row(t, sum, "first full sync, 0 ms"), "| ≥ 0.5× (aim 0.8×) | **no** |", "0.20× misses 0.5×")
	require.Contains(t, row(t, sum, "first full sync, 50 ms, concurrency 64, channel |"), "| yes |", "0.98× reaches 0.9×")
	require.Contains(t, row(t, sum, "unchanged re-run, 50 ms, channel + usercenter"), "2 writes", "the user centre's writes count")
	require.Contains(t, row(t, sum, "unchanged re-run, 50 ms, channel + usercenter"), "**no**", "a re-run that writes fails")
	require.Contains(t, row(t, sum, "rows written with the relay on"), "**no**", "0.69× misses 0.9×")
	require.Contains(t, row(t, sum, "the same rows, relay off"), "yes", "0.98× reaches 0.9×")
	require.Contains(t, row(t, sum, "worker peak RSS, concurrency 16"), "34 MB", "the highest of a restarted worker's peaks")
}

func TestBeforeStandsBesideTheSameSetting(t *testing.T) {
	t.Parallel()
	doc := setup(t).res.markdown()
	through := section(t, doc, "## First full sync vs the wire limit")
	require.Contains(t, row(t, through, "| 100000 | 0 ms |"), "0.16× (2000)", "an older run without targets is the channel-only run")
	require.Contains(t, row(t, through, "| 100000 | 50 ms |"), "| — |", "no earlier run of that setting")
	targets := section(t, doc, "## Both targets: the channel and the user centre")
	require.NotContains(t, row(t, targets, "| 100000 | 50 ms |"), "0.16×", "a channel-only run is not the both-targets run's before")

	cpu := section(t, doc, "## Where the CPU goes")
	require.Contains(t, row(t, cpu, "100000 rec, 0 ms, c16, channel", "worker"), "| 250 | 300 |", "worker µs/record now and before")
	require.Contains(t, row(t, cpu, "**chansync total**"), "| **650** | 700 |")
	require.Contains(t, row(t, cpu, "**plain loop total**"), "| **140** | 140 |")
}

func TestProfileSectionsEscapeQueries(t *testing.T) {
	t.Parallel()
	doc := setup(t).res.markdown()
	require.Contains(t, doc, "[`worker.pprof`](worker.pprof)")
	require.Contains(t, section(t, doc, "## Postgres's top statements"), "| `SELECT a \\|\\| b` | 3 | 12.5 ms | 4.200 ms | 3 |")

	res := setup(t).res
	res.Profile.Statements, res.Profile.PGNote = nil, "not available: must be loaded via shared_preload_libraries"
	require.Contains(t, section(t, res.markdown(), "## Postgres's top statements"), "pg_stat_statements: not available: must be loaded")
}

func TestCutQuery(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in   string
		n    int
		want string
	}{
		"CollapsesWhitespace": {in: "SELECT  a,\n\t b\nFROM t", n: 120, want: "SELECT a, b FROM t"},
		"CutsWithAnEllipsis":  {in: "SELECT abcdefgh", n: 10, want: "SELECT ab…"},
		"CountsCharacters":    {in: "SELECT '（更新）' FROM t", n: 14, want: "SELECT '（更新）'…"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, cutQuery(tc.in, tc.n))
		})
	}
}

func TestUCWritesCountsOnlyWrites(t *testing.T) {
	t.Parallel()
	st := ucsim.Stats{Endpoints: map[string]ucsim.EndpointStats{
		"create-user": {OK: 5}, "add-user-to-group": {OK: 3}, "list-user-groups": {OK: 9}, "get-user-by-sys-attr": {OK: 2},
	}}
	require.Equal(t, int64(8), ucWrites(st))
}

func TestParsePartsRefusesUnknownParts(t *testing.T) {
	t.Parallel()
	want, err := parseParts("")
	require.NoError(t, err)
	require.True(t, want("relay"), "no --only runs every part")

	want, err = parseParts("targets, relay")
	require.NoError(t, err)
	require.True(t, want("targets"))
	require.False(t, want("throughput"))

	_, err = parseParts("throughput,profile")
	require.ErrorContains(t, err, `--only: unknown part "profile"`)
}

func TestQuickRunsTinySizes(t *testing.T) {
	t.Parallel()
	cfg, err := newConfig("10000,100000", "20000,100000", "", 1000, true)
	require.NoError(t, err)
	require.Equal(t, []int{1000}, cfg.sizes)
	require.Equal(t, []int{1000}, cfg.relaySizes)
	require.Equal(t, 100, cfg.writes)

	_, err = newConfig("10000", "5", "", 1000, false)
	require.ErrorContains(t, err, `--relay-sizes: "5" is not a size of at least 10`)
}

func TestLoadBeforeSkipsQuickRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	quick := filepath.Join(dir, "quick.json")
	require.NoError(t, os.WriteFile(quick, []byte(`{"quick": true}`), 0o644))
	_, _, err := loadBefore(quick, filepath.Join(dir, "RESULTS.md"))
	require.ErrorIs(t, err, errNoBefore)

	full := filepath.Join(dir, "full.json")
	require.NoError(t, os.WriteFile(full, []byte(`{"header": {"commit": "abc1234"}, "throughput": [{"size": 10}]}`), 0o644))
	prev, from, err := loadBefore(full, filepath.Join(dir, "RESULTS.md"))
	require.NoError(t, err)
	require.Len(t, prev.Throughput, 1)
	require.Contains(t, from, "abc1234")

	_, _, err = loadBefore("none", filepath.Join(dir, "RESULTS.md"))
	require.ErrorIs(t, err, errNoBefore)
}
