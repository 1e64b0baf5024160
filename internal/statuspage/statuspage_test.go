package statuspage_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/payload"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/statuspage"
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
			contains: []string{`<tr data-kind="user">`, `data-col="dead"><a href="/dead?kind=user">7</a>`, `data-col="in-sync">1<`}},
		{name: "CookieSeesCounts", path: "/", opts: []reqOpt{withCookie(cookie)}, status: http.StatusOK,
			contains: []string{`data-col="dead"><a href="/dead?kind=payment">1</a>`, "admin session "}},
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

func TestNewNeedsControllerAndPool(t *testing.T) {
	t.Parallel()
	_, err := statuspage.New(statuspage.Config{AdminToken: "x"})
	require.ErrorIs(t, err, statuspage.ErrConfig)
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
	}{
		{name: "AllFirstPage", query: "", total: "10", shown: []string{"U2", "U3", "U4"}, notIn: []string{"U5", "P1"}, page: "Page 1 of 4", hasNext: true},
		{name: "AllSecondPage", query: "page=2", total: "10", shown: []string{"U5", "U6", "U7"}, notIn: []string{"U2", "U8"}, page: "Page 2 of 4", hasNext: true, hasPrev: true},
		{name: "AllLastPage", query: "page=4", total: "10", shown: []string{"P1"}, notIn: []string{"T1"}, page: "Page 4 of 4", hasPrev: true},
		{name: "PastTheEnd", query: "page=9", total: "10", notIn: []string{"U2", "P1"}, page: "Page 9 of 4", hasPrev: true},
		{name: "KindUser", query: "kind=user", total: "7", shown: []string{"U2"}, notIn: []string{"C2", "T1", "P1"}, page: "Page 1 of 3", hasNext: true},
		{name: "KindTaskIncludesBlocked", query: "kind=task", total: "1", shown: []string{"T1"}, notIn: []string{"U2"}},
		{name: "KindWithoutDeadLetters", query: "kind=application", status: http.StatusOK, notIn: []string{"U2"}},
		{name: "Reason", query: "reason=phone", total: "1", shown: []string{"U8"}, notIn: []string{"U2"}},
		{name: "ReasonIgnoresCase", query: "kind=user&reason=ID_CARD", total: "6", shown: []string{"U2"}, notIn: []string{"U8"}, page: "Page 1 of 2", hasNext: true},
		{name: "ReasonAndKind", query: "kind=company&reason=check+digit", total: "1", shown: []string{"C2"}, notIn: []string{"U2"}},
		{name: "UnknownKind", query: "kind=bogus", status: http.StatusBadRequest},
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

	t.Run("RowNamesFieldReasonAttemptsTimesAndLink", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/dead?kind=user&reason=phone", withBearer(adminToken))
		require.Contains(t, body, `<a class="record" href="/records/user/U8">U8</a>`)
		require.Contains(t, body, `<code>phone</code>`)
		require.Contains(t, body, "users/U8: phone: must start with 13 to 19")
		require.Contains(t, body, `<td class="num">1</td>`)
		require.Regexp(t, `<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ</td>\s*<td>\d{4}-`, body)
		require.Contains(t, body, `href="/actions/replay-bulk?kind=user&amp;reason=phone"`)
	})

	t.Run("ReasonsAreMasked", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/dead?kind=payment", withBearer(adminToken))
		require.Contains(t, body, "P1")
		require.NotContains(t, body, bankAccount)
		require.Contains(t, body, mask.BankAccount(bankAccount))
	})

	t.Run("OverviewGroupsReasons", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `<a href="/dead?reason=id_card%3A&#43;check&#43;digit&#43;mismatch">id_card: check digit mismatch</a></td><td class="num">6</td>`)
	})
}

