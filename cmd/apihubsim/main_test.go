package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
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
		})
		return runErr
	}
	t.Cleanup(func() { _ = stopFunc() })
	return &testBundle{baseURL: base, stdout: &stdout, stopFunc: stopFunc}
}

// client returns a user-centre client for the running command.
func (b *testBundle) client(t *testing.T, ak, sk string) *ucapi.Client {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := ucapi.New(ucapi.Config{BaseURL: b.baseURL, AppKey: ak, SecretKey: ucapi.NewSecret(sk), HTTPClient: hc})
	require.NoError(t, err)
	return c
}

// get reads an admin endpoint into out and returns the status.
func get(t *testing.T, url string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("ServesTheUserCentrePrintsOneLineAndStopsCleanly", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "--uc-ak", "ak1", "--uc-sk", "sk1")
		require.Regexp(t, `^apihubsim listening on http://127\.0\.0\.1:\d+\n$`, b.stdout.String())
		c := b.client(t, "ak1", "sk1")
		u, err := c.CreateUser(t.Context(), ucapi.CreateUserRequest{Username: "10001", Password: ucapi.NewSecret("p"), SysAttrs: map[string]any{"channel_user_id": "10001"}})
		require.NoError(t, err)
		found, err := c.GetUserBySysAttr(t.Context(), "channel_user_id", "10001")
		require.NoError(t, err)
		require.Equal(t, u.ID, found.ID)
		_, err = b.client(t, "ak1", "other-sk").ListRoles(t.Context())
		require.Equal(t, ucapi.ClassAuth, ucapi.ClassOf(err), "the SK is checked")
		require.NoError(t, b.stopFunc(), "a signal ends the command without error")
	})

	t.Run("CreateDropAfterRate", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "--uc-create-drop-after-rate", "1")
		c := b.client(t, "67fca7a97a883fac3a981a83", "apihubsim-secret-key")
		_, err := c.CreateGroup(t.Context(), ucapi.CreateGroupRequest{Name: "甲", Attrs: map[string]any{"channel_company_id": "20001"}})
		require.Equal(t, ucapi.ClassTransient, ucapi.ClassOf(err))
		var dup struct {
			Groups map[string][]string `json:"groups"`
		}
		var state struct {
			Groups []map[string]any `json:"groups"`
		}
		require.Equal(t, http.StatusOK, get(t, b.baseURL+"/_sim/uc/state", &state))
		require.Len(t, state.Groups, 1, "the group was created")
		require.Equal(t, http.StatusOK, get(t, b.baseURL+"/_sim/uc/duplicates", &dup))
		require.Empty(t, dup.Groups)
		_, err = c.ListRoles(t.Context())
		require.NoError(t, err, "other endpoints are spared")
	})

	t.Run("FaultsAsJSONAndRevoked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "--uc-faults", `{"classes":{"read":{"bad_gateway_rate":1}}}`, "--uc-revoked")
		c := b.client(t, "67fca7a97a883fac3a981a83", "apihubsim-secret-key")
		_, err := c.ListRoles(t.Context())
		var e *ucapi.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, http.StatusBadGateway, e.HTTPStatus)
		_, err = c.SaveRole(t.Context(), ucapi.SaveRoleRequest{Code: "R"})
		require.Equal(t, ucapi.ClassAuth, ucapi.ClassOf(err))
	})

	t.Run("OtherPathsAreNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, http.StatusNotFound, get(t, b.baseURL+"/api/v2/elsewhere", nil))
		require.Equal(t, http.StatusUnauthorized, get(t, b.baseURL+"/api/v1/apihub/points/users/balance", nil), "points is served beside the user centre (and wants its key)")
	})

	t.Run("BadSettings", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"RateAboveOne", []string{"--uc-bad-gateway-rate", "2"}, "invalid faults"},
			{"UnknownDownMode", []string{"--uc-down", "sometimes"}, "down"},
			{"FaultsNotJSON", []string{"--uc-faults", "{"}, "--uc-faults"},
			{"FaultsUnknownClass", []string{"--uc-faults", `{"classes":{"deletes":{}}}`}, "unknown endpoint class"},
			{"SamePrefixes", []string{"--uc-prefix", "/x", "--uc-admin-prefix", "/x"}, "prefix"},
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

func TestHandlerMountsSimulatorsSideBySide(t *testing.T) {
	t.Parallel()
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(name)) })
	}
	h, err := handler([]mount{
		{name: "user centre", handler: named("uc"), prefixes: []string{"/api/user-center-admin", "/_sim/uc"}},
		{name: "points", handler: named("points"), prefixes: []string{"/api/v1/apihub", "/_sim/points"}},
	})
	require.NoError(t, err)
	for path, want := range map[string]string{
		"/api/user-center-admin/create-user": "uc", "/_sim/uc/stats": "uc",
		"/api/v1/apihub/points/users/recharge": "points", "/_sim/points": "points",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, want, rec.Body.String(), path)
	}
	_, err = handler([]mount{
		{name: "a", handler: named("a"), prefixes: []string{"/_sim"}},
		{name: "b", handler: named("b"), prefixes: []string{"/_sim"}},
	})
	require.ErrorContains(t, err, "both want the prefix /_sim")
	_, err = handler([]mount{{name: "a", handler: named("a"), prefixes: []string{""}}})
	require.ErrorContains(t, err, "needs a path prefix")
}
