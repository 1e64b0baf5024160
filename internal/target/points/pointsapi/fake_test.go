package pointsapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// testKey is the API key every test uses: distinctive, so that a search of
// logs and errors for it cannot miss.
const testKey = "sk-TESTKEY-7f3a9c-do-not-print"

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeBundle is a scripted server for answers the simulator never gives
// (redirects, HTML, garbage, huge bodies); the simulator covers the rest.
type fakeBundle struct {
	srv    *httptest.Server
	client *pointsapi.Client
	logs   *lockedBuffer
	hits   atomic.Int64
	// now is the fake clock, in unix nanoseconds.
	now *atomic.Int64
}

// setupFake serves answer on a local port and returns a client of it.
func setupFake(t *testing.T, answer http.HandlerFunc, tweak ...func(*pointsapi.Config)) *fakeBundle {
	t.Helper()
	b := &fakeBundle{logs: &lockedBuffer{}, now: &atomic.Int64{}}
	b.now.Store(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).UnixNano())
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		answer(w, r)
	}))
	t.Cleanup(b.srv.Close)
	cfg := pointsapi.Config{
		BaseURL:    b.srv.URL,
		APIKey:     testKey,
		HTTPClient: b.srv.Client(),
		Logger:     slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		NowFunc:    func() time.Time { return time.Unix(0, b.now.Load()) },
	}
	for _, f := range tweak {
		f(&cfg)
	}
	client, err := pointsapi.New(cfg)
	require.NoError(t, err)
	b.client = client
	t.Cleanup(b.srv.Client().CloseIdleConnections)
	return b
}

// writeEnvelope writes the API's envelope with the given status and code.
func writeEnvelope(w http.ResponseWriter, status, code int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "data": data})
}
