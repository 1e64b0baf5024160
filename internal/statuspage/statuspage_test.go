package statuspage_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/statuspage"
	"github.com/chansync/chansync/internal/target"
)

// secretsOfThePage are strings a page without credentials must never show:
// record ids, counts' markup, reasons.
var secretsOfThePage = []string{"U2", "P1", "C2", "data-kind", "data-col", "id_card", "check digit", "dead letter"}

func requireNothingShown(t *testing.T, body string) {
	t.Helper()
	for _, s := range secretsOfThePage {
		require.NotContains(t, body, s)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cookie, _ := b.login(t)

	tests := []struct {
		name     string
		method   string
		path     string
		opts     []reqOpt
		status   int
		location string // prefix of the Location header, if any
		contains []string
		hidden   bool // the body shows nothing of the data
	}{
		{name: "NoCredentialsRedirectsToLogin", path: "/", status: http.StatusSeeOther, location: "/login?next=%2F", hidden: true},
		{name: "NoCredentialsDeadLetters", path: "/dead?kind=user", status: http.StatusSeeOther, location: "/login?next=", hidden: true},
		{name: "NoCredentialsRecord", path: "/records/user/U2", status: http.StatusSeeOther, location: "/login?next=", hidden: true},
		{name: "NoCredentialsBulkConfirm", path: "/actions/replay-bulk?kind=user", status: http.StatusSeeOther, location: "/login", hidden: true},
		{name: "WrongBearerIs401", path: "/", opts: []reqOpt{withBearer("nope")}, status: http.StatusUnauthorized, hidden: true},
		{name: "OtherSchemeIs401", path: "/", opts: []reqOpt{withHeader("Authorization", "Basic "+adminToken)}, status: http.StatusUnauthorized, hidden: true},
		{name: "UnknownCookieRedirects", path: "/", opts: []reqOpt{withCookie(&http.Cookie{Name: statuspage.CookieName, Value: "forged"})}, status: http.StatusSeeOther, location: "/login", hidden: true},
		{name: "BearerSeesCounts", path: "/", opts: []reqOpt{withBearer(adminToken)}, status: http.StatusOK,
			contains: []string{`<tr data-kind="user">`, `data-col="dead"><a href="/dead?kind=user&amp;target=channel">7</a>`, `data-col="in-sync">1<`}},
		{name: "CookieSeesCounts", path: "/", opts: []reqOpt{withCookie(cookie)}, status: http.StatusOK,
			contains: []string{`data-col="dead"><a href="/dead?kind=payment&amp;target=channel">1</a>`, "admin session "}},
		{name: "StaticStyleIsPublic", path: "/static/style.css", status: http.StatusOK, contains: []string{".state"}},
		{name: "LoginFormIsPublic", path: "/login", status: http.StatusOK, contains: []string{`name="token"`}, hidden: true},
		{name: "LoggedInLoginFormRedirects", path: "/login?next=/dead", opts: []reqOpt{withCookie(cookie)}, status: http.StatusSeeOther, location: "/dead"},
		{name: "LoginNextStaysLocal", path: "/login?next=//evil.example/", opts: []reqOpt{withCookie(cookie)}, status: http.StatusSeeOther, location: "/"},
		{name: "ActionWithoutCredentialsIs401", method: http.MethodPost, path: "/actions/push", status: http.StatusUnauthorized, hidden: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			var form url.Values
			if method == http.MethodPost {
				form = url.Values{"kind": {"user"}, "id": {"U2"}}
			}
			resp, body := b.do(t, method, tt.path, form, tt.opts...)
			require.Equal(t, tt.status, resp.StatusCode, body)
			if tt.location != "" {
				require.True(t, strings.HasPrefix(resp.Header.Get("Location"), tt.location), resp.Header.Get("Location"))
			}
			if tt.location == "/" {
				require.Equal(t, "/", resp.Header.Get("Location"))
			}
			for _, s := range tt.contains {
				require.Contains(t, body, s)
			}
			if tt.hidden {
				requireNothingShown(t, body)
			}
			if !strings.HasPrefix(tt.path, "/static/") {
				require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			}
		})
	}
	require.Equal(t, "dead", b.state(t, "user", "U2"), "a refused push changes nothing")
	require.Empty(t, b.replayLog(t))
}

func TestLogin(t *testing.T) {
	t.Parallel()

	t.Run("WrongTokenIs401WithoutHint", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tok := range []string{"", "wrong", adminToken + "x", adminToken[:len(adminToken)-1]} {
			resp, body := b.post(t, "/login", url.Values{"token": {tok}})
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			require.Empty(t, resp.Cookies())
			require.Contains(t, body, "Login failed.")
			require.NotContains(t, body, adminToken)
			requireNothingShown(t, body)
		}
	})

	t.Run("CookieIsHttpOnlyStrictAndExpires", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/login", url.Values{"token": {adminToken}, "next": {"/dead?kind=user"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/dead?kind=user", resp.Header.Get("Location"))
		c := resp.Cookies()[0]
		require.Equal(t, statuspage.CookieName, c.Name)
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, c.SameSite)
		require.False(t, c.Secure, "plain HTTP")
		require.Equal(t, int(time.Hour.Seconds()), c.MaxAge)
		require.Len(t, c.Value, 43, "32 random bytes, base64url")
	})

	t.Run("CookieIsSecureBehindTLSProxy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/login", url.Values{"token": {adminToken}}, withHeader("X-Forwarded-Proto", "https"))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.True(t, resp.Cookies()[0].Secure)
	})

	t.Run("ExpiredSessionIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		b.clock.Advance(time.Hour + time.Second)
		resp, body := b.get(t, "/", withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"))
		requireNothingShown(t, body)
		resp, _ = b.post(t, "/actions/replay", url.Values{"kind": {"user"}, "id": {"U2"}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "dead", b.state(t, "user", "U2"))
	})

	t.Run("LogoutEndsTheSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, _ := b.post(t, "/logout", url.Values{"csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, -1, resp.Cookies()[0].MaxAge)
		resp, _ = b.get(t, "/", withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	})
}

