package chaos_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/validate"
)

// The user centre's credentials in the user-centre scenarios.
const (
	ucAK = "67fca7a97a883fac3a98c4a0"
	ucSK = "chaos-uc-secret-Hq2v9"
)

// ucSim is an apihubsim process (its user centre) and a client of the
// user centre's admin API.
type ucSim struct {
	proc *proc
	// base is APIHUB_BASE_URL (the host's root); admin the user centre's
	// admin endpoints.
	base, admin string
}

// startUCSim starts apihubsim on a free port with the user centre's faults.
func startUCSim(t *testing.T, name string, f ucsim.Faults) *ucSim {
	t.Helper()
	faults, err := json.Marshal(f)
	require.NoError(t, err)
	p, base := startAPIHubSim(t, name, []string{"APIHUBSIM_UC_AK=" + ucAK, "APIHUBSIM_UC_SK=" + ucSK}, "--uc-faults", string(faults))
	return &ucSim{proc: p, base: base, admin: base + ucsim.DefaultAdminPrefix}
}

func (s *ucSim) state(t *testing.T) ucsim.State {
	return adminGet[ucsim.State](t, s.admin+"/state")
}

func (s *ucSim) stats(t *testing.T) ucsim.Stats {
	return adminGet[ucsim.Stats](t, s.admin+"/stats")
}

func (s *ucSim) duplicates(t *testing.T) ucsim.DuplicateReport {
	return adminGet[ucsim.DuplicateReport](t, s.admin+"/duplicates")
}

func (s *ucSim) requests(t *testing.T) []ucsim.Request {
	return adminGet[[]ucsim.Request](t, s.admin+"/requests")
}

// ucReadEndpoints are the user centre's endpoints that change nothing.
var ucReadEndpoints = map[string]bool{
	"get-user-by-sys-attr": true, "get-user-by-id": true, "get-user-by-username": true, "list-users-by-ids": true,
	"list-users": true, "list-child-groups": true, "get-group": true, "list-user-groups": true,
	"list-group-users": true, "list-roles": true, "list-user-roles": true,
}

// ucWrites counts the requests sent to the user centre that may change it.
func ucWrites(reqs []ucsim.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Endpoint != "" && !ucReadEndpoints[r.Endpoint] {
			n++
		}
	}
	return n
}

