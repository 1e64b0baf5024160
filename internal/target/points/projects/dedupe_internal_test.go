package projects

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// TestDedupeKeepsOneFormPerShortCode: a list naming a form twice (which
// would make one upsert touch a row twice) keeps the last, in the first's
// place; forms without a short code or a name cannot be mirrored and are
// counted.
func TestDedupeKeepsOneFormPerShortCode(t *testing.T) {
	t.Parallel()
	forms, skipped := dedupe([]pointsapi.Project{
		{ShortCode: "A", Name: "old"},
		{ShortCode: "B", Name: "b", Tags: []string{"x"}},
		{ShortCode: " ", Name: "no code"},
		{ShortCode: "A", Name: "new"},
		{ShortCode: "C", Name: ""},
	})
	require.Equal(t, 2, skipped)
	require.Equal(t, []form{
		{ShortCode: "A", Name: "new", Tags: []string{}},
		{ShortCode: "B", Name: "b", Tags: []string{"x"}},
	}, forms)
}