func TestUnsetTokenTurnsThePageOff(t *testing.T) {
	t.Parallel()
	h, err := statuspage.New(statuspage.Config{})
	require.NoError(t, err)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/", nil),
		httptest.NewRequest(http.MethodGet, "/login", nil),
		httptest.NewRequest(http.MethodGet, "/dead", nil),
		httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("token=")),
		httptest.NewRequest(http.MethodPost, "/actions/replay", strings.NewReader("kind=user&id=U2")),
	} {
		r.Header.Set("Authorization", "Bearer ")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusNotFound, w.Code, r.URL.Path)
		require.Contains(t, w.Body.String(), "status page off")
	}
}

func TestNewNeedsControllerPoolAndRegistry(t *testing.T) {
	t.Parallel()
	_, err := statuspage.New(statuspage.Config{AdminToken: "x"})
	require.ErrorIs(t, err, statuspage.ErrConfig)
	b := setup(t)
	_, err = statuspage.New(statuspage.Config{AdminToken: "x", Controller: b.ctl})
	require.ErrorIs(t, err, statuspage.ErrConfig)
	_, err = statuspage.New(statuspage.Config{AdminToken: "x", Pool: b.pool, Controller: control.New(control.Config{Pool: b.pool})})
	require.ErrorIs(t, err, statuspage.ErrConfig, "a controller without a registry")
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cookie, csrf := b.login(t)
	other, otherCSRF := b.login(t)
	require.NotEqual(t, csrf, otherCSRF)
	_ = other

	tests := []struct {
		name   string
		path   string
		form   url.Values
		opts   []reqOpt
		status int
	}{
		{name: "NoCredentials", form: url.Values{"csrf": {csrf}}, status: http.StatusUnauthorized},
		{name: "SessionWithoutToken", opts: []reqOpt{withCookie(cookie)}, status: http.StatusForbidden},
		{name: "SessionWrongToken", form: url.Values{"csrf": {"x" + csrf[1:]}}, opts: []reqOpt{withCookie(cookie)}, status: http.StatusForbidden},
		{name: "SessionOtherSessionsToken", form: url.Values{"csrf": {otherCSRF}}, opts: []reqOpt{withCookie(cookie)}, status: http.StatusForbidden},
		{name: "CrossSiteFetchMetadata", form: url.Values{"csrf": {csrf}}, opts: []reqOpt{withCookie(cookie), withHeader("Sec-Fetch-Site", "cross-site")}, status: http.StatusForbidden},
		{name: "SameSiteOtherOrigin", form: url.Values{"csrf": {csrf}}, opts: []reqOpt{withCookie(cookie), withHeader("Sec-Fetch-Site", "same-site")}, status: http.StatusForbidden},
		{name: "ForeignOrigin", form: url.Values{"csrf": {csrf}}, opts: []reqOpt{withCookie(cookie), withHeader("Origin", "http://evil.example")}, status: http.StatusForbidden},
		{name: "WrongBearer", opts: []reqOpt{withBearer("nope")}, status: http.StatusUnauthorized},
		{name: "BearerCrossSite", opts: []reqOpt{withBearer(adminToken), withHeader("Sec-Fetch-Site", "cross-site")}, status: http.StatusForbidden},
		{name: "BulkReplayWithoutToken", path: "/actions/replay-bulk", form: url.Values{"kind": {"user"}}, opts: []reqOpt{withCookie(cookie)}, status: http.StatusForbidden},
		{name: "PushWithoutToken", path: "/actions/push", opts: []reqOpt{withCookie(cookie)}, status: http.StatusForbidden},
		{name: "LogoutWithoutToken", path: "/logout", opts: []reqOpt{withCookie(cookie)}, status: http.StatusForbidden},
		{name: "LoginCrossSite", path: "/login", form: url.Values{"token": {adminToken}}, opts: []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, status: http.StatusForbidden},
		{name: "ReplayIsPostOnly", path: "/actions/replay?kind=user&id=U3", status: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.path
			if path == "" {
				path = "/actions/replay"
			}
			form := url.Values{"kind": {"user"}, "id": {"U3"}}
			for k, v := range tt.form {
				form[k] = v
			}
			method := http.MethodPost
			if tt.status == http.StatusMethodNotAllowed {
				method, form = http.MethodGet, nil
			}
			resp, body := b.do(t, method, path, form, tt.opts...)
			require.Equal(t, tt.status, resp.StatusCode, body)
			requireNothingShown(t, body)
			require.Empty(t, resp.Cookies(), "no login happened")
		})
	}

	t.Cleanup(func() {
		// After every refusal, nothing has moved.
		require.Equal(t, "dead", b.state(t, "user", "U3"))
		require.Zero(t, b.jobsFor(t, "user", "U3", "bulk")+b.jobsFor(t, "user", "U3", "events"))
		require.Empty(t, b.replayLog(t))
		resp, _ := b.get(t, "/", withCookie(cookie))
		require.Equal(t, http.StatusOK, resp.StatusCode, "the session survived the refused logout")
	})
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *statuspage.Config) { c.PageSize = 3 })

	tests := []struct {
		name    string
		query   string
		status  int
		total   string // the count shown, "" for none
		shown   []string
		notIn   []string
		page    string
		hasNext bool
		hasPrev bool
		say     string // a sentence of the page, if any
	}{
		{name: "AllFirstPage", query: "", total: "11", shown: []string{"U2", "U3", "U4"}, notIn: []string{"U5", "P1"}, page: "Page 1 of 4", hasNext: true},
		{name: "AllSecondPage", query: "page=2", total: "11", shown: []string{"U5", "U6", "U7"}, notIn: []string{"U2", "U8"}, page: "Page 2 of 4", hasNext: true, hasPrev: true},
		{name: "AllLastPage", query: "page=4", total: "11", shown: []string{"P1", `U3" data-target="shadow`}, notIn: []string{"T1", `U3" data-target="channel`}, page: "Page 4 of 4", hasPrev: true},
		{name: "PastTheEnd", query: "page=9", total: "11", notIn: []string{"U2", "P1"}, page: "Page 9 of 4", hasPrev: true},
		{name: "TargetChannel", query: "target=channel", total: "10", shown: []string{"U2"}, notIn: []string{`U3" data-target="shadow`}, page: "Page 1 of 4", hasNext: true, say: "dead letters on channel."},
		{name: "TargetShadow", query: "target=shadow", total: "1", shown: []string{`U3" data-target="shadow" data-kind="shadow_user`}, notIn: []string{"U2", `U3" data-target="channel`}, say: "dead letter on shadow."},
		{name: "KindUser", query: "kind=user", total: "7", shown: []string{"U2"}, notIn: []string{"C2", "T1", "P1"}, page: "Page 1 of 3", hasNext: true, say: "on channel of kind user."},
		{name: "KindNamesItsTarget", query: "kind=shadow_user", total: "1", shown: []string{`U3" data-target="shadow`}, notIn: []string{"U2"}},
		{name: "TargetAndKind", query: "target=channel&kind=task", total: "1", shown: []string{"T1"}, notIn: []string{"U2"}},
		{name: "KindTaskIncludesBlocked", query: "kind=task", total: "1", shown: []string{"T1"}, notIn: []string{"U2"}},
		{name: "KindWithoutDeadLetters", query: "kind=application", status: http.StatusOK, notIn: []string{"U2"}},
		{name: "Reason", query: "reason=phone", total: "1", shown: []string{"U8"}, notIn: []string{"U2"}},
		{name: "ReasonIgnoresCase", query: "kind=user&reason=ID_CARD", total: "6", shown: []string{"U2"}, notIn: []string{"U8"}, page: "Page 1 of 2", hasNext: true},
		{name: "ReasonAndKind", query: "kind=company&reason=check+digit", total: "1", shown: []string{"C2"}, notIn: []string{"U2"}},
		{name: "ReasonIsLiteral", query: "reason=id%25card", status: http.StatusOK, notIn: []string{"U2"}},
		{name: "ReasonAcrossTargets", query: "reason=REFUSED", total: "1", shown: []string{`U3" data-target="shadow`}},
		{name: "UnknownKind", query: "kind=bogus", status: http.StatusBadRequest, say: `unknown kind &#34;bogus&#34;: want one of company, user, shadow_user, task, application, payment`},
		{name: "UnknownTarget", query: "target=bogus", status: http.StatusBadRequest, say: `unknown or disabled target &#34;bogus&#34;: want one of channel, shadow`},
		{name: "KindOfAnotherTarget", query: "target=shadow&kind=user", status: http.StatusBadRequest, say: `kind &#34;user&#34; is a kind of channel, not of shadow`},
		{name: "BadPage", query: "page=0", status: http.StatusBadRequest},
		{name: "NotANumber", query: "page=x", status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := b.get(t, "/dead?"+tt.query, withBearer(adminToken))
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			require.Equal(t, status, resp.StatusCode, body)
			if tt.say != "" {
				require.Contains(t, body, tt.say)
			}
			if status != http.StatusOK {
				return
			}
			if tt.total == "" {
				require.Contains(t, body, "No dead letters")
			} else {
				require.Contains(t, body, `id="total">`+tt.total+`<`)
			}
			for _, id := range tt.shown {
				require.Contains(t, body, `data-id="`+id+`"`)
			}
			for _, id := range tt.notIn {
				require.NotContains(t, body, `data-id="`+id+`"`)
			}
			if tt.page != "" {
				require.Contains(t, body, tt.page)
			}
			require.Equal(t, tt.hasNext, strings.Contains(body, `id="next"`))
			require.Equal(t, tt.hasPrev, strings.Contains(body, `id="prev"`))
		})
	}

	t.Run("RowNamesTargetKindFieldReasonAttemptsTimesAndLink", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/dead?kind=user&reason=phone", withBearer(adminToken))
		require.Contains(t, body, `<tr data-id="U8" data-target="channel" data-kind="user">`)
		require.Contains(t, body, `<td>channel</td>`)
		require.Contains(t, body, `<a class="record" href="/records/user/U8">U8</a>`)
		require.Contains(t, body, `<code>phone</code>`)
		require.Contains(t, body, "users/U8: phone: must start with 13 to 19")
		require.Contains(t, body, `<td class="num">1</td>`)
		require.Regexp(t, `<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ</td>\s*<td>\d{4}-`, body)
		require.Contains(t, body, `href="/actions/replay-bulk?kind=user&amp;reason=phone&amp;target=channel"`)
		require.Contains(t, body, `<input type="hidden" name="target" value="channel">`, "the replay button names the target")
		require.Contains(t, body, `<option value="channel" selected>channel</option>`, "the kind selects its target")
	})

	t.Run("RowOfAnotherTargetLinksItsSource", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/dead?target=shadow", withBearer(adminToken))
		require.Contains(t, body, `<a class="record" href="/records/user/U3">U3</a>`, "a shadow_user is a user")
		require.Contains(t, body, `<code>name</code>`, "the field of a plural with an underscore")
		require.Contains(t, body, `<input type="hidden" name="target" value="shadow">`)
		require.Contains(t, body, `<input type="hidden" name="kind" value="shadow_user">`)
		require.Contains(t, body, `href="/actions/replay-bulk?target=shadow"`)
		require.Contains(t, body, `<li data-target="shadow"><span class="target">shadow</span> <a href="/dead?reason=name%3A&#43;refused&#43;by&#43;shadow&amp;target=shadow">name: refused by shadow</a>`)
		require.NotContains(t, body, "id_card: check digit", "reasons of the channel are not listed")
	})

	t.Run("ReasonsAreMasked", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/dead?kind=payment", withBearer(adminToken))
		require.Contains(t, body, "P1")
		require.NotContains(t, body, bankAccount)
		require.Contains(t, body, mask.BankAccount(bankAccount))
	})

	t.Run("OverviewGroupsReasonsWithTheirTarget", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `<tr data-target="channel"><td>channel</td><td><a href="/dead?reason=id_card%3A&#43;check&#43;digit&#43;mismatch&amp;target=channel">id_card: check digit mismatch</a></td><td class="num">6</td>`)
		require.Contains(t, body, `<tr data-target="shadow"><td>shadow</td><td><a href="/dead?reason=name%3A&#43;refused&#43;by&#43;shadow&amp;target=shadow">name: refused by shadow</a></td><td class="num">1</td>`)
	})
}

