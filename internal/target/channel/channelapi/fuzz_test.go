package channelapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/stretchr/testify/require"
)

// The fuzz targets feed the client's decoding arbitrary answers through a
// canned http.RoundTripper (no network, so each input costs microseconds)
// and check invariants: no panic; a well-formed envelope with a non-zero
// code is always an *Error with that code; every error's class is one of
// the four; a 429 is rate-limited with a non-negative wait of at most the
// cap; a 3xx is a transient error; the channel's message is kept cut to
// MaxMessageLen bytes of valid UTF-8 without control characters; a token
// endpoint's failure matches ErrTokenEndpoint and is never permanent;
// neither the secret nor a token ever appears in an error's text (beyond
// the channel's own message, which is quoted). Each has a checked-in corpus
// under testdata/fuzz/<Name>/.

const (
	fuzzSecret  = "fz-SECRET-7Qw2pL"
	fuzzToken   = "fz-ACCESS-TOKEN-3Jd9"
	fuzzRefresh = "fz-REFRESH-TOKEN-8Kc1"
)

// fuzzNow is the fixed clock of the fuzzed clients.
var fuzzNow = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

var knownClasses = []Class{ClassTransient, ClassRateLimited, ClassAuth, ClassPermanent}

// canned answers every request without a network: auth calls with auth,
// the rest with api.
type canned struct {
	auth, api func() *http.Response
}

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	var resp *http.Response
	if strings.Contains(r.URL.Path, "/auth/") {
		resp = c.auth()
	} else {
		resp = c.api()
	}
	resp.Request = r
	return resp, nil
}

func answer(status int, header http.Header, body []byte) func() *http.Response {
	return func() *http.Response {
		if header == nil {
			header = http.Header{}
		}
		return &http.Response{
			StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: header.Clone(), Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}
	}
}

var goodToken = []byte(`{"code":0,"message":"success","data":{"access_token":"` + fuzzToken +
	`","token_type":"Bearer","expires_in":7200,"refresh_token":"` + fuzzRefresh + `"}}`)

func fuzzClient(t *testing.T, rt http.RoundTripper) *Client {
	t.Helper()
	c, err := New(Config{
		BaseURL: "https://channel.invalid/api/v1", AppKey: "fz-app", Secret: fuzzSecret,
		HTTPClient: &http.Client{Transport: rt}, NowFunc: func() time.Time { return fuzzNow },
	})
	require.NoError(t, err)
	return c
}

// fuzzStatus maps any int onto an HTTP status 100..599.
func fuzzStatus(n int) int {
	if n < 0 {
		n = -(n + 1)
	}
	return 100 + n%500
}

// envelope decodes body exactly as the client defines a well-formed
// envelope: a JSON object whose code is an integer and whose message, if
// any, is a string. An answer that is not one (a code written as a string,
// a message that is an object, ...) is undecodable, and classified by its
// HTTP status alone.
func envelope(body []byte) (code int, data json.RawMessage, ok bool) {
	var env struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil || env.Code == nil {
		return 0, nil, false
	}
	return *env.Code, env.Data, true
}

// requireNoSecrets requires the text of err, without the channel's own
// message, to hold neither the secret nor a token.
func requireNoSecrets(t *testing.T, err error, extra ...string) {
	t.Helper()
	text := err.Error()
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		text = strings.ReplaceAll(text, e.Message, "")
	}
	for _, s := range append([]string{fuzzSecret, fuzzToken, fuzzRefresh}, extra...) {
		if len(s) >= 8 {
			require.NotContains(t, text, s, "an error's text leaks a secret")
		}
	}
}

// requireWellFormed requires err to be a *Error with a known class and an
// operation.
func requireWellFormed(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	require.Truef(t, errors.As(err, &e), "want *Error, got %T: %v", err, err)
	require.Contains(t, knownClasses, e.Class)
	require.Equal(t, e.Class, ClassOf(err))
	require.NotEmpty(t, e.Op)
	require.GreaterOrEqual(t, e.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, e.RetryAfter, DefaultMaxRetryAfter)
	requireCut(t, e.Message)
	requireCut(t, e.Redirect)
	return e
}

// requireCut requires s to be text as cutText leaves it.
func requireCut(t *testing.T, s string) {
	t.Helper()
	require.LessOrEqual(t, len(s), MaxMessageLen)
	require.True(t, utf8.ValidString(s), "valid UTF-8")
	require.False(t, strings.ContainsFunc(s, unicode.IsControl), "no control characters")
}