// TestUserCentreNoisyAndKilled: the user centre loses the answers of about
// one create in ten after applying it (create-user and create-group),
// answers 500 and 429 (Retry-After 1) to about one request in twenty each
// on every endpoint, and one of three workers is killed with SIGKILL
// mid-run and restarted; neither create is ever repeated, and the user
// centre ends with one account per valid user, one group per company and
// exactly the memberships the applications make. The channel, pushed
// beside it, keeps its own invariants.
func TestUserCentreNoisyAndKilled(t *testing.T) {
	t.Parallel()
	noisy := simkit.Faults{Status500Rate: 0.05, RateLimitRate: 0.05, RetryAfter: 1, Latency: 2 * time.Millisecond, Jitter: 5 * time.Millisecond}
	lossy := noisy
	lossy.DropAfterRate = 0.1
	b := setup(t, "usercentre", options{
		simArgs: []string{"--latency", "2ms", "--jitter", "5ms"},
		userCentre: &ucsim.Faults{All: noisy, Classes: map[ucsim.Class]simkit.Faults{
			ucsim.ClassCreateUser: lossy, ucsim.ClassCreateGroup: lossy,
		}},
	})
	// The catalogue's user-centre cases, at scale: a company whose name
	// holds "/", users deactivated before any account exists, and a user
	// the user centre cannot take (no name).
	ctx := context.Background()
	for _, q := range []string{
		`UPDATE companies SET company_name = company_name || '/华东分部' WHERE channel_company_id = (SELECT min(channel_company_id) FROM companies)`,
		`UPDATE users SET active = false WHERE channel_user_id IN (SELECT channel_user_id FROM users ORDER BY channel_user_id OFFSET 3 LIMIT 3)`,
		`INSERT INTO users (channel_user_id, name, id_card, phone) SELECT 'U-BLANK-NAME', '  ', id_card, phone FROM users ORDER BY channel_user_id LIMIT 1`,
	} {
		_, err := b.pool.Exec(ctx, q)
		require.NoError(t, err, q)
	}

	w1 := b.startWorker()
	b.startWorker()
	b.startWorker()
	b.enqueueAll()

	// Kill one worker once a third of every target's records are in.
	var users, companies int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM companies)`).Scan(&users, &companies))
	b.waitSynced((b.total()+2*users+companies)/3, 5*time.Minute)
	w1.signal(t, syscall.SIGKILL)
	require.Equal(t, -1, w1.wait(t, 30*time.Second), "SIGKILL")
	b.startWorker() // the restart

	b.requireInvariants(checks{})
	st := b.uc.stats(t)
	for _, f := range []string{simkit.FaultDropAfter, simkit.FaultRateLimit, simkit.FaultStatus500} {
		require.Positivef(t, st.Faults[f], "fault %s was never injected", f)
	}
	var disabled int
	for _, a := range b.uc.state(t).Accounts {
		if !a.Enable {
			disabled++
		}
	}
	require.Equal(t, 3, disabled, "the users deactivated before any account existed have one each, disabled")
}

// ucUser and ucCompany are local rows as the user centre's kinds see them.
type ucUser struct {
	name, phone string
	active      bool
	// bad names the field that keeps the user off the user centre ("" for
	// a valid user).
	bad string
}

type ucCompany struct {
	name, creditCode string
	bad              string
}

// ucLocal is what the user centre must hold, derived from the tables by
// the user-centre kinds' own rules (not the channel's): an account needs a
// valid id and a name; a group a valid id and a name ("/" becomes "／");
// a person is a member of the groups of the companies of the tasks of
// their pending or accepted applications.
type ucLocal struct {
	users     map[string]ucUser
	companies map[string]ucCompany
	// members maps a user to their companies, sorted; users with none are
	// left out.
	members map[string][]string
}

func (b *bundle) ucLocal() ucLocal {
	t := b.t
	t.Helper()
	ctx := context.Background()
	out := ucLocal{users: map[string]ucUser{}, companies: map[string]ucCompany{}, members: map[string][]string{}}
	rows, err := b.pool.Query(ctx, `SELECT channel_user_id, name, phone, active FROM users`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		var u ucUser
		require.NoError(t, rows.Scan(&id, &u.name, &u.phone, &u.active))
		u.name, u.phone = strings.TrimSpace(u.name), strings.TrimSpace(u.phone)
		switch {
		case validate.ID(id) != nil:
			u.bad = "channel_user_id"
		case u.name == "":
			u.bad = "name"
		}
		out.users[id] = u
	}
	require.NoError(t, rows.Err())
	rows, err = b.pool.Query(ctx, `SELECT channel_company_id, company_name, social_credit_code FROM companies`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		var c ucCompany
		require.NoError(t, rows.Scan(&id, &c.name, &c.creditCode))
		c.name, c.creditCode = strings.ReplaceAll(strings.TrimSpace(c.name), "/", "／"), strings.TrimSpace(c.creditCode)
		switch {
		case validate.ID(id) != nil:
			c.bad = "channel_company_id"
		case c.name == "":
			c.bad = "company_name"
		}
		out.companies[id] = c
	}
	require.NoError(t, rows.Err())
	rows, err = b.pool.Query(ctx, `SELECT a.channel_user_id, a.status, t.channel_company_id
		FROM applications a JOIN tasks t ON t.channel_task_id = a.channel_task_id`)
	require.NoError(t, err)
	for rows.Next() {
		var user, company string
		var status *string
		require.NoError(t, rows.Scan(&user, &status, &company))
		if status == nil {
			continue
		}
		if s, err := validate.ApplicationStatuses.Normalize(*status); err == nil && (s == "pending" || s == "accepted") &&
			!slices.Contains(out.members[user], company) {
			out.members[user] = append(out.members[user], company)
		}
	}
	require.NoError(t, rows.Err())
	for _, cs := range out.members {
		slices.Sort(cs)
	}
	return out
}

// memberOK reports whether a user's membership can be pushed: their
// account and every group it names exist. Otherwise it waits, blocked,
// and the user is a member of nothing.
func (l ucLocal) memberOK(user string) bool {
	if l.users[user].bad != "" {
		return false
	}
	for _, c := range l.members[user] {
		if co, ok := l.companies[c]; !ok || co.bad != "" {
			return false
		}
	}
	return true
}

// requireUserCentre checks the user centre's invariants once the queue is
// idle: one account per valid user (found by sys_attrs.channel_user_id)
// with its fields, one group per valid company, the memberships the
// applications make, no duplicate, no create applied twice, and every
// record's sync state (synced, or dead or blocked with a reason).
func (b *bundle) requireUserCentre() {
	t := b.t
	t.Helper()
	want := b.ucLocal()
	st := b.uc.state(t)
	dups := b.uc.duplicates(t)
	require.Truef(t, dups.Empty(), "no duplicates on the user centre: %+v", dups)

	// One account per valid user, and nothing else.
	accounts := map[string]ucsim.Account{}
	userOf := map[string]string{}
	var disabled int
	for _, a := range st.Accounts {
		id, ok := a.SysAttrs["channel_user_id"].(string)
		require.Truef(t, ok, "account %s (%s) carries no channel_user_id", a.ID, a.Username)
		accounts[id], userOf[a.ID] = a, id
		if !a.Enable {
			disabled++
		}
	}
	var validUsers int
	for id, u := range want.users {
		a, ok := accounts[id]
		if u.bad != "" {
			require.Falsef(t, ok, "the user centre holds an account for %s, whose %s it cannot take", id, u.bad)
			continue
		}
		validUsers++
		require.Truef(t, ok, "one account per valid user: %s has none", id)
		require.Equal(t, id, a.Username, "account %s: username", id)
		require.Equal(t, u.name, a.SysAttrs["name"], "account %s: name", id)
		require.Equal(t, u.phone, a.SysAttrs["phone"], "account %s: phone", id)
		require.Equalf(t, u.active, a.Enable, "account %s: enabled as users.active", id)
	}
	require.Len(t, st.Accounts, validUsers, "one account per valid user, nothing else")

	// One group per valid company, and nothing else.
	groups := map[string]ucsim.Group{}
	companyOf := map[string]string{}
	var slashed int
	for _, g := range st.Groups {
		id, ok := g.Attrs["channel_company_id"].(string)
		require.Truef(t, ok, "group %s (%s) carries no channel_company_id", g.ID, g.Name)
		groups[id], companyOf[g.ID] = g, id
	}
	var validCompanies int
	for id, c := range want.companies {
		g, ok := groups[id]
		if c.bad != "" {
			require.Falsef(t, ok, "the user centre holds a group for %s, whose %s it cannot take", id, c.bad)
			continue
		}
		validCompanies++
		require.Truef(t, ok, "one group per company: %s has none", id)
		require.Equal(t, c.name, g.Name, "group %s: name", id)
		require.Equal(t, "company", g.Type, "group %s: type", id)
		require.Empty(t, g.Parent, "group %s: top level", id)
		require.Equal(t, c.creditCode, g.Attrs["social_credit_code"], "group %s: social_credit_code", id)
		if strings.Contains(g.Name, "／") {
			slashed++
		}
	}
	require.Len(t, st.Groups, validCompanies, "one group per company, nothing else")

	// The memberships the applications make, for the users whose account
	// and groups exist.
	held := map[string][]string{}
	for _, m := range st.Memberships {
		u, c := userOf[m.UserID], companyOf[m.GroupID]
		require.NotEmptyf(t, u, "membership of an unknown account %s", m.UserID)
		require.NotEmptyf(t, c, "membership of an unknown group %s", m.GroupID)
		held[u] = append(held[u], c)
	}
	for _, cs := range held {
		slices.Sort(cs)
	}
	wantHeld := map[string][]string{}
	for u, cs := range want.members {
		if want.memberOK(u) {
			wantHeld[u] = cs
		}
	}
	require.Equal(t, wantHeld, held, "memberships")

	// Each create the user centre applied made one of them: none repeated.
	sent := map[string]int{}
	applied := map[string]int{}
	lost := map[string]int{}
	for _, r := range b.uc.requests(t) {
		sent[r.Endpoint]++
		if r.Applied {
			applied[r.Endpoint]++
			if r.Status == 0 {
				lost[r.Endpoint]++
			}
		}
	}
	require.Equal(t, len(st.Accounts), applied["create-user"], "create-user applied once per account")
	require.Equal(t, len(st.Groups), applied["create-group"], "create-group applied once per group")

	// Nothing lost: every record's state.
	rows, err := b.pool.Query(context.Background(),
		`SELECT kind, record_id, status, last_error FROM sync_state WHERE target = 'usercenter'`)
	require.NoError(t, err)
	type state struct {
		status syncstatus.Status
		reason string
	}
	states := map[string]state{}
	for rows.Next() {
		var kind, id string
		var s state
		var reason *string
		require.NoError(t, rows.Scan(&kind, &id, &s.status, &reason))
		s.reason = deref(reason)
		states[kind+"/"+id] = s
	}
	require.NoError(t, rows.Err())
	check := func(ref, bad string, blocked bool) {
		s, ok := states[ref]
		require.Truef(t, ok, "nothing lost: %s has no sync state", ref)
		switch {
		case blocked:
			require.Equalf(t, syncstatus.Blocked, s.status, "%s waits for a parent: %s", ref, s.reason)
			require.Containsf(t, s.reason, "waits for", "%s: the reason names the parent", ref)
		case bad != "":
			require.Equalf(t, syncstatus.Dead, s.status, "%s is invalid for the user centre", ref)
			require.Containsf(t, s.reason, bad+": ", "%s: the reason names the field", ref)
		default:
			require.Equalf(t, syncstatus.Synced, s.status, "nothing lost: %s is %s (%s)", ref, s.status, s.reason)
		}
	}
	for id, u := range want.users {
		check("account/"+id, u.bad, false)
		check("membership/"+id, "", !want.memberOK(id))
	}
	for id, c := range want.companies {
		check("group/"+id, c.bad, false)
	}

	var memberships int
	for _, cs := range held {
		memberships += len(cs)
	}
	stats := b.uc.stats(t)
	faults := maps.Clone(stats.Faults)
	delete(faults, simkit.FaultLatency)
	t.Logf("%s: user centre holds %d accounts (%d disabled) for %d users, %d groups (%d named with ／) for %d companies, %d memberships of %d users; "+
		"create-user sent %d, applied %d (%d answers lost), create-group sent %d, applied %d (%d answers lost); lookups: %d get-user-by-sys-attr, %d list-child-groups; duplicates: none; faults %v",
		b.name, len(st.Accounts), disabled, len(want.users), len(st.Groups), slashed, len(want.companies), memberships, len(held),
		sent["create-user"], applied["create-user"], lost["create-user"], sent["create-group"], applied["create-group"], lost["create-group"],
		sent["get-user-by-sys-attr"], sent["list-child-groups"], faults)
}
