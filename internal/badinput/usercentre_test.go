package badinput_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// The user centre's credentials in these tests.
const (
	ucAK = "67fca7a97a883fac3a98b1d2"
	ucSK = "badinput-uc-secret-Zt4k"
)

// The user centre's catalogue: input that the channel takes as it is but
// that the user centre cannot, each with the outcome chansync decided.
const (
	// A company whose name holds "/", which the user centre refuses in a
	// group name: the group is named with "／" (U+FF0F) instead, and
	// nothing is refused. The channel gets the name as it is.
	ucSlashCompany = "C-UC-SLASH"
	ucSlashName    = "华东/华南 联合物流有限公司"
	ucSlashGroup   = "华东／华南 联合物流有限公司"
	// A user whose id, the account's username, is taken on the user centre
	// by an account that is not ours (no sys_attrs.channel_user_id): the
	// account is a dead letter whose reason names username, the stranger's
	// account is never adopted, and the user's membership waits, blocked.
	// The fix is on the user centre's side: free the username, or mark the
	// existing account as this person's (sys_attrs.channel_user_id), then
	// replay the dead letter; the blocked membership follows.
	ucTakenUser = "U-UC-TAKEN"
	// A user deactivated (users.active = false) before any account exists:
	// the account is created, then disabled at once, so that the person
	// exists on the user centre and cannot sign in.
	ucInactiveUser = "U-UC-INACTIVE"
)

// ucRows are the user-centre cases' rows: the two users apply to a task of
// the company whose name holds "/".
var ucRows = []struct {
	kind   rkind
	insert string
}{
	{kCompany, insertSQL(kCompany, ucSlashCompany, "company_name", quote(ucSlashName))},
	{kUser, insertSQL(kUser, ucTakenUser, "name", "'李四'")},
	{kUser, insertSQL(kUser, ucInactiveUser, "name", "'王五'", "active", "false")},
	{kTask, insertSQL(kTask, "T-UC-SLASH", "channel_company_id", quote(ucSlashCompany))},
	{kApplication, insertSQL(kApplication, "A-UC-TAKEN", "channel_user_id", quote(ucTakenUser), "channel_task_id", "'T-UC-SLASH'")},
	{kApplication, insertSQL(kApplication, "A-UC-INACTIVE", "channel_user_id", quote(ucInactiveUser), "channel_task_id", "'T-UC-SLASH'")},
}

func (b *testBundle) ucState(t *testing.T, kind, id string) dbsqlc.SyncState {
	t.Helper()
	st, err := dbsqlc.New(b.pool).SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: "usercenter", Kinds: []string{kind}, Ids: []string{id}})
	require.NoError(t, err)
	require.Lenf(t, st, 1, "no user-centre sync state for %s/%s", kind, id)
	return st[0]
}

// ucGroupsOf returns the names of the groups the account of a user
// belongs to.
func (b *testBundle) ucGroupsOf(t *testing.T, user string) []string {
	t.Helper()
	accts := b.uc.AccountsBySysAttr("channel_user_id", user)
	require.Lenf(t, accts, 1, "one account for %s", user)
	var names []string
	for _, m := range b.uc.Memberships() {
		if m.UserID == accts[0].ID {
			g, ok := b.uc.Group(m.GroupID)
			require.True(t, ok)
			names = append(names, g.Name)
		}
	}
	return names
}

