package simkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/simkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type testBundle struct {
	sim    *tinySim
	srv    *httptest.Server
	client *http.Client
}

func setup(t *testing.T, seed uint64) *testBundle {
	t.Helper()
	sim := newTinySim(seed)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &testBundle{sim: sim, srv: srv, client: srv.Client()}
}

// answer is what the client saw.
type answer struct {
	status int
	header http.Header
	body   string
	err    error
}

func (b *testBundle) post(t *testing.T) answer {
	t.Helper()
	resp, err := b.client.Post(b.srv.URL, "application/json", strings.NewReader(`{"x":1}`))
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func TestInjectorFaultRates(t *testing.T) {
	t.Parallel()
	const n, rate = 300, 0.25
	cases := []struct {
		name      string
		faults    simkit.Faults
		extras    []simkit.Extra
		fault     string
		showsFunc func(a answer, applied bool) bool
	}{
		{"DropBeforeLosesTheRequest", simkit.Faults{DropBeforeRate: rate}, nil, simkit.FaultDropBefore,
			func(a answer, applied bool) bool { return a.err != nil && !applied }},
		{"DropAfterLosesTheAnswerOnly", simkit.Faults{DropAfterRate: rate}, nil, simkit.FaultDropAfter,
			func(a answer, applied bool) bool { return a.err != nil && applied }},
		{"BadGatewayIsBareHTML", simkit.Faults{BadGatewayRate: rate}, nil, simkit.FaultBadGateway,
			func(a answer, applied bool) bool {
				return a.status == http.StatusBadGateway && strings.HasPrefix(a.header.Get("Content-Type"), "text/html") &&
					strings.Contains(a.body, "502 Bad Gateway") && !applied
			}},
		{"RateLimitWithRetryAfter", simkit.Faults{RateLimitRate: rate, RetryAfter: 3}, nil, simkit.FaultRateLimit,
			func(a answer, applied bool) bool {
				return a.status == http.StatusTooManyRequests && a.header.Get("Retry-After") == "3" && !applied
			}},
		{"RateLimitWithoutRetryAfter", simkit.Faults{RateLimitNoHeaderRate: rate}, nil, simkit.FaultRateLimitNoHeader,
			func(a answer, applied bool) bool {
				_, has := a.header["Retry-After"]
				return a.status == http.StatusTooManyRequests && !has && !applied
			}},
		{"Status500InTheSimulatorsEnvelope", simkit.Faults{Status500Rate: rate}, nil, simkit.FaultStatus500,
			func(a answer, applied bool) bool {
				return a.status == http.StatusInternalServerError && a.body == `{"success":false,"code":"INTERNAL"}` && !applied
			}},
		{"ExtraAnswersWithItsOwnFunc", simkit.Faults{}, []simkit.Extra{{Name: "code_x", Rate: rate, AnswerFunc: func() simkit.Answer {
			return simkit.Answer{Status: http.StatusOK, Body: []byte(`{"success":false,"code":"X"}`)}
		}}}, "code_x",
			func(a answer, applied bool) bool {
				return a.status == http.StatusOK && a.body == `{"success":false,"code":"X"}` && !applied
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 42)
			b.sim.plan.Store(simkit.MustPlan(tc.faults, tc.extras...))
			seen := 0
			for i := range n {
				before := b.sim.applied.Load()
				a := b.post(t)
				applied := b.sim.applied.Load() > before
				if tc.showsFunc(a, applied) {
					seen++
					continue
				}
				require.NoError(t, a.err, "request %d", i)
				require.Equal(t, http.StatusOK, a.status, "request %d: %s", i, a.body)
				require.True(t, applied)
			}
			got := float64(seen) / n
			require.InDelta(t, rate, got, 0.1, "observed rate %.3f", got) // ±4 standard deviations
			require.Equal(t, map[string]int64{tc.fault: int64(seen)}, b.sim.inj.Counters().Snapshot(), "every injected fault is counted, nothing else")
		})
	}
}

