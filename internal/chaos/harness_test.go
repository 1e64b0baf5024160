package chaos_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/targets"
)

const (
	appKey = "chaos-appkey"
	secret = "chaos-secret-Kd93hQ"
)

// binDir holds the worker, enqueue, channelsim, apihubsim and datagen
// binaries.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	binDir = os.Getenv("CHANSYNC_BIN")
	if binDir == "" {
		dir, err := os.MkdirTemp("", "chansync-chaos-bin-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "chaos: temp dir: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
			"github.com/chansync/chansync/cmd/worker", "github.com/chansync/chansync/cmd/enqueue",
			"github.com/chansync/chansync/cmd/channelsim", "github.com/chansync/chansync/cmd/apihubsim",
			"github.com/chansync/chansync/cmd/datagen")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: build binaries: %v\n", err)
			return 1
		}
		binDir = dir
	}
	for _, name := range []string{"worker", "enqueue", "channelsim", "apihubsim", "datagen"} {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: %s missing in %s (run make build, or unset CHANSYNC_BIN): %v\n", name, binDir, err)
			return 1
		}
	}
	return m.Run()
}

// full reports whether the long suite runs (CHAOS=full, make chaos).
func full() bool { return os.Getenv("CHAOS") == "full" }

// size picks the reduced or the full value.
func size[T any](reduced, long T) T {
	if full() {
		return long
	}
	return reduced
}

// records is the size of each scenario's data set.
func records() int { return size(400, 5000) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// logFile is a process's output, kept in a file so that a long run costs
// no memory; its tail is printed when the test fails.
type logFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

func (l *logFile) tail(lines int) string {
	b, err := os.ReadFile(l.path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = append([]string{fmt.Sprintf("... (%d lines before)", len(all)-lines)}, all[len(all)-lines:]...)
	}
	return strings.Join(all, "\n")
}

func (l *logFile) contains(s string) bool {
	b, _ := os.ReadFile(l.path)
	return bytes.Contains(b, []byte(s))
}

// proc is a running binary in a process group of its own.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *logFile
	done chan struct{}
	err  error // valid after done is closed
	// signalled is set when the test stopped or killed it on purpose.
	signalled atomic.Bool
}

// startProc starts a binary with env (on top of a minimal environment) and
// args; when the test ends, the process group is killed and, if the test
// failed, the output's tail is logged.
func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(path)
	require.NoError(t, err)
	p := &proc{name: name, log: &logFile{path: path, f: f}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, bin), args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC"}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoErrorf(t, p.cmd.Start(), "start %s", name)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		_ = f.Close()
		if dir := os.Getenv("CHAOS_LOGS"); dir != "" {
			keepLog(t, dir, path)
		}
		if t.Failed() {
			t.Logf("---- output of %s (%s %s) ----\n%s", name, bin, strings.Join(args, " "), p.log.tail(80))
		}
	})
	return p
}

// keepLog copies a process's output into dir (CHAOS_LOGS), named by the
// test and the process.
func keepLog(t *testing.T, dir, path string) {
	b, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+filepath.Base(path)), b, 0o644)
	}
	if err != nil {
		t.Logf("CHAOS_LOGS: %v", err)
	}
}

func (p *proc) stopped() bool { return p.signalled.Load() }

