package validate

import (
	"math"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// orderID is the grammar of an external order id (design.md): 1 to 64 of
// letters, digits, underscore and hyphen. The rule is ours, not the
// points API's: the id is searched for inside the ledger's free-text
// reason, so it must not hold spaces, brackets or anything a reason may
// carry around it.
var orderID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ExternalOrderID checks a points grant's external_order_id. The error is
// a *FieldError with rule "required" or "format".
func ExternalOrderID(s string) error {
	if s == "" {
		return fieldErr(RuleRequired, "is required")
	}
	if !orderID.MatchString(s) {
		return fieldErr(RuleFormat, "must be 1 to 64 of A-Z, a-z, 0-9, _ and -")
	}
	return nil
}

// AmountCents checks a points amount given as a JSON number: a positive
// integer of cents that fits a bigint. The error is a *FieldError with
// rule "required", "type", "integer", "positive" or "range".
func AmountCents(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, fieldErr(RuleRequired, "is required")
	}
	d, err := parseNumber(s)
	if err != nil {
		return 0, err
	}
	if !d.Equal(d.Truncate(0)) {
		return 0, fieldErr(RuleInteger, "must be a whole number of cents")
	}
	if !d.IsPositive() {
		return 0, fieldErr(RulePositive, "must be greater than 0")
	}
	if !d.LessThanOrEqual(decimalMaxInt64) {
		return 0, fieldErr(RuleRange, "must be at most 9223372036854775807")
	}
	return d.IntPart(), nil
}

// RuleInteger ("integer"): a number must be a whole number.
const RuleInteger = "integer"

var decimalMaxInt64 = mustDecimal(math.MaxInt64)

func mustDecimal(n int64) decimal.Decimal { return decimal.NewFromInt(n) }
