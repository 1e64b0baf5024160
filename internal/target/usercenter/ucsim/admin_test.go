package ucsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// admin sends an admin request and decodes the answer into out.
func (b *testBundle) admin(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.sim.AdminURL()+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ucsim.Config) { c.RecordRequests = true })

	var stranger ucsim.Account
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/accounts", `{"username":"10001","sys_attrs":{"owner":"x"}}`, &stranger))
	require.Equal(t, "10001", stranger.Username)
	var g ucsim.Group
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/groups", `{"name":"甲","type":"company","attrs":{"channel_company_id":"20001"},"members":["`+stranger.ID+`"]}`, &g))
	require.Equal(t, []string{stranger.ID}, g.Members)
	var errBody map[string]string
	require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/accounts", `{"username":"10001"}`, &errBody))
	require.Contains(t, errBody["error"], "already exists")
	require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/groups", `{"name":"a/b"}`, &errBody))

	b.createUser(t, "u1", "10001")
	b.createUser(t, "u2", "10001")
	var dup ucsim.DuplicateReport
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/duplicates", "", &dup))
	require.Len(t, dup.Accounts["10001"], 2)

	var state ucsim.State
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/state", "", &state))
	require.Len(t, state.Accounts, 3)
	require.Len(t, state.Groups, 1)
	require.Equal(t, []ucsim.Membership{{GroupID: g.ID, UserID: stranger.ID}}, state.Memberships)

	var st ucsim.Stats
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/stats", "", &st))
	require.Equal(t, int64(2), st.Calls("create-user"))
	require.Equal(t, 3, st.Accounts)
	require.Equal(t, 1, st.Memberships)

	var reqs []ucsim.Request
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/requests", "", &reqs))
	require.Len(t, reqs, 2)

	var f ucsim.Faults
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/faults", `{"all":{"bad_gateway_rate":1}}`, &f))
	require.Equal(t, 1.0, f.All.BadGatewayRate)
	require.Equal(t, http.StatusBadGateway, b.do(t, http.MethodGet, "list-roles", nil).status)
	require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/faults", `{"all":{"bad_gateway_rate":2}}`, &errBody))
	require.Contains(t, errBody["error"], "invalid faults")
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/faults", `{"all":{}}`, nil))
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/faults", "", &f))
	require.Equal(t, simkit.Faults{}, f.All)

	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/revoke", "", nil))
	require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, "list-roles", nil).status)
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/restore", "", nil))
	require.True(t, b.do(t, http.MethodGet, "list-roles", nil).success)

	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/reset", "", nil))
	require.Empty(t, b.sim.Accounts())
	require.Empty(t, b.sim.Groups())
	require.Empty(t, b.sim.Requests())
	require.Zero(t, b.sim.Stats().Requests)

	require.Equal(t, http.StatusMethodNotAllowed, b.admin(t, http.MethodGet, "/reset", "", nil))
	require.Equal(t, http.StatusNotFound, b.admin(t, http.MethodGet, "/nothing", "", nil))
}

func TestConfig(t *testing.T) {
	t.Parallel()

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for name, cfg := range map[string]ucsim.Config{
			"NegativeSkew":       {ClockSkew: -1},
			"NegativeListLimit":  {MaxListLimit: -1},
			"SamePrefixes":       {Prefix: "/x", AdminPrefix: "/x/"},
			"AdminAtRoot":        {AdminPrefix: "/"},
			"BadFaults":          {Faults: ucsim.Faults{All: simkit.Faults{DropAfterRate: 2}}},
			"NegativeMaxBody":    {MaxBodyBytes: -1},
			"UnknownFaultsClass": {Faults: ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{"x": {}}}},
		} {
			require.ErrorIs(t, cfg.Validate(), ucsim.ErrInvalidConfig, name)
			require.Panics(t, func() { ucsim.New(cfg) }, name)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		cfg := ucsim.New(ucsim.Config{}).Config()
		require.Equal(t, "/api/user-center-admin", cfg.Prefix)
		require.Equal(t, "/_sim/uc", cfg.AdminPrefix)
		require.Equal(t, ucsim.DefaultAppKey, cfg.AppKey)
		require.Equal(t, ucsim.DefaultClockSkew, cfg.ClockSkew)
	})

	t.Run("RootPrefix", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *ucsim.Config) { c.Prefix = "/" })
		require.Equal(t, b.sim.BaseURL(), b.sim.URL())
		require.True(t, b.do(t, http.MethodGet, "list-roles", nil).success)
	})

	t.Run("OutsideThePrefixIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.try(t, http.MethodGet, b.sim.BaseURL()+"/api/v1/apihub/points", nil)
		require.NoError(t, res.err)
		require.Equal(t, http.StatusNotFound, res.status)
		require.Equal(t, ucsim.CodeNoEndpoint, res.code)
	})

	t.Run("EndpointNames", func(t *testing.T) {
		t.Parallel()
		names := ucsim.EndpointNames()
		for _, want := range []string{"get-user-by-sys-attr", "create-user", "save-user-sys-attrs", "enable-user-account", "create-group",
			"list-child-groups", "update-group", "add-user-to-group", "remove-user-from-group", "list-user-groups", "list-roles",
			"save-role", "assign-user-role", "list-user-roles", "list-users"} {
			require.Contains(t, names, want)
		}
	})
}
