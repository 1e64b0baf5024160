package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/syncstatus"
)

// A reason that carries the channel's message, and in it personal data.
const (
	leakyIDCard = "11010519491231002X"
	leakyPhone  = "13800138000"
	leakyReason = "users/U1: channel rejected: id_card " + leakyIDCard + " phone " + leakyPhone + " already bound"
)

// TestPrintedReasonsAreMasked: enqueue status (table and JSON) and enqueue
// replay --dry-run print reasons masked.
func TestPrintedReasonsAreMasked(t *testing.T) {
	t.Parallel()
	dead := []control.DeadLetter{{Target: "channel", Kind: "user", ID: "U1", Status: syncstatus.Dead, Reason: leakyReason}}

	tests := []struct {
		name  string
		print func(*bytes.Buffer)
	}{
		{"StatusTable", func(w *bytes.Buffer) { require.NoError(t, writeStatus(w, control.Status{DeadLetters: dead}, false)) }},
		{"StatusJSON", func(w *bytes.Buffer) { require.NoError(t, writeStatus(w, control.Status{DeadLetters: dead}, true)) }},
		{"ReplayDryRun", func(w *bytes.Buffer) { printCandidates(w, dead) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tt.print(&buf)
			out := buf.String()
			require.NotContains(t, out, leakyIDCard)
			require.NotContains(t, out, leakyPhone)
			require.Contains(t, out, mask.IDCard(leakyIDCard))
			require.Contains(t, out, mask.Phone(leakyPhone))
			require.Contains(t, out, "already bound", "the rest of the reason stays")
		})
	}
	require.Equal(t, leakyReason, dead[0].Reason, "the caller's list is not changed")
}
