package ucapi_test

import (
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim/ucsimtest"
	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const (
	testAK = "test-ak-0001"
	// testSK is distinctive, so that a search of the logs finds any leak.
	testSK = "sk-Zq8vN2xLw5Kp0RtY7uJm"
	// testPassword is what tests create accounts with; it must not leak
	// either.
	testPassword = "pw-Hc4bV9nQe1Xs6Tf3Ld8Wa0Gy"
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

// recorder keeps the apihub-token headers the client sent.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	toks []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.toks = append(r.toks, req.Header.Get("apihub-token"))
	r.mu.Unlock()
	return r.next.RoundTrip(req) //nolint:wrapcheck // a test transport
}

func (r *recorder) tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.toks)
}

// observation is one ObserveFunc call.
type observation struct {
	route string
	err   *ucapi.Error
}

type observer struct {
	mu  sync.Mutex
	obs []observation
}

func (o *observer) observe(route string, err *ucapi.Error, _ time.Duration) {
	o.mu.Lock()
	o.obs = append(o.obs, observation{route, err})
	o.mu.Unlock()
}

func (o *observer) all() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.obs)
}

// testBundle is what a test needs: a simulator, a client for it sharing
// its fake clock, the client's debug log, its observations and the
// tokens it sent.
type testBundle struct {
	sim      *ucsimtest.Server
	client   *ucapi.Client
	clock    *fakeClock
	logs     *testkit.SyncBuffer
	observed *observer
	sent     *recorder
}

// setup starts a simulator and a client with test credentials; opts may
// change either config.
func setup(t *testing.T, opts ...func(*ucapi.Config, *ucsim.Config)) *testBundle {
	t.Helper()
	clock := newFakeClock()
	simCfg := ucsim.Config{AppKey: testAK, SecretKey: testSK, NowFunc: clock.Now, Seed: 42, RecordRequests: true}
	var logs testkit.SyncBuffer
	obs := &observer{}
	cfg := ucapi.Config{
		AppKey: testAK, SecretKey: ucapi.NewSecret(testSK), NowFunc: clock.Now, ObserveFunc: obs.observe,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg, &simCfg)
	}
	sim := ucsimtest.Start(t, simCfg)
	rec := &recorder{next: sim.Client().Transport}
	cfg.BaseURL = sim.BaseURL()
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: rec}
	}
	client, err := ucapi.New(cfg)
	require.NoError(t, err)
	return &testBundle{sim: sim, client: client, clock: clock, logs: &logs, observed: obs, sent: rec}
}

// member seeds an account of ours (carrying channel_user_id).
func (b *testBundle) member(t *testing.T, channelUserID string) ucsim.Account {
	t.Helper()
	a, err := b.sim.InsertAccount(ucsim.AccountSeed{
		Username: channelUserID, Password: testPassword,
		SysAttrs: map[string]any{"channel_user_id": channelUserID, "name": "张三"},
	})
	require.NoError(t, err)
	return a
}

// company seeds a top-level company group.
func (b *testBundle) company(t *testing.T, channelCompanyID string, members ...string) ucsim.Group {
	t.Helper()
	g, err := b.sim.InsertGroup(ucsim.GroupSeed{
		Name: "公司 " + channelCompanyID, Type: "company",
		Attrs: map[string]any{"channel_company_id": channelCompanyID}, Members: members,
	})
	require.NoError(t, err)
	return g
}

// requireClass asserts err is a *ucapi.Error of class c and returns it.
func requireClass(t *testing.T, err error, c ucapi.Class) *ucapi.Error {
	t.Helper()
	var e *ucapi.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, c, e.Class, "error: %v", err)
	require.Equal(t, c, ucapi.ClassOf(err))
	return e
}
