package points_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
)

// verify runs enqueue verify's comparison (without --fix) and returns
// each difference as "problem id fields".
func (b *testBundle) verify(t *testing.T) ([]string, control.VerifyReport) {
	t.Helper()
	rep, err := control.New(control.Config{Pool: b.pool, Registry: b.reg}).Verify(context.Background(), nil, false)
	require.NoError(t, err)
	var out []string
	for _, d := range rep.Differences {
		require.Equal(t, points.Name, d.Ref.Target)
		out = append(out, strings.TrimSpace(d.Problem+" "+d.Ref.ID+" "+strings.Join(d.Fields, ",")))
	}
	slices.Sort(out)
	return out, rep
}

// recharge credits a user directly, as somebody other than the sync would.
func (b *testBundle) recharge(t *testing.T, user string, cents int64, reason string) {
	t.Helper()
	_, err := b.api.Recharge(context.Background(), pointsapi.RechargeRequest{ClientUserID: user, AmountCents: cents, Reason: reason})
	require.NoError(t, err)
}

// TestVerifyFindsEachDifference: verify reads each user's ledger and
// reports a grant credited twice, one credited with another amount, a
// recharge of ours with no local grant, a grant never credited, and a
// grant moved to another user after it was credited; entries that are not
// recharges, or not in chansync's format, are not reported.
func TestVerifyFindsEachDifference(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.grant(t, "G1", "U1", 1000, "年终奖励") // credited, then credited again by hand
	b.grant(t, "G2", "U1", 500, "补贴")    // credited by hand with 700
	b.grant(t, "G4", "U2", 300, "")      // never credited
	b.grant(t, "G5", "U2", 200, "全勤")    // credited: in step
	b.grant(t, "G6", "U1", 400, "推荐")    // credited, then moved to U2
	b.grant(t, "G7", "U2", 0, "无效")      // invalid: not a local grant verify compares
	for _, id := range []string{"G1", "G5", "G6"} {
		require.Equal(t, 1, b.push(t, id).Created, id)
	}
	b.recharge(t, "U1", 1000, pointsapi.ReasonFor("年终奖励", "G1"))
	b.recharge(t, "U1", 700, pointsapi.ReasonFor("补贴", "G2"))
	b.recharge(t, "U1", 900, pointsapi.ReasonFor("手工补发", "GX99"))
	b.recharge(t, "U2", 50, "运营手工充值")
	_, err := b.sim.AddCharge(pointssim.Charge{ClientUserID: "U2", AmountCents: 30, Reason: "表单扣费 [G5]"})
	require.NoError(t, err)
	b.exec(t, `UPDATE points_grants SET channel_user_id = 'U2' WHERE external_order_id = 'G6'`)

	got, rep := b.verify(t)
	require.Equal(t, []string{
		"different G2 amount_cents",
		"different G6 channel_user_id",
		"duplicate G1",
		"extra GX99",
		"missing G4",
		"missing G6",
	}, got)
	require.False(t, rep.Clean())
	require.Len(t, rep.Kinds, 1)
	require.Equal(t, 5, rep.Kinds[0].Local, "the invalid grant is not compared")
	for _, d := range rep.Differences {
		switch {
		case d.Problem == target.Duplicate:
			require.Contains(t, d.Detail, "credited 2 times to U1")
		case d.Ref.ID == "G2":
			require.Contains(t, d.Detail, "credits 700, the grant 500")
		}
	}

	// The missing grant credited, it is no longer reported.
	require.Equal(t, 1, b.push(t, "G4").Created)
	got, _ = b.verify(t)
	require.NotContains(t, got, "missing G4")
	require.Len(t, got, 5)
}

// TestVerifyOfASyncedLedgerIsClean: grants credited by the sync, among
// other entries of the users' ledgers, verify clean.
func TestVerifyOfASyncedLedgerIsClean(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.recharge(t, "U1", 5000, "运营手工充值")
	var ids []string
	for i, u := range []string{"U1", "U1", "U2", "U3", "U3"} {
		id := "GC" + string(rune('A'+i))
		ids = append(ids, id)
		b.grant(t, id, u, int64(100*(i+1)), "")
	}
	require.Equal(t, len(ids), b.push(t, ids...).Created)
	got, rep := b.verify(t)
	require.Empty(t, got)
	require.True(t, rep.Clean())
}