// FuzzResponse feeds a record call (create, update, get or list, by op) an
// arbitrary answer: status, Retry-After header and body.
func FuzzResponse(f *testing.F) {
	for _, s := range []struct {
		status int
		retry  string
		body   string
		op     int
	}{
		{200, "", `{"code":0,"message":"success","data":{"user_id":"10001","channel_user_id":"U1","created_at":"2024-01-15T10:30:00Z"}}`, 0},
		{200, "", `{"code":1001,"message":"id_card: check digit mismatch","data":null}`, 0},
		{200, "", `{"code":1003,"message":"token expired"}`, 1},
		{200, "", `{"code":5001,"message":"internal error"}`, 2},
		{400, "", `{"code":1001,"message":"bad"}`, 0},
		{503, "", `{"code":5001,"message":"busy"}`, 1},
		{429, "3", `{"code":0,"message":"slow down"}`, 0},
		{429, "Wed, 21 Oct 2099 07:28:00 GMT", ``, 3},
		{502, "", `<html>Bad Gateway</html>`, 2},
		{401, "", ``, 0},
		{200, "", `{"code":0,"message":"ok","data":{"list":[{"task_id":"30001"}],"total":1,"page":1,"page_size":20}}`, 3},
		{200, "", `{"code":"1001","message":"code as text"}`, 0},
		{200, "", `{"code":1001,"message":{"field":"id_card"}}`, 0},
		{404, "", `{"code":1001,"message":"not found"}`, 2},
	} {
		f.Add(s.status, s.retry, []byte(s.body), s.op)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte, op int) {
		if bytes.Contains(body, []byte(fuzzSecret)) || strings.Contains(retryAfter, fuzzSecret) {
			t.Skip("the channel echoing our secret is not the client's leak")
		}
		status = fuzzStatus(status)
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		c := fuzzClient(t, canned{auth: answer(200, nil, goodToken), api: answer(status, h, body)})
		ctx := context.Background()
		var err error
		isList := false
		switch ((op % 4) + 4) % 4 {
		case 0:
			_, err = c.Create(ctx, channelbody.Users, json.RawMessage(`{"channel_user_id":"U1"}`))
		case 1:
			_, err = c.Update(ctx, channelbody.Tasks, "T1", json.RawMessage(`{"channel_task_id":"T1"}`))
		case 2:
			_, err = c.Get(ctx, channelbody.Payments, "P1")
		case 3:
			isList = true
			_, err = c.ListTasks(ctx, ListParams{Status: "open"})
		}

		code, data, isEnv := envelope(body)
		success := isEnv && code == CodeOK && status >= 200 && status < 300
		if err == nil {
			require.True(t, success, "no error, but not a success envelope")
			return
		}
		requireNoSecrets(t, err)
		if success {
			// Only a list answer can fail after a success envelope: its
			// data did not decode as a page.
			require.True(t, isList, "a success envelope failed: %v", err)
			_, perr := decodePage(data)
			require.Error(t, perr)
			return
		}
		e := requireWellFormed(t, err)
		require.Equal(t, status, e.HTTPStatus)
		isRedirect := status >= 300 && status < 400
		if isEnv && !isRedirect {
			require.Equal(t, code, e.Code, "the envelope's code is the error's")
		} else {
			require.Zero(t, e.Code)
		}
		switch {
		case isRedirect:
			require.Equal(t, ClassTransient, e.Class, "a redirect is not followed, and not the record's fault")
			require.Contains(t, err.Error(), "redirect not followed")
		case status == http.StatusTooManyRequests:
			require.Equal(t, ClassRateLimited, e.Class)
			require.Equal(t, parseRetryAfter(retryAfter, fuzzNow, DefaultMaxRetryAfter), e.RetryAfter)
		case code == CodeServer || code == CodeTokenInvalid:
			require.Equal(t, ClassTransient, e.Class)
		case code == CodeAuthFailed:
			require.Equal(t, ClassAuth, e.Class)
		case code != 0:
			require.Equal(t, ClassPermanent, e.Class)
		case status == http.StatusUnauthorized:
			require.Equal(t, ClassAuth, e.Class, "a bare 401 after a fresh token")
		case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooEarly || status < 400:
			require.Equal(t, ClassTransient, e.Class)
		default:
			require.Equal(t, ClassPermanent, e.Class)
		}
		// A redirect is never read, so its body cannot say "not found".
		if op%4 == 2 && !isRedirect && (code == CodeParam || (!isEnv && status == http.StatusNotFound)) {
			require.ErrorIs(t, err, ErrNotFound)
		}
	})
}

// FuzzRetryAfter parses arbitrary Retry-After values: the wait is the one
// asked for, capped at DefaultMaxRetryAfter.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "3", " 120 ", "-5", "+7", "1.5", "9999999999", "99999999999999999999",
		"Wed, 21 Oct 2099 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", "Monday, 02-Jan-06 15:04:05 MST", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		const limit = DefaultMaxRetryAfter
		d := parseRetryAfter(v, fuzzNow, limit)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, limit)
		s := strings.TrimSpace(v)
		secs, err := strconv.Atoi(s)
		if errors.Is(err, strconv.ErrRange) {
			if strings.HasPrefix(s, "-") {
				require.Zero(t, d)
			} else {
				require.Equal(t, limit, d, "more seconds than an int holds: capped")
			}
			return
		}
		if err == nil {
			switch {
			case secs <= 0:
				require.Zero(t, d)
			case int64(secs) <= int64(limit/time.Second):
				require.Equal(t, time.Duration(secs)*time.Second, d)
			default:
				require.Equal(t, limit, d, "a huge wait is capped, never wrapped")
			}
			return
		}
		if at, err := http.ParseTime(s); err == nil && at.After(fuzzNow) {
			require.Equal(t, min(at.Sub(fuzzNow), limit), d)
			return
		}
		require.Zero(t, d)
	})
}

