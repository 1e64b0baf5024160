package validate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Enum is a closed set of codes, with the labels (Chinese, as the seed's
// examples send them) accepted on input for some of them. Codes are
// lowercase and matched case-sensitively; labels are matched exactly;
// surrounding whitespace is ignored.
type Enum struct {
	name   string
	codes  []string
	labels map[string]string
}

func newEnum(name string, codes []string, labels map[string]string) *Enum {
	return &Enum{name: name, codes: codes, labels: labels}
}

// The enumerations of the channel API, with the labels each accepts.
var (
	// TaskTypes is task_type: short_term (短期工), long_term (长期工),
	// part_time (兼职), intern (实习生, 实习).
	TaskTypes = newEnum("task_type", []string{"short_term", "long_term", "part_time", "intern"}, map[string]string{
		"短期工": "short_term", "长期工": "long_term", "兼职": "part_time", "实习生": "intern", "实习": "intern",
	})
	// SalaryTypes is salary.salary_type: hourly (时薪), daily (日薪),
	// monthly (月薪), piece (计件, 按件).
	SalaryTypes = newEnum("salary_type", []string{"hourly", "daily", "monthly", "piece"}, map[string]string{
		"时薪": "hourly", "日薪": "daily", "月薪": "monthly", "计件": "piece", "按件": "piece",
	})
	// TaskStatuses is a task's status: open, closed, suspended.
	TaskStatuses = newEnum("task status", []string{"open", "closed", "suspended"}, nil)
	// ApplicationStatuses is an application's status: pending, accepted,
	// rejected, cancelled.
	ApplicationStatuses = newEnum("application status", []string{"pending", "accepted", "rejected", "cancelled"}, nil)
	// PaymentStatuses is a payment's status: pending, completed, failed.
	PaymentStatuses = newEnum("payment status", []string{"pending", "completed", "failed"}, nil)
	// PaymentTypes is payment_type: user, application.
	PaymentTypes = newEnum("payment_type", []string{"user", "application"}, nil)
)

// Codes returns the enumeration's codes, in the seed's order.
func (e *Enum) Codes() []string { return append([]string(nil), e.codes...) }

// Normalize returns the code that s names: s itself when it is a code, the
// code of a label otherwise, ignoring surrounding whitespace. The error is a
// *FieldError with rule "enum" naming the accepted values.
func (e *Enum) Normalize(s string) (string, error) {
	t := strings.TrimSpace(s)
	for _, c := range e.codes {
		if t == c {
			return c, nil
		}
	}
	if c, ok := e.labels[t]; ok {
		return c, nil
	}
	return "", fieldErr(RuleEnum, fmt.Sprintf("%s is not a %s: want one of %s", quoteShort(s), e.name, strings.Join(e.codes, ", ")))
}

// quoteShort quotes s for an error detail, cut to 40 code points, so that a
// huge or binary value does not flood a reason.
func quoteShort(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	n := 0
	for i := range s {
		if n == max {
			return fmt.Sprintf("%q…", s[:i])
		}
		n++
	}
	return fmt.Sprintf("%q", s)
}
