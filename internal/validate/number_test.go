package validate

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAmount(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want string
		rule string
	}{
		{"Integer", "5000", "5000", ""},
		{"TwoDecimalsKept", "5000.00", "5000.00", ""},
		{"OneDecimal", "0.5", "0.5", ""},
		{"Cent", "0.01", "0.01", ""},
		{"TrailingZerosBeyondTwoDropped", "12.500", "12.5", ""},
		{"ExponentRewritten", "1e3", "1000", ""},
		{"NegativeExponent", "125E-2", "1.25", ""},
		{"JustUnderMax", "9999999999999.99", "9999999999999.99", ""},
		{"TrillionAccepted", "1e12", "1000000000000", ""},
		{"Empty", "", "", RuleRequired},
		{"Zero", "0", "", RulePositive},
		{"ZeroWithDecimals", "0.00", "", RulePositive},
		{"NegativeZero", "-0", "", RulePositive},
		{"Negative", "-100", "", RulePositive},
		{"NegativeCent", "-0.01", "", RulePositive},
		{"ThreeDecimals", "100.123", "", RulePrecision},
		{"TenthOfACent", "0.001", "", RulePrecision},
		{"Max", "10000000000000", "", RuleRange},
		{"HugeExponent", "1e999", "", RuleRange},
		{"LeadingZero", "0100", "", RuleType},
		{"LeadingPlus", "+100", "", RuleType},
		{"Comma", "1,000", "", RuleType},
		{"Currency", "¥100", "", RuleType},
		{"NaN", "NaN", "", RuleType},
		{"Infinity", "Infinity", "", RuleType},
		{"Spaces", " 100 ", "", RuleType},
		{"TrailingDot", "100.", "", RuleType},
		{"FiveDigitExponent", "1e10000", "", RuleType},
		{"TooLong", "1." + string(make([]byte, 70)), "", RuleType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Amount(tt.in)
			requireRule(t, err, tt.rule)
			if tt.rule != "" {
				return
			}
			require.Equal(t, tt.want, got)
			again, err := Amount(got)
			require.NoError(t, err)
			require.Equal(t, got, again, "normalisation is idempotent")
		})
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"Score", "95.5", ""},
		{"NegativeScore", "-0.25", ""},
		{"Exponent", "1.5e-3", ""},
		{"NotANumber", "high", RuleType},
		{"Empty", "", RuleType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, Number(tt.in), tt.rule)
		})
	}
}

func TestNonNegative(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"Zero", "0", ""},
		{"Score", "95.5", ""},
		{"ManyDecimals", "98.123456", ""},
		{"Capital", "1000000", ""},
		{"Exponent", "1.5e6", ""},
		{"Negative", "-0.5", RuleNonNegative},
		{"NotANumber", "high", RuleType},
		{"Empty", "", RuleType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, NonNegative(tt.in), tt.rule)
		})
	}
}
