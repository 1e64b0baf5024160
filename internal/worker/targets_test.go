package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/usercenter"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
	"github.com/chansync/chansync/internal/targets"
	"github.com/chansync/chansync/internal/worker"
	"github.com/chansync/chansync/internal/worker/workertest"
)

const (
	ucAK, ucSK = "e2e-uc-ak", "e2e-uc-sk-7hQ"
	pointsKey  = "sk-e2e-points-3Jw"
	ingestTok  = "e2e-ingest-token-Kq9x7Lm2"
)

// apihub serves the user centre and points simulators on one host, as
// APIHub does.
type apihub struct {
	uc     *ucsim.Server
	points *pointssim.Server
	url    string
}

func startAPIHub(t *testing.T) *apihub {
	t.Helper()
	a := &apihub{
		uc:     ucsim.New(ucsim.Config{AppKey: ucAK, SecretKey: ucSK}),
		points: pointssim.New(pointssim.Config{APIKeys: []string{pointsKey}}),
	}
	mux := http.NewServeMux()
	for _, p := range []string{a.uc.Prefix(), a.uc.AdminPrefix()} {
		mux.Handle(p+"/", a.uc)
	}
	for _, p := range []string{a.points.Prefix(), a.points.AdminPrefix()} {
		mux.Handle(p+"/", a.points)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

type targetsBundle struct {
	pool    *pgxpool.Pool
	channel *channelsimtest.Server
	apihub  *apihub
	w       *worker.Worker
}

func setupTargets(t *testing.T) *targetsBundle {
	t.Helper()
	schema := dbtest.New(t)
	b := &targetsBundle{
		pool:    schema.Pool,
		channel: channelsimtest.Start(t, channelsim.Config{AppKey: appKey, Secret: secret, Seed: 3}),
		apihub:  startAPIHub(t),
	}
	b.w = workertest.Start(t, worker.Config{
		DatabaseURL: schema.URL,
		Targets: targets.Settings{
			Channel:    channel.Settings{BaseURL: b.channel.URL(), AppKey: appKey, Secret: secret},
			UserCenter: usercenter.Settings{BaseURL: b.apihub.url, AppKey: ucAK, SecretKey: ucSK},
			Points:     points.Settings{BaseURL: b.apihub.url, APIKey: pointsKey},
		},
		Jobs:            jobs.Config{Concurrency: 4, EventConcurrency: 4, FetchPollInterval: 50 * time.Millisecond, WaitSnooze: 100 * time.Millisecond},
		HTTPAddr:        "127.0.0.1:0",
		IngestToken:     ingestTok,
		ShutdownTimeout: 10 * time.Second,
		Logger:          slog.New(slog.DiscardHandler),
	})
	return b
}

// eventually waits for cond, as an HR system waits for its write to reach
// the targets: within a few seconds, with nobody running a command.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventuallyf(t, cond, 15*time.Second, 20*time.Millisecond, "%s", what)
}

func (b *targetsBundle) ingest(t *testing.T, method, path string, body any) int {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, "http://"+b.w.HTTPAddr()+path, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+ingestTok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestEveryTargetFollowsTheTables: a row written by SQL or through ingest
// reaches every target that takes it, with nobody running a command: a
// user becomes a channel user and a user-centre account, a company a
// channel company and a group, an application a membership, a grant a
// credit (once); deactivating a user disables the account.
func TestEveryTargetFollowsTheTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupTargets(t)

	_, err := b.pool.Exec(ctx, `INSERT INTO companies (channel_company_id, company_name, social_credit_code) VALUES ('C-EV', '杭州/西湖 物流', '91350100M000100Y43')`)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ('U-EV', '张三', '11010519491231002X', '13800138000')`)
	require.NoError(t, err)
	eventually(t, "the SQL writes reach the channel and the user centre", func() bool {
		_, user := b.channel.Record("user", "U-EV")
		_, company := b.channel.Record("company", "C-EV")
		return user && company && len(b.apihub.uc.AccountsBySysAttr("channel_user_id", "U-EV")) == 1 &&
			len(b.apihub.uc.GroupsByAttr("channel_company_id", "C-EV")) == 1
	})
	require.Equal(t, "杭州／西湖 物流", b.apihub.uc.GroupsByAttr("channel_company_id", "C-EV")[0].Name)

	require.Equal(t, http.StatusAccepted, b.ingest(t, http.MethodPost, "/v1/tasks", map[string]any{
		"channel_task_id": "T-EV", "channel_company_id": "C-EV", "task_name": "分拣员", "task_type": "short_term",
		"recruit_count": 5, "recruitment_start_time": "2026-01-01T00:00:00Z", "recruitment_end_time": "2026-02-01T00:00:00Z",
	}))
	require.Equal(t, http.StatusAccepted, b.ingest(t, http.MethodPost, "/v1/applications", map[string]any{
		"channel_application_id": "A-EV", "channel_user_id": "U-EV", "channel_task_id": "T-EV",
		"applied_at": "2026-01-02T00:00:00Z", "status": "accepted",
	}))
	eventually(t, "the application makes the user a member of the company's group", func() bool {
		g := b.apihub.uc.GroupsByAttr("channel_company_id", "C-EV")
		return len(g) == 1 && len(g[0].Members) == 1
	})

	_, err = b.pool.Exec(ctx, `INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason) VALUES ('G-EV-1', 'U-EV', 1500, '入职奖励')`)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, b.ingest(t, http.MethodPost, "/v1/points_grants", map[string]any{
		"external_order_id": "G-EV-2", "channel_user_id": "U-EV", "amount_cents": 500,
	}))
	eventually(t, "both grants are credited", func() bool {
		balance, ok := b.apihub.points.Balance("U-EV")
		return ok && balance == 2000
	})

	_, err = b.pool.Exec(ctx, `UPDATE users SET active = false WHERE channel_user_id = 'U-EV'`)
	require.NoError(t, err)
	eventually(t, "deactivating the user disables the account", func() bool {
		a := b.apihub.uc.AccountsBySysAttr("channel_user_id", "U-EV")
		return len(a) == 1 && !a[0].Enable
	})
	require.Equal(t, http.StatusAccepted, b.ingest(t, http.MethodPut, "/v1/users/U-EV", map[string]any{
		"name": "张三丰", "id_card": "11010519491231002X", "phone": "13800138000", "active": true,
	}))
	eventually(t, "an ingest write re-enables it and renames the person on both targets", func() bool {
		a := b.apihub.uc.AccountsBySysAttr("channel_user_id", "U-EV")
		rec, ok := b.channel.Record("user", "U-EV")
		return len(a) == 1 && a[0].Enable && a[0].SysAttrs["name"] == "张三丰" && ok && rec["name"] == "张三丰"
	})

	ledger, _ := b.apihub.points.Ledger("U-EV")
	require.Len(t, ledger, 2, "each grant credited once")
	require.Equal(t, int64(0), b.channel.Stats().DuplicateCreates())
	require.True(t, b.apihub.uc.Duplicates().Empty())
}