// pointsStub returns a PointsFunc that answers for U1 and fails for
// anything else with an error holding a phone number and a signed URL.
func pointsStub(at time.Time) statuspage.PointsFunc {
	return func(_ context.Context, userID string) (*statuspage.Points, error) {
		if userID != "U1" {
			return nil, errors.New("points: GET https://apihub.example.com/points/users/balance?client_user_id=" + userID +
				"&sig=S3CR3T: user with phone 13912345677 unknown")
		}
		return &statuspage.Points{BalanceCents: 12345, Entries: []statuspage.LedgerEntry{
			{At: at, RecordType: "recharge", ChangeCents: 10000, BalanceAfter: 12345, Reason: "grant G1 for 13912345601"},
			{At: at.Add(-time.Hour), RecordType: "spend", ChangeCents: -55, BalanceAfter: 2345, Reason: "coffee"},
		}}, nil
	}
}

func TestRecordDetail(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 4, 10, 2, 0, 0, time.UTC)
	b := setup(t, func(c *statuspage.Config) { c.PointsFunc = pointsStub(at) })

	t.Run("InSyncShowsTheAcceptedPayload", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		k, err := b.reg.Kind("user")
		require.NoError(t, err)
		built, err := k.Load(ctx, b.pool, []string{"U1"})
		require.NoError(t, err)
		_, err = b.pool.Exec(ctx, `UPDATE sync_state SET accepted_hash = $1, last_payload = NULL WHERE target = 'channel' AND kind = 'user' AND record_id = 'U1'`, built["U1"].Hash)
		require.NoError(t, err)
		_, body := b.get(t, "/records/user/U1", withBearer(adminToken))
		require.Contains(t, html.UnescapeString(body), `"id_card": "`+mask.IDCard(userIDCard["U1"])+`"`)
		require.NotContains(t, body, userIDCard["U1"])
	})

	t.Run("MasksPersonalData", func(t *testing.T) {
		t.Parallel()
		resp, body := b.get(t, "/records/user/U2", withBearer(adminToken))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, full := range []string{userIDCard["U2"], userPhone["U2"], u2Name} {
			require.NotContains(t, body, full)
		}
		require.Contains(t, body, mask.IDCard(userIDCard["U2"]))
		require.Contains(t, body, mask.Phone(userPhone["U2"]))
		require.Contains(t, body, mask.Name(u2Name))
		// The payload last sent, masked too.
		require.Contains(t, html.UnescapeString(body), `"id_card": "`+mask.IDCard(userIDCard["U2"])+`"`)
		// Status, reason, attempts with their errors.
		require.Contains(t, body, `id="status-user">dead<`)
		require.Contains(t, body, "users/U2: id_card: check digit mismatch")
		require.Contains(t, body, "channel unreachable: connection refused")
		require.Contains(t, body, `id="replay-user"`)
		require.Contains(t, body, `id="push-user"`)
	})

	t.Run("UserHasAPanelPerTarget", func(t *testing.T) {
		t.Parallel()
		resp, body := b.get(t, "/records/user/U3", withBearer(adminToken))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `<section class="panel" id="kind-user" data-target="channel" data-kind="user">`)
		require.Contains(t, body, `<section class="panel" id="kind-shadow_user" data-target="shadow" data-kind="shadow_user">`)
		require.Less(t, strings.Index(body, `id="kind-user"`), strings.Index(body, `id="kind-shadow_user"`), "registry order")
		require.Contains(t, body, `id="status-user">dead<`)
		require.Contains(t, body, `id="status-shadow_user">dead<`)
		require.Contains(t, body, `<p class="hold" id="held-shadow_user">shadow is held: <strong class="hold-reason">points pool too low</strong>`)
		require.NotContains(t, body, `id="held-user"`, "the channel is not held")
		require.Contains(t, body, `id="last-error-shadow_user">shadow_users/U3: name: refused by shadow<`)
		require.Contains(t, body, `id="replay-shadow_user"`)
		require.Contains(t, body, `id="push-shadow_user"`)
		require.Contains(t, body, `<input type="hidden" name="target" value="shadow">`)
		// Each panel lists its own attempts.
		shadow := body[strings.Index(body, `id="kind-shadow_user"`):]
		require.Contains(t, shadow, "shadow_users/U3: name: refused by shadow</td>")

		_, body = b.get(t, "/records/user/U1", withBearer(adminToken))
		require.Contains(t, body, `id="status-user">in sync<`)
		require.Contains(t, body, `id="status-shadow_user">in sync<`)
		require.Contains(t, body, `id="ref-user"><code>ch-U1</code>`)
		require.Contains(t, body, `id="ref-shadow_user"><code>sh-U1</code>`, "the target's own id")
		require.NotContains(t, body, `id="replay-`, "nothing to replay")

		_, body = b.get(t, "/records/user/U9", withBearer(adminToken))
		require.Contains(t, body, `id="status-user">not queued yet<`)
		require.Contains(t, body, `id="status-shadow_user">not queued yet<`)
	})

	t.Run("UserShowsPoints", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/user/U1", withBearer(adminToken))
		require.Contains(t, body, `<section id="points">`)
		require.Contains(t, body, `id="points-balance">123.45<`)
		require.Contains(t, body, `<td>2025-03-04 10:02:00Z</td><td>recharge</td><td class="num">&#43;100.00</td><td class="num">123.45</td>`)
		require.Contains(t, body, `<td>spend</td><td class="num">-0.55</td><td class="num">23.45</td>`)
		require.NotContains(t, body, "13912345601", "the ledger's reasons are masked")
		require.Contains(t, body, mask.Phone("13912345601"))
	})

	t.Run("PointsErrorIsShownMaskedAndShort", func(t *testing.T) {
		t.Parallel()
		resp, body := b.get(t, "/records/user/U2", withBearer(adminToken))
		require.Equal(t, http.StatusOK, resp.StatusCode, "the page survives")
		require.Contains(t, body, `id="points-error">Could not read the points: points: GET https://apihub.example.com/…`)
		require.NotContains(t, body, "S3CR3T")
		require.NotContains(t, body, "13912345677")
		require.Contains(t, body, `id="status-user">dead<`, "the rest of the page is there")
	})

	t.Run("OnlyUsersHavePoints", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/company/C1", withBearer(adminToken))
		require.NotContains(t, body, `id="points"`)
	})

	t.Run("MasksBankAccount", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/payment/P1", withBearer(adminToken))
		require.NotContains(t, body, bankAccount)
		require.Contains(t, body, mask.BankAccount(bankAccount))
		require.Contains(t, body, "100.50")
		require.NotContains(t, body, `id="kind-shadow_user"`, "the shadow target takes no payments")
	})

	t.Run("MasksCompanyPeople", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/company/C1", withBearer(adminToken))
		require.NotContains(t, body, legalPerson)
		require.NotContains(t, body, contactTel)
		require.Contains(t, body, mask.Name(legalPerson))
		require.Contains(t, body, `id="status-company">in sync<`)
		require.Contains(t, body, `<code>ch-C1</code>`, "the channel's id")
		require.NotContains(t, body, `id="replay-company"`, "nothing to replay")
	})

	t.Run("BlockedLinksItsParent", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/task/T1", withBearer(adminToken))
		require.Contains(t, body, `<a href="/records/company/C2">company/C2</a>`)
	})

	t.Run("UnknownRecordIs404", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/records/user/NOPE", "/records/bogus/U2", "/records/users/U2", "/records/shadow_user/U3"} {
			resp, _ := b.get(t, path, withBearer(adminToken))
			require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		}
	})

	t.Run("ChangedRowIsNotInSync", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(context.Background(), `UPDATE users SET phone = '13911112222' WHERE channel_user_id = 'U1'`)
		require.NoError(t, err)
		_, body := b.get(t, "/records/user/U1", withBearer(adminToken))
		require.Contains(t, body, `id="status-user">changed since last push<`)
		require.Contains(t, body, `id="status-shadow_user">changed since last push<`)
	})

	t.Run("DeletedRowKeepsItsState", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.pool.Exec(context.Background(), `DELETE FROM payments WHERE channel_payment_id = 'P1'`)
		require.NoError(t, err)
		resp, body := b.get(t, "/records/payment/P1", withBearer(adminToken))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `id="status-payment">no local row<`)
		require.Contains(t, body, `id="replay-payment"`)
		require.NotContains(t, body, `id="push-payment"`, "nothing to push")
		require.NotContains(t, body, bankAccount)
	})
}

