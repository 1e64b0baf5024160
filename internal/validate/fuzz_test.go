package validate

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// The fuzz targets check invariants, not exact answers: no panic; every
// error is a *FieldError with a known rule and a detail; what a checker
// accepts really has the property it checks; normalisation is idempotent.
// Each also has a checked-in corpus under testdata/fuzz/<Name>/.

var knownRules = []string{
	RuleRequired, RuleEnum, RuleFormat, RuleLength, RuleChecksum, RuleDate, RuleTime, RuleOrder,
	RulePositive, RuleNonNegative, RulePrecision, RuleRange, RuleType, RuleUTF8, RuleControl,
	RulePrefix, RuleURL, RuleReference,
}

// requireCheckerError requires err to be nil or a well-formed *FieldError
// without a field, and returns it.
func requireCheckerError(t *testing.T, err error) *FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var fe *FieldError
	require.True(t, errors.As(err, &fe), "want *FieldError, got %T", err)
	require.Empty(t, fe.Field)
	require.Contains(t, knownRules, fe.Rule)
	require.NotEmpty(t, fe.Detail)
	return fe
}

var longDigitRun = regexp.MustCompile(`[0-9]{6,}`)

func FuzzIDCard(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "110101199001011234", withCheckDigit("11010519990230123"), withCheckDigit("11010520990101123"), "", "12345", "１１０１０５"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		fe := requireCheckerError(t, IDCard(s))
		if fe != nil {
			if longDigitRun.MatchString(s) {
				require.NotContains(t, fe.Detail, s, "the detail must not repeat the number")
			}
			return
		}
		require.Len(t, s, 18)
		last := s[17]
		if last == 'x' {
			last = 'X'
		}
		require.Equal(t, IDCardCheckDigit(s), last)
		birth, err := time.Parse("20060102", s[6:14])
		require.NoError(t, err)
		require.GreaterOrEqual(t, birth.Year(), 1900)
		require.False(t, birth.After(time.Now()))
	})
}

var mobile = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func FuzzMobilePhone(f *testing.F) {
	for _, s := range []string{"13800138000", "1380013800", "12800138000", "+8613800138000", "", "1３800138000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		err := MobilePhone(s)
		requireCheckerError(t, err)
		require.Equal(t, mobile.MatchString(s), err == nil)
	})
}

func FuzzSocialCreditCode(f *testing.F) {
	for _, s := range []string{"91350100M000100Y43", "91110000MA00ABCD01", "91350100M000100O43", "91350100m000100y43", "", "91350100M000100Y4三"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		if requireCheckerError(t, SocialCreditCode(s)) != nil {
			return
		}
		require.Len(t, s, 18)
		for i := range 18 {
			require.NotContains(t, "IOZSV", string(s[i]))
			require.True(t, s[i] >= '0' && s[i] <= '9' || s[i] >= 'A' && s[i] <= 'Z')
		}
		// Exactly one check character fits the body.
		fits := 0
		for _, c := range []byte(creditAlphabet) {
			if SocialCreditCode(s[:17]+string(c)) == nil {
				fits++
			}
		}
		require.Equal(t, 1, fits)
	})
}

func FuzzID(f *testing.F) {
	for _, s := range []string{"U20240101001", "U1/2", "..", "U 1", "用户001", "", strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		if requireCheckerError(t, ID(s)) != nil {
			return
		}
		require.True(t, utf8.ValidString(s))
		require.LessOrEqual(t, utf8.RuneCountInString(s), MaxIDLen)
		require.NotEmpty(t, s)
		require.False(t, strings.ContainsAny(s, `/\?#%`))
		require.False(t, strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }))
		unescaped, err := url.PathUnescape(url.PathEscape(s))
		require.NoError(t, err)
		require.Equal(t, s, unescaped, "an id survives as one path segment")
	})
}

func FuzzText(f *testing.F) {
	f.Add("身体健康,能吃苦耐劳\n\t")
	f.Add("a\rb")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		if requireCheckerError(t, Text(s)) != nil {
			return
		}
		require.True(t, utf8.ValidString(s))
		for _, r := range s {
			require.True(t, !unicode.IsControl(r) || r == '\n' || r == '\t')
		}
	})
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://cdn.example.com/face/photo1.jpg", "HTTP://a.b/c?d#e", "javascript:alert(1)", "/relative", "https:///x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		if requireCheckerError(t, URL(s)) != nil {
			return
		}
		u, err := url.Parse(s)
		require.NoError(t, err)
		require.Contains(t, []string{"http", "https"}, u.Scheme)
		require.NotEmpty(t, u.Host)
		require.False(t, strings.ContainsFunc(s, unicode.IsSpace))
	})
}

