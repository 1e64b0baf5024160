package validate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNormalizeTime(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want string // "" when the input is rejected
	}{
		{"AlreadyNormal", "2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z"},
		{"PositiveOffset", "2024-01-15T18:30:00+08:00", "2024-01-15T10:30:00Z"},
		{"NegativeOffset", "2024-01-15T05:30:00-05:00", "2024-01-15T10:30:00Z"},
		{"OffsetCrossesDay", "2024-01-01T01:00:00+08:00", "2023-12-31T17:00:00Z"},
		{"ZeroOffset", "2024-01-15T10:30:00+00:00", "2024-01-15T10:30:00Z"},
		{"FractionTruncated", "2024-01-15T10:30:00.999Z", "2024-01-15T10:30:00Z"},
		{"NanosecondsTruncated", "2024-01-15T10:30:59.999999999+08:00", "2024-01-15T02:30:59Z"},
		{"LeapDay", "2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"Year1900", "1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z"},
		{"Empty", "", ""},
		{"DateOnly", "2024-01-15", ""},
		{"NoOffset", "2024-01-15T10:30:00", ""},
		{"SpaceSeparator", "2024-01-15 10:30:00Z", ""},
		{"LowercaseTAndZ", "2024-01-15t10:30:00z", ""},
		{"UnixSeconds", "1705314600", ""},
		{"Hour24", "2024-01-15T24:00:00Z", ""},
		{"Minute60", "2024-01-15T10:60:00Z", ""},
		{"February30", "2024-02-30T10:30:00Z", ""},
		{"NotLeapYear", "2023-02-29T10:30:00Z", ""},
		{"OneDigitMonth", "2024-1-15T10:30:00Z", ""},
		{"OffsetWithoutColon", "2024-01-15T10:30:00+0800", ""},
		{"BeforeYear1900InUTC", "1900-01-01T00:30:00+01:00", ""},
		{"AfterYear9999InUTC", "9999-12-31T23:30:00-01:00", ""},
		{"Chinese", "2024年1月15日", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeTime(tt.in)
			if tt.want == "" {
				requireRule(t, err, RuleTime)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			again, err := NormalizeTime(got)
			require.NoError(t, err)
			require.Equal(t, got, again, "normalisation is idempotent")
		})
	}
}

func TestFormatTime(t *testing.T) {
	t.Parallel()

	shanghai := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"UTC", time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC), "2024-01-15T10:30:00Z"},
		{"OffsetConverted", time.Date(2024, 1, 15, 18, 30, 0, 0, shanghai), "2024-01-15T10:30:00Z"},
		{"FractionTruncatedNotRounded", time.Date(2024, 1, 15, 10, 30, 0, 999_999_999, time.UTC), "2024-01-15T10:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := FormatTime(tt.in)
			require.Equal(t, tt.want, got)
			norm, err := NormalizeTime(got)
			require.NoError(t, err)
			require.Equal(t, got, norm)
		})
	}
}

func TestDate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"Plain", "2020-01-01", true},
		{"LeapDay", "2024-02-29", true},
		{"FarFuture", "2050-12-31", true},
		{"Empty", "", false},
		{"February30", "2024-02-30", false},
		{"NotLeapYear", "2023-02-29", false},
		{"Month13", "2024-13-01", false},
		{"Day00", "2024-01-00", false},
		{"OneDigitMonth", "2024-1-01", false},
		{"Slashes", "2024/01/01", false},
		{"Compact", "20240101", false},
		{"WithTime", "2024-01-01T00:00:00Z", false},
		{"Before1900", "1899-12-31", false},
		{"TrailingSpace", "2024-01-01 ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.valid {
				requireRule(t, Date(tt.in), "")
				return
			}
			requireRule(t, Date(tt.in), RuleDate)
		})
	}
}
