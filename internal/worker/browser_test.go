package worker_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// browserPath finds a Chromium. Without one the browser test is skipped,
// unless CHANSYNC_REQUIRE_BROWSER is set (CI sets it), when it fails.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CHANSYNC_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium found (install Debian's chromium package or set CHROME_PATH)")
	}
	t.Skip("no chromium found; install Debian's chromium package to run the browser test")
	return ""
}

// artifactDir is where the test keeps its screenshot: $CHANSYNC_ARTIFACTS,
// or artifacts/ at the repository's root (ignored by git).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CHANSYNC_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestStatusPageInBrowser drives the status page of a running worker in
// headless Chromium, as the operator on call would: log in, read the
// counts, filter the dead letters, open one, fix its row, replay it, and
// watch it reach the channel. Actions without login or without the CSRF
// token are refused.
func TestStatusPageInBrowser(t *testing.T) {
	t.Parallel()
	const adminToken = "browser-test-admin-token-5Yq0"
	execPath := browserPath(t)
	// Event-triggered pushes are off so that the replay, not the fix of the
	// row, is what brings the dead letter through.
	b := setup(t, setupOpts{records: 60, adminToken: adminToken, noRelay: true})
	b.syncAll(t)
	base := "http://" + b.httpAddr
	const fixed = "U-BAD-PHONE"
	require.Equal(t, syncstatus.Dead, b.state(t, kindOf(t, fixed), fixed).Status)
	var deadUsers int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM sync_state WHERE kind = 'user' AND status IN ('dead', 'blocked')`).Scan(&deadUsers))
	require.Positive(t, deadUsers)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000))...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	t.Run("WithoutLoginShowsNothing", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("token")),
		))
		loc := run(t, ctx, chromedp.Location())
		body := run(t, ctx, chromedp.Text(chromedp.CSS("body")))
		require.Contains(t, loc, "/login")
		require.NotContains(t, body, fixed)
		require.NotContains(t, body, "Dead")
	})

	t.Run("LoginShowsTheCounts", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), adminToken)))
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("login")))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("kinds"))))
		userDead := run(t, ctx, chromedp.Text(chromedp.CSS(`tr[data-kind="user"] td[data-col="dead"]`)))
		require.Equal(t, strconv.Itoa(deadUsers), strings.TrimSpace(userDead))
		shot := run(t, ctx, chromedp.FullScreenshot(100))
		require.NoError(t, os.WriteFile(filepath.Join(artifactDir(t), "statuspage-overview.png"), shot, 0o644))
	})

	t.Run("FilterDeadLetters", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(base+"/dead"),
			chromedp.WaitVisible(chromedp.ID("kind")),
			chromedp.SetValue(chromedp.ID("kind"), "user"),
		))
		// RunResponse waits for the navigation the click causes.
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("filter")))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, int(resp.Status))
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`tr[data-id="`+fixed+`"]`))))
		require.Contains(t, run(t, ctx, chromedp.Location()), "kind=user")
		require.Equal(t, strconv.Itoa(deadUsers), run(t, ctx, chromedp.Text(chromedp.ID("total"))))
		rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.dead tbody tr").length`))
		require.Equal(t, deadUsers, rows, "the filter lists only users")
	})

	t.Run("OpenARecord", func(t *testing.T) {
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`tr[data-id="`+fixed+`"] a.record`)))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("status-user"))))
		require.Equal(t, "dead", run(t, ctx, chromedp.Text(chromedp.ID("status-user"))))
		require.Contains(t, run(t, ctx, chromedp.Text(chromedp.ID("last-error-user"))), "phone")
	})

	t.Run("ActionWithoutCSRFTokenIsRefused", func(t *testing.T) {
		// The browser holds the session cookie; a POST without the form's
		// CSRF token must still be refused.
		run(t, ctx, chromedp.Evaluate[bool](`(() => {
			const f = document.getElementById("replay-user").form;
			f.querySelector('input[name="csrf"]').remove();
			return true; })()`))
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("replay-user")))
		require.NoError(t, err)
		status := int(resp.Status)
		require.Equal(t, http.StatusForbidden, status)
		require.Equal(t, syncstatus.Dead, b.state(t, kindOf(t, fixed), fixed).Status)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/records/user/"+fixed), chromedp.WaitVisible(chromedp.ID("replay-user"))))
	})

	t.Run("ActionWithoutLoginIsRefused", func(t *testing.T) {
		resp, err := http.PostForm(base+"/actions/replay", url.Values{"kind": {"user"}, "id": {fixed}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, syncstatus.Dead, b.state(t, kindOf(t, fixed), fixed).Status)
	})

	t.Run("FixAndReplay", func(t *testing.T) {
		// The operator fixes the row, then replays the dead letter.
		_, err := b.pool.Exec(context.Background(), `UPDATE users SET phone = '13800138000' WHERE channel_user_id = $1`, fixed)
		require.NoError(t, err)
		_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("replay-user")))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("notice"))))
		deadline := time.Now().Add(time.Minute)
		var status string
		for {
			require.NoError(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("status-user"))))
			status = run(t, ctx, chromedp.Text(chromedp.ID("status-user")))
			if status == "in sync" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		require.Equal(t, "in sync", status)
		_, onChannel := b.sim.Records("user")[fixed]
		require.True(t, onChannel, "the replayed record reached the channel")

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
		require.Contains(t, run(t, ctx, chromedp.Text(chromedp.ID("replays"))), fixed, "the replay is recorded on the overview")
	})
}

// run runs one browser action and returns its result.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}
