package datagen

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckDigits(t *testing.T) {
	t.Parallel()
	require.Equal(t, byte('X'), IDCardCheckDigit("11010519491231002"))
	require.Equal(t, byte('3'), CreditCodeCheckDigit("91350100M000100Y4"))
	// The seed's own examples fail their check digits.
	require.NotEqual(t, byte('4'), IDCardCheckDigit("11010119900101123"))
	require.NotEqual(t, byte('1'), CreditCodeCheckDigit("91110000MA00ABCD0"))
}

func TestGenerateSplitsAllKinds(t *testing.T) {
	t.Parallel()
	s := Generate(Options{Records: 1000, Seed: 1})
	require.Equal(t, 1000, s.Len())
	require.NotEmpty(t, s.Companies)
	require.NotEmpty(t, s.Payments)
	again := Generate(Options{Records: 1000, Seed: 1})
	require.Equal(t, s.Users[0], again.Users[0], "same seed, same set")
}