func TestRecordDetail(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("InSyncShowsTheAcceptedPayload", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		built, err := payload.Load(ctx, dbsqlc.New(b.pool), record.User, []string{"U1"})
		require.NoError(t, err)
		_, err = b.pool.Exec(ctx, `UPDATE sync_state SET accepted_hash = $1, last_payload = NULL WHERE kind = 'user' AND record_id = 'U1'`, built["U1"].Hash)
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
		require.Contains(t, body, `id="record-status">dead<`)
		require.Contains(t, body, "users/U2: id_card: check digit mismatch")
		require.Contains(t, body, "channel unreachable: connection refused")
		require.Contains(t, body, `id="replay"`)
		require.Contains(t, body, `id="push"`)
	})

	t.Run("MasksBankAccount", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/payment/P1", withBearer(adminToken))
		require.NotContains(t, body, bankAccount)
		require.Contains(t, body, mask.BankAccount(bankAccount))
		require.Contains(t, body, "100.50")
	})

	t.Run("MasksCompanyPeople", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/company/C1", withBearer(adminToken))
		require.NotContains(t, body, legalPerson)
		require.NotContains(t, body, contactTel)
		require.Contains(t, body, mask.Name(legalPerson))
		require.Contains(t, body, `id="record-status">in sync<`)
		require.Contains(t, body, `<code>ch-C1</code>`, "the channel's id")
		require.NotContains(t, body, `id="replay"`, "nothing to replay")
	})

	t.Run("BlockedLinksItsParent", func(t *testing.T) {
		t.Parallel()
		_, body := b.get(t, "/records/task/T1", withBearer(adminToken))
		require.Contains(t, body, `<a href="/records/company/C2">company/C2</a>`)
	})

	t.Run("NeverQueued", func(t *testing.T) {
		t.Parallel()
		resp, body := b.get(t, "/records/user/U9", withBearer(adminToken))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `id="record-status">not queued yet<`)
		require.NotContains(t, body, userIDCard["U9"])
	})

	t.Run("UnknownRecordIs404", func(t *testing.T) {
		t.Parallel()
		resp, _ := b.get(t, "/records/user/NOPE", withBearer(adminToken))
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = b.get(t, "/records/bogus/U2", withBearer(adminToken))
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})

	t.Run("ChangedRowIsNotInSync", func(t *testing.T) {
		t.Parallel()
		_, err := b.pool.Exec(context.Background(), `UPDATE users SET phone = '13911112222' WHERE channel_user_id = 'U1'`)
		require.NoError(t, err)
		_, body := b.get(t, "/records/user/U1", withBearer(adminToken))
		require.Contains(t, body, `id="record-status">changed since last push<`)
	})
}

