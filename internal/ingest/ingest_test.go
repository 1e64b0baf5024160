package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/ingest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/targets"
	"github.com/chansync/chansync/internal/telemetry"
	"github.com/chansync/chansync/internal/testkit"
)

const token = "ingest-test-token-7Hq2"

// Valid values the validators accept (see /work/shared/channel-api.md).
const (
	validIDCard = "11010519491231002X"
	validPhone  = "13800138000"
	validCode   = "91350100M000100Y43"
)

type testBundle struct {
	pool *pgxpool.Pool
	url  string
	logs *testkit.SyncBuffer
	// clock is the Guard's time.
	clock *clock
	// set is a valid data set, not loaded: bodies to send.
	set *datagen.Set
}

type setupOpts struct {
	token        string
	maxBodyBytes int64
}

func setup(t *testing.T, opts ...func(*setupOpts)) *testBundle {
	t.Helper()
	o := setupOpts{token: token}
	for _, f := range opts {
		f(&o)
	}
	s := dbtest.New(t)
	rc, err := jobs.NewClient(s.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	registry, err := targets.Describe(targets.Settings{})
	require.NoError(t, err)
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{t: time.Now()}
	reg := prometheus.NewRegistry()
	h, err := ingest.New(ingest.Config{
		Pool:         s.Pool,
		Controller:   control.New(control.Config{Pool: s.Pool, Registry: registry, Client: rc}),
		Token:        o.token,
		MaxBodyBytes: o.maxBodyBytes,
		Logger:       logger,
		ObserveFunc:  telemetry.NewIngestObserver(reg),
		Guard:        authguard.New(authguard.Config{Logger: logger, NowFunc: clk.Now}),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(ingest.Prefix, h)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testBundle{pool: s.Pool, url: srv.URL, logs: logs, clock: clk, set: datagen.Generate(datagen.Options{Records: 100, Seed: 11})}
}

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

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorBody(t *testing.T) ingest.ErrorBody {
	t.Helper()
	var eb ingest.ErrorBody
	require.NoError(t, json.Unmarshal(r.body, &eb), "body: %s", r.body)
	require.NotEmpty(t, eb.Error)
	return eb
}

// do sends a request with the token and a JSON content type; body is sent
// as is when it is a string or []byte, else encoded as JSON.
func (b *testBundle) do(t *testing.T, method, path string, body any, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.url+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	return response{status: resp.StatusCode, header: resp.Header, body: got}
}

func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// kinds are the channel's tables, parents first.
var kinds = []string{"company", "user", "task", "application", "payment"}

// plural returns a source's plural, its path under /v1/.
func plural(k string) string {
	if k == "company" {
		return "companies"
	}
	return k + "s"
}

// jobsFor counts push jobs on the events queue that name id.
func (b *testBundle) jobsFor(t *testing.T, k string, id string) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM river_job WHERE queue = $1 AND kind = 'push' AND args->>'kind' = $2 AND args->'ids' ? $3`, queue.Events, k, id)
}

func (b *testBundle) nothingWritten(t *testing.T) {
	t.Helper()
	for _, k := range kinds {
		require.Zero(t, b.count(t, `SELECT count(*) FROM `+plural(k)), plural(k))
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM river_job`))
	require.Zero(t, b.count(t, `SELECT count(*) FROM sync_outbox`))
}

// bodies returns the set's records of kind k as request bodies.
func (b *testBundle) bodies(t *testing.T, k string) []map[string]any {
	t.Helper()
	built := b.set.Built(k)
	out := make([]map[string]any, len(built))
	for i, bl := range built {
		require.True(t, bl.Valid(), bl.Reason())
		require.NoError(t, json.Unmarshal(bl.JSON, &out[i]))
	}
	return out
}

// post writes bodies (one, or an array) and requires 202.
func (b *testBundle) post(t *testing.T, k string, body any) ingest.WriteResult {
	t.Helper()
	resp := b.do(t, http.MethodPost, "/v1/"+plural(k), body)
	require.Equal(t, http.StatusAccepted, resp.status, "body: %s", resp.body)
	var res ingest.WriteResult
	require.NoError(t, json.Unmarshal(resp.body, &res))
	return res
}

