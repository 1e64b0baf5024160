package validate

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// Fuzz targets for the format checkers fuzz_test.go does not cover:
// NonNegative. Corpora under testdata/fuzz/<Name>/.

func FuzzNonNegative(f *testing.F) {
	for _, s := range []string{"0", "-0", "0.98", "-0.5", "1e3", "-1e-3", "12.345", "NaN", "Infinity", "", "1e99999", "0x10", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		fe := requireCheckerError(t, NonNegative(s))
		if fe != nil {
			require.Contains(t, []string{RuleType, RuleNonNegative}, fe.Rule)
			if fe.Rule == RuleNonNegative {
				d, err := decimal.NewFromString(s)
				require.NoError(t, err, "a number judged negative parses")
				require.True(t, d.IsNegative())
			}
			return
		}
		require.Regexp(t, jsonNumber, s, "what is accepted is a JSON number")
		d, err := decimal.NewFromString(s)
		require.NoError(t, err)
		require.False(t, d.IsNegative())
	})
}
