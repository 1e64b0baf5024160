package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chansync/chansync/internal/testkit"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBundle is a running command: its base URL, and how to stop it.
type testBundle struct {
	baseURL  string
	stdout   *testkit.SyncBuffer
	stopFunc func() error
}

// setup runs the command with args (plus a free port) until the test ends.
func setup(t *testing.T, args ...string) *testBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), &stdout, &stderr) }()
	urlRe := regexp.MustCompile(`http://\S+`)
	var base string
	require.Eventually(t, func() bool {
		base = urlRe.FindString(stdout.String())
		return base != ""
	}, 5*time.Second, 10*time.Millisecond, "no URL printed; stderr: %s", stderr.String())
	var once sync.Once
	var runErr error
	stopFunc := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			http.DefaultClient.CloseIdleConnections()
		})
		return runErr
	}
	t.Cleanup(func() { _ = stopFunc() })
	return &testBundle{baseURL: base, stdout: &stdout, stopFunc: stopFunc}
}

func post(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.Unmarshal(raw, &env), string(raw))
	return env
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("ServesPrintsOneLineAndStopsCleanly", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "--appkey", "k", "--secret", "s", "--token-ttl", "90s")
		require.Regexp(t, `^channelsim listening on http://127\.0\.0\.1:\d+/api/v1\n$`, b.stdout.String())
		env := post(t, b.baseURL+"/auth/token", `{"appkey":"k","secret":"s","grant_type":"client_credentials"}`)
		require.Equal(t, float64(0), env["code"])
		require.Equal(t, float64(90), env["data"].(map[string]any)["expires_in"])
		require.NoError(t, b.stopFunc(), "a signal ends the command without error")
	})

	t.Run("FaultFlags", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "--error-style", "http", "--code-rate", "5001=1", "--faults-on-auth", "--prefix", "/v2")
		require.True(t, strings.HasSuffix(b.baseURL, "/v2"))
		resp, err := http.Post(b.baseURL+"/auth/token", "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)

		admin := strings.TrimSuffix(b.baseURL, "/v2") + "/_sim/stats"
		resp, err = http.Get(admin)
		require.NoError(t, err)
		defer resp.Body.Close()
		var st struct {
			Faults map[string]int `json:"faults"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		require.Equal(t, 1, st.Faults["code_5001"])
	})

	t.Run("Deny", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "--deny", "user/U1", "--deny", "*/X")
		resp, err := http.Get(strings.TrimSuffix(b.baseURL, "/api/v1") + "/_sim/permission")
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string][]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		require.Equal(t, []string{"*/X", "user/U1"}, out["denied"])
	})

	t.Run("BadSettings", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"UnknownErrorStyle", []string{"--error-style", "loud"}, "error-style"},
			{"RateAboveOne", []string{"--bad-gateway-rate", "2"}, "invalid faults"},
			{"BadDeny", []string{"--deny", "dogs/D1"}, "unknown kind"},
			{"DenyWithoutID", []string{"--deny", "user"}, "want KIND/ID"},
			{"BadAddress", []string{"--addr", "256.0.0.1:1"}, "listen"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var out bytes.Buffer
				err := run(t.Context(), tc.args, &out, &out)
				require.ErrorContains(t, err, tc.want)
			})
		}
	})
}