// loadParents posts every company, user, task and application of the set.
func (b *testBundle) loadParents(t *testing.T) {
	t.Helper()
	for _, k := range []string{"company", "user", "task", "application"} {
		b.post(t, k, b.bodies(t, k))
	}
}

func (b *testBundle) getRecord(t *testing.T, k string, id string) ingest.RecordView {
	t.Helper()
	resp := b.do(t, http.MethodGet, "/v1/"+plural(k)+"/"+id, nil)
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	var v ingest.RecordView
	require.NoError(t, json.Unmarshal(resp.body, &v))
	return v
}

func user(id string) map[string]any {
	return map[string]any{"channel_user_id": id, "name": "张三", "id_card": validIDCard, "phone": validPhone}
}

func TestNew(t *testing.T) {
	t.Parallel()

	_, err := ingest.New(ingest.Config{Token: token})
	require.Error(t, err, "a pool is required")
}

func TestWriteEveryKind(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for _, k := range kinds {
		bodies := b.bodies(t, k)
		require.GreaterOrEqual(t, len(bodies), 2, k)
		idField := "channel_" + k + "_id"

		// One record, then the rest as an array.
		first := bodies[0][idField].(string)
		res := b.post(t, k, bodies[0])
		require.Equal(t, ingest.WriteResult{Kind: k, Accepted: 1, IDs: []string{first}}, res)

		var rest []string
		for _, body := range bodies[1:] {
			rest = append(rest, body[idField].(string))
		}
		res = b.post(t, k, bodies[1:])
		require.Equal(t, ingest.WriteResult{Kind: k, Accepted: len(rest), IDs: rest}, res)

		require.Equal(t, len(bodies), b.count(t, `SELECT count(*) FROM `+plural(k)), k)
		for _, body := range bodies {
			id := body[idField].(string)
			require.Equal(t, 1, b.jobsFor(t, k, id), "%s %s is enqueued once", k, id)

			v := b.getRecord(t, k, id)
			require.Equal(t, ingest.StatusPending, v.Sync.Status)
			require.Empty(t, v.Problems)
			want, err := json.Marshal(body)
			require.NoError(t, err)
			got, err := json.Marshal(v.Record)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got), "GET answers the record as written")
		}
		require.Zero(t, b.count(t, `SELECT count(*) FROM sync_outbox`), "the write's own outbox entries are gone")
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM river_job WHERE queue <> $1`, queue.Events))
}

func TestPut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("IDTakenFromPath", func(t *testing.T) {
		body := user("")
		delete(body, "channel_user_id")
		resp := b.do(t, http.MethodPut, "/v1/users/U-put-1", body)
		require.Equal(t, http.StatusAccepted, resp.status, "body: %s", resp.body)
		require.JSONEq(t, `{"kind":"user","accepted":1,"ids":["U-put-1"]}`, string(resp.body))
		require.Equal(t, 1, b.jobsFor(t, "user", "U-put-1"))
	})

	t.Run("ReplacesTheWholeRecord", func(t *testing.T) {
		body := user("U-put-2")
		body["live_certification"] = map[string]any{"certified": true, "certification_time": "2026-01-15T18:30:00+08:00"}
		resp := b.do(t, http.MethodPut, "/v1/users/U-put-2", body)
		require.Equal(t, http.StatusAccepted, resp.status, "body: %s", resp.body)
		v := b.getRecord(t, "user", "U-put-2")
		require.Equal(t, "2026-01-15T10:30:00Z", v.Record.(map[string]any)["live_certification"].(map[string]any)["certification_time"], "times are stored in the channel's form")

		body = user("U-put-2")
		body["name"] = "李四"
		resp = b.do(t, http.MethodPut, "/v1/users/U-put-2", body)
		require.Equal(t, http.StatusAccepted, resp.status, "body: %s", resp.body)
		var name string
		var lc []byte
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT name, live_certification FROM users WHERE channel_user_id = 'U-put-2'`).Scan(&name, &lc))
		require.Equal(t, "李四", name)
		require.Nil(t, lc, "a field left out becomes NULL")
		require.Equal(t, 1, b.jobsFor(t, "user", "U-put-2"), "the push the first write queued has not started: it will read the second write")
		require.Zero(t, b.count(t, `SELECT count(*) FROM sync_outbox`))
	})
}

