package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cluster is a private Postgres server that one test starts (initdb in a
// temporary folder, trust auth, a free port on 127.0.0.1), stops and
// starts again at will, and removes when it ends. The machine's shared
// server is never touched.
type cluster struct {
	// bin holds initdb and pg_ctl; dir is the data directory.
	bin, dir string
	// url reaches its postgres database as the postgres superuser.
	url string
	// cred runs the server as the postgres user when the test runs as root
	// (initdb and postgres refuse root); nil otherwise.
	cred *syscall.Credential
}

// postgresBin finds the directory of initdb and pg_ctl: initdb on PATH
// (symbolic links followed), else the newest /usr/lib/postgresql/*/bin.
func postgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		_, e1 := os.Stat(filepath.Join(d, "initdb"))
		_, e2 := os.Stat(filepath.Join(d, "pg_ctl"))
		if e1 == nil && e2 == nil {
			return d, nil
		}
	}
	return "", errors.New("no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin")
}

// startCluster initdbs and starts a private cluster. Without initdb the
// test is skipped, unless CHAOS=full, where it fails.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		if full() {
			t.Fatalf("the Postgres restart scenario needs a private cluster: %v (install PostgreSQL's server binaries)", err)
		}
		t.Skipf("skipped: the Postgres restart scenario needs a private cluster: %v (CHAOS=full fails instead)", err)
	}
	dir, err := os.MkdirTemp("", "chansync-chaos-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c := &cluster{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root: the private cluster runs as the postgres user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	require.NoError(t, os.Chmod(dir, 0o700))
	c.run(t, "initdb", "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

	port := freePort(t)
	conf, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conf, "\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
		"fsync = off\nfull_page_writes = off\nmax_connections = 100\n", port, dir)
	require.NoError(t, err)
	require.NoError(t, conf.Close())
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	c.start(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- private Postgres's log ----\n%s", (&logFile{path: filepath.Join(dir, "server.log")}).tail(40))
		}
		_, _ = c.pgctl("stop", "-D", dir, "-m", "immediate", "-w")
	})
	return c
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// command runs one of the cluster's programs as its owner.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C.UTF-8"}
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *cluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := c.command(name, args...).CombinedOutput()
	require.NoErrorf(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
}

func (c *cluster) pgctl(args ...string) ([]byte, error) {
	return c.command("pg_ctl", args...).CombinedOutput()
}

// start starts the server and waits until it takes connections.
func (c *cluster) start(t *testing.T) {
	t.Helper()
	out, err := c.pgctl("start", "-D", c.dir, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60")
	require.NoErrorf(t, err, "pg_ctl start:\n%s", out)
}

// stop stops the server the way an operator restarting it does (fast:
// sessions are ended, a checkpoint is written).
func (c *cluster) stop(t *testing.T) {
	t.Helper()
	out, err := c.pgctl("stop", "-D", c.dir, "-m", "fast", "-w", "-t", "60")
	require.NoErrorf(t, err, "pg_ctl stop:\n%s", out)
}

// readyz returns the status of a worker's GET /readyz (0 when it does not
// answer).
func readyz(addr string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReadyz waits until every worker's /readyz answers status, and
// returns how long that took.
func (b *bundle) waitReadyz(addrs []string, status int, d time.Duration) time.Duration {
	b.t.Helper()
	start := time.Now()
	for _, addr := range addrs {
		for last := readyz(addr); last != status; last = readyz(addr) {
			if time.Since(start) > d {
				b.t.Fatalf("/readyz of the worker on %s answers %d, not %d, after %s", addr, last, status, d)
			}
			b.checkWorkersAlive()
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// TestPostgresRestart: the database server itself is stopped mid-run and
// started again a few seconds later (a private cluster); the workers ride
// it out, /readyz answers 503 while the server is down and 200 once it is
// back, and the run converges with nothing lost and no create repeated.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := startCluster(t)
	b := setup(t, "pgrestart", options{
		databaseURL: pg.url,
		simArgs:     []string{"--latency", "3ms", "--jitter", "5ms"},
		workerEnv:   []string{"CHANNEL_RPS=" + strconv.Itoa(size(20, 60)), "HTTP_ADDR=127.0.0.1:0"},
	})
	var addrs []string
	for range 3 {
		w := b.startWorker()
		addr, ok := w.logAttr("worker started", "http_addr")
		require.Truef(t, ok && addr != "", "%s logged no HTTP address", w.name)
		addrs = append(addrs, addr)
	}
	b.waitReadyz(addrs, http.StatusOK, 10*time.Second)
	b.enqueueAll()
	b.waitSynced(b.total()*3/10, 5*time.Minute)

	before := b.synced()
	pg.stop(t)
	stoppedAt := time.Now()
	toDown := b.waitReadyz(addrs, http.StatusServiceUnavailable, 30*time.Second)
	down := size(4*time.Second, 10*time.Second)
	time.Sleep(down - time.Since(stoppedAt)) // the outage itself
	b.checkWorkersAlive()
	pg.start(t)
	restartedAt := time.Now()
	toUp := b.waitReadyz(addrs, http.StatusOK, time.Minute)
	t.Logf("pgrestart: server stopped with %d of %d records accepted, for %s; every /readyz said 503 %s after the stop and 200 %s after the start",
		before, b.total(), restartedAt.Sub(stoppedAt).Round(time.Millisecond), toDown.Round(time.Millisecond), toUp.Round(time.Millisecond))

	b.drain(size(3*time.Minute, 10*time.Minute))
	t.Logf("pgrestart: the queue drained %s after the restart", time.Since(restartedAt).Round(time.Millisecond))
	b.requireInvariants(checks{})
	b.checkWorkersAlive()
}