func FuzzNormalizeTime(f *testing.F) {
	for _, s := range []string{"2024-01-15T10:30:00Z", "2024-01-15T18:30:00.999+08:00", "2024-01-15T10:30:00", "0000-01-01T00:30:00+01:00", "9999-12-31T23:59:59.999999999-23:59", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		out, err := NormalizeTime(s)
		if requireCheckerError(t, err) != nil {
			require.Empty(t, out)
			return
		}
		require.Len(t, out, len(TimeLayout))
		parsed, err := time.Parse(TimeLayout, out)
		require.NoError(t, err)
		in, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		require.True(t, parsed.Equal(in.Truncate(time.Second)) || parsed.Equal(in.UTC().Truncate(time.Second)))
		require.False(t, parsed.After(in), "truncation never moves a time later")
		again, err := NormalizeTime(out)
		require.NoError(t, err)
		require.Equal(t, out, again, "normalisation is idempotent")
	})
}

func FuzzDate(f *testing.F) {
	for _, s := range []string{"2020-01-01", "2024-02-29", "2023-02-29", "2024-1-01", "1899-12-31", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		d, err := ParseDate(s)
		if requireCheckerError(t, err) != nil {
			return
		}
		require.Equal(t, s, d.Format(DateLayout), "an accepted date is written exactly as the layout writes it")
	})
}

func FuzzAmount(f *testing.F) {
	for _, s := range []string{"5000", "5000.00", "12.500", "1e3", "0", "-0", "-1", "0.001", "1e12", "1e13", "1e9999", "NaN", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		out, err := Amount(s)
		if requireCheckerError(t, err) != nil {
			require.Empty(t, out)
			return
		}
		require.Regexp(t, plainAmount, out)
		d, err := decimal.NewFromString(out)
		require.NoError(t, err)
		in, err := decimal.NewFromString(s)
		require.NoError(t, err)
		require.True(t, d.Equal(in), "normalisation keeps the value")
		require.True(t, d.IsPositive())
		require.True(t, d.LessThan(decimal.New(1, 13)))
		again, err := Amount(out)
		require.NoError(t, err)
		require.Equal(t, out, again, "normalisation is idempotent")
	})
}

func FuzzEnums(f *testing.F) {
	for _, s := range []string{"short_term", "短期工", " 实习 ", "SHORT_TERM", "按件", "cancelled", "application", ""} {
		f.Add(s)
	}
	enums := []*Enum{TaskTypes, SalaryTypes, TaskStatuses, ApplicationStatuses, PaymentStatuses, PaymentTypes}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		for _, e := range enums {
			code, err := e.Normalize(s)
			if requireCheckerError(t, err) != nil {
				require.Empty(t, code)
				continue
			}
			require.Contains(t, e.Codes(), code)
			again, err := e.Normalize(code)
			require.NoError(t, err)
			require.Equal(t, code, again)
		}
	})
}

// fieldPath is the shape of every FieldError.Field of a payload.
var fieldPath = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)?(\[[0-9]+\])?$`)

// fuzzPayload decodes data into a T, validates it twice and checks the
// invariants every validator keeps: well-formed errors, the same errors on
// the second pass, normalisation idempotent, and (when valid) the
// kind-specific facts that valid checks.
func fuzzPayload[T any](t *testing.T, data []byte, check func(*T) Errors, valid func(*testing.T, *T)) {
	t.Helper()
	var v T
	if json.Unmarshal(data, &v) != nil {
		return
	}
	errs := check(&v)
	for _, e := range errs {
		require.Regexp(t, fieldPath, e.Field)
		require.Contains(t, knownRules, e.Rule)
		require.NotEmpty(t, e.Detail)
	}
	first, err := json.Marshal(&v)
	require.NoError(t, err)
	require.Equal(t, errs, check(&v), "validation is deterministic after normalisation")
	second, err := json.Marshal(&v)
	require.NoError(t, err)
	require.Equal(t, string(first), string(second), "normalisation is idempotent")
	if len(errs) == 0 {
		valid(t, &v)
	}
}

func requireNormalTime(t *testing.T, s string) {
	t.Helper()
	if s == "" {
		return
	}
	out, err := NormalizeTime(s)
	require.NoError(t, err)
	require.Equal(t, s, out)
}

func requireCode(t *testing.T, e *Enum, s string, required bool) {
	t.Helper()
	if s == "" && !required {
		return
	}
	require.Contains(t, e.Codes(), s)
}

func seedPayloads(f *testing.F, docs ...string) {
	for _, d := range docs {
		f.Add([]byte(d))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
}

func FuzzUser(f *testing.F) {
	seedPayloads(f, seedUser,
		strings.Replace(seedUser, "110101199001011234", "11010519491231002x", 1),
		`{"channel_user_id":"U1","name":"张三","id_card":" 11010519491231002X ","phone":"13800138000","live_certification":{"certified":false,"certification_time":"2024-01-15T18:30:00.5+08:00","photos":["x"]}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()
		fuzzPayload(t, data, User, func(t *testing.T, u *channelbody.User) {
			require.NoError(t, IDCard(u.IDCard))
			require.NotEqual(t, byte('x'), u.IDCard[17])
			require.Regexp(t, mobile, u.Phone)
			require.NoError(t, ID(u.ChannelUserID))
			if lc := u.LiveCertification; lc != nil {
				require.NotNil(t, lc.Certified)
				require.NotEmpty(t, lc.CertificationTime)
				requireNormalTime(t, lc.CertificationTime)
			}
		})
	})
}

