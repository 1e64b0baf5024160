package mask

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestMaskers(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"IDCard", IDCard, "11010519491231002X", "110105********002X"},
		{"IDCardDigitCheck", IDCard, "440305199003071235", "440305********1235"},
		{"IDCardEmpty", IDCard, "", ""},
		{"IDCardFiveCharsFullyMasked", IDCard, "12345", "*****"},
		{"IDCardFifteenDigitsFullyMasked", IDCard, "110105491231002", "***************"},
		{"IDCardSeventeenFullyMasked", IDCard, "11010519491231002", "*****************"},
		{"IDCardLongerKeepsOnlyHeadAndTail", IDCard, "11010519491231002X-extra", "110105**************xtra"},
		{"IDCardHugeCappedStars", IDCard, strings.Repeat("9", 100), "999999" + strings.Repeat("*", 32) + "9999"},
		{"IDCardChinese", IDCard, "一二三四五六七八九十一二三四五六七八", "一二三四五六********五六七八"},

		{"Phone", Phone, "13800138000", "138****8000"},
		{"PhoneLandline", Phone, "010-12345678", "010*****5678"},
		{"PhoneWithCountryCode", Phone, "+8613800138000", "+86*******8000"},
		{"PhoneEmpty", Phone, "", ""},
		{"PhoneTenDigitsFullyMasked", Phone, "1380013800", "**********"},
		{"PhoneShortFullyMasked", Phone, "1380013", "*******"},
		{"PhoneFiveFullyMasked", Phone, "12345", "*****"},

		{"BankAccount16", BankAccount, "6222021234560123", "************0123"},
		{"BankAccount19", BankAccount, "6222021234567890123", "***************0123"},
		{"BankAccountTen", BankAccount, "1234567890", "******7890"},
		{"BankAccountShortFullyMasked", BankAccount, "123456789", "*********"},
		{"BankAccountEmpty", BankAccount, "", ""},

		{"NameTwo", Name, "张三", "张*"},
		{"NameFour", Name, "欧阳娜娜", "欧***"},
		{"NameLatin", Name, "Alice", "A****"},
		{"NameOneFullyMasked", Name, "张", "*"},
		{"NameEmpty", Name, "", ""},

		{"Secret", Secret, "your_secret_key", "[redacted]"},
		{"SecretEmpty", Secret, "", ""},

		{"Token", Token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "[redacted " + Fingerprint("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9") + "]"},
		{"TokenBearerKeepsScheme", Token, "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "Bearer [redacted " + Fingerprint("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9") + "]"},
		{"TokenSpaceNotAScheme", Token, "a token with spaces", "[redacted " + Fingerprint("a token with spaces") + "]"},
		{"TokenEmpty", Token, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.fn(tt.in))
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()

	// SHA-256("abc") = ba7816bf...
	require.Equal(t, "sha256:ba78", Fingerprint("abc"))
	require.Equal(t, Fingerprint("x"), Fingerprint("x"))
	require.NotEqual(t, Fingerprint("token-1"), Fingerprint("token-2"))
}

