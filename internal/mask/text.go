package mask

import (
	"unicode/utf8"
)

// Text scrubs what looks like personal data from free text, such as an
// error the channel answered with, a reason or a log message. It finds
// numbers written the ways people write them:
//
//   - mainland mobile numbers (11 digits starting 13..19), whole
//     ("13800138000"), after a country code ("+8613800138000",
//     "008613800138000") or grouped 3-4-4 ("138 0013 8000",
//     "138-0013-8000", "+86 138 0013 8000"): masked as by Phone, the
//     country code kept: "+86 138 **** 8000";
//   - resident ID numbers of 18 characters (17 digits and a digit or X),
//     whole or grouped 6-8-4, 6-4-4-4 or 4-4-4-4-2 ("110105 19491231 002X",
//     "1101 0519 4912 3100 2X"): masked as by IDCard;
//   - first-generation ID numbers of 15 digits whose birth date (YYMMDD at
//     positions 7-12) is a possible date and whose area code starts 1..8,
//     whole or grouped 6-6-3: masked entirely, as IDCard masks them;
//   - card or account numbers of 16 to 19 digits, whole or grouped 4-4-4-4
//     or 4-4-4-4-3: masked as by BankAccount.
//
// Digits may be ASCII or full-width ("１３８００１３８０００"); a group
// separator is one space, no-break space, ideographic space, '-' or
// full-width '－'. A number is bounded by non-digits. Separators stay where
// they are and each hidden digit becomes one '*', so that the shape of the
// text survives. Everything else is left as it is: record ids such as
// T20240101001, 13-digit millisecond timestamps, ISO times, amounts.
//
// Text is idempotent: scrubbing scrubbed text changes nothing.
func Text(s string) string {
	if countDigits(s) < minNumberDigits {
		return s
	}
	for range maxPasses {
		out := scrubOnce(s)
		if out == s {
			return out
		}
		s = out
	}
	// Only crafted text gets here: numbers overlapping in a chain that
	// each pass uncovers a little more of. Hide every digit.
	return hideAllDigits(s)
}

// minNumberDigits is the fewest digits of any number Text masks.
const minNumberDigits = 11

// maxPasses bounds the passes Text makes before hiding every digit. One
// pass finds everything in ordinary text; a second finds a number that
// only appears once another one around it is masked.
const maxPasses = 4

// charClass is what a rune is to the number finder.
type charClass uint8

const (
	classOther charClass = iota
	classDigit
	classX
	classSep
)

// classify returns the class of r and, for a digit, its ASCII value.
func classify(r rune) (charClass, byte) {
	switch {
	case r >= '0' && r <= '9':
		return classDigit, byte(r)
	case r >= '０' && r <= '９':
		return classDigit, byte(r-'０') + '0'
	case r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ':
		return classX, 'X'
	case r == ' ' || r == '-' || r == '\u00a0' || r == '\u3000' || r == '－':
		return classSep, 0
	}
	return classOther, 0
}

// countDigits counts the ASCII and full-width digits of s.
func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n++
		case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] >= 0x90 && s[i+2] <= 0x99:
			// U+FF10..U+FF19, the full-width digits.
			n++
			i += 2
		}
	}
	return n
}

// char is one rune of a number: where it is in the text.
type char struct {
	off, size int
}

// run is a maximal run of digits: digits[from:to] and chars[from:to] of
// its text.
type run struct {
	from, to int
	// x is the check letter right after the run, if there is one and no
	// digit follows it.
	x    char
	hasX bool
	// joined reports that the next run follows after exactly one separator
	// (and no check letter).
	joined bool
}

// numbers is the digits of a text, split in runs.
type numbers struct {
	digits []byte // ASCII
	chars  []char
	runs   []run
}

// findRuns splits s into its runs of digits.
func findRuns(s string) *numbers {
	ns := &numbers{}
	inRun := false
	// pendingSep is set when the last rune was a single separator right
	// after a run.
	pendingSep := false
	for off := 0; off < len(s); {
		r, size := utf8.DecodeRuneInString(s[off:])
		if r == utf8.RuneError && size <= 1 {
			r = -1
		}
		class, d := classify(r)
		switch class {
		case classDigit:
			if !inRun {
				if pendingSep && len(ns.runs) > 0 {
					ns.runs[len(ns.runs)-1].joined = true
				}
				ns.runs = append(ns.runs, run{from: len(ns.digits)})
				inRun = true
			}
			ns.digits = append(ns.digits, d)
			ns.chars = append(ns.chars, char{off, size})
			ns.runs[len(ns.runs)-1].to = len(ns.digits)
			pendingSep = false
		case classX:
			pendingSep = false
			if inRun {
				next, _ := utf8.DecodeRuneInString(s[off+size:])
				if c, _ := classify(next); c != classDigit {
					last := &ns.runs[len(ns.runs)-1]
					last.x, last.hasX = char{off, size}, true
				}
			}
			inRun = false
		case classSep:
			pendingSep = inRun
			inRun = false
		default:
			pendingSep = false
			inRun = false
		}
		off += size
	}
	return ns
}

func (ns *numbers) digitsOf(r *run) []byte { return ns.digits[r.from:r.to] }
func (ns *numbers) charsOf(r *run) []char  { return ns.chars[r.from:r.to] }

// hideRule is a masker's rule: keep head and tail characters when at least
// minHidden stay hidden, else hide all.
type hideRule struct{ head, tail, minHidden int }

// The rules of IDCard, Phone and BankAccount.
var (
	idRule    = hideRule{6, 4, 8}
	phoneRule = hideRule{3, 4, 4}
	cardRule  = hideRule{0, 4, 6}
)

