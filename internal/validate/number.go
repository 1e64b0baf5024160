package validate

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// maxAmount bounds an amount from above (exclusive): 10^12.
var maxAmount = decimal.New(1, 12)

// jsonNumber is the grammar of a JSON number, with at most a 4-digit
// exponent so that a value never costs more than a few kilobits to scale.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,4})?$`)

// plainAmount is an amount already in canonical form.
var plainAmount = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$`)

// parseNumber parses a JSON number of at most 64 characters as a decimal,
// never through a float. The error is a *FieldError with rule "type".
func parseNumber(s string) (decimal.Decimal, error) {
	if len(s) > 64 || !jsonNumber.MatchString(s) {
		return decimal.Decimal{}, fieldErr(RuleType, quoteShort(s)+" is not a number")
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fieldErr(RuleType, quoteShort(s)+" is not a number")
	}
	return d, nil
}

// Amount checks a money amount given as decimal text (a JSON number, or
// Postgres numeric text) and returns it in canonical form: greater than
// zero, less than 10^12, with at most 2 significant fractional digits. An
// amount already written as plain digits with at most 2 fractional digits
// is returned unchanged ("5000.00" stays); any other spelling of a valid
// amount is rewritten in shortest plain form ("1e3" becomes "1000",
// "12.500" becomes "12.5"). Normalising a normalised amount returns it
// unchanged. The error is a *FieldError with rule "required", "type",
// "positive", "precision" or "range".
func Amount(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", fieldErr(RuleRequired, "is required")
	}
	d, err := parseNumber(s)
	if err != nil {
		return "", err
	}
	if !d.IsPositive() {
		return "", fieldErr(RulePositive, "must be greater than 0")
	}
	if d.Cmp(maxAmount) >= 0 {
		return "", fieldErr(RuleRange, "must be less than 1000000000000")
	}
	if !d.Equal(d.Truncate(2)) {
		return "", fieldErr(RulePrecision, "must have at most 2 decimal places")
	}
	if plainAmount.MatchString(s) {
		return s, nil
	}
	return d.String(), nil
}

// NonNegative checks a number that must not be below zero (a score, a
// capital, a count of hours). The error is a *FieldError with rule "type"
// or "nonnegative".
func NonNegative(s string) error {
	d, err := parseNumber(s)
	if err != nil {
		return err
	}
	if d.IsNegative() {
		return fieldErr(RuleNonNegative, "must not be negative")
	}
	return nil
}