func TestInjector(t *testing.T) {
	t.Parallel()

	t.Run("DefaultStatus500IsBareText", func(t *testing.T) {
		t.Parallel()
		inj := simkit.NewInjector(simkit.InjectorConfig{})
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		a, hit := inj.Before(r, simkit.MustPlan(simkit.Faults{Status500Rate: 1}))
		require.True(t, hit)
		require.Equal(t, http.StatusInternalServerError, a.Status)
		require.Equal(t, simkit.ContentTypeText, a.ContentType)
		require.Equal(t, simkit.FaultStatus500, a.Fault)
	})

	t.Run("BeforeFaultsAreExclusiveAndShareOneDraw", func(t *testing.T) {
		t.Parallel()
		inj := simkit.NewInjector(simkit.InjectorConfig{Seed: 3})
		p := simkit.MustPlan(simkit.Faults{DropBeforeRate: 0.25, BadGatewayRate: 0.25, RateLimitRate: 0.25, Status500Rate: 0.25})
		for range 200 {
			_, hit := inj.Before(httptest.NewRequest(http.MethodGet, "/", nil), p)
			require.True(t, hit, "the rates sum to 1: every request draws exactly one fault")
		}
		var sum int64
		for name, n := range inj.Counters().Snapshot() {
			require.Positive(t, n, name)
			sum += n
		}
		require.Equal(t, int64(200), sum)
	})

	t.Run("SameSeedSameFaults", func(t *testing.T) {
		t.Parallel()
		runFunc := func() []string {
			inj := simkit.NewInjector(simkit.InjectorConfig{Seed: 7})
			p := simkit.MustPlan(simkit.Faults{RateLimitRate: 0.3, BadGatewayRate: 0.2, DropAfterRate: 0.3, Jitter: time.Microsecond})
			var out []string
			for range 50 {
				a, _ := inj.Before(httptest.NewRequest(http.MethodGet, "/", nil), p)
				out = append(out, fmt.Sprintf("%s/%v", a.Fault, inj.DropAfter(p)))
			}
			return out
		}
		require.Equal(t, runFunc(), runFunc())
	})

	t.Run("InactivePlanDrawsNothing", func(t *testing.T) {
		t.Parallel()
		a := simkit.NewInjector(simkit.InjectorConfig{Seed: 9})
		b := simkit.NewInjector(simkit.InjectorConfig{Seed: 9})
		for _, p := range []*simkit.Plan{nil, simkit.MustPlan(simkit.Faults{RetryAfter: 5})} {
			require.False(t, p.Active())
			_, hit := a.Before(httptest.NewRequest(http.MethodGet, "/", nil), p)
			require.False(t, hit)
			require.False(t, a.DropAfter(p))
		}
		require.Equal(t, b.Rand().Float64(), a.Rand().Float64(), "the random source did not move")
		require.Empty(t, a.Counters().Snapshot())
	})

	t.Run("LatencyDelaysAndIsCounted", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		b.sim.plan.Store(simkit.MustPlan(simkit.Faults{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}))
		for range 3 {
			start := time.Now()
			require.Equal(t, http.StatusOK, b.post(t).status)
			require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		}
		require.Equal(t, int64(3), b.sim.inj.Counters().Get(simkit.FaultLatency))
	})

	t.Run("ClientGivingUpDuringLatencyIsGone", func(t *testing.T) {
		t.Parallel()
		inj := simkit.NewInjector(simkit.InjectorConfig{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(`{}`))
		a, hit := inj.Before(r, simkit.MustPlan(simkit.Faults{Latency: time.Minute}))
		require.True(t, hit)
		require.True(t, a.Gone)
		require.Equal(t, simkit.FaultLatency, a.Fault)
	})

	t.Run("LatencyKeepsTheBodyReadable", func(t *testing.T) {
		t.Parallel()
		inj := simkit.NewInjector(simkit.InjectorConfig{MaxBodyBytes: 4})
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`0123456789`))
		_, hit := inj.Before(r, simkit.MustPlan(simkit.Faults{Latency: time.Nanosecond}))
		require.False(t, hit)
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		require.Equal(t, "01234", string(body), "at most MaxBodyBytes+1 bytes: still seen as too large")
	})

	t.Run("Down", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		b.sim.down.Store(simkit.Down503)
		a := b.post(t)
		require.Equal(t, http.StatusServiceUnavailable, a.status)
		require.Contains(t, a.body, "503")
		b.sim.down.Store(simkit.DownClose)
		require.Error(t, b.post(t).err)
		b.sim.down.Store(simkit.DownOff)
		require.Equal(t, http.StatusOK, b.post(t).status)
		require.Equal(t, int64(1), b.sim.applied.Load())
		require.Equal(t, map[string]int64{simkit.FaultDown503: 1, simkit.FaultDownClose: 1}, b.sim.inj.Counters().Snapshot())
	})
}

func TestPlanValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		faults simkit.Faults
		extras []simkit.Extra
		want   string
	}{
		{"RateAboveOne", simkit.Faults{BadGatewayRate: 1.5}, nil, "bad_gateway = 1.5"},
		{"NegativeRate", simkit.Faults{DropAfterRate: -0.1}, nil, "drop_after_rate = -0.1"},
		{"NaNRate", simkit.Faults{RateLimitRate: math.NaN()}, nil, "rate_limit = NaN"},
		{"BeforeRatesSumAboveOne", simkit.Faults{DropBeforeRate: 0.6}, []simkit.Extra{{Name: "x", Rate: 0.6}}, "sum to 1.2"},
		{"NegativeLatency", simkit.Faults{Latency: -time.Second}, nil, "latency and jitter"},
		{"NegativeRetryAfter", simkit.Faults{RetryAfter: -1}, nil, "retry_after"},
		{"ExtraWithoutName", simkit.Faults{}, []simkit.Extra{{Rate: 0.1}}, "no name"},
		{"ExtraNamedTwice", simkit.Faults{}, []simkit.Extra{{Name: "x"}, {Name: "x"}}, `"x" is used twice`},
		{"ExtraNamedLikeABuiltin", simkit.Faults{}, []simkit.Extra{{Name: simkit.FaultDropAfter}}, "used twice"},
		{"ExtraRateAboveOne", simkit.Faults{}, []simkit.Extra{{Name: "x", Rate: 2}}, "x = 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := simkit.NewPlan(tc.faults, tc.extras...)
			require.ErrorIs(t, err, simkit.ErrInvalidFaults)
			require.ErrorContains(t, err, tc.want)
			require.Panics(t, func() { simkit.MustPlan(tc.faults, tc.extras...) })
		})
	}

	t.Run("DownMode", func(t *testing.T) {
		t.Parallel()
		for _, d := range []simkit.DownMode{simkit.DownOff, simkit.Down503, simkit.DownClose} {
			require.NoError(t, d.Validate())
		}
		require.ErrorIs(t, simkit.DownMode("sometimes").Validate(), simkit.ErrInvalidFaults)
	})

	t.Run("PlanKeepsItsInputs", func(t *testing.T) {
		t.Parallel()
		f := simkit.Faults{RateLimitRate: 0.5, RetryAfter: 4}
		p := simkit.MustPlan(f, simkit.Extra{Name: "x", Rate: 0.1})
		require.Equal(t, f, p.Faults())
		require.Equal(t, "x", p.Extras()[0].Name)
		require.True(t, p.Active())
		require.True(t, simkit.Faults{}.IsZero())
		require.NoError(t, f.Validate())
	})
}