// FuzzToken feeds the token fetch (new, or by refresh token with the
// fallback to the credentials) an arbitrary answer.
func FuzzToken(f *testing.F) {
	for _, s := range []struct {
		status  int
		body    string
		refresh bool
	}{
		{200, string(goodToken), false},
		{200, string(goodToken), true},
		{200, `{"code":0,"message":"success","data":{"access_token":"a1","expires_in":0}}`, false},
		{200, `{"code":0,"message":"success","data":{"access_token":"","expires_in":7200}}`, false},
		{200, `{"code":0,"message":"success","data":{"access_token":"a1","expires_in":"7200"}}`, false},
		{200, `{"code":1002,"message":"authentication failed"}`, false},
		{200, `{"code":1003,"message":"refresh token invalid"}`, true},
		{500, `oops`, false},
		{200, `{"code":0,"message":"success","data":null}`, true},
		{200, `{"code":0,"message":"success","data":{"access_token":"a1","expires_in":-30}}`, false},
	} {
		f.Add(s.status, []byte(s.body), s.refresh)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, refresh bool) {
		if bytes.Contains(body, []byte(fuzzSecret)) {
			t.Skip("the channel echoing our secret is not the client's leak")
		}
		status = fuzzStatus(status)
		c := fuzzClient(t, canned{auth: answer(status, nil, body), api: answer(500, nil, nil)})
		var cur *TokenState
		if refresh {
			cur = &TokenState{AccessToken: fuzzToken, RefreshToken: fuzzRefresh, ExpiresAt: fuzzNow}
		}
		st, err := c.FetchToken(context.Background(), cur)

		code, data, isEnv := envelope(body)
		var tok Token
		decoded := json.Unmarshal(data, &tok) == nil
		if err == nil {
			require.True(t, isEnv && code == CodeOK && status >= 200 && status < 300, "no error, but not a success envelope")
			require.True(t, decoded)
			require.True(t, usableToken(st.AccessToken), "a token fit for a header")
			require.Equal(t, tok.AccessToken, st.AccessToken)
			if usableToken(tok.RefreshToken) {
				require.Equal(t, tok.RefreshToken, st.RefreshToken)
			} else {
				require.Empty(t, st.RefreshToken, "an unusable refresh token is dropped")
			}
			require.True(t, st.ExpiresAt.After(fuzzNow), "a fresh token has not expired")
			switch {
			case tok.ExpiresIn <= 0:
				require.Equal(t, fuzzNow.Add(7200*time.Second), st.ExpiresAt)
			default:
				// Trusted for a day at most (maxTokenLifetimeSeconds).
				require.Equal(t, fuzzNow.Add(time.Duration(min(tok.ExpiresIn, maxTokenLifetimeSeconds))*time.Second), st.ExpiresAt)
			}
			return
		}
		// A token the failed answer carried must not leak either.
		requireNoSecrets(t, err, tok.AccessToken, tok.RefreshToken)
		e := requireWellFormed(t, err)
		require.ErrorIs(t, err, ErrTokenEndpoint)
		require.Contains(t, err.Error(), "token endpoint fails")
		require.NotEqual(t, ClassPermanent, e.Class, "a token endpoint's failure never condemns a record")
		isRedirect := status >= 300 && status < 400
		if isEnv && code != CodeOK && !isRedirect {
			require.Equal(t, code, e.Code, "the envelope's code is the error's")
			if code == CodeAuthFailed && status != http.StatusTooManyRequests {
				require.Equal(t, ClassAuth, e.Class)
			}
		}
	})
}

// FuzzDecodePage decodes arbitrary list data.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		``, `null`, `[]`, `[{"task_id":"30001"},{"task_id":"30002"}]`,
		`{"list":[{"a":1}],"total":1,"page":1,"page_size":20}`,
		`{"items":[],"total":"7"}`, `{"records":[1,2,3],"page":2.5}`, `{"data":{"x":1}}`,
		`{"total":99999999999999999999}`, `{"total":0}`, `{"total":3}`, `"text"`, `{`, `[1,`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := decodePage(data)
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) == nil && obj != nil && !hasListKey(data) {
			// An object without a list is an empty page only when its
			// total says 0; otherwise reading it as empty would make every
			// record look missing.
			if bytes.Equal(bytes.TrimSpace(obj["total"]), []byte("0")) {
				require.NoError(t, err)
				require.Empty(t, page.Items)
			} else {
				require.Error(t, err, "an object without a list")
			}
			return
		}
		if err != nil {
			return
		}
		for _, it := range page.Items {
			require.True(t, json.Valid(it), "every item is JSON")
		}
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) > 0 && trimmed[0] == '[' {
			var arr []json.RawMessage
			require.NoError(t, json.Unmarshal(trimmed, &arr))
			require.Len(t, page.Items, len(arr))
			require.Zero(t, page.Total)
		}
	})
}

func hasListKey(data []byte) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return false
	}
	for _, k := range []string{"list", "items", "records", "data"} {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}
