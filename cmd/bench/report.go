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

// Targets of the 100,000-record set (issues 4 and 5; Throughput 2 and 3;
// Targets B8).
const (
	targetSize        = 100000
	targetRatio50ms   = 0.9
	targetRatio0ms    = 0.5
	aimRatio0ms       = 0.8
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
	Header     runHeader  `json:"header"`
	Sizes      []int      `json:"sizes"`
	RelaySizes []int      `json:"relay_sizes,omitempty"`
	Quick      bool       `json:"quick"`
	Throughput []*syncRun `json:"throughput"`
	// Profile says where the CPU of the 0 ms first sync of the largest
	// size goes.
	Profile *profileResult `json:"profile,omitempty"`
	// Targets are first syncs with the user centre on beside the channel.
	Targets []*syncRun `json:"targets,omitempty"`
	// Relay are first syncs of rows written while the event relay runs.
	Relay   []*relayResult  `json:"relay,omitempty"`
	Floor   []floorResult   `json:"river_floor"`
	Scale   []*syncRun      `json:"scale_out"`
	Latency []latencyResult `json:"latency"`
	Errors  []string        `json:"errors,omitempty"`
	// BeforeFrom says where the previous figures shown beside these came
	// from; empty when none were.
	BeforeFrom string `json:"before_from,omitempty"`

	before *results
}

// throughputAt returns the throughput part's one-worker, channel-only run
// of the setting and its wire limit, or nils.
func (r *results) throughputAt(size int, latency time.Duration, conc int) (*syncRun, *wireResult) {
	for _, t := range r.Throughput {
		if t.Size == size && t.LatencyMS == int(latency/time.Millisecond) && t.Concurrency == conc && t.Workers == 1 {
			return t, t.Wire
		}
	}
	return nil, nil
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