// TestUserCentreBadInput: the user centre's catalogue (see ucSlashCompany,
// ucTakenUser and ucInactiveUser), pushed beside the channel, each with
// its decided outcome; then the fix of the taken username and its replay.
func TestUserCentreBadInput(t *testing.T) {
	t.Parallel()
	b := setupWithUserCentre(t)
	ctx := context.Background()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	for _, f := range fixtures {
		_, err := tx.Exec(ctx, f.insert)
		require.NoError(t, err, f.insert)
	}
	for _, r := range ucRows {
		_, err := tx.Exec(ctx, r.insert)
		require.NoError(t, err, r.insert)
	}
	require.NoError(t, tx.Commit(ctx))
	stranger, err := b.uc.InsertAccount(ucsim.AccountSeed{Username: ucTakenUser, SysAttrs: map[string]any{"employee_no": "E-0042"}})
	require.NoError(t, err)

	_, err = b.ctl.EnqueueAll(ctx, control.AllOptions{})
	require.NoError(t, err)
	b.drain(t)

	t.Run("CompanyNameWithSlashBecomesGroupNamedWithFullwidthSlash", func(t *testing.T) {
		require.Equal(t, syncstatus.Synced, b.ucState(t, "group", ucSlashCompany).Status)
		groups := b.uc.GroupsByAttr("channel_company_id", ucSlashCompany)
		require.Len(t, groups, 1)
		require.Equal(t, ucSlashGroup, groups[0].Name)
		require.Equal(t, "company", groups[0].Type)
		rec, ok := b.sim.Record("company", ucSlashCompany)
		require.True(t, ok, "the channel holds the company")
		require.Equal(t, ucSlashName, rec["company_name"], "the channel gets the name as it is")
		require.Equal(t, []string{ucSlashGroup}, b.ucGroupsOf(t, ucInactiveUser), "its applicants are members")
	})

	t.Run("UsernameTakenByAStrangerIsDeadNamingUsernameAndNeverAdopted", func(t *testing.T) {
		st := b.ucState(t, "account", ucTakenUser)
		require.Equal(t, syncstatus.Dead, st.Status)
		require.NotNil(t, st.LastError)
		require.Contains(t, *st.LastError, "accounts/"+ucTakenUser+": ", "the reason names the record")
		require.Contains(t, *st.LastError, "username: ", "the reason names the field")
		require.Contains(t, *st.LastError, "taken by an account that is not ours", "the reason says why")
		require.Nil(t, st.RemoteRef, "nothing adopted")
		require.Empty(t, b.uc.AccountsBySysAttr("channel_user_id", ucTakenUser), "no account of ours for the user")
		a, ok := b.uc.AccountByUsername(ucTakenUser)
		require.True(t, ok)
		require.Equal(t, stranger.ID, a.ID, "the username is still the stranger's")
		require.Equal(t, map[string]any{"employee_no": "E-0042"}, a.SysAttrs, "the stranger's account is untouched")

		ms := b.ucState(t, "membership", ucTakenUser)
		require.Equal(t, syncstatus.Blocked, ms.Status)
		require.NotNil(t, ms.LastError)
		require.Contains(t, *ms.LastError, "channel_user_id: waits for account/"+ucTakenUser, "the reason names the field and the parent")
		for _, m := range b.uc.Memberships() {
			require.NotEqual(t, stranger.ID, m.UserID, "the stranger was made a member of nothing")
		}

		_, ok = b.sim.Record("user", ucTakenUser)
		require.True(t, ok, "the channel, which has no usernames, holds the user")
	})

	t.Run("UserDeactivatedBeforeAnyAccountGetsOneDisabled", func(t *testing.T) {
		require.Equal(t, syncstatus.Synced, b.ucState(t, "account", ucInactiveUser).Status)
		accts := b.uc.AccountsBySysAttr("channel_user_id", ucInactiveUser)
		require.Len(t, accts, 1, "created")
		require.False(t, accts[0].Enable, "and disabled: the person cannot sign in")
		require.Equal(t, syncstatus.Synced, b.ucState(t, "membership", ucInactiveUser).Status)
	})

	t.Run("NoCreateRepeated", func(t *testing.T) {
		require.True(t, b.uc.Duplicates().Empty())
		creates := map[string]int{}
		for _, r := range b.uc.Requests() {
			if r.Endpoint == "create-user" || r.Endpoint == "create-group" {
				creates[r.Endpoint]++
			}
		}
		// U-OK, U-DEAD-PARENT (dead on the channel only), the inactive
		// user, and one refused attempt for the taken username; C-OK and
		// the company with "/".
		require.Equal(t, map[string]int{"create-user": 4, "create-group": 2}, creates)
	})

	// The fix: the user centre's administrator marks the existing account
	// as this person's; the operator replays the dead letter. The account
	// is adopted (found by sys_attrs.channel_user_id) and updated, and the
	// membership that waited for it follows.
	api, err := ucapi.New(ucapi.Config{BaseURL: b.uc.BaseURL(), AppKey: ucAK, SecretKey: ucapi.NewSecret(ucSK)})
	require.NoError(t, err)
	_, err = api.SaveUserSysAttrs(ctx, stranger.ID, map[string]any{"channel_user_id": ucTakenUser})
	require.NoError(t, err)
	n, err := b.ctl.Replay(ctx, control.ReplayFilter{Target: "usercenter", Kind: "account", ID: ucTakenUser})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool {
		return b.ucState(t, "membership", ucTakenUser).Status == syncstatus.Synced
	}, time.Minute, 50*time.Millisecond, "the blocked membership follows its account")
	b.drain(t)

	t.Run("TakenUsernameLinkedThenReplayedIsAdopted", func(t *testing.T) {
		st := b.ucState(t, "account", ucTakenUser)
		require.Equal(t, syncstatus.Synced, st.Status)
		require.NotNil(t, st.RemoteRef)
		require.Equal(t, stranger.ID, *st.RemoteRef)
		a, ok := b.uc.Account(stranger.ID)
		require.True(t, ok)
		require.Equal(t, "李四", a.SysAttrs["name"], "updated with the row's fields")
		require.Equal(t, []string{ucSlashGroup}, b.ucGroupsOf(t, ucTakenUser))
		require.Len(t, b.uc.Accounts(), 4, "no account created for it")
		require.True(t, b.uc.Duplicates().Empty())
	})
}
