package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// withCheckDigit completes 17 digits with their GB 11643 check digit.
func withCheckDigit(body17 string) string {
	return body17 + string(IDCardCheckDigit(body17))
}

// requireRule asserts that err is a *FieldError with the given rule (or
// that err is nil when rule is "").
func requireRule(t *testing.T, err error, rule string) {
	t.Helper()
	if rule == "" {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	var fe *FieldError
	require.True(t, errors.As(err, &fe), "want a *FieldError, got %T", err)
	require.Equal(t, rule, fe.Rule, "detail: %s", fe.Detail)
	require.NotEmpty(t, fe.Detail)
}

func TestIDCard(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"ValidWithXCheckDigit", "11010519491231002X", ""},
		{"ValidWithLowercaseX", "11010519491231002x", ""},
		{"ValidWithDigitCheckDigit", withCheckDigit("44030519900307123"), ""},
		{"ValidLeapDay", withCheckDigit("11010520000229123"), ""},
		{"SeedExampleFailsCheckDigit", "110101199001011234", RuleChecksum},
		{"WrongCheckDigit", "110105194912310021", RuleChecksum},
		{"XWhereDigitBelongs", "44030519900307123X", RuleChecksum},
		{"Empty", "", RuleLength},
		{"FiveCharacters", "12345", RuleLength},
		{"SeventeenDigits", "11010519491231002", RuleLength},
		{"NineteenDigits", "110105194912310021X", RuleLength},
		{"OldFifteenDigitNumber", "110105491231002", RuleLength},
		{"LetterInBody", "1101051949123100AX", RuleFormat},
		{"LetterOtherThanXLast", "11010519491231002Y", RuleFormat},
		{"FullWidthDigits", "１１０１０５１９４９１２３１００２Ｘ", RuleFormat},
		{"SpaceInside", "110105 9491231002X", RuleFormat},
		{"BirthDateFebruary30", withCheckDigit("11010519990230123"), RuleDate},
		{"BirthDateMonth13", withCheckDigit("11010519991301123"), RuleDate},
		{"BirthDateDay00", withCheckDigit("11010519990100123"), RuleDate},
		{"BirthDateFebruary29NotLeap", withCheckDigit("11010519990229123"), RuleDate},
		{"BirthDateInFuture", withCheckDigit("11010520990101123"), RuleDate},
		{"BirthDateBefore1900", withCheckDigit("11010518991231123"), RuleDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := IDCard(tt.in)
			requireRule(t, err, tt.rule)
			if err != nil && len(tt.in) >= 6 {
				require.NotContains(t, err.Error(), tt.in, "the detail must not repeat the number")
			}
		})
	}
}

func TestIDCardCheckDigit(t *testing.T) {
	t.Parallel()

	require.Equal(t, byte('X'), IDCardCheckDigit("11010519491231002"))
	require.Equal(t, byte('7'), IDCardCheckDigit("11010119900101123"), "the seed's example should end in 7, not 4")
	require.Equal(t, byte(0), IDCardCheckDigit("1101051949123100"), "too short")
	require.Equal(t, byte(0), IDCardCheckDigit("1101051949123100A"), "not digits")
}

func TestMobilePhone(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"Valid138", "13800138000", ""},
		{"Valid199", "19912345678", ""},
		{"Valid166", "16612345678", ""},
		{"Empty", "", RuleLength},
		{"TenDigits", "1380013800", RuleLength},
		{"TwelveDigits", "138001380000", RuleLength},
		{"PrefixTwelve", "12800138000", RulePrefix},
		{"PrefixTen", "10800138000", RulePrefix},
		{"NotStartingWithOne", "23800138000", RulePrefix},
		{"CountryCode", "+8613800138000", RuleFormat},
		{"Dashes", "138-0013-8000", RuleFormat},
		{"Letters", "1380013800O", RuleFormat},
		{"Landline", "010-12345678", RuleFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, MobilePhone(tt.in), tt.rule)
		})
	}
}

