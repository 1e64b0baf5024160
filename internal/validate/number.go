package validate

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// maxAmount bounds an amount from above (exclusive): 10^13. The seed types
// amounts as float: an amount with 13 integer digits and 2 decimals has 15
// significant digits, the most a float64 carries exactly through a round
// trip, so that a larger one reaches the channel without its fen.
var maxAmount = decimal.New(1, 13)

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
// zero, less than 10^13, with at most 2 significant fractional digits. An amount
// already written as plain digits with at most 2 fractional digits is
// returned unchanged ("5000.00" stays); any other spelling of a valid
// amount is rewritten in shortest plain form ("1e3" becomes "1000",
// "12.500" becomes "12.5"). Normalising a normalised amount returns it
// unchanged. The error is a *FieldError with rule "required", "type",
// "positive", "precision" or "range".
//
// The seed says only "float". Kept beyond it: a salary or a payment of
// nothing, or less, is no salary or payment; a fraction of a fen is no sum
// of yuan, the seed's default currency; and see maxAmount for the bound.
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
		return "", fieldErr(RuleRange, "must be less than 10000000000000 (a float carries no more digits exactly)")
	}
	if !d.Equal(d.Truncate(2)) {
		return "", fieldErr(RulePrecision, "must have at most 2 decimal places")
	}
	if plainAmount.MatchString(s) {
		return s, nil
	}
	return d.String(), nil
}

// Number checks a number of the seed's float type (a score): a JSON number
// of at most 64 characters, of any sign. The error is a *FieldError with
// rule "type".
func Number(s string) error {
	_, err := parseNumber(s)
	return err
}

// NonNegative checks a number that must not be below zero (a capital, a
// count of hours). The error is a *FieldError with rule "type" or
// "nonnegative".
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