func TestText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want string
	}{
		{"NoDigits", "users/U1001: id_card: check digit mismatch", "users/U1001: id_card: check digit mismatch"},
		{"IDNumberWithX", "1001 参数错误: id_card 11010519491231002X invalid", "1001 参数错误: id_card 110105********002X invalid"},
		{"IDNumberAllDigits", "id=440305199003071235;", "id=440305********1235;"},
		{"IDNumberAfterLetter", "U11010519491231002x", "U110105********002x"},
		{"Mobile", "phone 13800138000 taken", "phone 138****8000 taken"},
		{"MobileAtEnds", "13800138000", "138****8000"},
		{"BankAccount", "account 6222021234567890123 frozen", "account ***************0123 frozen"},
		{"TwelveDigitsKept", "TX000000000001", "TX000000000001"},
		{"ElevenDigitsNotMobileKept", "20240101001", "20240101001"},
		{"RecordIDsKept", "U20240101001 A20240101001", "U20240101001 A20240101001"},
		{"TwentyDigitsKept", "12345678901234567890", "12345678901234567890"},
		{"InvalidUTF8Kept", "\xff13800138000\xfe", "\xff138****8000\xfe"},
		{"Chinese", "手机13800138000已注册", "手机138****8000已注册"},

		// Mobile numbers as people write them.
		{"MobilePlus86Grouped", "call +86 138 0013 8000 now", "call +86 138 **** 8000 now"},
		{"MobilePlus86Joined", "phone +8613800138000 taken", "phone +86138****8000 taken"},
		{"Mobile0086Joined", "008613800138000", "0086138****8000"},
		{"MobilePlus86Dashed", "+86-138-0013-8000", "+86-138-****-8000"},
		{"MobileDashed", "手机 138-0013-8000 已注册", "手机 138-****-8000 已注册"},
		{"MobileSpaced", "phone 138 0013 8000", "phone 138 **** 8000"},
		{"MobileNoBreakSpaces", "138\u00a00013\u00a08000", "138\u00a0****\u00a08000"},
		{"MobileFullWidth", "手机号１３８００１３８０００已存在", "手机号１３８****８０００已存在"},
		{"MobileFullWidthIdeographicSpaces", "１３８\u3000００１３\u3000８０００", "１３８\u3000****\u3000８０００"},
		{"MobileFullWidthHyphens", "１３８－００１３－８０００", "１３８－****－８０００"},

		// ID numbers as people write them.
		{"IDGrouped684", "id_card 110105 19491231 002X invalid", "id_card 110105 ******** 002X invalid"},
		{"IDGrouped6444", "110105 1949 1231 002X", "110105 **** **** 002X"},
		{"IDGroupedFours", "1101 0519 4912 3100 2X", "1101 05** **** **00 2X"},
		{"IDGroupedDigitCheck", "440305-19900307-1235", "440305-********-1235"},
		{"IDFullWidth", "１１０１０５１９４９１２３１００２Ｘ", "１１０１０５********００２Ｘ"},
		{"IDFifteenDigits", "身份证110105491231002无效", "身份证***************无效"},
		{"IDFifteenDigitsGrouped", "110105 491231 002", "****** ****** ***"},

		// Card numbers in groups.
		{"CardGrouped16", "card 6222 0212 3456 0123 frozen", "card **** **** **** 0123 frozen"},
		{"CardGrouped19", "6222 0212 3456 7890 123", "**** **** **** ***0 123"},

		// Not personal data: left alone.
		{"MillisecondTimestampKept", "at 1705314600000 ms", "at 1705314600000 ms"},
		{"RecordIDKept", "tasks/T20240101001: task_name is required", "tasks/T20240101001: task_name is required"},
		{"ISOTimeKept", "recruitment_end_time 2024-02-10T23:59:59Z before 2024-01-20T00:00:00Z", "recruitment_end_time 2024-02-10T23:59:59Z before 2024-01-20T00:00:00Z"},
		{"DateTimeKept", "2024-01-15 10:30:00", "2024-01-15 10:30:00"},
		{"DateRangeKept", "2024-01-01 - 2024-12-31", "2024-01-01 - 2024-12-31"},
		{"FifteenDigitsNotADateKept", "order 202401010000123", "order 202401010000123"},
		{"FifteenDigitsAreaZeroKept", "ref 012345491231002", "ref 012345491231002"},
		{"LandlineKept", "010-12345678", "010-12345678"},
		{"LandlineWithCountryCodeKept", "+86 010 1234 5678", "+86 010 1234 5678"},
		{"AmountKept", "amount 1000000000.00 too large", "amount 1000000000.00 too large"},
		{"UUIDKept", "req 550e8400-e29b-41d4-a716-446655440000", "req 550e8400-e29b-41d4-a716-446655440000"},
		{"DoubleSpaceBreaksAGroup", "138  0013  8000", "138  0013  8000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Text(tt.in))
		})
	}
}

func TestForKey(t *testing.T) {
	t.Parallel()

	tests := []struct {
		key  string
		in   string
		want string
	}{
		{"id_card", "11010519491231002X", "110105********002X"},
		{"ID-Card", "11010519491231002X", "110105********002X"},
		{"phone", "13800138000", "138****8000"},
		{"contact_phone", "010-12345678", "010*****5678"},
		{"bank_account", "6222021234560123", "************0123"},
		{"secret", "s3cr3t", Redacted},
		{"CHANNEL_SECRET", "s3cr3t", Redacted},
		{"client_secret", "s3cr3t", Redacted},
		{"db_password", "pw", Redacted},
		{"access_token", "abc", "[redacted sha256:ba78]"},
		{"refresh_token", "abc", "[redacted sha256:ba78]"},
		{"token", "abc", "[redacted sha256:ba78]"},
		{"csrf_token", "abc", "[redacted sha256:ba78]"},
		{"Authorization", "Bearer abc", "Bearer [redacted sha256:ba78]"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			f := ForKey(tt.key)
			require.NotNil(t, f)
			require.Equal(t, tt.want, f(tt.in))
			require.Equal(t, tt.want, Value(tt.key, tt.in))
		})
	}

	t.Run("OtherKeys", func(t *testing.T) {
		t.Parallel()
		for _, k := range []string{"kind", "id", "name", "error", "access_tokens", "tokens_used", "phone_count_x", "msg"} {
			require.Nil(t, ForKey(k), k)
		}
		require.Equal(t, "see 138****8000", Value("reason", "see 13800138000"))
	})
}

