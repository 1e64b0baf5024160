package statuspage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/statuspage"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const adminToken = "test-admin-token-0123456789abcdef"

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	pool   *pgxpool.Pool
	reg    *target.Registry
	ctl    *control.Controller
	srv    *httptest.Server
	client *http.Client
	clock  *clock
	cfg    statuspage.Config
}

// shadowTarget is a second target, defined here to show targets side by
// side: one kind, shadow_user, read from the users table. Its client does
// nothing; nothing is pushed in these tests.
const shadowTarget target.Name = "shadow"

// shadowUser is the shadow target's body of a user.
type shadowUser struct {
	ID    string `json:"channel_user_id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

func newShadowTarget() *target.Target {
	k := &target.Kind{
		Target: shadowTarget, Name: "shadow_user", Plural: "shadow_users", IDField: "channel_user_id", Source: "user",
		VersionsSQL: "SELECT channel_user_id AS record_id, updated_at FROM users",
		Affected:    map[string]target.AffectedFunc{"user": target.Identity},
	}
	build := func(u dbsqlc.User) *target.Built {
		return k.Finish(&target.Built{
			Ref: k.Ref(u.ChannelUserID), Body: shadowUser{ID: u.ChannelUserID, Name: u.Name, Phone: u.Phone}, UpdatedAt: u.UpdatedAt,
		}, nil)
	}
	k.Load = func(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
		rows, err := dbsqlc.New(db).UsersByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]*target.Built, len(rows))
		for _, u := range rows {
			out[u.ChannelUserID] = build(u)
		}
		return out, nil
	}
	k.Page = func(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
		rows, err := dbsqlc.New(db).UsersPage(ctx, dbsqlc.UsersPageParams{After: after, PageSize: size})
		if err != nil {
			return nil, err
		}
		out := make([]*target.Built, len(rows))
		for i, u := range rows {
			out[i] = build(u)
		}
		return out, nil
	}
	return &target.Target{Name: shadowTarget, Kinds: []*target.Kind{k}, Client: noopClient{}}
}

// noopClient is a target.Client that is never called.
type noopClient struct{}

var errNoop = errors.New("noop client: nothing is sent in these tests")

func (noopClient) Create(context.Context, target.Request) (target.Result, error) {
	return target.Result{}, errNoop
}

func (noopClient) Update(context.Context, target.Request) (target.Result, error) {
	return target.Result{}, errNoop
}

func (noopClient) Find(context.Context, target.Request) (target.Found, error) {
	return target.Found{}, errNoop
}

func (noopClient) Classify(error) target.Failure { return target.Failure{Class: target.Permanent} }

// newRegistry returns the registry of the channel target and the shadow
// target.
func newRegistry(t *testing.T) *target.Registry {
	t.Helper()
	ch, err := channel.New(channel.Settings{BaseURL: "http://127.0.0.1:1", AppKey: "k", Secret: "s"}, target.Deps{})
	require.NoError(t, err)
	reg, err := target.NewRegistry(ch, newShadowTarget())
	require.NoError(t, err)
	return reg
}

// targetStates are the connection states the tests' TargetStateFunc
// reports, relative to the clock.
func targetStates(clk *clock) statuspage.TargetStateFunc {
	return func(name target.Name) (string, time.Time, string) {
		switch name {
		case channel.Name:
			return "rate-limited", clk.Now().Add(-3 * time.Minute), "429 from /users"
		case shadowTarget:
			return "auth failing", clk.Now().Add(-7 * time.Minute), "401 for user 13912345699"
		}
		return "", time.Time{}, ""
	}
}

// setup starts a status page over a schema of its own holding the test
// data set (see seed), with the channel and shadow targets. configure, if
// given, adjusts the Config.
func setup(t *testing.T, configure ...func(*statuspage.Config)) *testBundle {
	t.Helper()
	schema := dbtest.New(t)
	pool := schema.Pool
	seed(t, pool)

	rc, err := jobs.NewClient(pool, nil, jobs.Config{})
	require.NoError(t, err)
	reg := newRegistry(t)
	ctl := control.New(control.Config{Pool: pool, Registry: reg, Client: rc})

	clk := &clock{t: time.Now()}
	cfg := statuspage.Config{
		Controller:      ctl,
		Pool:            pool,
		AdminToken:      adminToken,
		SessionTTL:      time.Hour,
		Now:             clk.Now,
		TargetStateFunc: targetStates(clk),
	}
	for _, f := range configure {
		f(&cfg)
	}
	h, err := statuspage.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &testBundle{pool: pool, reg: reg, ctl: ctl, srv: srv, client: &client, clock: clk, cfg: cfg}
}

// The data set: every channel kind, with personal data, and ten dead
// letters on the channel; one on the shadow target, which is held.
//
//	channel:
//	company  C1 synced; C2 dead (social_credit_code)
//	user     U1 synced; U2..U7 dead (id_card); U8 dead (phone); U9 never queued
//	task     T1 blocked on C2
//	application A1 never queued
//	payment  P1 dead (bank_account)
//	shadow:
//	shadow_user U1 synced (sh-U1); U3 dead (name); the rest never queued
//	hold     "points pool too low" since 8 minutes, next probe in 5, 2 probes
//
// Counts: company 2/1 in sync/1 dead; user 9/1/7 dead/1 pending; task 1
// blocked; application 1 pending; payment 1 dead; shadow_user 9/1/1 dead/7
// pending. Dead letters (dead or blocked): 11, newest failure first U2,
// U3, ... U8, C2, T1, P1, then shadow's U3.
var (
	userIDCard = map[string]string{
		"U1": "11010519491231002X", "U2": "440301199001011234", "U3": "440301199001021235",
		"U4": "440301199001031236", "U5": "440301199001041237", "U6": "440301199001051238",
		"U7": "440301199001061239", "U8": "440301199001071230", "U9": "440301199001081231",
	}
	userPhone = map[string]string{
		"U1": "13800138000", "U2": "13912345602", "U3": "13912345603", "U4": "13912345604",
		"U5": "13912345605", "U6": "13912345606", "U7": "13912345607", "U8": "12912345608", "U9": "13912345609",
	}
)

const (
	u2Name      = "李四光"
	bankAccount = "6222021234560123"
	legalPerson = "王建国"
	contactTel  = "13700001111"
)

func seed(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	exec(`INSERT INTO companies (channel_company_id, company_name, social_credit_code, legal_person, contact_phone)
		VALUES ('C1', '甲公司', '91350100M000100Y46', $1, $2), ('C2', '乙公司', '91350100M000100Y47', $1, $2)`, legalPerson, contactTel)
	for _, id := range []string{"U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9"} {
		name := "张三"
		if id == "U2" {
			name = u2Name
		}
		exec(`INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ($1, $2, $3, $4)`, id, name, userIDCard[id], userPhone[id])
	}
	exec(`INSERT INTO tasks (channel_task_id, channel_company_id, task_name, task_type, recruit_count, recruitment_start_time, recruitment_end_time)
		VALUES ('T1', 'C2', '搬运', '短期工', 3, now(), now() + interval '7 days')`)
	exec(`INSERT INTO applications (channel_application_id, channel_user_id, channel_task_id, applied_at) VALUES ('A1', 'U1', 'T1', now())`)
	exec(`INSERT INTO payments (channel_payment_id, payment_type, channel_user_id, channel_application_id, amount, payment_time, bank_account, payment_basis)
		VALUES ('P1', 'salary', 'U1', 'A1', 100.50, now(), $1, '{"description": "工资"}')`, bankAccount)

	// Synced records, read by their push after their row's last change.
	exec(`INSERT INTO sync_state (target, kind, record_id, status, remote_ref, accepted_at, source_updated_at, accepted_hash, last_verb)
		SELECT 'channel', 'company', channel_company_id, 'synced', 'ch-' || channel_company_id, now() - interval '1 hour', updated_at, '\x01', 'create'
		FROM companies WHERE channel_company_id = 'C1'`)
	exec(`INSERT INTO sync_state (target, kind, record_id, status, remote_ref, accepted_at, source_updated_at, accepted_hash, last_verb)
		SELECT 'channel', 'user', channel_user_id, 'synced', 'ch-' || channel_user_id, now() - interval '30 minutes', updated_at, '\x01', 'create'
		FROM users WHERE channel_user_id = 'U1'`)
	exec(`INSERT INTO sync_state (target, kind, record_id, status, remote_ref, accepted_at, source_updated_at, accepted_hash, last_verb)
		SELECT 'shadow', 'shadow_user', channel_user_id, 'synced', 'sh-' || channel_user_id, now() - interval '20 minutes', updated_at, '\x01', 'create'
		FROM users WHERE channel_user_id = 'U1'`)

	deadOn := func(tgt, kind, id, status, reason string, minutesAgo int, payload string) {
		t.Helper()
		var p any
		if payload != "" {
			p = payload
		}
		exec(`INSERT INTO sync_state (target, kind, record_id, status, attempts, last_error, first_failed_at, last_failed_at, last_payload)
			VALUES ($1, $2, $3, $4, 1, $5, now() - make_interval(mins => $6 + 60), now() - make_interval(mins => $6), $7::jsonb)`,
			tgt, kind, id, status, reason, minutesAgo, p)
	}
	dead := func(kind, id, status, reason string, minutesAgo int, payload string) {
		t.Helper()
		deadOn("channel", kind, id, status, reason, minutesAgo, payload)
	}
	u2Payload := `{"channel_user_id": "U2", "name": "` + u2Name + `", "id_card": "` + userIDCard["U2"] + `", "phone": "` + userPhone["U2"] + `"}`
	dead("user", "U2", "dead", "users/U2: id_card: check digit mismatch", 1, u2Payload)
	for i, id := range []string{"U3", "U4", "U5", "U6", "U7"} {
		dead("user", id, "dead", "users/"+id+": id_card: check digit mismatch", 2+i, "")
	}
	dead("user", "U8", "dead", "users/U8: phone: must start with 13 to 19", 7, "")
	dead("company", "C2", "dead", "companies/C2: social_credit_code: check digit mismatch", 8, "")
	exec(`INSERT INTO sync_state (target, kind, record_id, status, last_error, first_failed_at, last_failed_at, blocked_on_kind, blocked_on_id)
		VALUES ('channel', 'task', 'T1', 'blocked', 'tasks/T1: channel_company_id: waits for company/C2, which is dead', now() - interval '9 minutes', now() - interval '9 minutes', 'company', 'C2')`)
	dead("payment", "P1", "dead", "payments/P1: bank_account: channel rejected: account "+bankAccount+" closed", 10,
		`{"channel_payment_id": "P1", "bank_account": "`+bankAccount+`", "amount": "100.50"}`)

	deadOn("shadow", "shadow_user", "U3", "dead", "shadow_users/U3: name: refused by shadow", 11, "")

	exec(`INSERT INTO sync_attempt (target, kind, record_id, outcome, error, created_at) VALUES
		('channel', 'user', 'U2', 'failed', 'channel unreachable: connection refused', now() - interval '61 minutes'),
		('channel', 'user', 'U2', 'dead', 'users/U2: id_card: check digit mismatch', now() - interval '1 minute'),
		('shadow', 'shadow_user', 'U3', 'dead', 'shadow_users/U3: name: refused by shadow', now() - interval '11 minutes')`)

	exec(`INSERT INTO target_hold (target, reason, detail, since, next_probe_at, probes)
		VALUES ('shadow', 'points pool too low', 'pool short for user 13912345698', now() - interval '8 minutes', now() + interval '5 minutes', 2)`)
}

// reqOpt adjusts a request.
type reqOpt func(*http.Request)

func withBearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withCookie(c *http.Cookie) reqOpt {
	return func(r *http.Request) { r.AddCookie(c) }
}

func withHeader(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

func (b *testBundle) do(t *testing.T, method, path string, form url.Values, opts ...reqOpt) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b2, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b2)
}

func (b *testBundle) get(t *testing.T, path string, opts ...reqOpt) (*http.Response, string) {
	t.Helper()
	return b.do(t, http.MethodGet, path, nil, opts...)
}

func (b *testBundle) post(t *testing.T, path string, form url.Values, opts ...reqOpt) (*http.Response, string) {
	t.Helper()
	return b.do(t, http.MethodPost, path, form, opts...)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in through the form and returns the session cookie and the
// session's CSRF token.
func (b *testBundle) login(t *testing.T, opts ...reqOpt) (*http.Cookie, string) {
	t.Helper()
	resp, _ := b.post(t, "/login", url.Values{"token": {adminToken}}, opts...)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == statuspage.CookieName {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "login sets the session cookie")
	resp, body := b.get(t, "/", withCookie(cookie))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := csrfRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the page carries a CSRF token")
	return cookie, m[1]
}

// state returns a record's sync status on kind (kind names are unique
// across targets).
func (b *testBundle) state(t *testing.T, kind, id string) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT status FROM sync_state WHERE kind = $1 AND record_id = $2`, kind, id).Scan(&s))
	return s
}

// jobsFor counts River push jobs on queue that name id of kind (kind
// names are unique across targets; the job names the kind's target).
func (b *testBundle) jobsFor(t *testing.T, kind, id, queue string) int {
	t.Helper()
	k, err := b.reg.Kind(kind)
	require.NoError(t, err)
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'push' AND args->>'target' = $1 AND args->>'kind' = $2 AND queue = $4 AND args->'ids' ? $3`,
		string(k.Target), kind, id, queue).Scan(&n))
	return n
}

type replayLogRow struct {
	Actor, Filter string
	Count         int
}

func (b *testBundle) replayLog(t *testing.T) []replayLogRow {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT actor, filter, count FROM replay_log ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []replayLogRow
	for rows.Next() {
		var r replayLogRow
		require.NoError(t, rows.Scan(&r.Actor, &r.Filter, &r.Count))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}