func TestSocialCreditCode(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"Valid", "91350100M000100Y43", ""},
		{"ValidComputed", "91110000MA00ABCD0" + string(SocialCreditCodeCheckChar("91110000MA00ABCD0")), ""},
		{"SeedExampleFailsCheckChar", "91110000MA00ABCD01", RuleChecksum},
		{"WrongCheckChar", "91350100M000100Y44", RuleChecksum},
		{"Empty", "", RuleLength},
		{"SeventeenCharacters", "91350100M000100Y4", RuleLength},
		{"NineteenCharacters", "91350100M000100Y430", RuleLength},
		{"ForbiddenI", "91350100M000100I43", RuleFormat},
		{"ForbiddenO", "91350100M000100O43", RuleFormat},
		{"ForbiddenZ", "91350100M000100Z43", RuleFormat},
		{"ForbiddenS", "91350100M000100S43", RuleFormat},
		{"ForbiddenV", "91350100M000100V43", RuleFormat},
		{"Lowercase", "91350100m000100y43", RuleFormat},
		{"Punctuation", "91350100-000100Y43", RuleFormat},
		{"NonASCII", "91350100M000100Y4三", RuleFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, SocialCreditCode(tt.in), tt.rule)
		})
	}
}

func TestID(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"Plain", "U20240101001", ""},
		{"WithDashAndUnderscore", "t1-U-BAD_IDCARD.2", ""},
		{"Chinese", "用户001", ""},
		{"SixtyFour", strings.Repeat("a", 64), ""},
		{"Empty", "", RuleRequired},
		{"Blank", "   ", RuleRequired},
		{"SixtyFive", strings.Repeat("a", 65), RuleLength},
		{"Slash", "U1/2", RuleFormat},
		{"Backslash", `U1\2`, RuleFormat},
		{"Question", "U1?x=1", RuleFormat},
		{"Hash", "U1#2", RuleFormat},
		{"Percent", "U1%2F", RuleFormat},
		{"Space", "U 1", RuleFormat},
		{"LeadingSpace", " U1", RuleFormat},
		{"Tab", "U1\t", RuleFormat},
		{"IdeographicSpace", "U\u30001", RuleFormat},
		{"Control", "U\x001", RuleFormat},
		{"Dot", ".", RuleFormat},
		{"DotDot", "..", RuleFormat},
		{"InvalidUTF8", "U\xff1", RuleUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, ID(tt.in), tt.rule)
		})
	}
}

func TestText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"Chinese", "身体健康,能吃苦耐劳", ""},
		{"NewlineAndTab", "line one\n\tline two", ""},
		{"LongTextIsNotCapped", strings.Repeat("字", 100_000), ""},
		{"InvalidUTF8", "ab\xc3(", RuleUTF8},
		{"CarriageReturn", "a\rb", RuleControl},
		{"NUL", "a\x00b", RuleControl},
		{"Escape", "a\x1b[31mb", RuleControl},
		{"DEL", "a\x7fb", RuleControl},
		{"C1Control", "a\u0085b", RuleControl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, Text(tt.in), tt.rule)
		})
	}
}

func TestURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		rule string
	}{
		{"HTTPS", "https://cdn.example.com/face/photo1.jpg", ""},
		{"HTTPWithQuery", "http://cdn.example.com/a.pdf?v=1&x=%E4%B8%AD", ""},
		{"UppercaseScheme", "HTTPS://cdn.example.com/a.jpg", ""},
		{"LongURLIsNotCapped", "https://e.com/" + strings.Repeat("a", 10_000), ""},
		{"Empty", "", RuleURL},
		{"Relative", "/face/photo1.jpg", RuleURL},
		{"NoHost", "https:///a.jpg", RuleURL},
		{"FTP", "ftp://cdn.example.com/a.jpg", RuleURL},
		{"JavaScript", "javascript:alert(1)", RuleURL},
		{"Opaque", "https:cdn.example.com", RuleURL},
		{"Space", "https://cdn.example.com/a b.jpg", RuleURL},
		{"Control", "https://cdn.example.com/a\x01.jpg", RuleControl},
		{"BadEscape", "https://cdn.example.com/%zz", RuleURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRule(t, URL(tt.in), tt.rule)
		})
	}
}
