package ucsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

func TestFaults(t *testing.T) {
	t.Parallel()

	t.Run("DropAfterApplyOnCreateUserCreatesTheAccount", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *ucsim.Config) { c.RecordRequests = true })
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateUser: {DropAfterRate: 1}}}))
		res := b.try(t, http.MethodPost, b.sim.URL()+"/create-user", map[string]any{"username": "10001", "password": "p", "sys_attrs": map[string]any{"channel_user_id": "10001"}})
		require.Error(t, res.err, "the answer was lost")
		accts := b.sim.AccountsBySysAttr("channel_user_id", "10001")
		require.Len(t, accts, 1, "but the account exists")
		req := b.sim.Requests()[0]
		require.Equal(t, ucsim.Request{
			Time: b.clock.Now(), Method: http.MethodPost, Path: "/api/user-center-admin/create-user", Endpoint: "create-user",
			ID: accts[0].ID, Status: 0, Applied: true, Fault: simkit.FaultDropAfter,
		}, req)
		require.Equal(t, int64(1), b.sim.Stats().Faults[simkit.FaultDropAfter])
		b.createGroup(t, "甲", "20001")
		require.Len(t, b.sim.Groups(), 1, "other classes are spared")
	})

	t.Run("DropAfterApplyOnCreateGroupCreatesTheGroup", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateGroup: {DropAfterRate: 1}}}))
		res := b.try(t, http.MethodPost, b.sim.URL()+"/create-group", map[string]any{"name": "甲", "attrs": map[string]any{"channel_company_id": "20001"}})
		require.Error(t, res.err)
		require.Len(t, b.sim.GroupsByAttr("channel_company_id", "20001"), 1)
	})

	t.Run("ClassOverridesAll", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{
			All:     simkit.Faults{Status500Rate: 1},
			Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassRead: {}},
		}))
		require.True(t, b.do(t, http.MethodGet, "list-roles", nil).success, "reads have their own (empty) faults")
		res := b.do(t, http.MethodPut, "save-role", map[string]any{"code": "R"})
		require.Equal(t, http.StatusInternalServerError, res.status)
		require.Equal(t, ucsim.CodeInternal, res.code)
		require.Empty(t, b.sim.Roles(), "a 500 before applying applies nothing")
	})

	t.Run("RateLimitWithRetryAfter", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{All: simkit.Faults{RateLimitRate: 1, RetryAfter: 4}}))
		res := b.do(t, http.MethodGet, "list-roles", nil)
		require.Equal(t, http.StatusTooManyRequests, res.status)
		require.Equal(t, "4", res.header.Get("Retry-After"))
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{All: simkit.Faults{RateLimitNoHeaderRate: 1}}))
		res = b.do(t, http.MethodGet, "list-roles", nil)
		require.Equal(t, http.StatusTooManyRequests, res.status)
		require.Empty(t, res.header.Values("Retry-After"))
	})

	t.Run("DownModes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{Down: simkit.Down503}))
		res := b.do(t, http.MethodGet, "list-roles", nil)
		require.Equal(t, http.StatusServiceUnavailable, res.status)
		require.False(t, res.hasEnv)
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{Down: simkit.DownClose}))
		// A POST: net/http would retry a GET on a reused connection.
		require.Error(t, b.try(t, http.MethodPost, b.sim.URL()+"/list-user-roles", map[string]any{"target_user_id": "u"}).err)
		var st ucsim.Stats
		resp, err := b.client.Get(b.sim.AdminURL() + "/stats")
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		resp.Body.Close()
		require.Equal(t, int64(1), st.Faults[simkit.FaultDown503], "the admin endpoints stay up")
		require.Equal(t, int64(1), st.Faults[simkit.FaultDownClose])
	})

	t.Run("LatencyDelays", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.sim.SetFaults(ucsim.Faults{All: simkit.Faults{Latency: 20 * time.Millisecond}}))
		start := time.Now()
		require.True(t, b.do(t, http.MethodGet, "list-roles", nil).success)
		require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		require.Equal(t, int64(1), b.sim.Stats().Faults[simkit.FaultLatency])
	})

	t.Run("RatesAreObservedAndSeeded", func(t *testing.T) {
		t.Parallel()
		runFunc := func() []int {
			b := setup(t, func(c *ucsim.Config) { c.Seed = 7 })
			require.NoError(t, b.sim.SetFaults(ucsim.Faults{All: simkit.Faults{BadGatewayRate: 0.3}}))
			var statuses []int
			for i := range 100 {
				res := b.do(t, http.MethodPost, "create-user", map[string]any{"username": fmt.Sprint(i), "password": "p"})
				statuses = append(statuses, res.status)
			}
			st := b.sim.Stats()
			require.InDelta(t, 30, st.Faults[simkit.FaultBadGateway], 15)
			require.Equal(t, int64(100)-st.Faults[simkit.FaultBadGateway], int64(st.Accounts))
			return statuses
		}
		require.Equal(t, runFunc(), runFunc())
	})

	t.Run("InvalidFaultsAreRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, f := range []ucsim.Faults{
			{All: simkit.Faults{DropAfterRate: 2}},
			{Classes: map[ucsim.Class]simkit.Faults{"deletes": {}}},
			{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassWrite: {Latency: -1}}},
			{Down: "sometimes"},
		} {
			require.ErrorIs(t, b.sim.SetFaults(f), simkit.ErrInvalidFaults)
			require.ErrorIs(t, f.Validate(), simkit.ErrInvalidFaults)
		}
		require.Equal(t, ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{}}, b.sim.Faults(), "a refused change changes nothing")
	})

	t.Run("JSONRoundTrip", func(t *testing.T) {
		t.Parallel()
		f := ucsim.Faults{
			All:     simkit.Faults{Latency: 5 * time.Millisecond},
			Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateUser: {DropAfterRate: 0.5}},
			Down:    simkit.Down503,
		}
		j, err := json.Marshal(f)
		require.NoError(t, err)
		require.JSONEq(t, `{"all":{"latency":"5ms"},"classes":{"create_user":{"drop_after_rate":0.5}},"down":"503"}`, string(j))
		var back ucsim.Faults
		require.NoError(t, json.Unmarshal(j, &back))
		require.Equal(t, f, back)
		require.Error(t, json.Unmarshal([]byte(`{"al":{}}`), &back))
	})
}
