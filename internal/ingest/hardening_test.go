package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/ingest"
)

// raw sends a request as is (no helper checks) and returns its status and
// headers.
func (b *testBundle) raw(t *testing.T, method, path, auth, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.url+path, rd)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(got)
}

func (b *testBundle) metrics(t *testing.T) string {
	t.Helper()
	status, _, body := b.raw(t, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, status)
	return body
}

// series returns the lines of the ingest request counter.
func series(metrics string) []string {
	var out []string
	for line := range strings.Lines(metrics) {
		if strings.HasPrefix(line, "chansync_ingest_requests_total{") {
			out = append(out, line)
		}
	}
	return out
}

// requireShortLogLines fails when a log line is longer than limit bytes.
func requireShortLogLines(t *testing.T, logs string, limit int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		require.LessOrEqual(t, len(sc.Text()), limit, "log line: %.300s…", sc.Text())
	}
	require.NoError(t, sc.Err())
}

// madeUp returns a made-up HTTP method (a valid token) of n letters.
func madeUp(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + rand.IntN(26))
	}
	return string(b)
}

// TestIngestMadeUpMethodAddsNoSeries: requests with made-up methods and
// paths, with or without the token, add no metric series and no long log
// lines.
func TestIngestMadeUpMethodAddsNoSeries(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		auth string
		// path returns the request's path; it may be made up too.
		path func() string
	}{
		{"WithToken", "Bearer " + token, func() string { return "/v1/users" }},
		{"WithoutToken", "", func() string { return "/v1/users" }},
		{"UnknownRouteWithToken", "Bearer " + token, func() string { return "/v1/" + madeUp(10<<10) }},
		{"UnknownRouteWithoutToken", "", func() string { return "/v1/" + madeUp(10<<10) + "/" + madeUp(100) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.raw(t, madeUp(10<<10), tt.path(), tt.auth, "")
			before := b.metrics(t)

			for range 20 {
				status, _, body := b.raw(t, madeUp(10<<10), tt.path(), tt.auth, "")
				require.Contains(t, []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed}, status)
				require.Less(t, len(body), 1000, "the answer does not echo the method or the path")
			}
			after := b.metrics(t)
			require.Equal(t, len(series(before)), len(series(after)), "no new series:\n%s", strings.Join(series(after), ""))
			require.Less(t, len(after)-len(before), 20, "the scrape did not grow (a counter's digits aside)")
			require.Contains(t, after, `method="other"`)
			requireShortLogLines(t, b.logs.String(), 500)
		})
	}
}