func TestActions(t *testing.T) {
	t.Parallel()

	t.Run("ReplayOneBySession", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, body := b.post(t, "/actions/replay", url.Values{"target": {"channel"}, "kind": {"user"}, "id": {"U2"}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/records/user/U2?n=1&notice=replay", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "user", "U2"))
		require.Equal(t, 1, b.jobsFor(t, "user", "U2", "bulk"))
		require.Equal(t, "dead", b.state(t, "user", "U3"), "only the one named")
		log := b.replayLog(t)
		require.Len(t, log, 1)
		require.Regexp(t, `^admin session [0-9a-f]{8}$`, log[0].Actor)
		require.NotContains(t, cookie.Value, strings.TrimPrefix(log[0].Actor, "admin session "))
		require.Equal(t, replayLogRow{Actor: log[0].Actor, Filter: "target=channel kind=user id=U2", Count: 1}, log[0])

		// The page it returns to says so, and the overview lists it.
		_, body = b.get(t, resp.Header.Get("Location"), withCookie(cookie))
		require.Contains(t, body, "Replayed 1 dead letter")
		require.Contains(t, body, `id="status-user">pending<`)
		_, body = b.get(t, "/", withCookie(cookie))
		require.Contains(t, body, "<code>target=channel kind=user id=U2</code>")
		require.Contains(t, body, log[0].Actor)
	})

	t.Run("ReplayOneOfAnotherTargetLeavesTheChannelAlone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, body := b.post(t, "/actions/replay", url.Values{"target": {"shadow"}, "kind": {"shadow_user"}, "id": {"U3"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/records/user/U3?n=1&notice=replay", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "shadow_user", "U3"))
		require.Equal(t, 1, b.jobsFor(t, "shadow_user", "U3", "bulk"))
		require.Equal(t, "dead", b.state(t, "user", "U3"), "the channel's U3 is another record")
		require.Zero(t, b.jobsFor(t, "user", "U3", "bulk"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "target=shadow kind=shadow_user id=U3", Count: 1}}, b.replayLog(t))
	})

	t.Run("ReplayOneByBearerNeedsNoCSRFToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, body := b.post(t, "/actions/replay", url.Values{"kind": {"payment"}, "id": {"P1"}, "back": {"/dead?kind=payment"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/dead?kind=payment&n=1&notice=replay", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "payment", "P1"))
		require.Equal(t, 1, b.jobsFor(t, "payment", "P1", "bulk"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "target=channel kind=payment id=P1", Count: 1}}, b.replayLog(t), "the kind names its target")
	})

	t.Run("ReplayReturnsOnlyToLocalPages", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/actions/replay", url.Values{"kind": {"user"}, "id": {"U2"}, "back": {"https://evil.example/"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/?n=1&notice=replay", resp.Header.Get("Location"))
	})

	t.Run("ReplayOfARecordInSyncDoesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/actions/replay", url.Values{"kind": {"user"}, "id": {"U1"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		_, body := b.get(t, resp.Header.Get("Location"), withBearer(adminToken))
		require.Contains(t, body, "Nothing replayed")
		require.Equal(t, "synced", b.state(t, "user", "U1"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "target=channel kind=user id=U1", Count: 0}}, b.replayLog(t))
	})

	t.Run("ReplayBulkOfAKindShowsTheCountFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, body := b.get(t, "/actions/replay-bulk?kind=user", withCookie(cookie))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Replay 7 dead letters on channel of kind user?")
		require.Contains(t, body, `<input type="hidden" name="target" value="channel">`, "the confirmation carries the target")
		require.Contains(t, body, `<a href="/records/user/U2">channel user/U2</a>`)
		require.Equal(t, "dead", b.state(t, "user", "U2"), "the confirmation changes nothing")

		resp, body = b.post(t, "/actions/replay-bulk", url.Values{"target": {"channel"}, "kind": {"user"}, "reason": {""}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/dead?kind=user&n=7&notice=replay&target=channel", resp.Header.Get("Location"))
		for _, id := range []string{"U2", "U3", "U4", "U5", "U6", "U7", "U8"} {
			require.Equal(t, "pending", b.state(t, "user", id))
			require.Equal(t, 1, b.jobsFor(t, "user", id, "bulk"))
		}
		require.Equal(t, "dead", b.state(t, "payment", "P1"))
		require.Equal(t, "dead", b.state(t, "shadow_user", "U3"))
		log := b.replayLog(t)
		require.Len(t, log, 1)
		require.Equal(t, "target=channel kind=user", log[0].Filter)
		require.Equal(t, 7, log[0].Count)
	})

	t.Run("ReplayBulkOfATarget", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, body := b.get(t, "/actions/replay-bulk?target=shadow", withBearer(adminToken))
		require.Contains(t, body, "Replay 1 dead letter on shadow?")
		require.Contains(t, body, `<a href="/records/user/U3">shadow shadow_user/U3</a>`)
		resp, _ := b.post(t, "/actions/replay-bulk", url.Values{"target": {"shadow"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/dead?n=1&notice=replay&target=shadow", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "shadow_user", "U3"))
		require.Equal(t, "dead", b.state(t, "user", "U3"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "target=shadow", Count: 1}}, b.replayLog(t))
	})

	t.Run("ReplayBulkOfAReason", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, body := b.get(t, "/actions/replay-bulk?reason=check+digit", withBearer(adminToken))
		require.Contains(t, body, "Replay 7 dead letters with a reason containing “check digit”?")
		resp, _ := b.post(t, "/actions/replay-bulk", url.Values{"reason": {"check digit"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "pending", b.state(t, "company", "C2"))
		require.Equal(t, "pending", b.state(t, "user", "U7"))
		require.Equal(t, "dead", b.state(t, "user", "U8"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "reason=check digit", Count: 7}}, b.replayLog(t))
	})

	t.Run("ReplayBulkOfEverythingIsExplicit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/actions/replay-bulk", url.Values{}, withBearer(adminToken))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		resp, _ = b.get(t, "/actions/replay-bulk", withBearer(adminToken))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		_, body := b.get(t, "/actions/replay-bulk?all=1", withBearer(adminToken))
		require.Contains(t, body, "Replay 11 dead letters (all targets)?")
		resp, _ = b.post(t, "/actions/replay-bulk", url.Values{"all": {"1"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "pending", b.state(t, "task", "T1"))
		require.Equal(t, "pending", b.state(t, "shadow_user", "U3"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "all", Count: 11}}, b.replayLog(t))
	})

	t.Run("PushOneNow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, body := b.post(t, "/actions/push", url.Values{"target": {"channel"}, "kind": {"user"}, "id": {"U9"}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/records/user/U9?n=1&notice=push", resp.Header.Get("Location"))
		require.Equal(t, 1, b.jobsFor(t, "user", "U9", "events"))
		require.Zero(t, b.jobsFor(t, "shadow_user", "U9", "events"), "only the kind named")
		log := b.replayLog(t)
		require.Len(t, log, 1)
		require.Equal(t, "push target=channel kind=user ids=U9", log[0].Filter)
		require.Equal(t, 1, log[0].Count)
	})

	t.Run("PushOneOfAnotherTarget", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, body := b.post(t, "/actions/push", url.Values{"target": {"shadow"}, "kind": {"shadow_user"}, "id": {"U3"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/records/user/U3?n=1&notice=push", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "shadow_user", "U3"))
		require.Equal(t, 1, b.jobsFor(t, "shadow_user", "U3", "events"))
		require.Equal(t, "dead", b.state(t, "user", "U3"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "push target=shadow kind=shadow_user ids=U3", Count: 1}}, b.replayLog(t))
	})

	t.Run("PushOfADeadLetterPutsItBackToPending", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/actions/push", url.Values{"kind": {"user"}, "id": {"U3"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "pending", b.state(t, "user", "U3"))
		require.Equal(t, 1, b.jobsFor(t, "user", "U3", "events"))
	})

	t.Run("PushWithoutARowIs404", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, _ := b.post(t, "/actions/push", url.Values{"kind": {"user"}, "id": {"NOPE"}}, withBearer(adminToken))
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Empty(t, b.replayLog(t))
	})

	t.Run("BadFormsAre400NamingTheRule", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tc := range []struct {
			form url.Values
			say  string
		}{
			{url.Values{"kind": {"bogus"}, "id": {"U2"}}, `unknown kind &#34;bogus&#34;: want one of`},
			{url.Values{"id": {"U2"}}, "kind is required: want one of company, user, shadow_user"},
			{url.Values{"kind": {"user"}}, "id is required"},
			{url.Values{"kind": {"user"}, "id": {"  "}}, "id is required"},
			{url.Values{"target": {"bogus"}, "kind": {"user"}, "id": {"U2"}}, `unknown or disabled target &#34;bogus&#34;: want one of channel, shadow`},
			{url.Values{"target": {"shadow"}, "kind": {"user"}, "id": {"U2"}}, `kind &#34;user&#34; is a kind of channel, not of shadow`},
		} {
			for _, path := range []string{"/actions/replay", "/actions/push"} {
				resp, body := b.post(t, path, tc.form, withBearer(adminToken))
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, path+" "+tc.form.Encode())
				require.Contains(t, body, tc.say, path+" "+tc.form.Encode())
			}
		}
		for _, q := range []string{"kind=bogus", "target=bogus", "target=bogus&all=1"} {
			resp, body := b.post(t, "/actions/replay-bulk?"+q, mustParseQuery(t, q), withBearer(adminToken))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
			require.Contains(t, body, "want one of", q)
			resp, _ = b.get(t, "/actions/replay-bulk?"+q, withBearer(adminToken))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
		}
		require.Empty(t, b.replayLog(t))
		require.Equal(t, "dead", b.state(t, "user", "U2"))
	})
}

func mustParseQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	require.NoError(t, err)
	return v
}

func TestOverview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.ctl.EnqueueAll(context.Background(), control.AllOptions{Kinds: b.kinds(t, "user", "shadow_user")})
	require.NoError(t, err)

	_, body := b.get(t, "/", withBearer(adminToken))
	for _, s := range []string{
		`<tr data-kind="company">`,
		`data-col="total">9<`, // users
		`data-col="pending">1<`,
		`<tr data-kind="task">`,
		`data-col="blocked"><a href="/dead?kind=task&amp;target=channel">1</a>`,
		`id="channel-status">rate-limited<`,
		"since ", "(3m ago)", "429 from /users",
		"Run #", "(enqueue all)",
		`<tr data-target="channel" data-kind="user"><td>channel</td><td>user</td><td class="num">9</td><td class="num">9</td>`,
		`<tr data-target="shadow" data-kind="shadow_user"><td>shadow</td><td>shadow_user</td><td class="num">9</td><td class="num">9</td>`,
		"No replay or push recorded yet.",
	} {
		require.Contains(t, body, s)
	}
	require.NotContains(t, body, userIDCard["U2"])
	require.NotContains(t, body, `id="mirror"`, "the mirror is off")

	t.Run("TargetsSideBySide", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/", withBearer(adminToken))
		channelAt := strings.Index(body, `<section class="target" id="target-channel" data-target="channel">`)
		shadowAt := strings.Index(body, `<section class="target" id="target-shadow" data-target="shadow">`)
		require.Positive(t, channelAt)
		require.Greater(t, shadowAt, channelAt, "a section per target, in registry order")
		channelPart, shadowPart := body[channelAt:shadowAt], body[shadowAt:]
		require.Contains(t, channelPart, `<tr data-kind="user">`)
		require.NotContains(t, channelPart, `data-kind="shadow_user"`)
		require.Contains(t, shadowPart, `<tr data-kind="shadow_user">`)
		require.NotContains(t, shadowPart, `<tr data-kind="user">`)
		require.Regexp(t, `<tr data-kind="shadow_user">\s*<th scope="row">shadow_user</th>\s*`+
			`<td class="num" data-col="total">9</td>\s*<td class="num" data-col="in-sync">1</td>\s*<td class="num" data-col="pending">7</td>`+
			`\s*<td class="num" data-col="retrying">0</td>\s*<td class="num" data-col="blocked">0</td>\s*`+
			`<td class="num bad" data-col="dead"><a href="/dead\?kind=shadow_user&amp;target=shadow">1</a></td>`, shadowPart)
		// Totals per target: the channel's 14 records, 9 of them dead.
		require.Regexp(t, `<tr data-kind="all">\s*<th scope="row">all</th>\s*<td class="num" data-col="total">14</td>`, channelPart)
		require.Regexp(t, `<td class="num" data-col="dead"><a href="/dead\?target=channel">9</a></td>`, channelPart)
		require.Regexp(t, `<tr data-kind="all">\s*<th scope="row">all</th>\s*<td class="num" data-col="total">9</td>`, shadowPart)

		require.Contains(t, channelPart, `id="channel-status">rate-limited<`)
		require.NotContains(t, channelPart, `class="hold"`, "the channel is not held")
		require.Contains(t, shadowPart, `id="shadow-status">auth failing<`)
		require.Contains(t, shadowPart, "(7m ago)")
		require.NotContains(t, shadowPart, "13912345699", "the connection's detail is masked")
		require.Contains(t, shadowPart, mask.Phone("13912345699"))
	})

	t.Run("HoldShowsReasonSinceAndNextProbe", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/", withBearer(adminToken))
		hold, err := b.ctl.Holds(context.Background())
		require.NoError(t, err)
		require.Len(t, hold, 1)
		require.Contains(t, body, `<p class="hold" role="status" id="shadow-hold">Held: <strong class="hold-reason">points pool too low</strong> since `+
			hold[0].Since.UTC().Format("2006-01-02 15:04:05Z")+` <span class="ago">(8m ago)</span>, next probe `+
			hold[0].NextProbeAt.UTC().Format("2006-01-02 15:04:05Z")+` <span class="ago">(in 4m)</span>; 2 probes found it still refusing.</p>`)
		require.Contains(t, body, mask.Phone("13912345698"))
		require.NotContains(t, body, "13912345698", "the hold's detail is masked")
	})

	t.Run("WithoutTargetStateOrBulkRun", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *statuspage.Config) {
			c.TargetStateFunc = nil
			c.BulkRunFunc = func(context.Context) (*statuspage.BulkRun, error) { return nil, nil }
		})
		_, body := b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `id="channel-status">unknown<`)
		require.Contains(t, body, `id="shadow-status">unknown<`)
		require.Contains(t, body, "No bulk run recorded.")
	})

	t.Run("BulkRunProgress", func(t *testing.T) {
		t.Parallel()
		now := time.Now()
		b := setup(t, func(c *statuspage.Config) {
			c.BulkRunFunc = func(context.Context) (*statuspage.BulkRun, error) {
				return &statuspage.BulkRun{ID: 7, Trigger: "schedule", StartedAt: now, EnqueuedAt: &now, Enqueued: 200, Done: 50, Pushed: 45, Dead: 5}, nil
			}
		})
		_, body := b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `Run #7 (schedule)`)
		require.Contains(t, body, `id="bulk-state">running<`)
		require.Contains(t, body, `<progress max="200" value="50">25%</progress>`)
	})

	t.Run("MirrorLastRun", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *statuspage.Config) { c.LastMirrorRunFunc = statuspage.RecordedMirrorRun(c.Pool) })
		_, body := b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `<section id="mirror">`)
		require.Contains(t, body, "No projects mirror run recorded.")

		now := b.clock.Now()
		_, err := b.pool.Exec(context.Background(), `INSERT INTO projects_mirror_run (trigger, started_at, finished_at, published, added, unpublished, republished)
			VALUES ('schedule', $1, $1, 3, 3, 0, 0), ('schedule', $2, $3, 12, 2, 1, 1)`,
			now.Add(-2*time.Hour), now.Add(-5*time.Minute), now.Add(-4*time.Minute))
		require.NoError(t, err)
		_, body = b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `id="mirror-state">finished<`)
		require.Contains(t, body, "(5m ago)")
		require.Contains(t, body, `id="mirror-counts">Published 12; added 2, unpublished 1, republished 1.<`)

		_, err = b.pool.Exec(context.Background(), `INSERT INTO projects_mirror_run (trigger, error) VALUES ('schedule', 'GET https://apihub.example.com/projects?key=S3CR3T: 502 for 13912345600')`)
		require.NoError(t, err)
		_, body = b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `id="mirror-state">failed<`)
		require.Contains(t, body, `id="mirror-error">GET https://apihub.example.com/… 502 for `+mask.Phone("13912345600")+`<`)
		require.NotContains(t, body, "S3CR3T")
	})

	t.Run("MirrorReadFailureKeepsThePage", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *statuspage.Config) {
			c.LastMirrorRunFunc = func(context.Context) (*statuspage.MirrorRun, error) { return nil, errors.New("boom") }
		})
		resp, body := b.get(t, "/", withBearer(adminToken))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Could not read the projects mirror's run")
	})
}

// kinds returns the kinds named.
func (b *testBundle) kinds(t *testing.T, names ...string) []*target.Kind {
	t.Helper()
	out := make([]*target.Kind, len(names))
	for i, n := range names {
		k, err := b.reg.Kind(n)
		require.NoError(t, err)
		out[i] = k
	}
	return out
}