// logAttr returns the string attribute key of the first JSON log line
// whose message is msg, and whether there was one.
func (p *proc) logAttr(msg, key string) (string, bool) {
	b, err := os.ReadFile(p.log.path)
	if err != nil {
		return "", false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.Contains(line, []byte(msg)) {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil || m["msg"] != msg {
			continue
		}
		v, ok := m[key].(string)
		return v, ok
	}
	return "", false
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process (not its group: the group is for cleanup).
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.signalled.Store(true)
	require.NoErrorf(t, p.cmd.Process.Signal(sig), "signal %s to %s", sig, p.name)
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s", p.name, d)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("%s: %v", p.name, p.err)
	return -1
}

// run runs a binary to completion within d and returns its exit code and
// output.
func run(t *testing.T, d time.Duration, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, bin), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case ctx.Err() != nil:
		t.Fatalf("%s %s: no answer within %s; output:\n%s", bin, strings.Join(args, " "), d, out.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("%s %s: %v; output:\n%s", bin, strings.Join(args, " "), err, out.String())
	return -1, ""
}

// sim is a channelsim process and a client of its admin API.
type sim struct {
	proc *proc
	// base is the API's base URL (…/api/v1), admin the admin endpoints'.
	base, admin string
}

var listening = regexp.MustCompile(`channelsim listening on (http://\S+)`)

// startSim starts a simulator on a free port with extra flags.
func startSim(t *testing.T, name string, args ...string) *sim {
	t.Helper()
	args = append([]string{"--addr", "127.0.0.1:0", "--record-requests", "--log-level", "warn"}, args...)
	p := startProc(t, name, "channelsim", []string{"CHANNELSIM_APPKEY=" + appKey, "CHANNELSIM_SECRET=" + secret}, args...)
	base := waitListening(t, p, listening)
	return &sim{proc: p, base: base, admin: strings.TrimSuffix(base, "/api/v1") + "/_sim"}
}

// apihubListening finds apihubsim's base URL in its log.
var apihubListening = regexp.MustCompile(`apihubsim listening on (http://\S+)`)

// startAPIHubSim starts apihubsim named name on a free port, recording
// requests, with env and its target's own args (credentials and faults),
// and returns it with its base URL (APIHUB_BASE_URL).
func startAPIHubSim(t *testing.T, name string, env []string, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, name, "apihubsim", env, append([]string{"--addr", "127.0.0.1:0", "--record-requests",
		"--log-level", "warn", "--seed", strconv.Itoa(len(name))}, args...)...)
	return p, waitListening(t, p, apihubListening)
}

// waitListening waits for a simulator to print the line re matches and
// returns its first group (the URL it serves).
func waitListening(t *testing.T, p *proc, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(p.log.path)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", p.name, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *sim) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	adminCall(t, s.admin+path, method, body, out)
}

// adminGet reads a simulator's admin endpoint into a T.
func adminGet[T any](t *testing.T, endpoint string) T {
	t.Helper()
	var v T
	adminCall(t, endpoint, http.MethodGet, nil, &v)
	return v
}

// adminCall calls a simulator's admin endpoint with body (JSON, if
// not nil) and decodes its answer into out (if not nil), numbers as
// json.Number; any answer but 200 fails the test.
func adminCall(t *testing.T, endpoint, method string, body, out any) {
	t.Helper()
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rdr = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rdr)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoErrorf(t, err, "%s %s", method, endpoint)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equalf(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, endpoint, b)
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		require.NoErrorf(t, dec.Decode(out), "%s %s", method, endpoint)
	}
}

func (s *sim) stats(t *testing.T) channelsim.Stats {
	t.Helper()
	var st channelsim.Stats
	s.call(t, http.MethodGet, "/stats", nil, &st)
	return st
}

func (s *sim) records(t *testing.T, kind string) map[string]map[string]any {
	t.Helper()
	var m map[string]map[string]any
	s.call(t, http.MethodGet, "/records/"+kind, nil, &m)
	return m
}

func (s *sim) requests(t *testing.T) []channelsim.Request {
	t.Helper()
	var r []channelsim.Request
	s.call(t, http.MethodGet, "/requests", nil, &r)
	return r
}

func (s *sim) setFaults(t *testing.T, f channelsim.Faults) {
	t.Helper()
	s.call(t, http.MethodPost, "/faults", f, nil)
}

func (s *sim) revoke(t *testing.T) {
	t.Helper()
	s.call(t, http.MethodPost, "/revoke", map[string]any{}, nil)
}

func (s *sim) permission(t *testing.T, pc channelsim.PermissionChange) {
	t.Helper()
	s.call(t, http.MethodPost, "/permission", pc, nil)
}

