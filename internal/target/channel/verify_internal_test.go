package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// localTasks is a LocalSet of task ids whose records the channel holds
// exactly (verify then only compares presence).
type localTasks []string

func (l localTasks) IDs() []string { return l }

func (l localTasks) Load(_ context.Context, ids []string) (map[string]target.Local, error) {
	out := make(map[string]target.Local, len(ids))
	for _, id := range ids {
		out[id] = target.Local{Built: &target.Built{JSON: taskJSON(id)}}
	}
	return out, nil
}

func taskJSON(id string) []byte { return []byte(fmt.Sprintf(`{"channel_task_id":%q}`, id)) }

// TestVerifyListedPaging: verify reads a list to its end however the
// channel pages it — fewer items than asked for, with or without a total —
// and stops on a channel that ignores the page asked for.
func TestVerifyListedPaging(t *testing.T) {
	t.Parallel()
	ids := make(localTasks, 45)
	for i := range ids {
		ids[i] = fmt.Sprintf("T%03d", i)
	}
	var kind *target.Kind
	for _, k := range Kinds() {
		if k.Name == "task" {
			kind = k
		}
	}
	require.NotNil(t, kind)

	for _, tc := range []struct {
		name      string
		serve     int  // items a page holds at most, whatever was asked
		total     bool // whether pages carry total
		samePage  bool // the channel ignores the page asked for
		wantCalls int
		wantDiffs int
	}{
		{"ShortPagesWithTotal", 20, true, false, 3, 0},
		{"ShortPagesWithoutTotal", 20, false, false, 4, 0},
		{"FullPagesWithTotal", 100, true, false, 1, 0},
		{"PageIgnored", 20, true, true, 2, 25 + 20}, // 25 never listed, 20 listed twice
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			list := func(_ context.Context, p channelapi.ListParams) (channelapi.Page, error) {
				calls++
				require.Equal(t, verifyPageSize, p.PageSize)
				page := p.Page
				if tc.samePage {
					page = 1
				}
				var out channelapi.Page
				for i := (page - 1) * tc.serve; i < min(page*tc.serve, len(ids)); i++ {
					out.Items = append(out.Items, json.RawMessage(taskJSON(ids[i])))
				}
				if tc.total {
					out.Total = len(ids)
				}
				return out, nil
			}
			var diffs []target.Difference
			v := &verifier{}
			require.NoError(t, v.verifyListed(context.Background(), kind, list, ids, func(d target.Difference) { diffs = append(diffs, d) }))
			require.Equal(t, tc.wantCalls, calls)
			require.Len(t, diffs, tc.wantDiffs, "%v", diffs)
		})
	}
}
