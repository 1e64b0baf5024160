package usercenter_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/usercenter"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim/ucsimtest"
)

const (
	ak = "uc-test-ak"
	sk = "uc-test-sk-2bN7x"
)

type testBundle struct {
	pool   *pgxpool.Pool
	sim    *ucsimtest.Server
	reg    *target.Registry
	engine *syncer.Engine
	ctl    *control.Controller
	set    *datagen.Set
	api    *ucapi.Client
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	sim := ucsimtest.Start(t, ucsim.Config{AppKey: ak, SecretKey: sk})
	tgt, err := usercenter.New(usercenter.Settings{
		BaseURL: sim.BaseURL(), AppKey: ak, SecretKey: sk, Timeout: 2 * time.Second, SettleMargin: 100 * time.Millisecond,
	}, target.Deps{})
	require.NoError(t, err)
	reg, err := target.NewRegistry(tgt)
	require.NoError(t, err)
	engine, err := syncer.New(syncer.Config{Pool: s.Pool, Registry: reg, ParentWait: 100 * time.Millisecond})
	require.NoError(t, err)
	rc, err := jobs.NewClient(s.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	api, err := ucapi.New(ucapi.Config{BaseURL: sim.BaseURL(), AppKey: ak, SecretKey: ucapi.NewSecret(sk)})
	require.NoError(t, err)
	b := &testBundle{
		pool: s.Pool, sim: sim, reg: reg, engine: engine, api: api,
		ctl: control.New(control.Config{Pool: s.Pool, Registry: reg, Client: rc}),
		set: datagen.Generate(datagen.Options{Records: 60, Seed: 11}),
	}
	require.NoError(t, b.set.LoadQuiet(context.Background(), s.Pool))
	return b
}

func (b *testBundle) kind(t *testing.T, name string) *target.Kind {
	t.Helper()
	k, err := b.reg.Kind(name)
	require.NoError(t, err)
	return k
}

func (b *testBundle) push(t *testing.T, kind string, ids ...string) syncer.Result {
	t.Helper()
	res, err := b.engine.Push(context.Background(), b.kind(t, kind), ids, syncer.Options{})
	require.NoError(t, err)
	return res
}

// pushAll pushes every record of the three kinds, parents first.
func (b *testBundle) pushAll(t *testing.T) {
	t.Helper()
	var companies, users []string
	for _, c := range b.set.Companies {
		companies = append(companies, c.ChannelCompanyID)
	}
	for _, u := range b.set.Users {
		users = append(users, u.ChannelUserID)
	}
	b.push(t, "group", companies...)
	b.push(t, "account", users...)
	b.push(t, "membership", users...)
}

func (b *testBundle) state(t *testing.T, kind, id string) dbsqlc.SyncState {
	t.Helper()
	st, err := dbsqlc.New(b.pool).SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: "usercenter", Kinds: []string{kind}, Ids: []string{id}})
	require.NoError(t, err)
	require.Len(t, st, 1)
	return st[0]
}

// wantMemberships derives, from the set, each user's companies: those of
// the tasks of their pending or accepted applications.
func (b *testBundle) wantMemberships() map[string][]string {
	taskCompany := map[string]string{}
	for _, tk := range b.set.Tasks {
		taskCompany[tk.ChannelTaskID] = tk.ChannelCompanyID
	}
	out := map[string][]string{}
	for _, a := range b.set.Applications {
		if a.Status != nil && (*a.Status == "pending" || *a.Status == "accepted") {
			c := taskCompany[a.ChannelTaskID]
			if !slices.Contains(out[a.ChannelUserID], c) {
				out[a.ChannelUserID] = append(out[a.ChannelUserID], c)
			}
		}
	}
	for u := range out {
		slices.Sort(out[u])
	}
	return out
}

