package channelsim_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/testkit"
)

func TestConfig(t *testing.T) {
	t.Parallel()

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name string
			cfg  channelsim.Config
		}{
			{"UnknownErrorStyle", channelsim.Config{ErrorStyle: "loud"}},
			{"NegativeTokenTTL", channelsim.Config{TokenTTL: -time.Second}},
			{"NegativeMaxPageSize", channelsim.Config{MaxPageSize: -1}},
			{"SamePrefixes", channelsim.Config{Prefix: "/x", AdminPrefix: "/x/"}},
			{"BadFaults", channelsim.Config{Faults: channelsim.Faults{DropAfterRate: 2}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				require.ErrorIs(t, tc.cfg.Validate(), channelsim.ErrInvalidConfig)
				require.Panics(t, func() { channelsim.New(tc.cfg) })
			})
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		cfg := channelsim.New(channelsim.Config{}).Config()
		require.Equal(t, "/api/v1", cfg.Prefix)
		require.Equal(t, "/_sim", cfg.AdminPrefix)
		require.Equal(t, "channel_001", cfg.AppKey)
		require.Equal(t, 7200*time.Second, cfg.TokenTTL)
		require.Equal(t, channelsim.ErrorStyleEnvelope, cfg.ErrorStyle)
		require.Equal(t, 100, cfg.MaxPageSize)
	})

	t.Run("CustomPrefix", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.Prefix = "channel/v9/" })
		require.Equal(t, b.sim.RootURL()+"/channel/v9", b.sim.URL())
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)
	})

	t.Run("RootPrefix", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.Prefix = "/" })
		require.Equal(t, b.sim.RootURL(), b.sim.URL())
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/stats", nil, nil))
	})

	t.Run("MaxBodyBytes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.MaxBodyBytes = 200 })
		res := b.do(t, http.MethodPost, "/users", user("U1"))
		require.Equal(t, 1001, res.code)
		require.Equal(t, "body: larger than 200 bytes", res.message)
	})

	t.Run("FaultsFromTheStart", func(t *testing.T) {
		t.Parallel()
		sim := channelsim.New(channelsim.Config{Faults: channelsim.Faults{RetryAfter: 9, RateLimitRate: 0.5}})
		require.Equal(t, 0.5, sim.Faults().RateLimitRate)
	})

	t.Run("LogRequests", func(t *testing.T) {
		t.Parallel()
		var buf testkit.SyncBuffer
		b := setup(t, func(c *channelsim.Config) {
			c.LogRequests = true
			c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		b.do(t, http.MethodGet, "/users/U1", nil)
		require.Contains(t, buf.String(), `"path":"/api/v1/users/U1"`)
		require.Contains(t, buf.String(), `"code":1001`)
		require.NotContains(t, buf.String(), b.token, "tokens stay out of logs")
	})
}

func TestInsert(t *testing.T) {
	t.Parallel()
	sim := channelsim.New(channelsim.Config{})
	jsonFunc := func(m map[string]any) []byte {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	id, err := sim.Insert("company", jsonFunc(company("C1")))
	require.NoError(t, err)
	require.Equal(t, "20001", id)

	_, err = sim.Insert("companies", jsonFunc(company("C1")))
	require.ErrorIs(t, err, channelsim.ErrRejected)
	require.Contains(t, err.Error(), "already exists")

	_, err = sim.Insert("tasks", jsonFunc(task("T1", "C9")))
	require.ErrorIs(t, err, channelsim.ErrRejected)
	require.Contains(t, err.Error(), "company C9 not found")

	bad := user("U1")
	bad["phone"] = "1"
	_, err = sim.Insert("user", jsonFunc(bad))
	require.ErrorIs(t, err, channelsim.ErrRejected)
	require.Contains(t, err.Error(), "phone: must be a mainland mobile number")

	_, err = sim.Insert("user", []byte(`[]`))
	require.Error(t, err)
	_, err = sim.Insert("user", []byte(`null`))
	require.ErrorIs(t, err, channelsim.ErrRejected)

	st := sim.Stats()
	require.Equal(t, int64(1), st.Kinds["company"].Creates)
	require.Equal(t, int64(1), st.DuplicateCreates())
	require.Equal(t, int64(1), st.OrderViolations())
	require.Zero(t, st.Requests, "an insert is not a request")

	require.Panics(t, func() { sim.Records("dogs") })
	_, err = sim.Insert("dogs", nil)
	require.ErrorIs(t, err, channelsim.ErrUnknownKind)
}

func TestRecordsAreTheCallersOwn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "users", user("U1"))
	recs := b.sim.Records("users")
	recs["U1"]["name"] = "changed"
	recs["U1"]["live_certification"].(map[string]any)["certified"] = false
	rec, _ := b.sim.Record("user", "U1")
	require.Equal(t, "张三", rec["name"])
	require.Equal(t, true, rec["live_certification"].(map[string]any)["certified"])
}
