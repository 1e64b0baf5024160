package httpserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/testkit"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	addr  string
	url   string
	logs  *testkit.SyncBuffer
	clock *clock
	// readyCalls counts the readiness checks run; readyErr is what they
	// return.
	readyCalls atomic.Int64
	readyErr   atomic.Pointer[error]
	// bodyErrs receives what reading a POST /upload body returned.
	bodyErrs chan error
}

// setup serves the health routes and a few test routes through
// httpserver.New with cfg's limits (short ones unless cfg sets its own).
func setup(t *testing.T, cfg httpserver.Config) *testBundle {
	t.Helper()
	b := &testBundle{logs: &testkit.SyncBuffer{}, clock: &clock{t: time.Now()}, bodyErrs: make(chan error, 16)}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "test_total", Help: "A counter."}))
	mux := httpserver.NewMux(httpserver.HealthConfig{
		ReadyFunc: func(context.Context) error {
			b.readyCalls.Add(1)
			if p := b.readyErr.Load(); p != nil {
				return *p
			}
			return nil
		},
		Gatherer: reg,
		NowFunc:  b.clock.Now,
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		b.bodyErrs <- err
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("stored\n"))
	})
	mux.HandleFunc("GET /own", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		_, _ = w.Write([]byte("own\n"))
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) {
		panic("customer 11010519491231002X broke it: " + strings.Repeat("x", 10000))
	})
	cfg.Logger = slog.New(slog.NewJSONHandler(b.logs, nil))
	srv := httpserver.New(cfg, mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	b.addr = ln.Addr().String()
	b.url = "http://" + b.addr
	return b
}

// shortLimits are limits a test can wait out.
var shortLimits = httpserver.Config{
	ReadHeaderTimeout: 200 * time.Millisecond,
	ReadTimeout:       300 * time.Millisecond,
	WriteTimeout:      5 * time.Second,
	IdleTimeout:       300 * time.Millisecond,
}

func (b *testBundle) get(t *testing.T, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

// TestSlowlorisBodyIsCutOff: a client that holds a connection open by
// sending a request slowly, or not at all, is cut off by the server.
func TestSlowlorisBodyIsCutOff(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		// send is written to the connection, and then nothing more.
		send string
		// readsBody tells whether the handler ran and saw its body read
		// fail.
		readsBody bool
	}{
		{name: "HeadersAndNeverTheBody", send: "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":", readsBody: true},
		{name: "HeadersNeverEnd", send: "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nX-Slow: "},
		{name: "IdleAfterARequest", send: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "ConnectsAndSaysNothing", send: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, shortLimits)
			conn, err := net.Dial("tcp", b.addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tt.send)
			require.NoError(t, err)
			// A safety net far beyond the server's limits: the server, not
			// this deadline, must end the connection.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
			_, err = io.ReadAll(conn)
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the connection itself: %v", err)
			if tt.readsBody {
				bodyErr := <-b.bodyErrs
				require.Error(t, bodyErr, "the body read was cut off")
			}
		})
	}
}

// TestHeaderFloodRefused: headers beyond MaxHeaderBytes are refused (431)
// before any handler runs.
func TestHeaderFloodRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, httpserver.Config{})
	req, err := http.NewRequest(http.MethodGet, b.url+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Flood", strings.Repeat("a", 100<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)

	// Within the limit, the same request is served.
	require.Equal(t, http.StatusOK, b.get(t, "/healthz").StatusCode)
}

// TestSecurityHeadersOnEveryAnswer: every answer, not only the page's,
// tells the browser not to sniff, frame or refer.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, httpserver.Config{})

	tests := []struct {
		path   string
		status int
		csp    string
	}{
		{"/healthz", http.StatusOK, httpserver.ContentSecurityPolicy},
		{"/readyz", http.StatusOK, httpserver.ContentSecurityPolicy},
		{"/metrics", http.StatusOK, httpserver.ContentSecurityPolicy},
		{"/nowhere", http.StatusNotFound, httpserver.ContentSecurityPolicy},
		{"/own", http.StatusOK, "default-src 'self'"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			t.Parallel()
			resp := b.get(t, tt.path)
			require.Equal(t, tt.status, resp.StatusCode)
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			require.Equal(t, tt.csp, resp.Header.Get("Content-Security-Policy"), "a handler may set its own")
			require.Contains(t, httpserver.ContentSecurityPolicy, "frame-ancestors 'none'")
			require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
			require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
		})
	}
}

// TestReadinessFloodRunsOneCheck: a flood of /readyz shares one check of
// the database, reused for the cache's lifetime, so probes cannot take the
// jobs' connections.
func TestReadinessFloodRunsOneCheck(t *testing.T) {
	t.Parallel()
	b := setup(t, httpserver.Config{})

	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Go(func() {
			resp, err := http.Get(b.url + "/readyz")
			if err != nil {
				return
			}
			_ = resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for _, s := range statuses {
		require.Equal(t, http.StatusOK, s)
	}
	require.EqualValues(t, 1, b.readyCalls.Load(), "fifty probes, one check")

	// Once the cached answer is old, the next probe checks again, and a
	// failure is reported naming the check.
	failure := errors.New("database: unreachable")
	b.readyErr.Store(&failure)
	b.clock.Advance(httpserver.DefaultReadyCacheTTL)
	resp, err := http.Get(b.url + "/readyz")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "not ready: database: unreachable\n", string(body))
	require.EqualValues(t, 2, b.readyCalls.Load())
}

// TestServerErrorLogIsMaskedAndCut: what the server itself logs (here a
// handler's panic, whose value a client may influence) goes through the
// masking logger and is cut.
func TestServerErrorLogIsMaskedAndCut(t *testing.T) {
	t.Parallel()
	b := setup(t, httpserver.Config{})
	_, err := http.Get(b.url + "/panic")
	require.Error(t, err, "the server drops the connection of a panicking handler")
	require.Eventually(t, func() bool { return strings.Contains(b.logs.String(), "panic serving") }, 10*time.Second, 10*time.Millisecond)

	logs := b.logs.String()
	require.NotContains(t, logs, "11010519491231002X")
	require.Contains(t, logs, "110105********002X")
	requireShortLines(t, logs, 600)
}

// requireShortLines fails when a log line is longer than limit bytes.
func requireShortLines(t *testing.T, logs string, limit int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		require.LessOrEqual(t, len(sc.Text()), limit, "log line: %.300s…", sc.Text())
	}
	require.NoError(t, sc.Err())
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"ShortStays", "GET", 10, "GET"},
		{"LongIsCut", strings.Repeat("a", 20), 5, "aaaaa…"},
		{"CutOnACharacterBoundary", "张三李四", 7, "张三…"},
		{"InvalidUTF8Replaced", "a\xffb", 10, "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, httpserver.Clip(tt.in, tt.n))
		})
	}
}

func TestMethodCollapsesMadeUpMethods(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		require.Equal(t, m, httpserver.Method(m))
	}
	for i := range 20 {
		require.Equal(t, httpserver.MethodOther, httpserver.Method(fmt.Sprintf("MADEUP%d", i)))
	}
	require.Equal(t, httpserver.MethodOther, httpserver.Method("get"), "methods are case-sensitive")
}
