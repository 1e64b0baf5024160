package points_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/points"
)

// TestRecent: the status page's view of a user: the balance and the n
// newest ledger entries, newest first.
func TestRecent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i, cents := range []int64{100, 200, 300} {
		b.recharge(t, "U1", cents, "充值 "+string(rune('A'+i)))
	}
	tests := []struct {
		name string
		n    int
		want []int64
	}{
		{"NewestFirst", 2, []int64{300, 200}},
		{"MoreThanTheLedgerHolds", 10, []int64{300, 200, 100}},
		{"ZeroMeansEveryEntry", 0, []int64{300, 200, 100}},
		{"BeyondOnePage", 150, []int64{300, 200, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bal, entries, err := points.Recent(context.Background(), b.api, "U1", tt.n)
			require.NoError(t, err)
			require.Equal(t, int64(600), bal)
			var got []int64
			for _, e := range entries {
				got = append(got, e.AmountCents)
			}
			require.Equal(t, tt.want, got)
		})
	}
	_, _, err := points.Recent(context.Background(), b.api, " ", 5)
	require.ErrorContains(t, err, "client_user_id")
}