func FuzzCompany(f *testing.F) {
	seedPayloads(f, seedCompany,
		strings.ReplaceAll(seedCompany, "91110000MA00ABCD01", "91350100M000100Y43"),
		`{"channel_company_id":"C1","company_name":"x","social_credit_code":"91350100M000100Y43","business_license":{"license_number":"1","issue_date":"2020-01-01","expiry_date":"2019-01-01"}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()
		fuzzPayload(t, data, Company, func(t *testing.T, c *channelbody.Company) {
			require.NoError(t, SocialCreditCode(c.SocialCreditCode))
			if bl := c.BusinessLicense; bl != nil && bl.IssueDate != "" && bl.ExpiryDate != "" {
				require.LessOrEqual(t, bl.IssueDate, bl.ExpiryDate)
			}
			if bl := c.BusinessLicense; bl != nil && bl.ExpiryDate != "" {
				require.NoError(t, Date(bl.ExpiryDate), "a date, or not sent (长期)")
			}
		})
	})
}

func FuzzTask(f *testing.F) {
	seedPayloads(f, seedTask,
		strings.Replace(seedTask, `"2024-02-10T23:59:59Z"`, `"2024-01-10T23:59:59+08:00"`, 1),
		`{"channel_task_id":"T1","channel_company_id":"C1","task_name":"x","task_type":"实习","recruit_count":1,"recruitment_start_time":"2024-01-01T00:00:00Z","recruitment_end_time":"2024-01-01T00:00:01.5Z","salary":{"salary_type":"按件","amount":1e2}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()
		fuzzPayload(t, data, Task, func(t *testing.T, k *channelbody.Task) {
			requireCode(t, TaskTypes, k.TaskType, true)
			requireCode(t, TaskStatuses, k.Status, false)
			require.Positive(t, k.RecruitCount)
			requireNormalTime(t, k.RecruitmentStartTime)
			requireNormalTime(t, k.RecruitmentEndTime)
			require.LessOrEqual(t, k.RecruitmentStartTime, k.RecruitmentEndTime, "normal times sort as text")
			requireNormalTime(t, k.WorkStartTime)
			requireNormalTime(t, k.WorkEndTime)
			if k.WorkStartTime != "" && k.WorkEndTime != "" {
				require.LessOrEqual(t, k.WorkStartTime, k.WorkEndTime)
			}
			if s := k.Salary; s != nil {
				requireCode(t, SalaryTypes, s.SalaryType, true)
				require.NotNil(t, s.Amount)
				require.Regexp(t, plainAmount, s.Amount.String())
			}
		})
	})
}

func FuzzApplication(f *testing.F) {
	seedPayloads(f, seedApplication,
		`{"channel_application_id":"A1","channel_user_id":"U1","channel_task_id":"T1","applied_at":"2024-01-18T22:30:00+08:00","status":" accepted","remark":"a\r\r\nb"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()
		fuzzPayload(t, data, Application, func(t *testing.T, a *channelbody.Application) {
			requireNormalTime(t, a.AppliedAt)
			require.NotEmpty(t, a.AppliedAt)
			requireCode(t, ApplicationStatuses, a.Status, false)
			require.NotContains(t, a.Remark, "\r")
		})
	})
}

func FuzzPayment(f *testing.F) {
	seedPayloads(f, seedPayment,
		strings.Replace(seedPayment, `"amount": 5000`, `"amount": 5000.125`, 1),
		`{"channel_payment_id":"P1","payment_type":"user","amount":1.5e2,"payment_time":"2024-02-20T10:00:00Z","payment_basis":{"basis_type":"工时","work_hours":8,"work_date_start":"2024-02-01","work_date_end":"2024-02-01"}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()
		fuzzPayload(t, data, Payment, func(t *testing.T, p *channelbody.Payment) {
			requireCode(t, PaymentTypes, p.PaymentType, true)
			requireCode(t, PaymentStatuses, p.Status, false)
			switch p.PaymentType {
			case "user":
				require.NotEmpty(t, p.ChannelUserID)
			case "application":
				require.NotEmpty(t, p.ChannelApplicationID)
			}
			require.Regexp(t, plainAmount, p.Amount.String())
			requireNormalTime(t, p.PaymentTime)
			require.NotNil(t, p.PaymentBasis)
			if b := p.PaymentBasis; b.WorkDateStart != "" && b.WorkDateEnd != "" {
				require.LessOrEqual(t, b.WorkDateStart, b.WorkDateEnd)
			}
			require.True(t, slices.IndexFunc(p.PaymentBasis.SupportingDocs, func(s string) bool { return URL(s) != nil }) < 0)
		})
	})
}
