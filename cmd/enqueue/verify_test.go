package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/target"
)

// TestPrintVerifyLastLine: the report's last line counts the differences
// and offers --fix only for what it repairs (missing and different).
func TestPrintVerifyLastLine(t *testing.T) {
	t.Parallel()
	diff := func(problem string) target.Difference {
		return target.Difference{Ref: target.Ref{Target: "points", Kind: "grant", ID: "G1"}, Problem: problem}
	}
	for _, tc := range []struct {
		name string
		rep  control.VerifyReport
		want string
	}{
		{"clean", control.VerifyReport{}, "no difference"},
		{"one duplicate", control.VerifyReport{Differences: []target.Difference{diff(target.Duplicate)}},
			"1 difference (extras and duplicates are reported only: chansync deletes nothing on a target)"},
		{"missing and extra", control.VerifyReport{Differences: []target.Difference{diff(target.Missing), diff(target.Extra)}},
			"2 differences (run with --fix to enqueue 1 repair)"},
		{"fixed", control.VerifyReport{Differences: []target.Difference{diff(target.Different), diff(target.Missing)}, Fixed: 2},
			"2 differences; enqueued 2 repairs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			printVerify(&b, tc.rep, 50)
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			require.Equal(t, tc.want, lines[len(lines)-1])
		})
	}
}