func TestWriteRejected(t *testing.T) {
	t.Parallel()

	type want struct{ field, rule string }
	badUser := user("U1")
	badUser["id_card"] = "110101199001011234"
	manyBad := map[string]any{"channel_user_id": "U1", "id_card": "110101199001011234", "phone": "12345"}
	wrongTypes := map[string]any{"channel_task_id": "T1", "channel_company_id": "C1", "task_name": 123, "task_type": "short_term",
		"recruit_count": "ten", "recruitment_start_time": "2026-01-01T00:00:00Z", "recruitment_end_time": "2026-02-01T00:00:00Z",
		"salary": map[string]any{"amount": true, "salary_type": "monthly"}}
	over := make([]map[string]any, ingest.MaxRecords+1)
	for i := range over {
		over[i] = user(fmt.Sprintf("U%d", i))
	}
	bigTask := map[string]any{"channel_task_id": "T1", "channel_company_id": "C1", "task_name": "x", "task_type": "short_term",
		"recruit_count": int64(1) << 40, "recruitment_start_time": "2026-01-01T00:00:00Z", "recruitment_end_time": "2026-02-01T00:00:00Z"}

	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		status      int
		want        []want
	}{
		{"InvalidFieldValue", http.MethodPost, "/v1/users", badUser, "", http.StatusBadRequest,
			[]want{{"id_card", "checksum"}}},
		{"EveryErrorAtOnce", http.MethodPost, "/v1/users", manyBad, "", http.StatusBadRequest,
			[]want{{"name", "required"}, {"id_card", "checksum"}, {"phone", "length"}}},
		{"ArrayErrorsNameTheIndex", http.MethodPost, "/v1/users", []any{user("U1"), user("U2"), user("U3"), badUser}, "", http.StatusBadRequest,
			[]want{{"[3].id_card", "checksum"}, {"[3].channel_user_id", "unique"}}},
		{"UnknownField", http.MethodPost, "/v1/users", map[string]any{"channel_user_id": "U1", "name": "张三", "id_card": validIDCard, "phone": validPhone, "nickname": "x"}, "", http.StatusBadRequest,
			[]want{{"nickname", "unknown"}}},
		{"UnknownNestedField", http.MethodPost, "/v1/users", map[string]any{"channel_user_id": "U1", "name": "张三", "id_card": validIDCard, "phone": validPhone, "live_certification": map[string]any{"certified": true, "certification_time": "2026-01-15T10:30:00Z", "selfie": "x"}}, "", http.StatusBadRequest,
			[]want{{"live_certification.selfie", "unknown"}}},
		{"WrongTypes", http.MethodPost, "/v1/tasks", wrongTypes, "", http.StatusBadRequest,
			[]want{{"recruit_count", "type"}, {"salary.amount", "type"}, {"task_name", "type"}}},
		{"WrongTypeOfNestedObject", http.MethodPost, "/v1/users", map[string]any{"channel_user_id": "U1", "name": "张三", "id_card": validIDCard, "phone": validPhone, "live_certification": "yes"}, "", http.StatusBadRequest,
			[]want{{"live_certification", "type"}}},
		{"BadJSON", http.MethodPost, "/v1/users", `{"channel_user_id": "U1",`, "", http.StatusBadRequest,
			[]want{{"", "syntax"}}},
		{"TrailingData", http.MethodPost, "/v1/users", `{} {}`, "", http.StatusBadRequest,
			[]want{{"", "syntax"}}},
		{"EmptyBody", http.MethodPost, "/v1/users", ``, "", http.StatusBadRequest,
			[]want{{"", "syntax"}}},
		{"NotAnObject", http.MethodPost, "/v1/users", `"U1"`, "", http.StatusBadRequest,
			[]want{{"", "type"}}},
		{"ArrayOfNonObjects", http.MethodPost, "/v1/users", `[1, {"channel_user_id": "U2", "name": "张三", "id_card": "11010519491231002X", "phone": "13800138000"}]`, "", http.StatusBadRequest,
			[]want{{"[0]", "type"}}},
		{"ArrayOverTheLimit", http.MethodPost, "/v1/users", over, "", http.StatusBadRequest,
			[]want{{"", "length"}}},
		{"EmptyArray", http.MethodPost, "/v1/users", `[]`, "", http.StatusBadRequest,
			[]want{{"", "length"}}},
		{"IDMismatchOnPut", http.MethodPut, "/v1/users/U2", user("U1"), "", http.StatusBadRequest,
			[]want{{"channel_user_id", "mismatch"}}},
		{"BadIDInPath", http.MethodPut, "/v1/users/" + strings.Repeat("x", 65), map[string]any{"name": "张三", "id_card": validIDCard, "phone": validPhone}, "", http.StatusBadRequest,
			[]want{{"channel_user_id", "length"}}},
		{"ArrayOnPut", http.MethodPut, "/v1/users/U1", []any{user("U1")}, "", http.StatusBadRequest,
			[]want{{"", "type"}}},
		{"RecruitCountTooLargeToStore", http.MethodPost, "/v1/tasks", bigTask, "", http.StatusBadRequest,
			[]want{{"recruit_count", "range"}}},
		{"UnknownResource", http.MethodPost, "/v1/employees", user("U1"), "", http.StatusNotFound, nil},
		{"SingularResource", http.MethodGet, "/v1/user/U1", nil, "", http.StatusNotFound, nil},
		{"PathTooDeep", http.MethodGet, "/v1/users/U1/x", nil, "", http.StatusNotFound, nil},
		{"NotJSONContent", http.MethodPost, "/v1/users", user("U1"), "text/plain", http.StatusUnsupportedMediaType, nil},
		{"NoContentType", http.MethodPost, "/v1/users", user("U1"), "-", http.StatusUnsupportedMediaType, nil},
		{"DeleteNotAllowed", http.MethodDelete, "/v1/users/U1", nil, "", http.StatusMethodNotAllowed, nil},
		{"GetOfCollectionNotAllowed", http.MethodGet, "/v1/users", nil, "", http.StatusMethodNotAllowed, nil},
		{"PostToAnIDNotAllowed", http.MethodPost, "/v1/users/U1", user("U1"), "", http.StatusMethodNotAllowed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var hdr []string
			switch tt.contentType {
			case "":
			case "-":
				hdr = []string{"Content-Type", ""}
			default:
				hdr = []string{"Content-Type", tt.contentType}
			}
			resp := b.do(t, tt.method, tt.path, tt.body, hdr...)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			eb := resp.errorBody(t)
			var got []want
			for _, e := range eb.Errors {
				require.NotEmpty(t, e.Message, "every error has a message")
				got = append(got, want{e.Field, e.Rule})
			}
			if tt.want != nil {
				require.ElementsMatch(t, tt.want, got, "body: %s", resp.body)
			}
			if tt.status == http.StatusMethodNotAllowed {
				require.NotEmpty(t, resp.header.Get("Allow"))
			}
			b.nothingWritten(t)
		})
	}
}

