package validate

import (
	"time"
)

// TimeLayout is the channel's time format: UTC, whole seconds.
const TimeLayout = "2006-01-02T15:04:05Z"

// DateLayout is the channel's date format for the date-only fields of
// nested objects.
const DateLayout = "2006-01-02"

// FormatTime formats t in the channel's time format: converted to UTC,
// fractional seconds truncated.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(TimeLayout)
}

// ParseTime parses an RFC 3339 time with any offset and optional fractional
// seconds, such as "2024-01-15T18:30:00.5+08:00", and returns it in UTC
// truncated to the second. The UTC year must be 1900..9999. The error is a
// *FieldError with rule "time".
//
// The seed's type table fixes the format (ISO 8601, YYYY-MM-DDTHH:MM:SSZ),
// so a value that is not a time cannot be sent; the years are kept beyond
// it: YYYY holds none after 9999, and no application, certification or
// payment of today's workers dates from before 1900.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fieldErr(RuleTime, quoteShort(s)+" is not an RFC 3339 time such as 2024-01-15T10:30:00Z")
	}
	t = t.UTC().Truncate(time.Second)
	if y := t.Year(); y < 1900 || y > 9999 {
		return time.Time{}, fieldErr(RuleTime, quoteShort(s)+" is outside the years 1900 to 9999")
	}
	return t, nil
}

// NormalizeTime returns s in the channel's time format
// (YYYY-MM-DDTHH:MM:SSZ, UTC, fractions truncated); see ParseTime for what
// it accepts. Normalising a normalised time returns it unchanged.
func NormalizeTime(s string) (string, error) {
	t, err := ParseTime(s)
	if err != nil {
		return "", err
	}
	return t.Format(TimeLayout), nil
}

// ParseDate parses a strict YYYY-MM-DD date that names a real calendar
// day, year 1900..9999 (see ParseTime for the years). The error is a
// *FieldError with rule "date".
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil || len(s) != len(DateLayout) {
		return time.Time{}, fieldErr(RuleDate, quoteShort(s)+" is not a real date in the form YYYY-MM-DD")
	}
	if t.Year() < 1900 {
		return time.Time{}, fieldErr(RuleDate, quoteShort(s)+" is before 1900")
	}
	return t, nil
}

// Date checks a strict YYYY-MM-DD date; see ParseDate.
func Date(s string) error {
	_, err := ParseDate(s)
	return err
}