// heldMemberships reads, from the simulator, each account's company
// groups by company id.
func (b *testBundle) heldMemberships() map[string][]string {
	company := map[string]string{}
	for _, g := range b.sim.Groups() {
		if id, ok := g.Attrs["channel_company_id"].(string); ok {
			company[g.ID] = id
		}
	}
	user := map[string]string{}
	for _, a := range b.sim.Accounts() {
		if id, ok := a.SysAttrs["channel_user_id"].(string); ok {
			user[a.ID] = id
		}
	}
	out := map[string][]string{}
	for _, m := range b.sim.Memberships() {
		out[user[m.UserID]] = append(out[user[m.UserID]], company[m.GroupID])
	}
	for u := range out {
		slices.Sort(out[u])
	}
	return out
}

func TestSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AccountsGroupsAndMembershipsReachTheUserCentre", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(ctx, `UPDATE companies SET company_name = '北京/上海 联合' WHERE channel_company_id = $1`, b.set.Companies[0].ChannelCompanyID)
		require.NoError(t, err)
		b.pushAll(t)

		require.True(t, b.sim.Duplicates().Empty())
		require.Len(t, b.sim.Accounts(), len(b.set.Users), "one account per user")
		for _, u := range b.set.Users {
			accts := b.sim.AccountsBySysAttr("channel_user_id", u.ChannelUserID)
			require.Len(t, accts, 1)
			a := accts[0]
			require.Equal(t, u.ChannelUserID, a.Username)
			require.Equal(t, u.Name, a.SysAttrs["name"])
			require.Equal(t, u.Phone, a.SysAttrs["phone"])
			require.Equal(t, true, a.SysAttrs["username_password_temporary"])
			require.Equal(t, u.Name, a.Attrs["nickname"])
			require.GreaterOrEqual(t, a.PasswordLen, 24, "a random password of at least 24 characters")
			require.True(t, a.Enable)
		}
		require.Len(t, b.sim.Groups(), len(b.set.Companies), "one group per company")
		g := b.sim.GroupsByAttr("channel_company_id", b.set.Companies[0].ChannelCompanyID)
		require.Len(t, g, 1)
		require.Equal(t, "北京／上海 联合", g[0].Name, "a / becomes ／")
		require.Equal(t, "company", g[0].Type)
		require.Equal(t, b.wantMemberships(), b.heldMemberships())
	})

	t.Run("ActiveFalseDisablesAndTrueEnables", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pushAll(t)
		id := b.set.Users[0].ChannelUserID
		_, err := b.pool.Exec(ctx, `UPDATE users SET active = false WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		require.Equal(t, 1, b.push(t, "account", id).Updated)
		require.False(t, b.sim.AccountsBySysAttr("channel_user_id", id)[0].Enable)
		_, err = b.pool.Exec(ctx, `UPDATE users SET active = true WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		b.push(t, "account", id)
		require.True(t, b.sim.AccountsBySysAttr("channel_user_id", id)[0].Enable)
	})

	t.Run("UserDeactivatedBeforeAnyAccountGetsOneDisabled", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		_, err := b.pool.Exec(ctx, `UPDATE users SET active = false WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		require.Equal(t, 1, b.push(t, "account", id).Created)
		a := b.sim.AccountsBySysAttr("channel_user_id", id)
		require.Len(t, a, 1)
		require.False(t, a[0].Enable, "created, then disabled: it cannot sign in")
	})

	t.Run("MembershipFollowsApplications", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pushAll(t)
		want := b.wantMemberships()
		var user string
		for u, cs := range want {
			if len(cs) > 0 {
				user = u
				break
			}
		}
		require.NotEmpty(t, user)
		_, err := b.pool.Exec(ctx, `UPDATE applications SET status = 'rejected' WHERE channel_user_id = $1`, user)
		require.NoError(t, err)
		require.Equal(t, 1, b.push(t, "membership", user).Updated)
		require.Empty(t, b.heldMemberships()[user], "no pending or accepted application: no membership")
		require.Equal(t, 1, b.push(t, "membership", user).Unchanged, "nothing to do the second time")
	})
}

// TestNoDuplicateCreates: neither create is idempotent on the user centre;
// a create whose answer is lost is looked up and adopted, never repeated,
// and a username taken by an account that is not ours is never adopted.
func TestNoDuplicateCreates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lostAnswer := simkit.Faults{DropAfterRate: 1}

	tests := []struct {
		name  string
		class ucsim.Class
		kind  string
		id    func(*datagen.Set) string
		count func(*ucsimtest.Server) int
	}{
		{"AccountCreateWithLostAnswerIsAdopted", ucsim.ClassCreateUser, "account",
			func(s *datagen.Set) string { return s.Users[0].ChannelUserID },
			func(sim *ucsimtest.Server) int { return len(sim.Accounts()) }},
		{"GroupCreateWithLostAnswerIsAdopted", ucsim.ClassCreateGroup, "group",
			func(s *datagen.Set) string { return s.Companies[0].ChannelCompanyID },
			func(sim *ucsimtest.Server) int { return len(sim.Groups()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			id := tt.id(b.set)
			require.NoError(t, b.sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{tt.class: lostAnswer}}))
			res := b.push(t, tt.kind, id)
			require.Equal(t, 1, res.Failed)
			require.Equal(t, 1, tt.count(b.sim), "the create was applied, its answer lost")
			require.NotNil(t, b.state(t, tt.kind, id).UnsettledUntil)

			require.NoError(t, b.sim.SetFaults(ucsim.Faults{}))
			require.Eventually(t, func() bool {
				return b.push(t, tt.kind, id).Created == 1
			}, 10*time.Second, 200*time.Millisecond)
			require.Equal(t, 1, tt.count(b.sim), "adopted, not created again")
			require.True(t, b.sim.Duplicates().Empty())
			st := b.state(t, tt.kind, id)
			require.Equal(t, syncstatus.Synced, st.Status)
			require.NotNil(t, st.RemoteRef)
		})
	}

	t.Run("UsernameTakenByAStrangerIsDeadNamingUsername", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		_, err := b.sim.InsertAccount(ucsim.AccountSeed{Username: id, SysAttrs: map[string]any{"employee_no": "E1"}})
		require.NoError(t, err)
		require.Equal(t, 1, b.push(t, "account", id).Dead)
		st := b.state(t, "account", id)
		require.Equal(t, syncstatus.Dead, st.Status)
		require.Contains(t, *st.LastError, "accounts/"+id+": ")
		require.Contains(t, *st.LastError, "username")
		accts := b.sim.Accounts()
		require.Len(t, accts, 1, "the stranger's account only")
		require.Nil(t, accts[0].SysAttrs["channel_user_id"], "never adopted")
		_, err = b.pool.Exec(ctx, `SELECT 1`)
		require.NoError(t, err)
	})
}

// TestVerify: drift made on the user centre's side is reported, and
// --fix's repairs bring it back.
func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.pushAll(t)
	rep, err := b.ctl.Verify(ctx, nil, false)
	require.NoError(t, err)
	require.Empty(t, rep.Differences, "in step after a sync")

	// A field changed, an account removed (replaced by nothing: the user
	// centre has no delete, so the test reseeds), an extra account of ours,
	// a membership removed.
	changed := b.set.Users[0].ChannelUserID
	a := b.sim.AccountsBySysAttr("channel_user_id", changed)[0]
	_, err = b.api.SaveUserSysAttrs(ctx, a.ID, map[string]any{"name": "改名"})
	require.NoError(t, err)
	_, err = b.sim.InsertAccount(ucsim.AccountSeed{Username: "ghost", SysAttrs: map[string]any{"channel_user_id": "U-GHOST"}})
	require.NoError(t, err)
	var member, group string
	for _, m := range b.sim.Memberships() {
		member, group = m.UserID, m.GroupID
		break
	}
	require.NotEmpty(t, member)
	require.NoError(t, b.api.RemoveUserFromGroup(ctx, group, member))

	rep, err = b.ctl.Verify(ctx, nil, true)
	require.NoError(t, err)
	var problems []string
	for _, d := range rep.Differences {
		problems = append(problems, d.Problem+" "+d.Ref.Kind+"/"+d.Ref.ID+" "+strings.Join(d.Fields, ","))
	}
	require.Contains(t, problems, "different account/"+changed+" name")
	require.Contains(t, problems, "extra account/U-GHOST ")
	var membershipDiff bool
	for _, d := range rep.Differences {
		membershipDiff = membershipDiff || (d.Ref.Kind == "membership" && d.Problem == "different")
	}
	require.True(t, membershipDiff, "the removed membership is reported: %v", problems)
	require.Positive(t, rep.Fixed)

	// The repairs are enqueued; push them as the worker would.
	b.pushAll(t)
	rep, err = b.ctl.Verify(ctx, nil, false)
	require.NoError(t, err)
	for _, d := range rep.Differences {
		require.Equal(t, "extra", d.Problem, "only the extra account (chansync deletes nothing) is left: %+v", d)
	}
}

// TestClassify: what a failed call means for the record. A 5xx ends the
// request only when the user centre's own envelope says so; a gateway's
// page, or any 504, may come while the request is still being applied, so
// a create's lookup waits until it can no longer be in flight.
func TestClassify(t *testing.T) {
	t.Parallel()
	tgt, err := usercenter.New(usercenter.Settings{BaseURL: "http://127.0.0.1:1", AppKey: ak, SecretKey: sk}, target.Deps{})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		err  *ucapi.Error
		want target.Failure
	}{
		{"EnvelopeServerError", &ucapi.Error{HTTPStatus: 500, Envelope: true, Class: ucapi.ClassTransient},
			target.Failure{Class: target.Transient, MaybeApplied: true, Answered: true}},
		{"GatewayPage", &ucapi.Error{HTTPStatus: 502, Class: ucapi.ClassTransient},
			target.Failure{Class: target.Transient, MaybeApplied: true}},
		{"GatewayTimeoutEnvelope", &ucapi.Error{HTTPStatus: 504, Envelope: true, Class: ucapi.ClassTransient},
			target.Failure{Class: target.Transient, MaybeApplied: true}},
		{"NoAnswer", &ucapi.Error{Class: ucapi.ClassTransient},
			target.Failure{Class: target.Transient, MaybeApplied: true}},
		{"Unauthorized", &ucapi.Error{HTTPStatus: 401, Envelope: true, Class: ucapi.ClassAuth},
			target.Failure{Class: target.Hold, Hold: usercenter.HoldAuth, Answered: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tgt.Client.Classify(tc.err)
			got.Reason = ""
			require.Equal(t, tc.want, got)
		})
	}
}

// TestMemberRole: with APIHUB_MEMBER_ROLE set, the role is made once and
// every account has it; an account that has it already is not assigned it
// again when it is updated.
func TestMemberRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.New(t)
	sim := ucsimtest.Start(t, ucsim.Config{AppKey: ak, SecretKey: sk, RecordRequests: true})
	tgt, err := usercenter.New(usercenter.Settings{
		BaseURL: sim.BaseURL(), AppKey: ak, SecretKey: sk, MemberRole: "worker", Timeout: 2 * time.Second,
	}, target.Deps{})
	require.NoError(t, err)
	reg, err := target.NewRegistry(tgt)
	require.NoError(t, err)
	engine, err := syncer.New(syncer.Config{Pool: s.Pool, Registry: reg})
	require.NoError(t, err)
	set := datagen.Generate(datagen.Options{Records: 60, Seed: 11})
	require.NoError(t, set.LoadQuiet(ctx, s.Pool))
	account, err := reg.Kind("account")
	require.NoError(t, err)
	var users []string
	for _, u := range set.Users {
		users = append(users, u.ChannelUserID)
	}
	assigns := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Endpoint == "assign-user-role" {
				n++
			}
		}
		return n
	}

	_, err = engine.Push(ctx, account, users, syncer.Options{})
	require.NoError(t, err)
	accounts := sim.Accounts()
	require.Len(t, accounts, len(users))
	for _, a := range accounts {
		require.Contains(t, a.Roles, "worker", "account %s", a.Username)
	}
	require.Len(t, sim.Roles(), 1)
	require.Equal(t, len(users), assigns(), "one assignment per account")

	_, err = s.Pool.Exec(ctx, `UPDATE users SET name = name || '改' WHERE channel_user_id = $1`, users[0])
	require.NoError(t, err)
	res, err := engine.Push(ctx, account, users[:1], syncer.Options{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Updated)
	require.Equal(t, len(users), assigns(), "the updated account has the role: not assigned again")
}
