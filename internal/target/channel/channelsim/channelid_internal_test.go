package channelsim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChannelID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		digit byte
		n     int64
		want  string
	}{
		{'1', 1, "10001"},
		{'2', 42, "20042"},
		{'1', 9999, "19999"},
		{'1', 10000, "110000"}, // past four digits ids grow, and stay distinct per kind
		{'5', 123456, "5123456"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, channelID(tc.digit, tc.n))
	}
}

func TestCheckDigits(t *testing.T) {
	t.Parallel()
	require.Empty(t, checkIDCard("11010519491231002X"))
	require.Empty(t, checkIDCard("110105199003071239"))
	require.Contains(t, checkIDCard("110101199001011234"), "check digit")
	require.Empty(t, checkCreditCode("91350100M000100Y43"))
	require.Empty(t, checkCreditCode("91110000MA00ABCD00"))
	require.Contains(t, checkCreditCode("91110000MA00ABCD01"), "check character")
	require.True(t, isMobile("19912345678"))
	require.False(t, isMobile("11912345678"))
	require.True(t, isTime("2024-02-29T23:59:59Z"))
	require.False(t, isTime("2023-02-29T23:59:59Z"))
	require.False(t, isTime("2024-02-28T23:59:60Z"))
}
