package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/points/pointssim/pointssimtest"
	"github.com/chansync/chansync/internal/target/points/projects"
)

const testPointsKey = "sk-enqueue-points-test"

// pointsBundle is a simulator with user U1 credited three times, and the
// settings that reach it.
type pointsBundle struct {
	sim *pointssimtest.Server
	api pointsAPI
}

func setupPoints(t *testing.T) *pointsBundle {
	t.Helper()
	sim := pointssimtest.Start(t, pointssim.Config{APIKeys: []string{testPointsKey}, Projects: []pointssim.Project{
		{ShortCode: "A", Name: "问卷 A", Tags: []string{"调研"}},
		{ShortCode: "B", Name: "问卷 B", Tags: []string{"招聘"}},
	}})
	b := &pointsBundle{sim: sim}
	b.api.APIHubBaseURL, b.api.APIHubAPIKey = sim.BaseURL(), testPointsKey
	api, err := b.api.client()
	require.NoError(t, err)
	for _, r := range []pointsapi.RechargeRequest{
		{ClientUserID: "U1", AmountCents: 1000, ExternalOrderID: "G1", Reason: "年终奖励 [G1]"},
		{ClientUserID: "U1", AmountCents: 234, ExternalOrderID: "G2", Reason: "全勤 [G2]"},
		{ClientUserID: "U1", AmountCents: 5, ExternalOrderID: "G3", Reason: "推荐\n奖励 [G3]"},
	} {
		_, err := api.Recharge(context.Background(), r)
		require.NoError(t, err)
	}
	return b
}

// TestPointsCommandsNeedTheirSettings: without APIHUB_BASE_URL and
// APIHUB_API_KEY, the points and projects commands stop at once with an
// error naming both.
func TestPointsCommandsNeedTheirSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"Balance", []string{"points", "balance", "U1"}},
		{"Logs", []string{"points", "logs", "U1", "--json"}},
		{"BalanceWithoutKey", []string{"points", "balance", "U1", "--apihub-base-url", "https://open.apihub.example"}},
		{"Projects", []string{"projects", "--database-url", "postgres://localhost/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := cliSpec
			parser, err := kong.New(&spec, kong.Name("enqueue"))
			require.NoError(t, err)
			_, err = parser.Parse(tt.args)
			require.ErrorContains(t, err, "APIHUB_BASE_URL (--apihub-base-url) and APIHUB_API_KEY (--apihub-api-key) are required")
		})
	}
}

// TestPointsBalancePrintsTheBalance: enqueue points balance USER prints
// the user's balance, as text or JSON.
func TestPointsBalancePrintsTheBalance(t *testing.T) {
	t.Parallel()
	b := setupPoints(t)
	var out bytes.Buffer
	c := &pointsBalanceCmd{pointsAPI: b.api, User: "U1"}
	require.NoError(t, c.run(context.Background(), &out))
	require.Equal(t, "U1: balance 12.39 (1239 cents; APIHub user 100000001)\n", out.String())

	out.Reset()
	c.JSON = true
	require.NoError(t, c.run(context.Background(), &out))
	var bal pointsapi.Balance
	require.NoError(t, json.Unmarshal(out.Bytes(), &bal))
	require.Equal(t, int64(1239), bal.BalanceCents)
}

// TestPointsLogsPrintsTheNewestEntries: enqueue points logs USER prints
// the newest entries first, --max of them, as a table (one row each) or
// JSON.
func TestPointsLogsPrintsTheNewestEntries(t *testing.T) {
	t.Parallel()
	b := setupPoints(t)
	tests := []struct {
		name string
		max  int
		want []string // reasons, newest first
	}{
		{"NewestFirst", 2, []string{"推荐\n奖励 [G3]", "全勤 [G2]"}},
		{"ZeroShowsTheWholeLedger", 0, []string{"推荐\n奖励 [G3]", "全勤 [G2]", "年终奖励 [G1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			c := &pointsLogsCmd{pointsAPI: b.api, User: "U1", Max: tt.max}
			require.NoError(t, c.run(context.Background(), &out))
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			require.Equal(t, "U1: balance 12.39 (1239 cents)", lines[0])
			require.Len(t, lines, 2+len(tt.want), out.String())
			require.Contains(t, lines[1], "change")
			for i, reason := range tt.want {
				require.Contains(t, lines[2+i], strings.ReplaceAll(reason, "\n", " "), "one row per entry")
				require.Contains(t, lines[2+i], "recharge")
			}
			require.Contains(t, lines[2], "+0.05")

			out.Reset()
			c.JSON = true
			require.NoError(t, c.run(context.Background(), &out))
			var entries []pointsapi.LogEntry
			require.NoError(t, json.Unmarshal(out.Bytes(), &entries))
			require.Len(t, entries, len(tt.want))
			for i, reason := range tt.want {
				require.Equal(t, reason, entries[i].Reason)
			}
		})
	}

	var out bytes.Buffer
	c := &pointsLogsCmd{pointsAPI: b.api, User: "U-nobody"}
	require.NoError(t, c.run(context.Background(), &out))
	require.Equal(t, "U-nobody: balance 0.00 (0 cents)\nno ledger entries\n", out.String())
}

// TestProjectsCommandMirrorsNow: enqueue projects runs the mirror and
// prints what it did.
func TestProjectsCommandMirrorsNow(t *testing.T) {
	t.Parallel()
	b := setupPoints(t)
	s := dbtest.New(t)
	c := &projectsCmd{pointsAPI: b.api}
	c.DatabaseURL = s.URL
	var out bytes.Buffer
	require.NoError(t, c.run(context.Background(), &out))
	require.Regexp(t, `^projects mirror run \d+: 2 published forms; 2 added, 0 updated, 0 unpublished, 0 published again\n$`, out.String())

	require.True(t, b.sim.Unpublish("B"))
	out.Reset()
	c.JSON = true
	require.NoError(t, c.run(context.Background(), &out))
	var run projects.Run
	require.NoError(t, json.Unmarshal(out.Bytes(), &run))
	require.Equal(t, 1, run.Published)
	require.Equal(t, 1, run.Unpublished)
	require.Equal(t, projects.TriggerCommand, run.Trigger)
}

// TestCentsAreExact: amounts print in integer arithmetic, whatever their
// size or sign.
func TestCentsAreExact(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{0: "0.00", 5: "0.05", 1239: "12.39", -1: "-0.01", -120: "-1.20",
		9007199254740991: "90071992547409.91", -9223372036854775808: "-92233720368547758.08"} {
		require.Equal(t, want, cents(in), in)
	}
}
