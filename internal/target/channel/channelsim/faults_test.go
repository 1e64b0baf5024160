package channelsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

func TestFaultRates(t *testing.T) {
	t.Parallel()
	const n, rate = 300, 0.25
	cases := []struct {
		name   string
		faults channelsim.Faults
		fault  string
		// showsFunc reports whether an answer showsFunc the fault; stored is
		// whether the record reached the channel.
		showsFunc func(res response, stored bool) bool
	}{
		{"DropBeforeLosesTheRequest", channelsim.Faults{DropBeforeRate: rate}, channelsim.FaultDropBefore,
			func(res response, stored bool) bool { return res.err != nil && !stored }},
		{"DropAfterLosesTheAnswerOnly", channelsim.Faults{DropAfterRate: rate}, channelsim.FaultDropAfter,
			func(res response, stored bool) bool { return res.err != nil && stored }},
		{"BadGatewayIsBareHTML", channelsim.Faults{BadGatewayRate: rate}, channelsim.FaultBadGateway,
			func(res response, stored bool) bool {
				return res.status == http.StatusBadGateway && !res.hasEnv && strings.HasPrefix(res.header.Get("Content-Type"), "text/html") && !stored
			}},
		{"RateLimitWithRetryAfter", channelsim.Faults{RateLimitRate: rate, RetryAfter: 3}, channelsim.FaultRateLimit,
			func(res response, stored bool) bool {
				return res.status == http.StatusTooManyRequests && res.header.Get("Retry-After") == "3" && !stored
			}},
		{"RateLimitWithoutRetryAfter", channelsim.Faults{RateLimitNoHeaderRate: rate}, channelsim.FaultRateLimitNoHeader,
			func(res response, stored bool) bool {
				_, has := res.header["Retry-After"]
				return res.status == http.StatusTooManyRequests && !has && !stored
			}},
		{"Status500WithEnvelope", channelsim.Faults{Status500Rate: rate}, channelsim.FaultStatus500,
			func(res response, stored bool) bool {
				return res.status == http.StatusInternalServerError && res.hasEnv && res.code == 5001 && !stored
			}},
		{"Code5001AsHTTP200", channelsim.Faults{CodeRates: map[int]float64{5001: rate}}, channelsim.FaultCode(5001),
			func(res response, stored bool) bool {
				return res.status == http.StatusOK && res.code == 5001 && !stored
			}},
		{"Code1004", channelsim.Faults{CodeRates: map[int]float64{1004: rate}}, channelsim.FaultCode(1004),
			func(res response, stored bool) bool {
				return res.status == http.StatusOK && res.code == 1004 && !stored
			}},
		{"Code1003", channelsim.Faults{CodeRates: map[int]float64{1003: rate}}, channelsim.FaultCode(1003),
			func(res response, stored bool) bool {
				return res.status == http.StatusOK && res.code == 1003 && !stored
			}},
		{"UnknownCode", channelsim.Faults{CodeRates: map[int]float64{9999: rate}}, channelsim.FaultCode(9999),
			func(res response, stored bool) bool {
				return res.status == http.StatusOK && res.code == 9999 && !stored
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			require.NoError(t, b.sim.SetFaults(tc.faults))
			seen := 0
			for i := range n {
				id := fmt.Sprintf("U%d", i)
				res := b.try(t, http.MethodPost, b.sim.URL()+"/users", user(id))
				_, stored := b.sim.Record("user", id)
				if tc.showsFunc(res, stored) {
					seen++
					continue
				}
				require.NoError(t, res.err)
				require.Equal(t, 0, res.code, "request %d: %s", i, res.raw)
				require.True(t, stored)
			}
			got := float64(seen) / n
			require.InDelta(t, rate, got, 0.1, "observed rate %.3f", got) // ±4 standard deviations
			st := b.sim.Stats()
			require.Equal(t, int64(seen), st.Faults[tc.fault], "every injected fault is counted")
			require.Len(t, st.Faults, 1)
			require.Empty(t, st.Kinds["user"].Rejections, "injected faults are not rejections")
			require.Equal(t, int64(n+1), st.Requests, "requests include the token request")
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()

	t.Run("BeforeFaultsAreExclusiveAndShareOneDraw", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{
			DropBeforeRate: 0.1, BadGatewayRate: 0.1, RateLimitRate: 0.1, CodeRates: map[int]float64{5001: 0.1},
		}))
		const n = 400
		failed := 0
		for i := range n {
			res := b.try(t, http.MethodPost, b.sim.URL()+"/users", user(fmt.Sprintf("U%d", i)))
			if res.err != nil || res.code != 0 || res.status != http.StatusOK {
				failed++
			}
		}
		st := b.sim.Stats()
		var injected int64
		for _, name := range []string{channelsim.FaultDropBefore, channelsim.FaultBadGateway, channelsim.FaultRateLimit, channelsim.FaultCode(5001)} {
			require.Positive(t, st.Faults[name], name)
			injected += st.Faults[name]
		}
		require.Equal(t, int64(failed), injected)
		require.Equal(t, n-failed, b.sim.Count("user"))
		require.InDelta(t, 0.4, float64(failed)/n, 0.1)
	})

	t.Run("SameSeedSameFaults", func(t *testing.T) {
		t.Parallel()
		runFunc := func() []int {
			b := setup(t, func(c *channelsim.Config) { c.Seed = 7 })
			require.NoError(t, b.sim.SetFaults(channelsim.Faults{CodeRates: map[int]float64{5001: 0.3, 1004: 0.2}}))
			var codes []int
			for i := range 50 {
				codes = append(codes, b.do(t, http.MethodPost, "/users", user(fmt.Sprintf("U%d", i))).code)
			}
			return codes
		}
		require.Equal(t, runFunc(), runFunc())
	})

	t.Run("Latency", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}))
		for i := range 5 {
			start := time.Now()
			require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user(fmt.Sprintf("U%d", i))).code)
			require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		}
		require.Equal(t, int64(5), b.sim.Stats().Faults[channelsim.FaultLatency])
	})

	t.Run("ClientGivingUpDuringLatencyAppliesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{Latency: time.Minute}))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.sim.URL()+"/users", strings.NewReader(`{}`))
		require.NoError(t, err)
		_, err = b.client.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{}))
		require.Eventually(t, func() bool { return b.sim.Stats().Faults[channelsim.FaultLatency] == 1 }, 5*time.Second, 10*time.Millisecond)
		require.Zero(t, b.sim.Count("user"))
	})

	t.Run("Down503", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{Down: channelsim.Down503}))
		for _, path := range []string{"/users", "/auth/token"} {
			res := b.do(t, http.MethodPost, path, user("U1"))
			require.Equal(t, http.StatusServiceUnavailable, res.status)
			require.False(t, res.hasEnv)
			require.Contains(t, string(res.raw), "503")
		}
		var st channelsim.Stats
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/stats", nil, &st), "the admin endpoints stay up")
		require.Equal(t, int64(2), st.Faults[channelsim.FaultDown503])

		require.NoError(t, b.sim.SetFaults(channelsim.Faults{}))
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)
	})

	t.Run("DownClose", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{Down: channelsim.DownClose}))
		for _, path := range []string{"/users", "/auth/token"} {
			res := b.try(t, http.MethodPost, b.sim.URL()+path, user("U1"))
			require.Error(t, res.err)
		}
		require.Zero(t, b.sim.Count("user"))
		require.Equal(t, int64(2), b.sim.Stats().Faults[channelsim.FaultDownClose])
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{}))
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)
	})

	t.Run("AuthIsSparedUnlessIncluded", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{CodeRates: map[int]float64{5001: 1}}))
		require.Equal(t, 0, b.do(t, http.MethodPost, "/auth/token", tokenBody(testAppKey, testSecret), noAuth).code)
		require.Equal(t, 5001, b.do(t, http.MethodGet, "/users/U1", nil).code)

		require.NoError(t, b.sim.SetFaults(channelsim.Faults{CodeRates: map[int]float64{5001: 1}, IncludeAuth: true}))
		require.Equal(t, 5001, b.do(t, http.MethodPost, "/auth/token", tokenBody(testAppKey, testSecret), noAuth).code)
		require.Equal(t, int64(2), b.sim.Stats().TokenRequests, "the faulted token request never reached the handler")
	})

	t.Run("FaultsApplyToEveryResourceEndpoint", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.seedParents(t)
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{CodeRates: map[int]float64{1004: 1}}))
		for _, rq := range []struct{ method, path string }{
			{http.MethodGet, "/tasks"}, {http.MethodGet, "/tasks/T1"}, {http.MethodPut, "/users/U1"}, {http.MethodPost, "/payments"},
		} {
			require.Equal(t, 1004, b.do(t, rq.method, rq.path, user("U1")).code, rq.path)
		}
	})

	t.Run("DenyAndAllowIDs", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.seedParents(t)
		require.NoError(t, b.sim.Deny("users", "U1", "U2"))
		require.NoError(t, b.sim.Deny("*", "T1"))
		require.Equal(t, []string{"*/T1", "user/U1", "user/U2"}, b.sim.Denied())

		for _, rq := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/users/U1", nil},
			{http.MethodPut, "/users/U1", user("U1")},
			{http.MethodPost, "/users", user("U2")},
			{http.MethodGet, "/tasks/T1", nil},
		} {
			res := b.do(t, rq.method, rq.path, rq.body)
			require.Equal(t, 1004, res.code, "%s %s", rq.method, rq.path)
			require.Contains(t, res.message, "permission denied")
		}
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U3")).code, "other ids pass")
		require.Equal(t, 0, b.do(t, http.MethodGet, "/companies/C1", nil).code)
		require.Equal(t, int64(4), b.sim.Stats().Faults[channelsim.FaultPermission])

		require.NoError(t, b.sim.Allow("user", "U1", "U2"))
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U2")).code, "the channel fixed its side")
		require.Equal(t, 0, b.do(t, http.MethodGet, "/users/U1", nil).code)
		b.sim.AllowAll()
		require.Empty(t, b.sim.Denied())
		require.ErrorIs(t, b.sim.Deny("dogs", "D1"), channelsim.ErrUnknownKind)
	})

	t.Run("DroppedAnswersAreLogged", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.RecordRequests = true })
		require.NoError(t, b.sim.SetFaults(channelsim.Faults{DropAfterRate: 1}))
		res := b.try(t, http.MethodPost, b.sim.URL()+"/users", user("U1"))
		require.Error(t, res.err)
		require.Equal(t, 1, b.sim.Count("user"), "the create happened")
		reqs := b.sim.Requests()
		last := reqs[len(reqs)-1]
		require.Equal(t, channelsim.Request{
			Time: b.clock.Now(), Method: http.MethodPost, Path: "/api/v1/users", Kind: "user", ID: "U1",
			Status: 0, Code: 0, Applied: true, Fault: channelsim.FaultDropAfter,
		}, last)
	})
}

func TestFaultsValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		faults channelsim.Faults
	}{
		{"RateAboveOne", channelsim.Faults{BadGatewayRate: 1.5}},
		{"NegativeRate", channelsim.Faults{DropAfterRate: -0.1}},
		{"NaNRate", channelsim.Faults{RateLimitRate: math.NaN()}},
		{"BeforeRatesSumAboveOne", channelsim.Faults{DropBeforeRate: 0.6, CodeRates: map[int]float64{5001: 0.6}}},
		{"CodeZero", channelsim.Faults{CodeRates: map[int]float64{0: 0.1}}},
		{"NegativeLatency", channelsim.Faults{Latency: -time.Second}},
		{"NegativeRetryAfter", channelsim.Faults{RetryAfter: -1}},
		{"UnknownDownMode", channelsim.Faults{Down: "sometimes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, tc.faults.Validate(), channelsim.ErrInvalidFaults)
			sim := channelsim.New(channelsim.Config{})
			require.ErrorIs(t, sim.SetFaults(tc.faults), channelsim.ErrInvalidFaults)
			require.Equal(t, channelsim.Faults{CodeRates: map[int]float64{}}, sim.Faults(), "a refused change changes nothing")
		})
	}

	t.Run("JSONRoundTrip", func(t *testing.T) {
		t.Parallel()
		f := channelsim.Faults{
			CodeRates: map[int]float64{5001: 0.1, 1004: 0.05}, Status500Rate: 0.01, RateLimitRate: 0.02, RateLimitNoHeaderRate: 0.03,
			RetryAfter: 2, BadGatewayRate: 0.04, DropBeforeRate: 0.05, DropAfterRate: 0.06, Latency: 250 * time.Millisecond,
			Jitter: time.Second, Down: channelsim.Down503, IncludeAuth: true,
		}
		j, err := json.Marshal(f)
		require.NoError(t, err)
		require.Contains(t, string(j), `"latency":"250ms"`)
		require.Contains(t, string(j), `"code_rates":{"1004":0.05,"5001":0.1}`)
		var back channelsim.Faults
		require.NoError(t, json.Unmarshal(j, &back))
		require.Equal(t, f, back)

		require.Error(t, json.Unmarshal([]byte(`{"latency":"soon"}`), &back))
		require.Error(t, json.Unmarshal([]byte(`{"drop_rate":0.1}`), &back), "unknown fields are refused")
	})
}