// options shape one scenario's bundle.
type options struct {
	// simArgs are extra channelsim flags (faults, --deny, --token-ttl).
	simArgs []string
	// simArgsFunc, if set, computes more flags once the data is loaded.
	simArgsFunc func(b *bundle) []string
	// workerEnv overrides the workers' default environment.
	workerEnv []string
	// defaults names settings of the workers' default environment to leave
	// out, so that the binary's own defaults apply (RECORD_LEASE, ...).
	defaults []string
	// databaseURL, if set, is the server the scenario's schema is made in
	// (a private cluster); else the shared test database.
	databaseURL string
	// userCentre, if set, turns the user centre on: an apihubsim process
	// with these faults, and APIHUB_* for the workers and enqueue.
	userCentre *ucsim.Faults
	// points, if set, turns points on: an apihubsim process with these
	// faults, and APIHUB_BASE_URL and APIHUB_API_KEY for the workers and
	// enqueue. It cannot go with userCentre (one APIHUB_BASE_URL).
	points *pointssim.Faults
	// grants is how many points grants datagen adds (none by default).
	grants int
}

// bundle is one scenario's world: a schema with a generated data set, a
// simulator, and the worker processes.
type bundle struct {
	t      *testing.T
	name   string
	schema *dbtest.Schema
	pool   *pgxpool.Pool
	sim    *sim
	// uc is the user centre's simulator (options.userCentre), else nil.
	uc *ucSim
	// points is the points simulator (options.points), else nil.
	points *pointsSim
	ctl    *control.Controller
	// reg holds the channel's kinds (the invariants' local records).
	reg *target.Registry
	// appName marks the workers' database connections.
	appName string
	// workerURL is the workers' DATABASE_URL (with application_name).
	workerURL string
	env       []string
	// enqueueExtra is added to the operator's commands' environment.
	enqueueExtra []string
	workers      []*proc
	nworkers     int
}

