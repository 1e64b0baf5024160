package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is one of the built binaries running as a child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
	// exitedAt is when the process ended; set before done is closed.
	exitedAt time.Time
	// peakKB is the highest VmHWM (peak resident set, KiB) read from
	// /proc while the process ran.
	peakKB atomic.Int64
}

// start runs bin/<binary> with args and extra environment, its stderr (and
// stdout, unless stdout is given) going to a log file under the run's
// temporary directory.
func (b *bench) start(binary string, args, env []string, stdout io.Writer) (*proc, error) {
	b.procN++
	logPath := filepath.Join(b.tmp, fmt.Sprintf("%03d-%s.log", b.procN, binary))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	cmd := exec.Command(filepath.Join(b.bin, binary), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = f
	cmd.Stdout = f
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &proc{name: binary, cmd: cmd, log: logPath, done: make(chan struct{})}
	go p.watchPeak()
	go func() {
		p.err = cmd.Wait()
		p.exitedAt = time.Now()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end and returns its peak RSS in MB (from
// the kernel's rusage, exact) and its exit error.
func (p *proc) wait() (float64, error) {
	<-p.done
	return p.maxRSS(), p.err
}

// stop sends SIGTERM, waits (SIGKILL after grace), and returns the peak RSS.
func (p *proc) stop(grace time.Duration) float64 {
	if p.exited() {
		return p.maxRSS()
	}
	p.readPeak()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.maxRSS()
}

// maxRSS returns the process's peak resident set in MB: the kernel's
// VmHWM, read from /proc every 50 ms while it ran and just before it was
// asked to stop. (The rusage of a waited-for child is no good here: a Go
// parent starts children vfork-style, and the kernel counts the parent's
// own peak at the time of the exec into the child's ru_maxrss, so every
// child seemed as large as the benchmark holding its data set.)
func (p *proc) maxRSS() float64 {
	return float64(p.peakKB.Load()) / 1024
}

// watchPeak reads the process's VmHWM every 50 ms until it ends.
func (p *proc) watchPeak() {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		p.readPeak()
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// readPeak records the process's current VmHWM if it is the highest seen.
// A process that has ended has no /proc entry; its last reading stands.
func (p *proc) readPeak() {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return
			}
			// Keep the highest reading: the watcher and stop may race.
			for old := p.peakKB.Load(); kb > old; old = p.peakKB.Load() {
				if p.peakKB.CompareAndSwap(old, kb) {
					return
				}
			}
			return
		}
	}
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// sim is a running channel simulator.
type sim struct {
	p     *proc
	base  string // .../api/v1
	admin string // .../_sim
}

// startSim starts a fresh simulator with the given latency.
func (b *bench) startSim(latency time.Duration, record bool) (*sim, error) {
	args := []string{"--addr", "127.0.0.1:0", "--latency", latency.String(), "--log-level", "warn"}
	if record {
		args = append(args, "--record-requests")
	}
	p, base, err := b.startListening("channelsim", args, []string{"CHANNELSIM_APPKEY=" + appKey, "CHANNELSIM_SECRET=" + secret})
	if err != nil {
		return nil, err
	}
	return &sim{p: p, base: base, admin: strings.TrimSuffix(base, "/api/v1") + "/_sim"}, nil
}

// startListening starts a simulator that prints its base URL (the first
// http:// word of its output) once it listens, and returns it with that
// URL.
func (b *bench) startListening(binary string, args, env []string) (*proc, string, error) {
	pr, pw := io.Pipe()
	p, err := b.start(binary, args, env, pw)
	if err != nil {
		return nil, "", err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 && !sent {
				found <- strings.Fields(sc.Text()[i:])[0]
				sent = true
			}
		}
	}()
	go func() { <-p.done; _ = pw.Close() }()
	select {
	case base := <-found:
		return p, base, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited: %v\n%s", binary, p.err, p.tail())
	case <-time.After(10 * time.Second):
		p.stop(time.Second)
		return nil, "", fmt.Errorf("%s did not start within 10s", binary)
	}
}

// workerOpts are the settings of one worker process.
type workerOpts struct {
	concurrency int
	maxConns    int
	extraEnv    []string
}

// worker is a running worker process.
type worker struct {
	p    *proc
	addr string
}

// startWorker starts a worker against dbURL and s, and waits until its HTTP
// server answers.
func (b *bench) startWorker(ctx context.Context, dbURL string, s *sim, o workerOpts) (*worker, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := []string{
		"DATABASE_URL=" + dbURL,
		"CHANNEL_BASE_URL=" + s.base,
		"CHANNEL_APPKEY=" + appKey,
		"CHANNEL_SECRET=" + secret,
		fmt.Sprintf("WORKER_CONCURRENCY=%d", o.concurrency),
		"HTTP_ADDR=" + addr,
		"INGEST_TOKEN=" + ingestToken,
		"LOG_FORMAT=json",
		"LOG_LEVEL=warn",
		"SHUTDOWN_TIMEOUT=20s",
	}
	if o.maxConns > 0 {
		env = append(env, fmt.Sprintf("DATABASE_MAX_CONNS=%d", o.maxConns))
	}
	env = append(env, o.extraEnv...)
	p, err := b.start("worker", nil, env, nil)
	if err != nil {
		return nil, err
	}
	w := &worker{p: p, addr: addr}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			return nil, fmt.Errorf("worker exited: %v\n%s", p.err, p.tail())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// River starts right after the HTTP server; give it a moment.
				time.Sleep(200 * time.Millisecond)
				return w, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(5 * time.Second)
	return nil, fmt.Errorf("worker not ready within 20s\n%s", p.tail())
}

// run runs a binary to completion and returns its stdout, peak RSS (MB),
// wall time and exit error.
func (b *bench) run(binary string, args, env []string) ([]byte, float64, time.Duration, error) {
	out, _, rss, wall, err := b.runProc(binary, args, env)
	return out, rss, wall, err
}

// runProc is run, also returning the ended process.
func (b *bench) runProc(binary string, args, env []string) ([]byte, *proc, float64, time.Duration, error) {
	var out bytes.Buffer
	start := time.Now()
	p, err := b.start(binary, args, env, &out)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	rss, err := p.wait()
	wall := time.Since(start)
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", binary, strings.Join(args, " "), err, p.tail())
	}
	return out.Bytes(), p, rss, wall, err
}

// procCPU reads the CPU time (s) a running process has used so far.
func procCPU(p *proc) float64 {
	if p.cmd.ProcessState != nil {
		return p.cpuSeconds()
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	_, _ = fmt.Sscan(f[11], &ut)
	_, _ = fmt.Sscan(f[12], &st)
	return (ut + st) / 100
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}

// cpuSeconds returns the user and system CPU time the ended process used.
func (p *proc) cpuSeconds() float64 {
	if p.cmd.ProcessState == nil {
		return 0
	}
	return (p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()).Seconds()
}

// pgSampler follows the CPU time of the Postgres backends serving one
// database (their process titles name it), sampling every 200 ms so that
// backends which exit are counted too.
type pgSampler struct {
	db   string
	seen map[string]float64
	stop chan struct{}
	done chan struct{}
}

func samplePostgres(db string) *pgSampler {
	s := &pgSampler{db: db, seen: map[string]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *pgSampler) sample() {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err != nil || !bytes.HasPrefix(cmdline, []byte("postgres: ")) || !bytes.Contains(cmdline, []byte(" "+s.db+" ")) {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name in parentheses: utime is the 14th
		// field of the line, stime the 15th.
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			continue
		}
		var ut, st float64
		_, _ = fmt.Sscan(f[11], &ut)
		_, _ = fmt.Sscan(f[12], &st)
		s.seen[d] = max(s.seen[d], (ut+st)/100) // USER_HZ is 100 on Linux
	}
}

// finish stops sampling and returns the CPU seconds used.
func (s *pgSampler) finish() float64 {
	close(s.stop)
	<-s.done
	s.sample()
	total := 0.0
	for _, v := range s.seen {
		total += v
	}
	return total
}
