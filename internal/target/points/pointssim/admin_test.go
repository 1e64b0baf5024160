package pointssim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/points/pointssim"
)

// admin sends one admin request and decodes its JSON answer into out (if
// not nil); it returns the status.
func (b *testBundle) admin(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rdr io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.sim.AdminURL()+path, rdr)
	require.NoError(t, err)
	resp, err := b.sim.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode
}

func TestAdminControlsTheSimulator(t *testing.T) {
	t.Parallel()
	b := setup(t)

	var pool map[string]int64
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/pool/set", map[string]int64{"balance_cents": 100}, &pool))
	require.Equal(t, map[string]int64{"balance_cents": 100}, pool)
	require.Equal(t, http.StatusPaymentRequired, b.recharge(t, "u1", 150, "G1", "[G1]").status)
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/pool/topup", map[string]int64{"amount_cents": 900}, &pool))
	require.Equal(t, map[string]int64{"balance_cents": 1000}, pool)
	require.Equal(t, 400, b.admin(t, http.MethodPost, "/pool/topup", map[string]int64{"amount_cents": -1}, nil))
	require.Equal(t, 400, b.admin(t, http.MethodPost, "/pool/topup", map[string]int64{"balance_cents": 1}, nil))
	require.Equal(t, http.StatusOK, b.recharge(t, "u1", 150, "G1", "[G1]").status)
	require.Equal(t, http.StatusOK, b.recharge(t, "u1", 150, "G1", "[G1]").status)
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/pool", nil, &pool))
	require.Equal(t, map[string]int64{"balance_cents": 700}, pool)

	var ledger []pointssim.Entry
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/ledger?client_user_id=u1", nil, &ledger))
	require.Len(t, ledger, 2)
	require.Equal(t, 404, b.admin(t, http.MethodGet, "/ledger?client_user_id=nobody", nil, nil))

	var dups pointssim.DuplicateReport
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/duplicates", nil, &dups))
	require.Equal(t, map[string]int{"G1": 2}, dups.ByReason)
	require.Equal(t, map[string]int{"G1": 2}, dups.ByExternalOrderID)
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/duplicates?pattern="+url.QueryEscape(`G\d+`), nil, &dups))
	require.Equal(t, map[string]int{"G1": 2}, dups.ByReason)
	require.Equal(t, 400, b.admin(t, http.MethodGet, "/duplicates?pattern=(", nil, nil))
	var credits map[string]int
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/credits?order=G1&order=G2", nil, &credits))
	require.Equal(t, map[string]int{"G1": 2, "G2": 0}, credits)

	var kept map[string]bool
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/keys/revoke", map[string]string{"key": testKey}, &kept))
	require.Equal(t, map[string]bool{"known": true}, kept)
	require.Equal(t, http.StatusUnauthorized, b.recharge(t, "u1", 1, "", "").status)
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/keys/restore", map[string]string{"key": testKey}, nil))
	require.Equal(t, http.StatusOK, b.recharge(t, "u1", 1, "", "x").status)

	var projects []pointssim.Project
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/publish", pointssim.Project{ShortCode: "s1", Name: "n", Tags: []string{"t"}}, &projects))
	require.Len(t, projects, 1)
	require.Equal(t, 400, b.admin(t, http.MethodPost, "/publish", pointssim.Project{Name: "no code"}, nil))
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/unpublish", map[string]string{"short_code": "s1"}, &projects))
	require.Empty(t, projects)
	require.Equal(t, 404, b.admin(t, http.MethodPost, "/unpublish", map[string]string{"short_code": "s1"}, nil))

	var entry pointssim.Entry
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/charge", pointssim.Charge{ClientUserID: "u1", AmountCents: 100, Reason: "解锁"}, &entry))
	require.Equal(t, "deduct", entry.RecordType)
	require.EqualValues(t, 201, entry.BalanceAfter)
	require.Equal(t, 400, b.admin(t, http.MethodPost, "/charge", pointssim.Charge{ClientUserID: "u1", AmountCents: 1 << 40}, nil))

	b.token(t, "svc")
	var revoked map[string]int
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/tokens/revoke", nil, &revoked))
	require.Equal(t, map[string]int{"revoked": 1}, revoked)

	var faults pointssim.Faults
	require.Equal(t, 200, b.admin(t, http.MethodPost, "/faults", json.RawMessage(`{"all":{},"endpoints":{"recharge":{"drop_after_rate":1}},"status_rates":{"404":0.5}}`), &faults))
	require.EqualValues(t, 1, faults.Endpoints[pointssim.EndpointRecharge].DropAfterRate)
	require.Equal(t, map[int]float64{404: 0.5}, faults.StatusRates)
	require.Equal(t, 400, b.admin(t, http.MethodPost, "/faults", json.RawMessage(`{"all":{"nonsense":1}}`), nil))

	var state pointssim.State
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/state", nil, &state))
	require.EqualValues(t, 699, state.PoolCents)
	require.Len(t, state.Users, 2)
	require.Len(t, state.Recharges, 3)
	require.NotContains(t, mustJSON(t, state), testKey, "the state never shows a key")

	var stats pointssim.Stats
	require.Equal(t, 200, b.admin(t, http.MethodGet, "/stats", nil, &stats))
	require.EqualValues(t, 3, stats.Recharges)
	require.EqualValues(t, 301, stats.RechargedCents)
	require.EqualValues(t, 1, stats.PoolTooLow)
	require.EqualValues(t, 1, stats.TokensIssued)
	require.Equal(t, map[string]int64{"200": 3, "401": 1, "402": 1}, stats.Endpoints["recharge"].Statuses)

	require.Equal(t, 200, b.admin(t, http.MethodPost, "/reset", nil, nil))
	require.EqualValues(t, pointssim.DefaultPoolCents, b.sim.Pool())
	require.Empty(t, b.sim.State().Users)
	require.Zero(t, b.sim.Stats().Requests)
	require.EqualValues(t, 1, b.sim.Faults().Endpoints[pointssim.EndpointRecharge].DropAfterRate, "faults survive a reset")

	require.Equal(t, 405, b.admin(t, http.MethodGet, "/reset", nil, nil))
	require.Equal(t, 404, b.admin(t, http.MethodGet, "/nothing", nil, nil))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestFlagsEmbedWithAPrefix(t *testing.T) {
	t.Parallel()
	var cli struct {
		Points pointssim.Flags `embed:"" prefix:"points-" envprefix:"APIHUBSIM_POINTS_"`
	}
	parser, err := kong.New(&cli, kong.Exit(func(int) { t.Fatal("kong exited") }))
	require.NoError(t, err)
	_, err = parser.Parse([]string{
		"--points-api-key", "sk-a", "--points-api-key", "sk-b", "--points-pool-cents", "500",
		"--points-recharge-drop-after-rate", "0.25", "--points-status-rate", "403=0.1", "--points-down", "503",
	})
	require.NoError(t, err)
	cfg, err := cli.Points.Config(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, []string{"sk-a", "sk-b"}, cfg.APIKeys)
	require.EqualValues(t, 500, cfg.PoolCents)
	require.Equal(t, pointssim.DefaultTokenTTL, cfg.TokenTTL)
	require.Equal(t, "/api/v1/apihub", cfg.Prefix)
	require.Equal(t, "/_sim/points", cfg.AdminPrefix)
	require.EqualValues(t, 0.25, cfg.Faults.Endpoints[pointssim.EndpointRecharge].DropAfterRate)
	require.Equal(t, map[int]float64{403: 0.1}, cfg.Faults.StatusRates)
	require.Equal(t, simkit.Down503, cfg.Faults.Down)
}

func TestFlagsTakeFaultsAsJSON(t *testing.T) {
	t.Parallel()
	var cli struct {
		Points pointssim.Flags `embed:"" prefix:"points-"`
	}
	parser, err := kong.New(&cli, kong.Exit(func(int) { t.Fatal("kong exited") }))
	require.NoError(t, err)
	_, err = parser.Parse([]string{"--points-faults", `{"endpoints":{"recharge":{"drop_after_rate":0.2}}}`, "--points-status500-rate", "0.5"})
	require.NoError(t, err)
	cfg, err := cli.Points.Config(nil)
	require.NoError(t, err)
	require.EqualValues(t, 0.2, cfg.Faults.Endpoints[pointssim.EndpointRecharge].DropAfterRate)
	require.Zero(t, cfg.Faults.All.Status500Rate, "the JSON replaces every fault flag")

	cli.Points.Faults = `{"endpoints":{"refund":{}}}`
	cfg, err = cli.Points.Config(nil)
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), `unknown endpoint "refund"`)
	cli.Points.Faults = `{"all":{"nonsense":1}}`
	_, err = cli.Points.Config(nil)
	require.ErrorContains(t, err, "faults flag")
}

// TestFlagsPoolZeroIsAnEmptyPool: --points-pool-cents 0 starts with an
// empty pool (every recharge 402 until a top-up), not with the default.
func TestFlagsPoolZeroIsAnEmptyPool(t *testing.T) {
	t.Parallel()
	var cli struct {
		Points pointssim.Flags `embed:"" prefix:"points-"`
	}
	parser, err := kong.New(&cli, kong.Exit(func(int) { t.Fatal("kong exited") }))
	require.NoError(t, err)
	_, err = parser.Parse([]string{"--points-pool-cents", "0"})
	require.NoError(t, err)
	cfg, err := cli.Points.Config(nil)
	require.NoError(t, err)
	sim := pointssim.New(cfg)
	require.Zero(t, sim.Pool())

	_, err = parser.Parse(nil)
	require.NoError(t, err)
	cfg, err = cli.Points.Config(nil)
	require.NoError(t, err)
	require.EqualValues(t, pointssim.DefaultPoolCents, pointssim.New(cfg).Pool(), "left out: the default")
}