// TestIngestBearerBruteForceThrottled: after AUTH_MAX_FAILURES wrong
// tokens from one address, its requests answer 429 with Retry-After, even
// with the right token (which is then not checked), until the wait is
// over; the refusals are logged once.
func TestIngestBearerBruteForceThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"channel_user_id":"U-bf","name":"张三","id_card":"` + validIDCard + `","phone":"` + validPhone + `"}`

	for i := range 10 {
		status, _, _ := b.raw(t, http.MethodPost, "/v1/users", fmt.Sprintf("Bearer guess-%d-%s", i, strings.Repeat("x", 20)), body)
		require.Equal(t, http.StatusUnauthorized, status)
	}
	status, hdr, answer := b.raw(t, http.MethodPost, "/v1/users", "Bearer "+token, body)
	require.Equal(t, http.StatusTooManyRequests, status, answer)
	require.Equal(t, "60", hdr.Get("Retry-After"), "one attempt comes back a minute")
	require.Contains(t, answer, "too many failed authentications")
	b.nothingWritten(t)

	require.Equal(t, 1, strings.Count(b.logs.String(), `"msg":"ingest request refused"`), "one line per address per minute")

	b.clock.Advance(time.Minute)
	status, _, answer = b.raw(t, http.MethodPost, "/v1/users", "Bearer "+token, body)
	require.Equal(t, http.StatusAccepted, status, answer)
}

// TestDuplicateKeysRefused: a key sent twice in one object, at any depth,
// is refused naming it (JSON decoders disagree on which copy wins).
func TestDuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	const rest = `"id_card":"` + validIDCard + `","phone":"` + validPhone + `"`
	const ok = `{"channel_user_id":"U1","name":"张三",` + rest + `}`

	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"TopLevel", `{"channel_user_id":"U1","name":"张三","name":"李四",` + rest + `}`, "name"},
		{"EscapedCopy", `{"channel_user_id":"U1","name":"张三","n\u0061me":"李四",` + rest + `}`, "name"},
		{"Nested", `{"channel_user_id":"U1","name":"张三",` + rest + `,"live_certification":{"certified":true,"certified":false,"certification_time":"2026-01-15T10:30:00Z"}}`, "live_certification.certified"},
		{"InAnArray", `[` + ok + `,{"channel_user_id":"U2","channel_user_id":"U3","name":"张三",` + rest + `}]`, "[1].channel_user_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			resp := b.do(t, http.MethodPost, "/v1/users", tt.body)
			require.Equal(t, http.StatusBadRequest, resp.status, "body: %s", resp.body)
			require.Contains(t, resp.errorBody(t).Errors, ingest.FieldError{Field: tt.field, Rule: ingest.RuleDuplicateKey,
				Message: "appears more than once in one object: send each field once"})
			b.nothingWritten(t)
		})
	}
}

// TestFormatCharactersRefused: ids and texts holding bidirectional or
// zero-width format characters (which make them show other than they are)
// are refused naming the field.
func TestFormatCharactersRefused(t *testing.T) {
	t.Parallel()
	valid := func(id, name string) string {
		return `{"channel_user_id":"` + id + `","name":"` + name + `","id_card":"` + validIDCard + `","phone":"` + validPhone + `"}`
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		field  string
	}{
		{"ZeroWidthSpaceInID", http.MethodPost, "/v1/users", valid("U1\u200b", "张三"), "channel_user_id"},
		{"RightToLeftOverrideInName", http.MethodPost, "/v1/users", valid("U1", "张\u202e三"), "name"},
		{"IsolateInName", http.MethodPost, "/v1/users", valid("U1", "\u2066张三\u2069"), "name"},
		{"ByteOrderMarkInID", http.MethodPost, "/v1/users", valid("\ufeffU1", "张三"), "channel_user_id"},
		{"EscapedInID", http.MethodPost, "/v1/users", valid(`U1\u200d`, "张三"), "channel_user_id"},
		{"InAnArray", http.MethodPost, "/v1/users", `[` + valid("U1", "张三") + `,` + valid("U2", "李\u200f四") + `]`, "[1].name"},
		{"Nested", http.MethodPost, "/v1/users", `{"channel_user_id":"U1","name":"张三","id_card":"` + validIDCard + `","phone":"` + validPhone +
			`","live_certification":{"certified":true,"certification_time":"2026-01-15T10:30:00Z","photos":["https://cdn.example.com/a.jpg","https://cdn.example.com/\u202eb.jpg"]}}`, "live_certification.photos[1]"},
		{"InThePathID", http.MethodPut, "/v1/users/U1%E2%80%8B", `{"name":"张三","id_card":"` + validIDCard + `","phone":"` + validPhone + `"}`, "channel_user_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			resp := b.do(t, tt.method, tt.path, tt.body)
			require.Equal(t, http.StatusBadRequest, resp.status, "body: %s", resp.body)
			var found bool
			for _, e := range resp.errorBody(t).Errors {
				if e.Field == tt.field && e.Rule == ingest.RuleFormatChar {
					found = true
					require.Contains(t, e.Message, "U+")
				}
			}
			require.True(t, found, "body: %s", resp.body)
			b.nothingWritten(t)
		})
	}
}

// TestIngestReadsAreLogged: a GET is logged with who read (the ingest
// token, from which address), the kind and the id, and nothing the record
// holds.
func TestIngestReadsAreLogged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.post(t, "user", user("U-read"))
	b.getRecord(t, "user", "U-read")

	var line string
	for l := range strings.Lines(b.logs.String()) {
		if strings.Contains(l, `"msg":"ingest read"`) {
			line = l
		}
	}
	require.NotEmpty(t, line, "logs: %s", b.logs.String())
	for _, want := range []string{`"actor":"ingest"`, `"remote":"127.0.0.1"`, `"kind":"user"`, `"id":"U-read"`, `"status":200`} {
		require.Contains(t, line, want)
	}
	for _, secret := range []string{"张三", validIDCard, validPhone} {
		require.NotContains(t, line, secret)
	}
}
