package points_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/points"
)

// TestGrantRequest: a grant row becomes one recharge whose reason always
// ends with its order id; a bad row is refused before anything is sent,
// with a reason naming the column and the rule.
func TestGrantRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tests := []struct {
		name   string
		id     string
		cents  int64
		reason string
		// want is the request body of a valid grant; bad the field a
		// refused one names, with its rule's words.
		want string
		bad  []string
	}{
		{name: "ReasonEndsWithTheOrderID", id: "G1", cents: 1000, reason: "年终奖励",
			want: `{"external_order_id":"G1","client_user_id":"U1","amount_cents":1000,"reason":"年终奖励 [G1]"}`},
		{name: "GrantWithoutReasonGetsTheDefaultText", id: "G2", cents: 1,
			want: `{"external_order_id":"G2","client_user_id":"U1","amount_cents":1,"reason":"积分发放 [G2]"}`},
		{name: "BlankReasonGetsTheDefaultText", id: "G3", cents: 5, reason: "   ",
			want: `{"external_order_id":"G3","client_user_id":"U1","amount_cents":5,"reason":"积分发放 [G3]"}`},
		{name: "OrderIDOutsideTheAlphabetIsRefused", id: "G/4", cents: 5, bad: []string{"grants/G/4: external_order_id", "A-Z, a-z, 0-9, _ and -"}},
		{name: "OrderIDLongerThan64IsRefused", id: strings.Repeat("G", 65), cents: 5, bad: []string{"external_order_id", "1 to 64"}},
		{name: "ZeroAmountIsRefused", id: "G5", cents: 0, bad: []string{"grants/G5: amount_cents", "greater than 0"}},
		{name: "NegativeAmountIsRefused", id: "G6", cents: -100, bad: []string{"amount_cents", "greater than 0"}},
		{name: "AmountAboveAPIHubsLargestIsRefused", id: "G7", cents: 1 << 53, bad: []string{"amount_cents", "at most 9007199254740991"}},
	}
	for _, tt := range tests {
		b.grant(t, tt.id, "U1", tt.cents, tt.reason)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			built, err := b.kind.Load(ctx, b.pool, []string{tt.id})
			require.NoError(t, err)
			got := built[tt.id]
			require.NotNil(t, got)
			if tt.bad != nil {
				require.False(t, got.Valid())
				for _, s := range tt.bad {
					require.Contains(t, got.Reason(), s)
				}
				require.Nil(t, got.JSON, "nothing to send")
				return
			}
			require.True(t, got.Valid(), got.Reason())
			require.JSONEq(t, tt.want, string(got.JSON))
			require.Equal(t, tt.id, got.Body.(*points.Grant).ExternalOrderID)
			require.Equal(t, tt.id, points.OrderIDOf(got.Body.(*points.Grant).Reason), "the ledger can be searched by the reason")
		})
	}
}

// TestGrantHashLeavesReasonOut: a grant's hash (what the engine compares
// with what was accepted) changes with its amount or user, never with its
// reason alone.
func TestGrantHashLeavesReasonOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		change   string
		sameHash bool
	}{
		{"ReasonChangeKeepsTheHash", `UPDATE points_grants SET reason = '另一个理由'`, true},
		{"ReasonClearedKeepsTheHash", `UPDATE points_grants SET reason = NULL`, true},
		{"AmountChangeChangesTheHash", `UPDATE points_grants SET amount_cents = 2000`, false},
		{"UserChangeChangesTheHash", `UPDATE points_grants SET channel_user_id = 'U2'`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.grant(t, "G1", "U1", 1000, "年终奖励")
			before, err := b.kind.Load(ctx, b.pool, []string{"G1"})
			require.NoError(t, err)
			b.exec(t, tt.change)
			after, err := b.kind.Load(ctx, b.pool, []string{"G1"})
			require.NoError(t, err)
			require.Equal(t, tt.sameHash, string(before["G1"].Hash) == string(after["G1"].Hash))
		})
	}
}