func TestActions(t *testing.T) {
	t.Parallel()

	t.Run("ReplayOneBySession", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, body := b.post(t, "/actions/replay", url.Values{"kind": {"user"}, "id": {"U2"}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/records/user/U2?n=1&notice=replay", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "user", "U2"))
		require.Equal(t, 1, b.jobsFor(t, "user", "U2", "bulk"))
		require.Equal(t, "dead", b.state(t, "user", "U3"), "only the one named")
		log := b.replayLog(t)
		require.Len(t, log, 1)
		require.Regexp(t, `^admin session [0-9a-f]{8}$`, log[0].Actor)
		require.NotContains(t, cookie.Value, strings.TrimPrefix(log[0].Actor, "admin session "))
		require.Equal(t, replayLogRow{Actor: log[0].Actor, Filter: "kind=user id=U2", Count: 1}, log[0])

		// The page it returns to says so, and the overview lists it.
		_, body = b.get(t, resp.Header.Get("Location"), withCookie(cookie))
		require.Contains(t, body, "Replayed 1 dead letter")
		require.Contains(t, body, `id="record-status">pending<`)
		_, body = b.get(t, "/", withCookie(cookie))
		require.Contains(t, body, "<code>kind=user id=U2</code>")
		require.Contains(t, body, log[0].Actor)
	})

	t.Run("ReplayOneByBearerNeedsNoCSRFToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp, body := b.post(t, "/actions/replay", url.Values{"kind": {"payment"}, "id": {"P1"}, "back": {"/dead?kind=payment"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/dead?kind=payment&n=1&notice=replay", resp.Header.Get("Location"))
		require.Equal(t, "pending", b.state(t, "payment", "P1"))
		require.Equal(t, 1, b.jobsFor(t, "payment", "P1", "bulk"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "kind=payment id=P1", Count: 1}}, b.replayLog(t))
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
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "kind=user id=U1", Count: 0}}, b.replayLog(t))
	})

	t.Run("ReplayBulkOfAKindShowsTheCountFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, body := b.get(t, "/actions/replay-bulk?kind=user", withCookie(cookie))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Replay 7 dead letters of kind user?")
		require.Equal(t, "dead", b.state(t, "user", "U2"), "the confirmation changes nothing")

		resp, body = b.post(t, "/actions/replay-bulk", url.Values{"kind": {"user"}, "reason": {""}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/dead?kind=user&n=7&notice=replay", resp.Header.Get("Location"))
		for _, id := range []string{"U2", "U3", "U4", "U5", "U6", "U7", "U8"} {
			require.Equal(t, "pending", b.state(t, "user", id))
			require.Equal(t, 1, b.jobsFor(t, "user", id, "bulk"))
		}
		require.Equal(t, "dead", b.state(t, "payment", "P1"))
		log := b.replayLog(t)
		require.Len(t, log, 1)
		require.Equal(t, "kind=user", log[0].Filter)
		require.Equal(t, 7, log[0].Count)
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
		require.Contains(t, body, "Replay 10 dead letters (all kinds)?")
		resp, _ = b.post(t, "/actions/replay-bulk", url.Values{"all": {"1"}}, withBearer(adminToken))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "pending", b.state(t, "task", "T1"))
		require.Equal(t, []replayLogRow{{Actor: "bearer", Filter: "all", Count: 10}}, b.replayLog(t))
	})

	t.Run("PushOneNow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cookie, csrf := b.login(t)
		resp, body := b.post(t, "/actions/push", url.Values{"kind": {"user"}, "id": {"U9"}, "csrf": {csrf}}, withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/records/user/U9?n=1&notice=push", resp.Header.Get("Location"))
		require.Equal(t, 1, b.jobsFor(t, "user", "U9", "events"))
		log := b.replayLog(t)
		require.Len(t, log, 1)
		require.Equal(t, "push kind=user ids=U9", log[0].Filter)
		require.Equal(t, 1, log[0].Count)
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

	t.Run("BadForms", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, form := range []url.Values{{"kind": {"bogus"}, "id": {"U2"}}, {"kind": {"user"}}, {"kind": {"user"}, "id": {"  "}}} {
			resp, _ := b.post(t, "/actions/replay", form, withBearer(adminToken))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, form.Encode())
			resp, _ = b.post(t, "/actions/push", form, withBearer(adminToken))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, form.Encode())
		}
		resp, _ := b.post(t, "/actions/replay-bulk", url.Values{"kind": {"bogus"}}, withBearer(adminToken))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Empty(t, b.replayLog(t))
	})
}

func TestOverview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.ctl.EnqueueAll(context.Background(), controlAllUsers())
	require.NoError(t, err)

	_, body := b.get(t, "/", withBearer(adminToken))
	for _, s := range []string{
		`<tr data-kind="company">`,
		`data-col="total">9<`, // users
		`data-col="pending">1<`,
		`<tr data-kind="task">`,
		`data-col="blocked"><a href="/dead?kind=task">1</a>`,
		`id="channel-status">rate-limited<`,
		"since ", "(3m ago)", "429 from /users",
		"Run #", "(enqueue all)",
		"No replay or push recorded yet.",
	} {
		require.Contains(t, body, s)
	}
	require.NotContains(t, body, userIDCard["U2"])

	t.Run("WithoutChannelOrBulkRun", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *statuspage.Config) {
			c.ChannelStateFunc = nil
			c.BulkRunFunc = func(context.Context) (*statuspage.BulkRun, error) { return nil, nil }
		})
		_, body := b.get(t, "/", withBearer(adminToken))
		require.Contains(t, body, `id="channel-status">unknown<`)
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
}

// controlAllUsers starts a bulk run over the users only.
func controlAllUsers() control.AllOptions {
	return control.AllOptions{Kinds: []record.Kind{record.User}}
}
