package channel_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
)

// TestVerify: drift made on the channel's side — a field changed, records
// removed, an extra record — is reported, on a kind verify lists (tasks,
// applications) and on a kind it reads with one GET per record (users,
// companies); --fix's repairs bring the channel back, all but the extra
// record, since chansync deletes nothing on a target.
func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const appKey, secret = "verify-appkey", "verify-secret-5tQ"
	s := dbtest.New(t)
	sim := channelsimtest.Start(t, channelsim.Config{AppKey: appKey, Secret: secret, Seed: 3})
	tgt, err := channel.New(channel.Settings{BaseURL: sim.URL(), AppKey: appKey, Secret: secret}, target.Deps{})
	require.NoError(t, err)
	reg, err := target.NewRegistry(tgt)
	require.NoError(t, err)
	engine, err := syncer.New(syncer.Config{Pool: s.Pool, Registry: reg, ParentWait: 100 * time.Millisecond})
	require.NoError(t, err)
	rc, err := jobs.NewClient(s.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	ctl := control.New(control.Config{Pool: s.Pool, Registry: reg, Client: rc})
	set := datagen.Generate(datagen.Options{Records: 200, Seed: 5})
	require.NoError(t, set.LoadQuiet(ctx, s.Pool))

	pushAll := func() {
		t.Helper()
		for _, k := range reg.Kinds() { // parents first
			built, err := k.Page(ctx, s.Pool, "", 1_000_000)
			require.NoError(t, err)
			ids := make([]string, len(built))
			for i, b := range built {
				ids[i] = b.Ref.ID
			}
			_, err = engine.Push(ctx, k, ids, syncer.Options{})
			require.NoError(t, err)
		}
	}
	verify := func(fix bool) (control.VerifyReport, []string) {
		t.Helper()
		rep, err := ctl.Verify(ctx, nil, fix)
		require.NoError(t, err)
		var problems []string
		for _, d := range rep.Differences {
			problems = append(problems, d.Problem+" "+d.Ref.Kind+"/"+d.Ref.ID+" "+strings.Join(d.Fields, ","))
		}
		return rep, problems
	}
	change := func(kind, id, field string, value any) {
		t.Helper()
		rec, ok := sim.Record(kind, id)
		require.True(t, ok, "%s/%s on the channel", kind, id)
		rec[field] = value
		body, err := json.Marshal(rec)
		require.NoError(t, err)
		require.NoError(t, sim.Update(kind, body))
	}
	remove := func(kind, id string) {
		t.Helper()
		held, err := sim.Remove(kind, id)
		require.NoError(t, err)
		require.True(t, held, "%s/%s on the channel", kind, id)
	}

	pushAll()
	_, problems := verify(false)
	require.Empty(t, problems, "in step after a sync")

	user, task := set.Users[0].ChannelUserID, set.Tasks[0].ChannelTaskID
	change("user", user, "name", "改名")
	change("task", task, "task_name", "改过的任务")
	company, application := set.Companies[1].ChannelCompanyID, set.Applications[0].ChannelApplicationID
	remove("company", company)
	remove("application", application)
	extra, ok := sim.Record("task", set.Tasks[1].ChannelTaskID)
	require.True(t, ok)
	extra["channel_task_id"] = "T-EXTRA"
	body, err := json.Marshal(extra)
	require.NoError(t, err)
	_, err = sim.Insert("task", body)
	require.NoError(t, err)

	rep, problems := verify(true)
	require.ElementsMatch(t, []string{
		"different user/" + user + " name",
		"different task/" + task + " task_name",
		"missing company/" + company + " ",
		"missing application/" + application + " ",
		"extra task/T-EXTRA ",
	}, problems)
	require.Equal(t, 4, rep.Fixed, "every difference but the extra record is enqueued for repair")

	// The repairs are enqueued; push them as the worker would.
	pushAll()
	_, problems = verify(false)
	require.Equal(t, []string{"extra task/T-EXTRA "}, problems, "only the extra record (chansync deletes nothing) is left")
	got, ok := sim.Record("user", user)
	require.True(t, ok)
	require.Equal(t, set.Users[0].Name, got["name"])
	_, ok = sim.Record("company", company)
	require.True(t, ok, "the removed company is created again")
}
