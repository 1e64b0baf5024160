package pointssim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/points/pointssim/pointssimtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

const testKey = "sk-test-points-key"

type testBundle struct {
	sim *pointssimtest.Server
	// now is the simulator's clock, in unix nanoseconds.
	now *atomic.Int64
}

// setup starts a simulator accepting testKey, on a fake clock, with the
// tweaks applied to its config.
func setup(t *testing.T, tweak ...func(*pointssim.Config)) *testBundle {
	t.Helper()
	b := &testBundle{now: &atomic.Int64{}}
	b.now.Store(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).UnixNano())
	cfg := pointssim.Config{
		APIKeys: []string{testKey},
		NowFunc: func() time.Time { return time.Unix(0, b.now.Load()) },
	}
	for _, f := range tweak {
		f(&cfg)
	}
	b.sim = pointssimtest.Start(t, cfg)
	t.Cleanup(b.sim.Client().CloseIdleConnections)
	return b
}

func (b *testBundle) advance(d time.Duration) { b.now.Add(int64(d)) }

// answer is a decoded API answer.
type answer struct {
	status int
	header http.Header
	// code, message and data are the envelope's.
	code    int
	message string
	data    json.RawMessage
	raw     []byte
}

// call sends one request to the API; headers are name, value pairs; body,
// if not nil, is sent as is with Content-Type application/json unless a
// Content-Type header is given.
func (b *testBundle) call(t *testing.T, method, path string, body []byte, headers ...string) answer {
	t.Helper()
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.sim.URL()+path, rdr)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.sim.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	var env struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Code != nil {
		a.code, a.message, a.data = *env.Code, env.Message, env.Data
	}
	return a
}

// withKey returns the header pair of the test key.
func withKey() []string { return []string{"X-API-Key", testKey} }

// recharge sends a valid recharge.
func (b *testBundle) recharge(t *testing.T, user string, amount int64, order, reason string) answer {
	t.Helper()
	body := map[string]any{"client_user_id": user, "amount_cents": amount}
	if order != "" {
		body["external_order_id"] = order
	}
	if reason != "" {
		body["reason"] = reason
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	return b.call(t, http.MethodPost, "/points/users/recharge", raw, withKey()...)
}

// token obtains a bearer token for user.
func (b *testBundle) token(t *testing.T, user string) string {
	t.Helper()
	a := b.call(t, http.MethodPost, "/apikeys/token", []byte(`{"client_user_id":"`+user+`"}`), withKey()...)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	require.NoError(t, json.Unmarshal(a.data, &tok))
	require.NotEmpty(t, tok.AccessToken)
	return tok.AccessToken
}

// decode decodes the data of a successful answer.
func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.Equal(t, 200, a.code)
	require.Equal(t, "success", a.message)
	var v T
	require.NoError(t, json.Unmarshal(a.data, &v))
	return v
}
