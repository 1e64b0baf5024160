// Package validate checks a channel payload before it is pushed, and
// normalises what the channel's contract allows: enumeration labels become
// codes, times become UTC "YYYY-MM-DDTHH:MM:SSZ", amounts become canonical
// decimals, and a lowercase check letter x of an ID number becomes X.
//
// The per-payload validators (User, Company, Task, Application, Payment)
// return every problem of a record at once, each a FieldError naming the
// JSON path of the field and a short, stable rule word. The format checkers
// (IDCard, MobilePhone, SocialCreditCode, ...) are exported for an ingest
// layer to reuse.
//
// No error detail ever repeats the value of a personal field (ID number,
// phone, names, bank account, free text): reasons are logged and shown to
// operators.
//
// The rules are the seed's (required fields, types, enumerations, the
// payment_type references, ISO 8601 times) and those of channel-api.md
// (the ID number, mobile and credit-code formats, YYYY-MM-DD dates). Beyond
// them, a rule is kept only where a record breaking it is wrong for any
// channel, and its comment says why; there are no length caps on text and
// no bounds on the number of photos or documents:
//
//	channel_*_id                       1..64 code points; no whitespace, control characters, / \ ? # %; not "." or ".."
//	URLs                               absolute http or https, with a host, without whitespace
//	amount, salary.amount              > 0, < 10^13, at most 2 fractional digits
//	recruit_count                      > 0
//	capitals, work_hours               >= 0
//	ends (recruitment, work, licence)  not before their starts
//	times and dates                    years 1900..9999
//	ID numbers                         a real birth date, 1900 to today
//	business_license.expiry_date       a date, or 长期 (see NoExpiry: not sent)
//
// Every string must be valid UTF-8 and hold no control characters other
// than newline and tab. Normalisation, done in place by the per-payload
// validators:
//
//   - enumerations (task_type, salary_type, the statuses, payment_type): a
//     code or a Chinese label, surrounding whitespace ignored, becomes the
//     code; a blank optional one becomes "" (omitted);
//   - times: any RFC 3339 offset and fraction becomes UTC
//     YYYY-MM-DDTHH:MM:SSZ (fractions truncated); dates stay YYYY-MM-DD;
//   - id_card, phone, social_credit_code, contact_phone, license_number,
//     currency, bank_account, transaction_no, times and dates (expiry_date
//     too): surrounding whitespace is trimmed; a final x of id_card becomes
//     X;
//   - amounts: see Amount;
//   - multi-line text (business_scope, wage_description,
//     recruitment_description, job_requirements, remark,
//     payment_basis.description): CR+LF and CR line ends become LF.
//
// Ids, names, URLs and other free text are never rewritten.
package validate

import (
	"errors"
	"strings"
)

// The rule words of a FieldError. They are stable: callers may switch on
// them.
const (
	// RuleRequired ("required"): a required field is missing or blank.
	RuleRequired = "required"

	// RuleEnum ("enum"): a value is not one of the enumeration's codes or labels.
	RuleEnum = "enum"

	// RuleFormat ("format"): a value has the wrong characters or shape.
	RuleFormat = "format"

	// RuleLength ("length"): a value has the wrong number of characters (an
	// ID number, a mobile number, a credit code) or an id is too long.
	RuleLength = "length"

	// RuleChecksum ("checksum"): a check digit or check character does not match.
	RuleChecksum = "checksum"

	// RuleDate ("date"): a value is not a real calendar date, or a birth date is out of range.
	RuleDate = "date"

	// RuleTime ("time"): a value is not an RFC 3339 time.
	RuleTime = "time"

	// RuleOrder ("order"): an end is before its start.
	RuleOrder = "order"

	// RulePositive ("positive"): a number must be greater than zero.
	RulePositive = "positive"

	// RuleNonNegative ("nonnegative"): a number must not be negative.
	RuleNonNegative = "nonnegative"

	// RulePrecision ("precision"): an amount has more than 2 fractional digits.
	RulePrecision = "precision"

	// RuleRange ("range"): a number is out of the accepted range.
	RuleRange = "range"

	// RuleType ("type"): a value is not a number where a number is wanted.
	RuleType = "type"

	// RuleUTF8 ("utf8"): a string is not valid UTF-8.
	RuleUTF8 = "utf8"

	// RuleControl ("control"): a string holds a control character.
	RuleControl = "control"

	// RulePrefix ("prefix"): a mobile number does not start with 13 to 19.
	RulePrefix = "prefix"

	// RuleURL ("url"): a value is not an absolute http or https URL.
	RuleURL = "url"

	// RuleReference ("reference"): a reference that another field makes required is missing.
	RuleReference = "reference"
)