func TestMissingParent(t *testing.T) {
	t.Parallel()
	b := setup(t)

	task := b.bodies(t, "task")[0]
	task["channel_company_id"] = "C9"
	resp := b.do(t, http.MethodPost, "/v1/tasks", task)
	require.Equal(t, http.StatusConflict, resp.status, "body: %s", resp.body)
	eb := resp.errorBody(t)
	require.Equal(t, "channel_company_id: company C9 does not exist", eb.Error)
	require.Equal(t, []ingest.FieldError{{Field: "channel_company_id", Rule: ingest.RuleExists, Message: "company C9 does not exist"}}, eb.Errors)
	b.nothingWritten(t)

	// In an array, every missing parent is named with its record's index.
	b.post(t, "user", b.bodies(t, "user"))
	apps := b.bodies(t, "application")[:3]
	apps[1]["channel_user_id"] = "U-gone"
	resp = b.do(t, http.MethodPost, "/v1/applications", apps)
	require.Equal(t, http.StatusConflict, resp.status, "body: %s", resp.body)
	eb = resp.errorBody(t)
	var fields []string
	for _, e := range eb.Errors {
		fields = append(fields, e.Field)
	}
	require.Contains(t, fields, "[1].channel_user_id")
	for i := range 3 {
		require.Contains(t, fields, fmt.Sprintf("[%d].channel_task_id", i), "no task exists")
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM applications`))
}

func TestAuth(t *testing.T) {
	t.Parallel()

	t.Run("MissingOrWrongToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, auth := range []string{"", "Bearer wrong-token", "Bearer " + token + "x", "Basic " + token, "Bearer"} {
			for _, path := range []string{"/v1/users", "/v1/employees"} {
				resp := b.do(t, http.MethodPost, path, user("U1"), "Authorization", auth)
				require.Equal(t, http.StatusUnauthorized, resp.status, "auth %q", auth)
				require.Contains(t, resp.header.Get("WWW-Authenticate"), "Bearer")
				resp.errorBody(t)
			}
		}
		resp := b.do(t, http.MethodGet, "/v1/users/U1", nil, "Authorization", "")
		require.Equal(t, http.StatusUnauthorized, resp.status)
		b.nothingWritten(t)
		require.NotContains(t, b.logs.String(), token)
	})

	t.Run("SchemeIsCaseInsensitive", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp := b.do(t, http.MethodPost, "/v1/users", user("U1"), "Authorization", "bearer "+token)
		require.Equal(t, http.StatusAccepted, resp.status, "body: %s", resp.body)
	})

	t.Run("DisabledWithoutToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *setupOpts) { o.token = "" })
		for _, auth := range []string{"", "Bearer ", "Bearer " + token} {
			for _, m := range []string{http.MethodPost, http.MethodGet} {
				path := "/v1/users"
				if m == http.MethodGet {
					path += "/U1"
				}
				resp := b.do(t, m, path, nil, "Authorization", auth)
				require.Equal(t, http.StatusServiceUnavailable, resp.status)
				require.Equal(t, "ingest disabled: INGEST_TOKEN is not set", resp.errorBody(t).Error)
			}
		}
		b.nothingWritten(t)
	})
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()

	t.Run("Configured", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *setupOpts) { o.maxBodyBytes = 1024 })
		body := user("U1")
		body["name"] = strings.Repeat("张", 400)
		resp := b.do(t, http.MethodPost, "/v1/users", body)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
		require.Contains(t, resp.errorBody(t).Error, "1024")

		// Without a Content-Length the limit holds as well.
		buf, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, b.url+"/v1/users", io.MultiReader(bytes.NewReader(buf)))
		require.NoError(t, err)
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = r.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, r.StatusCode)
		b.nothingWritten(t)
	})

	t.Run("Default", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		big := `{"channel_user_id": "U1", "remark": "` + strings.Repeat("x", int(ingest.DefaultMaxBodyBytes)) + `"}`
		resp := b.do(t, http.MethodPost, "/v1/users", big)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
		b.nothingWritten(t)
	})
}

func TestGet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.loadParents(t)
	id := b.set.Users[0].ChannelUserID

	t.Run("PendingAfterWrite", func(t *testing.T) {
		v := b.getRecord(t, "user", id)
		require.Equal(t, "user", v.Kind)
		require.Equal(t, id, v.ID)
		require.Equal(t, ingest.StatusPending, v.Sync.Status)
		require.True(t, v.Sync.ChangedSincePush)
		require.Nil(t, v.Sync.AcceptedAt)
	})

	t.Run("DeadWithReason", func(t *testing.T) {
		_, err := b.pool.Exec(ctx, `INSERT INTO sync_state (target, kind, record_id, status, attempts, last_error, last_failed_at, source_updated_at)
			SELECT 'channel', 'user', channel_user_id, 'dead', 3, 'users/'||channel_user_id||': 1001 id_card rejected', now(), updated_at
			FROM users WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		v := b.getRecord(t, "user", id)
		require.Equal(t, ingest.StatusDead, v.Sync.Status)
		require.Equal(t, "channel", v.Sync.Target)
		require.Equal(t, []ingest.SyncView{v.Sync}, v.Targets, "the channel is the only target here")
		require.Equal(t, "users/"+id+": 1001 id_card rejected", v.Sync.Reason)
		require.EqualValues(t, 3, v.Sync.Attempts)
		require.False(t, v.Sync.ChangedSincePush)
		require.NotNil(t, v.Sync.LastFailedAt)
	})

	t.Run("InSync", func(t *testing.T) {
		_, err := b.pool.Exec(ctx, `UPDATE sync_state SET status = 'synced', remote_ref = 'CH-77', accepted_at = now(),
			attempts = 0, last_error = NULL WHERE kind = 'user' AND record_id = $1`, id)
		require.NoError(t, err)
		v := b.getRecord(t, "user", id)
		require.Equal(t, ingest.StatusInSync, v.Sync.Status)
		require.Equal(t, "CH-77", v.Sync.ChannelID)
		require.NotNil(t, v.Sync.AcceptedAt)
		require.Empty(t, v.Sync.Reason)
	})

	t.Run("ChangedSinceSyncIsPending", func(t *testing.T) {
		body := b.bodies(t, "user")[0]
		body["name"] = "王五"
		resp := b.do(t, http.MethodPut, "/v1/users/"+id, body)
		require.Equal(t, http.StatusAccepted, resp.status, "body: %s", resp.body)
		v := b.getRecord(t, "user", id)
		require.Equal(t, ingest.StatusPending, v.Sync.Status)
		require.True(t, v.Sync.ChangedSincePush)
		require.Equal(t, "CH-77", v.Sync.ChannelID)
	})

	t.Run("BlockedNamesTheParent", func(t *testing.T) {
		app := b.set.Applications[0].ChannelApplicationID
		_, err := b.pool.Exec(ctx, `INSERT INTO sync_state (target, kind, record_id, status, blocked_on_kind, blocked_on_id, last_error)
			VALUES ('channel', 'application', $1, 'blocked', 'task', 'T1', 'parent task/T1 is dead')`, app)
		require.NoError(t, err)
		v := b.getRecord(t, "application", app)
		require.Equal(t, ingest.StatusBlocked, v.Sync.Status)
		require.Equal(t, "task/T1", v.Sync.BlockedOn)
	})

	t.Run("ProblemsOfARowWrittenAroundTheAPI", func(t *testing.T) {
		_, err := b.pool.Exec(ctx, `UPDATE users SET phone = '123' WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		v := b.getRecord(t, "user", id)
		require.Len(t, v.Problems, 1)
		require.Equal(t, "phone", v.Problems[0].Field)
	})

	t.Run("UnknownID", func(t *testing.T) {
		resp := b.do(t, http.MethodGet, "/v1/users/U-none", nil)
		require.Equal(t, http.StatusNotFound, resp.status)
		require.Equal(t, "user U-none does not exist", resp.errorBody(t).Error)
	})
}

func TestConcurrentWritesOfOneID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const writers = 20
	const id = "U-hot"

	names := make([]string, writers)
	var wg sync.WaitGroup
	statuses := make([]int, writers)
	for i := range writers {
		names[i] = fmt.Sprintf("张%c", '一'+rune(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := user(id)
			body["name"] = names[i]
			method, path := http.MethodPost, "/v1/users"
			if i%2 == 1 {
				method, path = http.MethodPut, "/v1/users/"+id
			}
			buf, _ := json.Marshal(body)
			req, err := http.NewRequest(method, b.url+path, bytes.NewReader(buf))
			if err != nil {
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, http.StatusAccepted, s, "writer %d", i)
	}
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM users`))
	var name string
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT name FROM users WHERE channel_user_id = $1`, id).Scan(&name))
	require.Contains(t, names, name)
	// Each write either queued a push in its own transaction or found one
	// committed and not yet started (which reads the row when it runs);
	// writes that ran side by side may each have queued one.
	jobs := b.jobsFor(t, "user", id)
	require.GreaterOrEqual(t, jobs, 1, "the writes are pushed")
	require.LessOrEqual(t, jobs, writers)
	require.Zero(t, b.count(t, `SELECT count(*) FROM sync_outbox`))
}

func TestLogsHoldNoPersonalData(t *testing.T) {
	t.Parallel()
	b := setup(t)

	b.post(t, "user", user("U-log"))
	bad := user("U-log2")
	bad["phone"] = "19912345678x"
	resp := b.do(t, http.MethodPost, "/v1/users", bad)
	require.Equal(t, http.StatusBadRequest, resp.status)

	logs := b.logs.String()
	require.Contains(t, logs, `"kind":"user"`)
	require.Contains(t, logs, `"rules":"`)
	for _, secret := range []string{validIDCard, validPhone, "19912345678", "张三", token} {
		require.NotContains(t, logs, secret)
	}
}