// tokenMask is the only shape Token may return for a non-empty value.
var tokenMask = regexp.MustCompile(`^(?:([A-Za-z]{1,16}) )?\[redacted sha256:[0-9a-f]{4}\]$`)

// fold rewrites full-width digits and check letters as ASCII and every
// group separator Text knows as a space, so that the regular expressions
// of FuzzMaskers see one spelling of each number.
var fold = strings.NewReplacer(
	"０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9",
	"Ｘ", "X", "ｘ", "x", "-", " ", "－", " ", "\u00a0", " ", "\u3000", " ",
)

// numberShapes are the numbers Text promises to leave no trace of, as they
// read after fold, each bounded by non-digits.
var numberShapes = func() []*regexp.Regexp {
	date := `[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])`
	var out []*regexp.Regexp
	for _, p := range []string{
		`1[3-9][0-9]{9}`,                                   // mobile
		`(86|0086)1[3-9][0-9]{9}`,                          // mobile after a country code
		`1[3-9][0-9] [0-9]{4} [0-9]{4}`,                    // mobile 3-4-4
		`[0-9]{17}[0-9Xx]`,                                 // ID number
		`[0-9]{6} [0-9]{8} [0-9]{3}[0-9Xx]`,                // ID number 6-8-4
		`[0-9]{6} [0-9]{4} [0-9]{4} [0-9]{3}[0-9Xx]`,       // ID number 6-4-4-4
		`[0-9]{4} [0-9]{4} [0-9]{4} [0-9]{4} [0-9][0-9Xx]`, // ID number 4-4-4-4-2
		`[1-8][0-9]{5}` + date + `[0-9]{3}`,                // first-generation ID number
		`[1-8][0-9]{5} ` + date + ` [0-9]{3}`,              // first-generation ID number 6-6-3
		`[0-9]{16,19}`,                                     // card number
		`[0-9]{4} [0-9]{4} [0-9]{4} [0-9]{4}( [0-9]{3})?`,  // card number in groups
	} {
		out = append(out, regexp.MustCompile(`(^|[^0-9])`+p+`($|[^0-9])`))
	}
	return out
}()

// FuzzMaskers checks that no masker shows more than its rule allows, for
// any input, and that Text leaves no number of the shapes it promises to
// find, changing nothing but digits and check letters into '*'.
func FuzzMaskers(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "13800138000", "6222021234567890123", "张三", "12345", "", "\xff\xfe", "Bearer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t.Parallel()
		visible := func(m string) int { return utf8.RuneCountInString(strings.ReplaceAll(m, "*", "")) }
		n := utf8.RuneCountInString(s)
		for _, c := range []struct {
			fn            func(string) string
			head, tail, h int
		}{
			{IDCard, 6, 4, 8}, {Phone, 3, 4, 4}, {BankAccount, 0, 4, 6}, {Name, 1, 0, 1},
		} {
			m := c.fn(s)
			if n-c.head-c.tail < c.h {
				require.Equal(t, 0, visible(m), "too short: fully masked")
			} else {
				require.LessOrEqual(t, visible(m), c.head+c.tail)
			}
		}
		if s != "" {
			require.Equal(t, Redacted, Secret(s))
			// The only things a token's mask may show are a scheme word
			// the value started with and a 4-hex-digit fingerprint.
			tok := Token(s)
			m := tokenMask.FindStringSubmatch(tok)
			require.NotNil(t, m, "mask %q has the wrong shape", tok)
			if m[1] != "" {
				require.True(t, strings.HasPrefix(s, m[1]+" "), "scheme word %q is not the value's", m[1])
			}
		}
		out := Text(s)
		require.Equal(t, out, Text(out), "scrubbing is idempotent")
		folded := fold.Replace(out)
		for _, re := range numberShapes {
			require.NotRegexp(t, re, folded)
		}
		// Only digits and check letters change, each into one '*'.
		in, got := []rune(s), []rune(out)
		require.Len(t, got, len(in))
		for i := range in {
			if got[i] != in[i] {
				require.Equal(t, '*', got[i])
				require.Contains(t, "0123456789０１２３４５６７８９XxＸｘ", string(in[i]))
			}
		}
	})
}