func setup(t *testing.T, name string, opts options) *bundle {
	t.Helper()
	var schema *dbtest.Schema
	if opts.databaseURL != "" {
		schema = dbtest.NewAt(t, opts.databaseURL)
	} else {
		schema = dbtest.New(t)
	}
	b := &bundle{t: t, name: name, schema: schema, pool: schema.Pool, appName: "chaos_" + name + "_" + randHex(4)}
	u, err := url.Parse(schema.URL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", b.appName)
	u.RawQuery = q.Encode()
	b.workerURL = u.String()

	require.False(t, opts.userCentre != nil && opts.points != nil, "the user centre and points share APIHUB_BASE_URL: one apihubsim per scenario")
	code, out := run(t, 5*time.Minute, "datagen", []string{"DATABASE_URL=" + schema.URL},
		"--records", strconv.Itoa(records()), "--seed", "7", "--invalid", "--quiet", "--grants", strconv.Itoa(opts.grants))
	require.Equalf(t, 0, code, "datagen: %s", out)
	t.Logf("%s: %s", name, strings.TrimSpace(out))

	args := append([]string{"--seed", strconv.Itoa(len(name))}, opts.simArgs...)
	if opts.simArgsFunc != nil {
		args = append(args, opts.simArgsFunc(b)...)
	}
	b.sim = startSim(t, name+"-channelsim", args...)

	b.env = append(withoutKeys([]string{
		"DATABASE_URL=" + b.workerURL,
		"CHANNEL_BASE_URL=" + b.sim.base,
		"CHANNEL_APPKEY=" + appKey,
		"CHANNEL_SECRET=" + secret,
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
		"WORKER_CONCURRENCY=4",
		"EVENT_CONCURRENCY=2",
		"BATCH_SIZE=10",
		"BREAKER_TIMEOUT=1s",
		"JOB_TIMEOUT=20s",
		"RESCUE_STUCK_JOBS_AFTER=25s",
		"RECORD_LEASE=15s",
		"RETRY_INITIAL=200ms",
		"RETRY_MAX=2s",
		"SHUTDOWN_TIMEOUT=10s",
		// A few connections each: scenarios run side by side on one server.
		"DATABASE_MAX_CONNS=6",
	}, opts.defaults...), opts.workerEnv...)
	if opts.userCentre != nil {
		b.uc = startUCSim(t, name+"-apihubsim", *opts.userCentre)
		uc := []string{"APIHUB_BASE_URL=" + b.uc.base, "APIHUB_AK=" + ucAK, "APIHUB_SK=" + ucSK}
		b.env = append(b.env, uc...)
		b.enqueueExtra = uc
	}
	if opts.points != nil {
		b.points = startPointsSim(t, name+"-apihubsim", *opts.points)
		pts := []string{"APIHUB_BASE_URL=" + b.points.base, "APIHUB_API_KEY=" + pointsKey}
		b.env = append(b.env, pts...)
		b.enqueueExtra = pts
	}

	rc, err := jobs.NewClient(schema.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	reg, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	b.reg = reg
	b.ctl = control.New(control.Config{Pool: schema.Pool, Registry: reg, Client: rc, BatchSize: 10})
	return b
}

// startWorker starts one more worker process, with env on top of the
// scenario's.
func (b *bundle) startWorker(env ...string) *proc {
	b.t.Helper()
	return b.startWorkerEnv(append(append([]string{}, b.env...), env...))
}

// startWorkerEnv starts one more worker process with exactly env.
func (b *bundle) startWorkerEnv(env []string) *proc {
	b.t.Helper()
	b.nworkers++
	p := startProc(b.t, fmt.Sprintf("%s-worker%d", b.name, b.nworkers), "worker", env)
	b.workers = append(b.workers, p)
	b.waitWorkerStarted(p)
	return p
}

// withoutKeys returns env without the settings named by keys.
func withoutKeys(env []string, keys ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(keys, k) {
			out = append(out, kv)
		}
	}
	return out
}

func (b *bundle) waitWorkerStarted(p *proc) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !p.log.contains(`"worker started"`) {
		if p.exited() || time.Now().After(deadline) {
			b.t.Fatalf("%s did not start:\n%s", p.name, p.log.tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enqueueEnv is the environment of the operator's commands.
func (b *bundle) enqueueEnv() []string {
	return append([]string{"DATABASE_URL=" + b.schema.URL, "BATCH_SIZE=10"}, b.enqueueExtra...)
}

// enqueue runs the enqueue command and returns its exit code and output.
func (b *bundle) enqueue(d time.Duration, args ...string) (int, string) {
	b.t.Helper()
	return run(b.t, d, "enqueue", b.enqueueEnv(), args...)
}

// enqueueAll runs `enqueue all --json` (no wait) and returns the run.
func (b *bundle) enqueueAll() control.Run {
	b.t.Helper()
	code, out := b.enqueue(2*time.Minute, "all", "--json")
	require.Equalf(b.t, 0, code, "enqueue all: %s", out)
	var r control.Run
	require.NoErrorf(b.t, json.Unmarshal([]byte(out), &r), "enqueue all output: %s", out)
	return r
}

// synced counts the records the channel has accepted so far.
func (b *bundle) synced() int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_state WHERE accepted_at IS NOT NULL`).Scan(&n))
	return n
}

// waitSynced waits until at least n records were accepted.
func (b *bundle) waitSynced(n int, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for b.synced() < n {
		if time.Now().After(deadline) {
			b.t.Fatalf("fewer than %d records synced after %s (%d)", n, d, b.synced())
		}
		b.checkWorkersAlive()
		time.Sleep(50 * time.Millisecond)
	}
}

// checkWorkersAlive fails the test if a worker that was not stopped on
// purpose exited.
func (b *bundle) checkWorkersAlive() {
	b.t.Helper()
	for _, w := range b.workers {
		if w.exited() && !w.stopped() {
			b.t.Fatalf("%s exited on its own: %v\n%s", w.name, w.err, w.log.tail(60))
		}
	}
}

// drain waits until no push job is waiting or running.
func (b *bundle) drain(d time.Duration) control.Status {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := b.ctl.WaitIdle(ctx, 100*time.Millisecond, nil, b.checkWorkersAlive)
	if err != nil {
		st, _ = b.ctl.Status(context.Background(), nil, 20)
		b.t.Fatalf("queue did not drain within %s: %v; status: %+v", d, err, st)
	}
	return st
}

// total counts the local records.
func (b *bundle) total() int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM companies) + (SELECT count(*) FROM users) + (SELECT count(*) FROM tasks)
		      + (SELECT count(*) FROM applications) + (SELECT count(*) FROM payments)`).Scan(&n))
	return n
}

// terminateWorkerConnections ends every database connection of this
// scenario's workers and returns how many it ended.
func (b *bundle) terminateWorkerConnections() int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t`,
		b.appName).Scan(&n))
	return n
}
