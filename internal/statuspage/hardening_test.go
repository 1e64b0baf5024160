package statuspage_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/statuspage"
	"github.com/chansync/chansync/internal/testkit"
)

func newLogger(w *testkit.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}

// instance starts another status page (another worker process, or the
// same one after a restart) on b's database and clock.
func (b *testBundle) instance(t *testing.T) *testBundle {
	t.Helper()
	h, err := statuspage.New(b.cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	other := *b
	other.srv = srv
	return &other
}

// TestSessionSharedAcrossWorkers: a session created through one worker is
// accepted by another on the same database and after a restart, with the
// same CSRF token; it ends after 30 minutes without a request.
func TestSessionSharedAcrossWorkers(t *testing.T) {
	t.Parallel()
	a := setup(t, func(c *statuspage.Config) { c.SessionTTL = 12 * time.Hour })
	cookie, csrf := a.login(t)
	other := a.instance(t)

	resp, body := other.get(t, "/", withCookie(cookie))
	require.Equal(t, http.StatusOK, resp.StatusCode, "the second worker accepts the session")
	require.Contains(t, body, `name="csrf" value="`+csrf+`"`, "with the same CSRF token")

	restarted := a.instance(t)
	resp, _ = restarted.post(t, "/actions/push", url.Values{"kind": {"user"}, "id": {"U9"}, "csrf": {csrf}}, withCookie(cookie))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a restarted worker accepts the session and its CSRF token")
	require.Equal(t, 1, a.jobsFor(t, "user", "U9", "events"))

	// Requests keep the session alive, wherever they go.
	for range 3 {
		a.clock.Advance(20 * time.Minute)
		resp, _ = other.get(t, "/", withCookie(cookie))
		require.Equal(t, http.StatusOK, resp.StatusCode, "20 minutes idle is within the limit")
	}

	a.clock.Advance(30*time.Minute + time.Second)
	for _, inst := range []*testBundle{a, other, restarted} {
		resp, _ = inst.get(t, "/", withCookie(cookie))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "idle for 30 minutes: the session has ended")
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"))
	}
}

// TestSessionStoredOnlyAsHash: the database holds the SHA-256 of a
// session's cookie, never the cookie; a stolen table row opens nothing.
func TestSessionStoredOnlyAsHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cookie, _ := b.login(t)
	sum := sha256.Sum256([]byte(cookie.Value))
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM page_session WHERE token_hash = $1`, sum[:]).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM page_session p WHERE position($1 in p::text) > 0`, cookie.Value).Scan(&n))
	require.Zero(t, n, "the cookie's value is nowhere in the table")

	// The hash itself, presented as a cookie, is no session.
	resp, _ := b.get(t, "/", withCookie(&http.Cookie{Name: statuspage.CookieName, Value: fmt.Sprintf("%x", sum)}))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

// TestSessionLastSeenWritesCoalesced: requests of a session write its
// last-seen time at most once a minute, not once per request.
func TestSessionLastSeenWritesCoalesced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cookie, _ := b.login(t)
	sum := sha256.Sum256([]byte(cookie.Value))
	lastSeen := func() time.Time {
		var ts time.Time
		require.NoError(t, b.pool.QueryRow(context.Background(),
			`SELECT last_seen_at FROM page_session WHERE token_hash = $1`, sum[:]).Scan(&ts))
		return ts
	}
	first := lastSeen()
	for range 5 {
		b.clock.Advance(10 * time.Second)
		resp, _ := b.get(t, "/", withCookie(cookie))
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.True(t, first.Equal(lastSeen()), "50 s of requests: no write")
	b.clock.Advance(10 * time.Second)
	resp, _ := b.get(t, "/", withCookie(cookie))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, first.Add(time.Minute).Equal(lastSeen()), "a minute on: one write")
}

