package channelsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testAppKey = "test-appkey"
	testSecret = "test-secret"
	// Valid under GB 11643 and GB 32100; the seed's own examples are not.
	validIDCard     = "11010519491231002X"
	validCreditCode = "91350100M000100Y43"
	seedIDCard      = "110101199001011234"
	seedCreditCode  = "91110000MA00ABCD01"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testBundle is what a test needs: a simulator on a local port, a client
// for it, a valid access token and the simulator's clock.
type testBundle struct {
	sim    *channelsimtest.Server
	client *http.Client
	clock  *fakeClock
	token  string
	tokens map[string]any // the data of the token answer
}

// setup starts a simulator with test credentials and a fake clock (opts may
// change the config, but set faults after setup: it fetches a token).
func setup(t *testing.T, opts ...func(*channelsim.Config)) *testBundle {
	t.Helper()
	clock := newFakeClock()
	cfg := channelsim.Config{AppKey: testAppKey, Secret: testSecret, NowFunc: clock.Now, Seed: 42}
	for _, o := range opts {
		o(&cfg)
	}
	sim := channelsimtest.Start(t, cfg)
	b := &testBundle{sim: sim, client: sim.Client(), clock: clock}
	res := b.do(t, http.MethodPost, "/auth/token", tokenBody(testAppKey, testSecret), noAuth)
	require.Equal(t, 0, res.code, res.message)
	b.tokens = res.data
	b.token = res.data["access_token"].(string)
	return b
}

func tokenBody(key, secret string) map[string]any {
	return map[string]any{"appkey": key, "secret": secret, "grant_type": "client_credentials"}
}

// response is an answer, decoded as far as it goes.
type response struct {
	status  int
	header  http.Header
	raw     []byte
	hasEnv  bool
	code    int
	message string
	data    map[string]any
	err     error // transport error (a dropped connection)
}

// noAuth sends no Authorization header; bearer(tok) sends that token.
var noAuth = map[string]string{"Authorization": ""}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// do sends a request under the API prefix. body is nil, a []byte or string
// sent verbatim, or a value sent as JSON. hdr overrides headers (an empty
// value removes one); by default the bundle's token is sent.
func (b *testBundle) do(t *testing.T, method, path string, body any, hdr ...map[string]string) response {
	t.Helper()
	res := b.try(t, method, b.sim.URL()+path, body, hdr...)
	require.NoError(t, res.err, "%s %s", method, path)
	return res
}

// try is do with a full URL that may fail at the transport.
func (b *testBundle) try(t *testing.T, method, url string, body any, hdr ...map[string]string) response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(v)
	case string:
		rd = strings.NewReader(v)
	default:
		j, err := json.Marshal(v)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	for _, h := range hdr {
		for k, v := range h {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	res := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	var env struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Code != nil {
		res.hasEnv, res.code, res.message = true, *env.Code, env.Message
		dec := json.NewDecoder(bytes.NewReader(env.Data))
		dec.UseNumber()
		_ = dec.Decode(&res.data)
	}
	return res
}

// admin sends a request to the admin endpoints and decodes the JSON answer
// into out (if not nil); it returns the status.
func (b *testBundle) admin(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.sim.AdminURL()+path, rd)
	require.NoError(t, err)
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		require.NoError(t, dec.Decode(out), string(raw))
	}
	return resp.StatusCode
}

// mustCreate posts a record and requires success; it returns the answer data.
func (b *testBundle) mustCreate(t *testing.T, plural string, body map[string]any) map[string]any {
	t.Helper()
	res := b.do(t, http.MethodPost, "/"+plural, body)
	require.Equal(t, http.StatusOK, res.status, string(res.raw))
	require.Equal(t, 0, res.code, res.message)
	return res.data
}

// seedParents creates company C1, user U1, task T1 (of C1) and application
// A1 (of U1 and T1).
func (b *testBundle) seedParents(t *testing.T) {
	t.Helper()
	b.mustCreate(t, "companies", company("C1"))
	b.mustCreate(t, "users", user("U1"))
	b.mustCreate(t, "tasks", task("T1", "C1"))
	b.mustCreate(t, "applications", application("A1", "U1", "T1"))
}

