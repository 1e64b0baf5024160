// Package mask hides personal data and secrets from logs and from the
// operator's page.
//
// The value maskers keep at most a fixed head and tail of a value and only
// when enough of it stays hidden; anything shorter or odder is masked
// entirely, one '*' per character (at most 32):
//
//	IDCard       keeps the first 6 and last 4 when at least 8 stay hidden  11010519491231002X -> 110105********002X
//	Phone        keeps the first 3 and last 4 when at least 4 stay hidden  13800138000        -> 138****8000
//	BankAccount  keeps the last 4 when at least 6 stay hidden              6222021234560123   -> ************0123
//	Name         keeps the first character when at least 1 stays hidden   张三               -> 张*
//	Secret       "[redacted]"
//	Token        "[redacted sha256:xxxx]", xxxx the first 4 hex digits of the
//	             SHA-256 of the token (16 bits: tells tokens apart, reveals
//	             nothing usable); an "Authorization: Bearer ..." value keeps
//	             its scheme word.
//
// ReplaceAttr (for slog.HandlerOptions) and NewHandler (a wrapper for any
// slog.Handler) mask log attributes by key, inside groups and inside
// structs, maps and JSON documents logged as values; they also scrub
// ID-number-, mobile- and card-number-like digit runs from every other
// string (see Text).
package mask

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxStars bounds the number of '*' a fully masked value is shown as.
const maxStars = 32

// keep shows the first head and last tail runes of s when at least
// minHidden runes stay hidden, and masks s entirely otherwise.
func keep(s string, head, tail, minHidden int) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	hidden := len(r) - head - tail
	if hidden < minHidden {
		return strings.Repeat("*", min(len(r), maxStars))
	}
	return string(r[:head]) + strings.Repeat("*", min(hidden, maxStars)) + string(r[len(r)-tail:])
}

// IDCard masks a resident ID number, keeping the first 6 and last 4
// characters: "110105********002X". A value too short to hide at least 8
// characters is masked entirely.
func IDCard(s string) string { return keep(s, 6, 4, 8) }

// Phone masks a phone number, keeping the first 3 and last 4 characters:
// "138****8000". A value too short to hide at least 4 characters is masked
// entirely.
func Phone(s string) string { return keep(s, 3, 4, 4) }

// BankAccount masks a bank account number, keeping the last 4 characters:
// "************0123". A value too short to hide at least 6 characters is
// masked entirely.
func BankAccount(s string) string { return keep(s, 0, 4, 6) }

// Name masks a person's name, keeping its first character: "张*",
// "欧***". A one-character name is masked entirely.
func Name(s string) string { return keep(s, 1, 0, 1) }

// Redacted is what Secret shows instead of a secret.
const Redacted = "[redacted]"

// Secret hides a secret entirely: "[redacted]", or "" for an empty value.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// Fingerprint returns a short, non-reversible fingerprint of s: "sha256:"
// and the first 4 hex digits of its SHA-256. Equal values have equal
// fingerprints; 16 bits tell tokens apart in a log without helping anyone
// guess them.
func Fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:2])
}

// Token hides a token, showing its fingerprint: "[redacted sha256:1a2b]".
// A value of the form "Bearer <token>" (one scheme word of ASCII letters, a
// space, and a token without whitespace, as in an Authorization header)
// keeps its scheme word and fingerprints the rest, so that it matches the
// fingerprint of the bare token. An empty value stays "".
func Token(s string) string {
	if s == "" {
		return ""
	}
	if scheme, rest, ok := strings.Cut(s, " "); ok && isSchemeWord(scheme) && rest != "" && !strings.ContainsAny(rest, " \t\r\n") {
		return scheme + " [redacted " + Fingerprint(rest) + "]"
	}
	return "[redacted " + Fingerprint(s) + "]"
}

// isSchemeWord reports whether s looks like an HTTP auth scheme (Bearer,
// Basic, Token): a short run of ASCII letters.
func isSchemeWord(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