// hide marks the characters of a number that rule hides.
func (rule hideRule) hide(hidden []bool, chars []char) {
	n := len(chars)
	from, to := rule.head, n-rule.tail
	if n-rule.head-rule.tail < rule.minHidden {
		from, to = 0, n
	}
	for _, c := range chars[from:to] {
		hidden[c.off] = true
	}
}

// groupings are the ways a number may be written in groups, by kind. The
// last group of an ID number may end in its check letter instead of its
// last digit.
var (
	phoneGroupings = [][]int{{3, 4, 4}}
	idGroupings    = [][]int{{6, 8, 4}, {6, 4, 4, 4}, {4, 4, 4, 4, 2}}
	id15Groupings  = [][]int{{6, 6, 3}}
	cardGroupings  = [][]int{{4, 4, 4, 4, 3}, {4, 4, 4, 4}}
)

// scrubOnce masks every number found in s, overlapping ones included.
func scrubOnce(s string) string {
	ns := findRuns(s)
	runs := ns.runs
	hidden := make([]bool, len(s))
	found := false
	mark := func(rule hideRule, chars []char) {
		rule.hide(hidden, chars)
		found = true
	}
	for k := range runs {
		r := &runs[k]
		d, chars := ns.digitsOf(r), ns.charsOf(r)
		n := len(d)
		// Whole numbers, one run.
		switch {
		case n == 17 && r.hasX:
			mark(idRule, append(chars[:n:n], r.x))
		case n == 18:
			mark(idRule, chars)
		case n == 11 && isMobile(d):
			mark(phoneRule, chars)
		case n == 13 && string(d[:2]) == "86" && isMobile(d[2:]):
			mark(phoneRule, chars[2:])
		case n == 15 && string(d[:4]) == "0086" && isMobile(d[4:]):
			mark(phoneRule, chars[4:])
		case n == 15 && isID15(d):
			mark(idRule, chars)
		case n >= 16 && n <= 19:
			mark(cardRule, chars)
		}
		// Grouped numbers starting with this run: the first grouping of a
		// kind that fits; a card number only if no ID number does (an ID
		// number in fours starts like a card number).
		for _, g := range phoneGroupings {
			if chars, digits, ok := ns.grouped(runs[k:], g, false); ok && isMobile(digits) {
				mark(phoneRule, chars)
				break
			}
		}
		isID := false
		for _, g := range idGroupings {
			if chars, _, ok := ns.grouped(runs[k:], g, true); ok {
				mark(idRule, chars)
				isID = true
				break
			}
		}
		for _, g := range id15Groupings {
			if chars, digits, ok := ns.grouped(runs[k:], g, false); ok && isID15(digits) {
				mark(idRule, chars)
				isID = true
				break
			}
		}
		for _, g := range cardGroupings {
			if isID {
				break
			}
			if chars, _, ok := ns.grouped(runs[k:], g, false); ok {
				mark(cardRule, chars)
				break
			}
		}
	}
	if !found {
		return s
	}
	out := make([]byte, 0, len(s))
	for off := 0; off < len(s); {
		_, size := utf8.DecodeRuneInString(s[off:])
		if hidden[off] {
			out = append(out, '*')
		} else {
			out = append(out, s[off:off+size]...)
		}
		off += size
	}
	return string(out)
}

// grouped reports whether runs start with groups of the given lengths,
// each joined to the next by one separator, and returns their characters
// and digits. With checkLetter, the last group may be one digit short and
// end in a check letter instead.
func (ns *numbers) grouped(runs []run, lengths []int, checkLetter bool) ([]char, []byte, bool) {
	if len(runs) < len(lengths) {
		return nil, nil, false
	}
	// Check the shape first, so that text full of short numbers costs no
	// allocation.
	for i, want := range lengths {
		r := &runs[i]
		last := i == len(lengths)-1
		if !last && !r.joined {
			return nil, nil, false
		}
		n := r.to - r.from
		if n != want && (!last || !checkLetter || n != want-1 || !r.hasX) {
			return nil, nil, false
		}
	}
	var chars []char
	var digits []byte
	for i := range lengths {
		r := &runs[i]
		chars = append(chars, ns.charsOf(r)...)
		digits = append(digits, ns.digitsOf(r)...)
		if i == len(lengths)-1 && r.to-r.from == lengths[i]-1 {
			chars = append(chars, r.x)
		}
	}
	return chars, digits, true
}

// isMobile reports whether d (ASCII digits) is a mainland mobile number:
// 11 digits starting 13..19.
func isMobile(d []byte) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3'
}

// isID15 reports whether d (ASCII digits) may be a first-generation ID
// number: 15 digits, an area code starting 1..8, and a birth date YYMMDD
// whose month is 01..12 and day 01..31.
func isID15(d []byte) bool {
	if len(d) != 15 || d[0] < '1' || d[0] > '8' {
		return false
	}
	month := int(d[8]-'0')*10 + int(d[9]-'0')
	day := int(d[10]-'0')*10 + int(d[11]-'0')
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}

// hideAllDigits replaces every digit of s with '*'.
func hideAllDigits(s string) string {
	out := make([]byte, 0, len(s))
	for off := 0; off < len(s); {
		r, size := utf8.DecodeRuneInString(s[off:])
		if size == 1 && r == utf8.RuneError {
			r = -1
		}
		if c, _ := classify(r); c == classDigit {
			out = append(out, '*')
		} else {
			out = append(out, s[off:off+size]...)
		}
		off += size
	}
	return string(out)
}