// FieldError is one problem with one field of a payload. Field is the JSON
// path of the field ("id_card", "salary.amount",
// "live_certification.photos[1]"); it is empty when a format checker
// returns the error before a caller places it. Rule is one of the Rule*
// words; Detail is a human sentence that never repeats a personal value.
type FieldError struct {
	Field  string
	Rule   string
	Detail string
}

// Error renders the error as "field: detail", for example
// "id_card: check digit mismatch"; without a field, just the detail.
func (e FieldError) Error() string {
	d := e.Detail
	if d == "" {
		d = "breaks rule " + e.Rule
	}
	if e.Field == "" {
		return d
	}
	return e.Field + ": " + d
}

// Errors is every problem found in one payload, in field order. A nil or
// empty Errors means the payload is valid. Use Err to turn it into an error
// value, so that an empty Errors never becomes a non-nil error.
type Errors []FieldError

// Error joins every FieldError with "; ".
func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i := range e {
		parts[i] = e[i].Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns each FieldError (as *FieldError), so that errors.As finds
// the first of them.
func (e Errors) Unwrap() []error {
	out := make([]error, len(e))
	for i := range e {
		fe := e[i]
		out[i] = &fe
	}
	return out
}

// Empty reports whether there are no errors.
func (e Errors) Empty() bool { return len(e) == 0 }

// Err returns e as an error, or nil when e is empty.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Has reports whether e holds an error for field with the given rule.
func (e Errors) Has(field, rule string) bool {
	for _, fe := range e {
		if fe.Field == field && fe.Rule == rule {
			return true
		}
	}
	return false
}

// Add appends a FieldError.
func (e *Errors) Add(field, rule, detail string) {
	*e = append(*e, FieldError{Field: field, Rule: rule, Detail: detail})
}

// Check appends err under field when err is not nil, and reports whether
// err was nil. A FieldError (as returned by the format checkers) keeps its
// Rule and Detail; a Field it already holds is appended to field as a
// sub-path. Any other error is recorded with rule "format".
func (e *Errors) Check(field string, err error) bool {
	if err == nil {
		return true
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		f := field
		switch {
		case fe.Field == "":
		case field == "":
			f = fe.Field
		case strings.HasPrefix(fe.Field, "["):
			f = field + fe.Field
		default:
			f = field + "." + fe.Field
		}
		e.Add(f, fe.Rule, fe.Detail)
		return false
	}
	e.Add(field, RuleFormat, err.Error())
	return false
}

// RecordError is the invalidity of one record: the record and every
// problem found in it. Its text prefixes the record's path, e.g.
// "users/U1001: id_card: check digit mismatch".
type RecordError struct {
	// Record names the record as "plural/id", such as "users/U1001".
	Record string
	Errors Errors
}

// NewRecordError returns a *RecordError for the record named "plural/id",
// or nil when errs is empty.
func NewRecordError(record string, errs Errors) error {
	if len(errs) == 0 {
		return nil
	}
	return &RecordError{Record: record, Errors: errs}
}

// Error renders "plural/id: field: detail; field: detail".
func (e *RecordError) Error() string {
	return e.Record + ": " + e.Errors.Error()
}

// Unwrap returns the record's Errors.
func (e *RecordError) Unwrap() error { return e.Errors }

func fieldErr(rule, detail string) error {
	return &FieldError{Rule: rule, Detail: detail}
}