// Fixtures: valid bodies of each kind, every optional field filled.

func user(id string) map[string]any {
	return map[string]any{
		"channel_user_id": id,
		"name":            "张三",
		"id_card":         validIDCard,
		"phone":           "13800138000",
		"live_certification": map[string]any{
			"certified":            true,
			"certification_time":   "2024-01-15T10:30:00Z",
			"certification_method": "支付宝活体",
			"face_score":           95.5,
			"liveness_score":       98.2,
			"photos":               []any{"https://cdn.example.com/face/photo1.jpg"},
		},
	}
}

func company(id string) map[string]any {
	return map[string]any{
		"channel_company_id": id,
		"company_name":       "某某科技有限公司",
		"social_credit_code": validCreditCode,
		"legal_person":       "李四",
		"contact_person":     "王五",
		"contact_phone":      "010-12345678",
		"registered_address": "北京市朝阳区某某街道",
		"business_scope":     "技术开发、技术服务",
		"business_license": map[string]any{
			"license_number":       validCreditCode,
			"license_photo":        "https://cdn.example.com/license.jpg",
			"issue_date":           "2020-01-01",
			"expiry_date":          "2050-12-31",
			"registration_capital": 1000000,
			"paid_in_capital":      500000.5,
		},
	}
}

func task(id, companyID string) map[string]any {
	return map[string]any{
		"channel_task_id":         id,
		"channel_company_id":      companyID,
		"task_name":               "春节临时工招聘",
		"task_type":               "short_term",
		"recruit_count":           100,
		"recruitment_start_time":  "2024-01-20T00:00:00Z",
		"recruitment_end_time":    "2024-02-10T23:59:59Z",
		"work_start_time":         "2024-02-01T08:00:00Z",
		"work_end_time":           "2024-02-15T18:00:00Z",
		"work_location":           "北京市朝阳区某某工厂",
		"job_requirements":        "身体健康,能吃苦耐劳",
		"wage_description":        "按月结算,次月15日发放工资",
		"recruitment_description": "招聘春节期间临时工,负责流水线作业",
		"salary": map[string]any{
			"salary_type":     "monthly",
			"amount":          5000,
			"currency":        "CNY",
			"settlement_type": "月结",
		},
		"status": "open",
	}
}

func application(id, userID, taskID string) map[string]any {
	return map[string]any{
		"channel_application_id": id,
		"channel_user_id":        userID,
		"channel_task_id":        taskID,
		"applied_at":             "2024-01-18T14:30:00Z",
		"resume_url":             "https://cdn.example.com/resume.pdf",
		"application_channel":    "渠道A",
		"status":                 "pending",
		"remark":                 "备注",
	}
}

func payment(id, appID, userID string) map[string]any {
	return map[string]any{
		"channel_payment_id":     id,
		"payment_type":           "application",
		"channel_application_id": appID,
		"channel_user_id":        userID,
		"amount":                 5000.25,
		"currency":               "CNY",
		"payment_time":           "2024-02-20T10:00:00Z",
		"payment_method":         "银行转账",
		"payment_channel":        "中国工商银行",
		"bank_name":              "中国工商银行北京分行",
		"bank_account":           "6222021234567890123",
		"transaction_no":         "IOU20240220001",
		"payment_basis": map[string]any{
			"basis_type":      "月薪",
			"work_hours":      88.5,
			"work_date_start": "2024-02-01",
			"work_date_end":   "2024-02-15",
			"description":     "2024年2月1日-15日工资",
			"supporting_docs": []any{"https://cdn.example.com/salary_sheet.pdf"},
		},
		"status": "completed",
		"remark": "备注",
	}
}

// deepCopy copies a fixture through JSON so a case can change it freely.
func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	j, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(j, &out))
	return out
}

// setPath sets a dotted path ("salary.amount") in m; del removes it.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	m[parts[len(parts)-1]] = v
}

func delPath(m map[string]any, path string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	delete(m, parts[len(parts)-1])
}

// normalize turns a value into what the simulator gives back for it:
// numbers as json.Number.
func normalize(t *testing.T, v any) any {
	t.Helper()
	j, err := json.Marshal(v)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var out any
	require.NoError(t, dec.Decode(&out))
	return out
}
