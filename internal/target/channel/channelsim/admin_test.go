package channelsim_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

func TestAdminHTTP(t *testing.T) {
	t.Parallel()

	t.Run("Stats", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.seedParents(t)
		require.Equal(t, 1001, b.do(t, http.MethodPost, "/tasks", task("T2", "C9")).code)
		var st channelsim.Stats
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/stats", nil, &st))
		require.Equal(t, b.sim.Stats(), st, "admin requests are not counted")
		require.Equal(t, int64(1), st.Kinds["task"].OrderViolations)
		require.Equal(t, int64(1), st.Kinds["company"].Creates)
		require.Equal(t, int64(6), st.Requests)
	})

	t.Run("Records", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.seedParents(t)
		var recs map[string]map[string]any
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/records/tasks", nil, &recs))
		require.Equal(t, b.sim.Records("tasks"), recs)
		require.Equal(t, json.Number("100"), recs["T1"]["recruit_count"])

		var one map[string]any
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/records/user/U1", nil, &one))
		require.Equal(t, "13800138000", one["phone"])

		var errBody map[string]string
		require.Equal(t, http.StatusNotFound, b.admin(t, http.MethodGet, "/records/users/U9", nil, &errBody))
		require.Contains(t, errBody["error"], "user U9 not found")
		require.Equal(t, http.StatusNotFound, b.admin(t, http.MethodGet, "/records/dogs", nil, &errBody))
		require.Contains(t, errBody["error"], "unknown kind")
	})

	t.Run("Requests", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.RecordRequests = true })
		b.mustCreate(t, "users", user("U1"))
		require.Equal(t, 1001, b.do(t, http.MethodPost, "/tasks", task("T1", "C1")).code)
		b.do(t, http.MethodGet, "/users/U9", nil)
		var reqs []channelsim.Request
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/requests", nil, &reqs))
		require.Equal(t, b.sim.Requests(), reqs)
		now := b.clock.Now()
		require.Equal(t, []channelsim.Request{
			{Time: now, Method: "POST", Path: "/api/v1/auth/token", Status: 200, Code: 0},
			{Time: now, Method: "POST", Path: "/api/v1/users", Kind: "user", ID: "U1", Status: 200, Code: 0, Applied: true},
			{Time: now, Method: "POST", Path: "/api/v1/tasks", Kind: "task", ID: "T1", Status: 200, Code: 1001},
			{Time: now, Method: "GET", Path: "/api/v1/users/U9", Kind: "user", ID: "U9", Status: 404, Code: 1001},
		}, reqs)
	})

	t.Run("RequestsAreNotKeptByDefault", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.mustCreate(t, "users", user("U1"))
		var reqs []channelsim.Request
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/requests", nil, &reqs))
		require.Empty(t, reqs)
	})

	t.Run("Faults", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var f channelsim.Faults
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/faults", map[string]any{"code_rates": map[string]float64{"1004": 1}, "latency": "1ms"}, &f))
		require.Equal(t, b.sim.Faults(), f)
		require.Equal(t, 1.0, f.CodeRates[1004])
		require.Equal(t, 1004, b.do(t, http.MethodGet, "/users/U1", nil).code)

		var got channelsim.Faults
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/faults", nil, &got))
		require.Equal(t, f, got)

		var errBody map[string]string
		require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/faults", map[string]any{"bad_gateway_rate": 2}, &errBody))
		require.Contains(t, errBody["error"], "invalid faults")
		require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/faults", map[string]any{"bad_gatway_rate": 0.1}, &errBody))
		require.Contains(t, errBody["error"], "unknown field")
		require.Equal(t, f, b.sim.Faults(), "a refused change changes nothing")

		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/faults", map[string]any{}, nil))
		require.Equal(t, 1001, b.do(t, http.MethodGet, "/users/U1", nil).code, "faults off: a plain not-found")
	})

	t.Run("Revoke", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/revoke", nil, nil))
		require.Equal(t, 1003, b.do(t, http.MethodGet, "/users/U1", nil).code)
	})

	t.Run("Reset", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.seedParents(t)
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/reset", nil, nil))
		require.Zero(t, b.sim.Count("company"))
		require.Empty(t, b.sim.Records("applications"))
		require.Zero(t, b.sim.Stats().Kinds["task"].Creates)
		require.Equal(t, "20001", b.mustCreate(t, "companies", company("C1"))["company_id"], "sequences restart; the token survives")
	})

	t.Run("Permission", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var out map[string][]string
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/permission", map[string]any{"kind": "users", "deny": []string{"U1", "U2"}}, &out))
		require.Equal(t, []string{"user/U1", "user/U2"}, out["denied"])
		require.Equal(t, 1004, b.do(t, http.MethodPost, "/users", user("U1")).code)

		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/permission", map[string]any{"kind": "user", "allow": []string{"U1"}}, &out))
		require.Equal(t, []string{"user/U2"}, out["denied"])
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)

		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/permission", nil, &out))
		require.Equal(t, []string{"user/U2"}, out["denied"])
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/permission", map[string]any{"allow_all": true}, &out))
		require.Empty(t, out["denied"])

		var errBody map[string]string
		require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/permission", map[string]any{"kind": "dogs", "deny": []string{"x"}}, &errBody))
		require.Contains(t, errBody["error"], "unknown kind")
	})

	t.Run("RoutesAndMethods", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, http.StatusMethodNotAllowed, b.admin(t, http.MethodGet, "/reset", nil, nil))
		require.Equal(t, http.StatusMethodNotAllowed, b.admin(t, http.MethodPost, "/stats", nil, nil))
		require.Equal(t, http.StatusNotFound, b.admin(t, http.MethodGet, "/nothing", nil, nil))
		require.Equal(t, http.StatusNotFound, b.admin(t, http.MethodGet, "/records", nil, nil))
	})
}
