package ucsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim/ucsimtest"
	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const (
	testAK = "test-ak"
	testSK = "test-sk"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testBundle is what a test needs: a simulator on a local port, an HTTP
// client for it, its clock and a good token.
type testBundle struct {
	sim    *ucsimtest.Server
	client *http.Client
	clock  *fakeClock
	token  string
}

func setup(t *testing.T, opts ...func(*ucsim.Config)) *testBundle {
	t.Helper()
	clock := newFakeClock()
	cfg := ucsim.Config{AppKey: testAK, SecretKey: testSK, NowFunc: clock.Now, Seed: 42}
	for _, o := range opts {
		o(&cfg)
	}
	sim := ucsimtest.Start(t, cfg)
	b := &testBundle{sim: sim, client: sim.Client(), clock: clock}
	b.token = b.mint(t, nil)
	return b
}

// claims are an app token's claims as a map, so that tests can break them.
type claims = jwt.MapClaims

// mint signs a token: the seed's app token at the bundle's clock, changed
// by change (nil: unchanged), HS256 with testSK.
func (b *testBundle) mint(t *testing.T, change func(claims)) string {
	t.Helper()
	now := b.clock.Now()
	c := claims{"sub": testAK, "iss": testAK, "typ": "app_token", "iat": now.Add(-300 * time.Second).Unix(), "exp": now.Add(2 * time.Hour).Unix()}
	if change != nil {
		change(c)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSK))
	require.NoError(t, err)
	return tok
}

// response is an answer, decoded as far as it goes.
type response struct {
	status  int
	header  http.Header
	raw     []byte
	hasEnv  bool
	success bool
	code    string
	msg     string
	trace   string
	result  json.RawMessage
	err     error
}

// noToken sends no apihub-token.
var noToken = map[string]string{"apihub-token": ""}

// do sends method to the endpoint path (e.g. "create-user" or
// "list-users?skip=2") under the prefix. body is nil, a string sent
// verbatim, or a value sent as JSON. hdr overrides headers (empty removes).
func (b *testBundle) do(t *testing.T, method, path string, body any, hdr ...map[string]string) response {
	t.Helper()
	res := b.try(t, method, b.sim.URL()+"/"+path, body, hdr...)
	require.NoError(t, res.err, "%s %s", method, path)
	return res
}

// try is do with a full URL that may fail at the transport.
func (b *testBundle) try(t *testing.T, method, url string, body any, hdr ...map[string]string) response {
	t.Helper()
	var rdr io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(v)
	default:
		j, err := json.Marshal(v)
		require.NoError(t, err)
		rdr = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rdr)
	require.NoError(t, err)
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("apihub-token", b.token)
	for _, h := range hdr {
		for k, v := range h {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	res := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	var env struct {
		Success *bool           `json:"success"`
		Code    string          `json:"code"`
		Msg     string          `json:"msg"`
		Trace   string          `json:"trace"`
		Result  json.RawMessage `json:"result"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Success != nil {
		res.hasEnv, res.success, res.code, res.msg, res.trace, res.result = true, *env.Success, env.Code, env.Msg, env.Trace, env.Result
	}
	return res
}

// ok sends a request that must succeed and decodes its result into out.
func (b *testBundle) ok(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	res := b.do(t, method, path, body)
	require.Equal(t, http.StatusOK, res.status, "%s %s: %s", method, path, res.raw)
	require.True(t, res.success, "%s %s: %s", method, path, res.raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(res.result, out))
	}
}

// user is an account object as answered.
type user struct {
	ID       string         `json:"_id"`
	Username string         `json:"username"`
	Type     string         `json:"type"`
	Password string         `json:"password"`
	Attrs    map[string]any `json:"attrs"`
	SysAttrs map[string]any `json:"sys_attrs"`
	Enable   bool           `json:"enable"`
}

// group is a group object as answered.
type group struct {
	ID       string         `json:"_id"`
	Name     string         `json:"name"`
	Type     string         `json:"type"`
	Parent   string         `json:"parent"`
	Attrs    map[string]any `json:"attrs"`
	Children []group        `json:"children"`
	IDPath   string         `json:"id_path"`
	NamePath string         `json:"name_path"`
}

func (b *testBundle) createUser(t *testing.T, username, channelUserID string) user {
	t.Helper()
	var u user
	b.ok(t, http.MethodPost, "create-user", map[string]any{
		"username": username, "password": "pw-0123456789abcdefghijkl", "sys_attrs": map[string]any{"channel_user_id": channelUserID},
	}, &u)
	return u
}

func (b *testBundle) createGroup(t *testing.T, name, channelCompanyID string) group {
	t.Helper()
	var g group
	b.ok(t, http.MethodPost, "create-group", map[string]any{
		"name": name, "type": "company", "attrs": map[string]any{"channel_company_id": channelCompanyID},
	}, &g)
	return g
}