// TestExpiredSessionsAreDeleted: sessions past their idle or absolute
// expiry are deleted from the database (at the next login at the latest).
func TestExpiredSessionsAreDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *statuspage.Config) { c.SessionTTL = 12 * time.Hour; c.SessionIdle = 30 * time.Minute })
	b.login(t)
	b.login(t)
	b.clock.Advance(31 * time.Minute)
	b.login(t)
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM page_session`).Scan(&n))
	require.Equal(t, 1, n, "the two idle sessions are gone")
}

// TestLoginBruteForceThrottled: after AUTH_MAX_FAILURES failed logins from
// one address, the login form answers 429 with Retry-After and does not
// check the token, even the right one, until the wait is over; the
// failures are logged once.
func TestLoginBruteForceThrottled(t *testing.T) {
	t.Parallel()
	logs := &testkit.SyncBuffer{}
	b := setup(t, func(c *statuspage.Config) { c.Logger = newLogger(logs) })

	for i := range 10 {
		resp, body := b.post(t, "/login", url.Values{"token": {fmt.Sprintf("guess-%d", i)}})
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, body, "Login failed.")
	}
	resp, body := b.post(t, "/login", url.Values{"token": {adminToken}})
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "60", resp.Header.Get("Retry-After"))
	require.Contains(t, body, "Too many failed logins from your address. Try again in 60 seconds.")
	require.Empty(t, resp.Cookies(), "no session for a throttled address")
	require.Equal(t, 1, strings.Count(logs.String(), `"msg":"status page: login failed"`), "one line per address per minute")

	b.clock.Advance(time.Minute)
	b.login(t)
}

// TestAdminBearerBruteForceThrottled: wrong admin bearer tokens count as
// failures too; past the budget even the right one answers 429.
func TestAdminBearerBruteForceThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 10 {
		resp, _ := b.get(t, "/", withBearer(fmt.Sprintf("guess-%d", i)))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, body := b.get(t, "/", withBearer(adminToken))
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	requireNothingShown(t, body)
	resp, _ = b.post(t, "/actions/push", url.Values{"kind": {"user"}, "id": {"U9"}}, withBearer(adminToken))
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "actions too")
	require.Zero(t, b.jobsFor(t, "user", "U9", "events"))

	b.clock.Advance(time.Minute)
	resp, _ = b.get(t, "/", withBearer(adminToken))
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestRecordPageShowsURLHostsOnly: photo, licence, resume and document URLs
// (signed links to personal data) show their host only, in the local row
// and in the payload views.
func TestRecordPageShowsURLHostsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		_, err := b.pool.Exec(ctx, sql)
		require.NoError(t, err)
	}
	exec(`UPDATE users SET live_certification = '{"certified": true, "photos": ["https://cdn.example.com/faces/U2-PRIVATE.jpg?sig=S3CR3T"]}' WHERE channel_user_id = 'U2'`)
	exec(`UPDATE sync_state SET last_payload = last_payload || '{"live_certification": {"photos": ["https://cdn.example.com/faces/U2-PRIVATE-sent.jpg?sig=S3NT"]}}' WHERE kind = 'user' AND record_id = 'U2'`)
	exec(`UPDATE companies SET business_license = '{"license_photo": "https://files.example.org/licences/C2-PRIVATE.png"}' WHERE channel_company_id = 'C2'`)
	exec(`UPDATE applications SET resume_url = 'https://hr.example.net/resumes/A1-PRIVATE.pdf?token=abc' WHERE channel_application_id = 'A1'`)
	exec(`UPDATE payments SET payment_basis = '{"description": "工资, see https://docs.example.com/pay/P1-PRIVATE.pdf", "supporting_docs": ["https://docs.example.com/pay/P1-PRIVATE-2.pdf"]}' WHERE channel_payment_id = 'P1'`)
	exec(`UPDATE sync_state SET last_payload = '{"channel_payment_id": "P1", "payment_basis": {"supporting_docs": ["https://docs.example.com/pay/P1-PRIVATE-sent.pdf"]}}' WHERE kind = 'payment' AND record_id = 'P1'`)

	tests := []struct {
		name  string
		path  string
		hosts []string
	}{
		{"UserPhotosInRowAndPayload", "/records/user/U2", []string{"https://cdn.example.com/…"}},
		{"CompanyLicencePhoto", "/records/company/C2", []string{"https://files.example.org/…"}},
		{"ApplicationResume", "/records/application/A1", []string{"https://hr.example.net/…"}},
		{"PaymentDocumentsAndLinksInText", "/records/payment/P1", []string{"https://docs.example.com/…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := b.get(t, tt.path, withBearer(adminToken))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			text := html.UnescapeString(body)
			for _, h := range tt.hosts {
				require.Contains(t, text, h)
			}
			require.NotContains(t, text, "PRIVATE")
			require.NotContains(t, text, "sig=")
		})
	}
}