func TestFaultsJSON(t *testing.T) {
	t.Parallel()
	f := simkit.Faults{
		Status500Rate: 0.01, RateLimitRate: 0.02, RateLimitNoHeaderRate: 0.03, RetryAfter: 2, BadGatewayRate: 0.04,
		DropBeforeRate: 0.05, DropAfterRate: 0.06, Latency: 250 * time.Millisecond, Jitter: time.Second,
	}
	j, err := json.Marshal(f)
	require.NoError(t, err)
	require.JSONEq(t, `{"status_500_rate":0.01,"rate_limit_rate":0.02,"rate_limit_no_header_rate":0.03,"retry_after":2,
		"bad_gateway_rate":0.04,"drop_before_rate":0.05,"drop_after_rate":0.06,"latency":"250ms","jitter":"1s"}`, string(j))
	var back simkit.Faults
	require.NoError(t, json.Unmarshal(j, &back))
	require.Equal(t, f, back)

	zero, err := json.Marshal(simkit.Faults{})
	require.NoError(t, err)
	require.Equal(t, `{}`, string(zero))

	require.ErrorContains(t, json.Unmarshal([]byte(`{"latency":"soon"}`), &back), "latency")
	require.ErrorContains(t, json.Unmarshal([]byte(`{"jitter":"x"}`), &back), "jitter")
	require.Error(t, json.Unmarshal([]byte(`{"drop_rate":0.1}`), &back), "unknown fields are refused")
}

func TestCountersAndLog(t *testing.T) {
	t.Parallel()
	var c simkit.Counters
	var l simkit.Log[int]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c.Add("a")
			l.Add(i)
		})
	}
	wg.Wait()
	require.Equal(t, int64(8), c.Get("a"))
	require.Equal(t, map[string]int64{"a": 8}, c.Snapshot())
	require.Len(t, l.All(), 8)
	require.Equal(t, 8, l.Len())
	snap := c.Snapshot()
	snap["a"] = 99
	require.Equal(t, int64(8), c.Get("a"), "a snapshot is a copy")
	c.Reset()
	l.Reset()
	require.Empty(t, c.Snapshot())
	require.NotNil(t, c.Snapshot())
	require.Empty(t, l.All())
	require.NotNil(t, l.All())
}

func TestPrefixes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{{"", ""}, {"/", ""}, {"api/v1/", "/api/v1"}, {"/_sim", "/_sim"}} {
		require.Equal(t, tc.want, simkit.CleanPrefix(tc.in), tc.in)
	}
	cases := []struct {
		path, prefix, rest string
		ok                 bool
	}{
		{"/api/x", "/api", "/x", true},
		{"/api", "/api", "", true},
		{"/apix", "/api", "", false},
		{"/other", "/api", "", false},
		{"/any", "", "/any", true},
	}
	for _, tc := range cases {
		rest, ok := simkit.StripPrefix(tc.path, tc.prefix)
		require.Equal(t, tc.ok, ok, tc.path)
		require.Equal(t, tc.rest, rest, tc.path)
	}
}

func TestAdminHelpers(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	simkit.WriteJSON(rec, http.StatusOK, map[string]string{"a": "<b>"})
	require.Equal(t, simkit.ContentTypeJSON, rec.Header().Get("Content-Type"))
	require.Equal(t, "{\n  \"a\": \"<b>\"\n}\n", rec.Body.String(), "indented, HTML not escaped")

	rec = httptest.NewRecorder()
	simkit.WriteJSON(rec, http.StatusOK, func() {})
	require.Equal(t, http.StatusInternalServerError, rec.Code, "an unencodable value is an error answer")

	var v struct{ A int }
	r := httptest.NewRequest(http.MethodPost, "/_sim/faults", strings.NewReader(`{"A":1,"B":2}`))
	require.ErrorContains(t, simkit.DecodeJSON(r, &v), "/_sim/faults")
	r = httptest.NewRequest(http.MethodPost, "/_sim/faults", strings.NewReader(`{"A":1}`))
	require.NoError(t, simkit.DecodeJSON(r, &v))
	require.Equal(t, 1, v.A)
}
