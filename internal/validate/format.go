package validate

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxIDLen bounds a channel_*_id, in Unicode code points. It is the only
// length limit: the seed bounds no text, so neither do the validators.
//
// The seed states no bound on ids either. This one is kept because the ids
// are ours, not the channel's data: the HR system assigns them under
// chansync's contract, they travel as URL path segments and as keys of
// sync_state and of the queue's job arguments, and the ingest API refuses
// longer ones when a record is written, so that the bound is met long
// before a push.
const MaxIDLen = 64

var idCardWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// IDCardCheckDigit returns the GB 11643 (ISO 7064 MOD 11-2) check character
// ('0'..'9' or 'X') of the first 17 characters of body, which must be ASCII
// digits; it returns 0 when they are not.
func IDCardCheckDigit(body string) byte {
	if len(body) < 17 {
		return 0
	}
	sum := 0
	for i := range 17 {
		c := body[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * idCardWeights[i]
	}
	return "10X98765432"[sum%11]
}

// IDCard checks a mainland resident ID number: 18 characters, 17 digits
// then a digit or X (x is accepted too), a real birth date (YYYYMMDD at
// positions 7-14, year 1900 or later, not in the future) and the GB 11643
// check digit. The error is a *FieldError without a field, with rule
// "length", "format", "date" (birth date) or "checksum". It never repeats
// the number.
//
// The seed says only "身份证号码"; channel-api.md fixes the 18-character
// form and its check digit. The birth-date rules are kept beyond that: a
// number whose birth date is not a day, lies in the future or before 1900
// (nobody then born works today) is no one's ID number, on any channel.
func IDCard(s string) error {
	if n := utf8.RuneCountInString(s); n != 18 {
		return fieldErr(RuleLength, fmt.Sprintf("must be 18 characters, got %d", n))
	}
	for i := range 17 {
		if s[i] < '0' || s[i] > '9' {
			return fieldErr(RuleFormat, "must be 17 digits followed by a digit or X")
		}
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if (last < '0' || last > '9') && last != 'X' {
		return fieldErr(RuleFormat, "must be 17 digits followed by a digit or X")
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil {
		return fieldErr(RuleDate, "birth date is not a real date")
	}
	if birth.Year() < 1900 {
		return fieldErr(RuleDate, "birth date is before 1900")
	}
	if birth.After(time.Now()) {
		return fieldErr(RuleDate, "birth date is in the future")
	}
	if IDCardCheckDigit(s) != last {
		return fieldErr(RuleChecksum, "check digit mismatch")
	}
	return nil
}

// MobilePhone checks a mainland mobile number: 11 digits matching
// ^1[3-9]\d{9}$, as channel-api.md states for users.phone. The error is a
// *FieldError with rule "format" (not all digits), "length" or "prefix".
// It never repeats the number.
func MobilePhone(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fieldErr(RuleFormat, "must hold digits only")
		}
	}
	if len(s) != 11 {
		return fieldErr(RuleLength, fmt.Sprintf("must be 11 digits, got %d", len(s)))
	}
	if s[0] != '1' || s[1] < '3' {
		return fieldErr(RulePrefix, "must start with 13 to 19")
	}
	return nil
}

// creditAlphabet is the GB 32100 character set: digits and the uppercase
// letters except I, O, Z, S and V. A character's value is its index.
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// SocialCreditCodeCheckChar returns the GB 32100 check character of the
// first 17 characters of body, or 0 when they are not all from the GB 32100
// alphabet.
func SocialCreditCodeCheckChar(body string) byte {
	if len(body) < 17 {
		return 0
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditAlphabet, body[i])
		if v < 0 {
			return 0
		}
		sum += v * creditWeights[i]
	}
	return creditAlphabet[(31-sum%31)%31]
}

// SocialCreditCode checks a unified social credit code: 18 characters from
// the GB 32100 alphabet (digits and uppercase letters other than I, O, Z, S
// and V) whose last is the GB 32100 check character. The error is a
// *FieldError with rule "length", "format" or "checksum".
func SocialCreditCode(s string) error {
	if n := utf8.RuneCountInString(s); n != 18 {
		return fieldErr(RuleLength, fmt.Sprintf("must be 18 characters, got %d", n))
	}
	for i := range 18 {
		if strings.IndexByte(creditAlphabet, s[i]) < 0 {
			return fieldErr(RuleFormat, fmt.Sprintf("character %d is not a digit or an uppercase letter other than I, O, Z, S, V", i+1))
		}
	}
	if SocialCreditCodeCheckChar(s) != s[17] {
		return fieldErr(RuleChecksum, "check character mismatch")
	}
	return nil
}

// ID checks one of our channel_*_id values, which become URL path segments
// on the channel: 1 to 64 characters of valid UTF-8, without whitespace,
// control characters, '/', '\', '?', '#' or '%', and not "." or "..".
//
// The seed states none of this beyond "string, required", but an id that
// breaks it cannot name its record in PUT and GET /kind/:id on any channel
// (a '/' or '..' names another path, '?' and '#' end it, '%' escapes are
// decoded, whitespace is trimmed by proxies). For the length, see MaxIDLen.
func ID(s string) error {
	if strings.TrimSpace(s) == "" {
		return fieldErr(RuleRequired, "is required")
	}
	if !utf8.ValidString(s) {
		return fieldErr(RuleUTF8, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxIDLen {
		return fieldErr(RuleLength, fmt.Sprintf("must be at most %d characters, got %d", MaxIDLen, n))
	}
	if s == "." || s == ".." {
		return fieldErr(RuleFormat, "must not be . or ..")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`/\?#%`, r) {
			return fieldErr(RuleFormat, `must not hold whitespace, control characters, /, \, ?, # or %`)
		}
	}
	return nil
}

// Text checks a free-text value: valid UTF-8, and no control characters
// other than newline and tab. Its length is not bounded: the seed bounds no
// text.
//
// Neither rule is the seed's, and both are kept: a JSON string is UTF-8, so
// a value that is not cannot be sent as it is; and a control character (a
// NUL, a BEL, an escape sequence) in a name, an address or a description is
// a broken encoding or a binary paste, not text any channel means to hold.
func Text(s string) error {
	if !utf8.ValidString(s) {
		return fieldErr(RuleUTF8, "is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fieldErr(RuleControl, fmt.Sprintf("holds control character %U", r))
		}
	}
	return nil
}

// URL checks an absolute http or https URL with a host, without whitespace
// or control characters. Its length is not bounded.
//
// The seed calls these fields URLs (照片URL, 简历URL, 证明材料URL列表) and
// its examples are https links; the channel must fetch what they name. A
// relative path, a file: or javascript: URL, or one with a space (not a URL
// at all, by RFC 3986) names nothing a remote channel can fetch.
func URL(s string) error {
	if err := Text(s); err != nil {
		return err
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return fieldErr(RuleURL, "must not hold whitespace")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return fieldErr(RuleURL, "must be an absolute http or https URL")
	}
	return nil
}
