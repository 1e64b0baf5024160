package channelapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

const (
	testAppKey = "appkey-1"
	testSecret = "s3cret-VALUE-xyz"
)

// fakeChannel is a scriptable channel for the client's unit tests; the
// project's simulator is exercised by the end-to-end tests.
type fakeChannel struct {
	mu        sync.Mutex
	tokens    atomic.Int64
	refreshes atomic.Int64
	valid     map[string]bool
	refresh   map[string]bool
	ttl       int
	// answer, if set, answers resource calls.
	answer func(w http.ResponseWriter, r *http.Request)
	// refreshAnswer, if set, answers /auth/refresh.
	refreshAnswer func(w http.ResponseWriter, r *http.Request)
	// tokenAnswer, if set, answers /auth/token.
	tokenAnswer func(w http.ResponseWriter, r *http.Request)
	// authHeaders records the Authorization header of every token ("token")
	// and refresh ("refresh") call, in order.
	authHeaders []string
	tokenDelay  time.Duration
}

func writeEnv(w http.ResponseWriter, status, code int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "data": data})
}

func (f *fakeChannel) issue() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.tokens.Load() + f.refreshes.Load()
	at, rt := fmt.Sprintf("access-%d-TOKEN", n), fmt.Sprintf("refresh-%d-TOKEN", n)
	f.valid[at] = true
	f.refresh[rt] = true
	return map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": f.ttl, "refresh_token": rt}
}

func (f *fakeChannel) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *fakeChannel) recordAuth(endpoint string, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authHeaders = append(f.authHeaders, endpoint+" "+r.Header.Get("Authorization"))
}

func (f *fakeChannel) authCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.authHeaders...)
}

func (f *fakeChannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v1/auth/token":
		f.recordAuth("token", r)
		if f.tokenDelay > 0 {
			time.Sleep(f.tokenDelay)
		}
		if f.tokenAnswer != nil {
			f.tokens.Add(1)
			f.tokenAnswer(w, r)
			return
		}
		var req channelapi.TokenRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.tokens.Add(1)
		if req.AppKey != testAppKey || req.Secret != testSecret || req.GrantType != "client_credentials" {
			writeEnv(w, 200, 1002, "authentication failed", nil)
			return
		}
		writeEnv(w, 200, 0, "success", f.issue())
		return
	case "/api/v1/auth/refresh":
		f.recordAuth("refresh", r)
		f.refreshes.Add(1)
		if f.refreshAnswer != nil {
			f.refreshAnswer(w, r)
			return
		}
		var req channelapi.RefreshRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		ok := f.refresh[req.RefreshToken]
		delete(f.refresh, req.RefreshToken)
		f.mu.Unlock()
		if !ok || req.GrantType != "refresh_token" {
			writeEnv(w, 200, 1003, "refresh token invalid", nil)
			return
		}
		writeEnv(w, 200, 0, "success", f.issue())
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	ok := f.valid[tok]
	f.mu.Unlock()
	if !ok {
		writeEnv(w, 200, 1003, "token expired", nil)
		return
	}
	if f.answer != nil {
		f.answer(w, r)
		return
	}
	writeEnv(w, 200, 0, "success", map[string]any{"user_id": "10001", "channel_user_id": "U1", "created_at": "2024-01-15T10:30:00Z"})
}

type testBundle struct {
	fake   *fakeChannel
	srv    *httptest.Server
	client *channelapi.Client
	logs   *bytes.Buffer
	now    *atomic.Int64 // unix nanos of the fake clock
}

type lockedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	fake := &fakeChannel{valid: map[string]bool{}, refresh: map[string]bool{}, ttl: 7200}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	b := &testBundle{fake: fake, srv: srv, now: &atomic.Int64{}}
	b.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	logs := &lockedBuffer{}
	b.logs = &logs.Buffer
	client, err := channelapi.New(channelapi.Config{
		BaseURL: srv.URL + "/api/v1/", AppKey: testAppKey, Secret: testSecret,
		HTTPClient: srv.Client(),
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		NowFunc:    func() time.Time { return time.Unix(0, b.now.Load()) },
	})
	require.NoError(t, err)
	b.client = client
	t.Cleanup(func() { srv.Client().CloseIdleConnections() })
	return b
}

func (b *testBundle) advance(d time.Duration) { b.now.Add(int64(d)) }

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  channelapi.Config
		want string
	}{
		{"MissingBaseURL", channelapi.Config{AppKey: "a", Secret: "s"}, "BaseURL"},
		{"BaseURLNotHTTP", channelapi.Config{BaseURL: "ftp://x", AppKey: "a", Secret: "s"}, "BaseURL"},
		{"MissingAppKey", channelapi.Config{BaseURL: "https://x", Secret: "s"}, "AppKey"},
		{"MissingSecret", channelapi.Config{BaseURL: "https://x", AppKey: "a"}, "Secret"},
		{"NegativeMaxRetryAfter", channelapi.Config{BaseURL: "https://x", AppKey: "a", Secret: "s", MaxRetryAfter: -time.Second}, "MaxRetryAfter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := channelapi.New(tt.cfg)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCreateDecodesTheChannelsID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var gotPath, gotAuth string
	var gotBody map[string]any
	b.fake.answer = func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.Path, r.Header.Get("Authorization")
		_ = json.NewDecoder(r.Body).Decode(&gotBody)
		writeEnv(w, 200, 0, "success", map[string]any{"task_id": 30001, "channel_task_id": "T1", "created_at": "2024-01-15T10:30:00Z"})
	}
	c, err := b.client.Create(context.Background(), channelbody.Tasks, channelbody.Task{ChannelTaskID: "T1", TaskName: "x"})
	require.NoError(t, err)
	require.Equal(t, channelapi.ID("30001"), c.ChannelRef, "a numeric id decodes too")
	require.Equal(t, "/api/v1/tasks", gotPath)
	require.True(t, strings.HasPrefix(gotAuth, "Bearer access-"))
	require.Equal(t, "T1", gotBody["channel_task_id"])
	require.NotContains(t, gotBody, "work_start_time", "empty optional fields are omitted")
}

func TestErrorShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answer     func(w http.ResponseWriter)
		class      channelapi.Class
		code       int
		status     int
		retryAfter time.Duration
	}{
		{"Envelope200Param", func(w http.ResponseWriter) { writeEnv(w, 200, 1001, "task_name is required", nil) }, channelapi.ClassPermanent, 1001, 200, 0},
		{"Envelope200Forbidden", func(w http.ResponseWriter) { writeEnv(w, 200, 1004, "permission denied", nil) }, channelapi.ClassPermanent, 1004, 200, 0},
		{"Envelope200Server", func(w http.ResponseWriter) { writeEnv(w, 200, 5001, "internal error", nil) }, channelapi.ClassTransient, 5001, 200, 0},
		{"Envelope200AuthFailed", func(w http.ResponseWriter) { writeEnv(w, 200, 1002, "auth failed", nil) }, channelapi.ClassAuth, 1002, 200, 0},
		{"Envelope200UnknownCode", func(w http.ResponseWriter) { writeEnv(w, 200, 4242, "something new", nil) }, channelapi.ClassPermanent, 4242, 200, 0},
		{"Envelope400Param", func(w http.ResponseWriter) { writeEnv(w, 400, 1001, "bad", nil) }, channelapi.ClassPermanent, 1001, 400, 0},
		{"Envelope500Server", func(w http.ResponseWriter) { writeEnv(w, 500, 5001, "oops", nil) }, channelapi.ClassTransient, 5001, 500, 0},
		{"Bare502HTML", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
		}, channelapi.ClassTransient, 0, 502, 0},
		{"Bare503Empty", func(w http.ResponseWriter) { w.WriteHeader(503) }, channelapi.ClassTransient, 0, 503, 0},
		{"Bare504", func(w http.ResponseWriter) { w.WriteHeader(504) }, channelapi.ClassTransient, 0, 504, 0},
		{"Bare408", func(w http.ResponseWriter) { w.WriteHeader(408) }, channelapi.ClassTransient, 0, 408, 0},
		{"Bare425", func(w http.ResponseWriter) { w.WriteHeader(425) }, channelapi.ClassTransient, 0, 425, 0},
		{"Bare404", func(w http.ResponseWriter) { w.WriteHeader(404) }, channelapi.ClassPermanent, 0, 404, 0},
		{"Bare400", func(w http.ResponseWriter) { w.WriteHeader(400) }, channelapi.ClassPermanent, 0, 400, 0},
		{"RateLimitedSeconds", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, channelapi.ClassRateLimited, 0, 429, 7 * time.Second},
		{"RateLimitedNoHeader", func(w http.ResponseWriter) { w.WriteHeader(429) }, channelapi.ClassRateLimited, 0, 429, 0},
		{"RateLimitedWithEnvelope", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			writeEnv(w, 429, 5001, "slow down", nil)
		}, channelapi.ClassRateLimited, 5001, 429, 2 * time.Second},
		{"Garbage200", func(w http.ResponseWriter) { _, _ = w.Write([]byte("{not json")) }, channelapi.ClassTransient, 0, 200, 0},
		{"HTML200", func(w http.ResponseWriter) { _, _ = w.Write([]byte("<html>maintenance</html>")) }, channelapi.ClassTransient, 0, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.answer = func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) }
			_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
			require.Error(t, err)
			var ce *channelapi.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.class, ce.Class, err.Error())
			require.Equal(t, tt.class, channelapi.ClassOf(err))
			require.Equal(t, tt.code, ce.Code)
			require.Equal(t, tt.status, ce.HTTPStatus)
			require.Equal(t, tt.retryAfter, ce.RetryAfter)
			require.NotContains(t, err.Error(), testSecret)
			require.NotContains(t, err.Error(), "TOKEN")
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	when := time.Unix(0, b.now.Load()).Add(30 * time.Second).UTC().Format(http.TimeFormat)
	b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", when)
		w.WriteHeader(429)
	}
	_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{})
	var ce *channelapi.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 30*time.Second, ce.RetryAfter)
}

func TestNetworkErrorsAreTransient(t *testing.T) {
	t.Parallel()
	t.Run("DroppedConnection", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			_ = conn.Close()
		}
		_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{})
		require.Equal(t, channelapi.ClassTransient, channelapi.ClassOf(err))
		var ce *channelapi.Error
		require.ErrorAs(t, err, &ce)
		require.Zero(t, ce.HTTPStatus)
	})
	t.Run("ConnectionRefused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		c, err := channelapi.New(channelapi.Config{BaseURL: "http://" + addr + "/api/v1", AppKey: "a", Secret: testSecret})
		require.NoError(t, err)
		_, err = c.Create(context.Background(), channelbody.Users, channelbody.User{})
		require.Equal(t, channelapi.ClassTransient, channelapi.ClassOf(err))
		require.NotContains(t, err.Error(), testSecret)
	})
	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		hc := b.srv.Client()
		hc.Timeout = 200 * time.Millisecond
		c, err := channelapi.New(channelapi.Config{BaseURL: b.srv.URL + "/api/v1", AppKey: testAppKey, Secret: testSecret, HTTPClient: hc})
		require.NoError(t, err)
		_, err = c.Create(context.Background(), channelbody.Users, channelbody.User{})
		require.Equal(t, channelapi.ClassTransient, channelapi.ClassOf(err))
	})
}

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"Envelope1001", func(w http.ResponseWriter) { writeEnv(w, 200, 1001, "user not found", nil) }},
		{"HTTP404Envelope", func(w http.ResponseWriter) { writeEnv(w, 404, 1001, "user not found", nil) }},
		{"Bare404", func(w http.ResponseWriter) { w.WriteHeader(404) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.answer = func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) }
			_, err := b.client.Get(context.Background(), channelbody.Users, "U1")
			require.ErrorIs(t, err, channelapi.ErrNotFound)
		})
	}
	t.Run("FoundReadsTheChannelsID", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "/api/v1/users/U%201", r.URL.EscapedPath(), "ids are path-escaped")
			writeEnv(w, 200, 0, "success", map[string]any{"user_id": "10001", "channel_user_id": "U 1", "name": "张三"})
		}
		rec, err := b.client.Get(context.Background(), channelbody.Users, "U 1")
		require.NoError(t, err)
		require.Equal(t, channelapi.ID("10001"), rec.ChannelRef)
		require.Contains(t, string(rec.Raw), "张三")
	})
	t.Run("ServerErrorIsNotNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 5001, "oops", nil) }
		_, err := b.client.Get(context.Background(), channelbody.Users, "U1")
		require.NotErrorIs(t, err, channelapi.ErrNotFound)
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OneFetchForManyGoroutines", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.tokenDelay = 50 * time.Millisecond
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{})
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		require.EqualValues(t, 1, b.fake.tokens.Load())
		require.EqualValues(t, 0, b.fake.refreshes.Load())
	})

	t.Run("AbsurdLifetimeIsCapped", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.ttl = 18446744074 // seconds: would overflow a time.Duration
		tok, err := b.client.FetchToken(ctx, nil)
		require.NoError(t, err)
		now := time.Unix(0, b.now.Load())
		require.True(t, tok.ExpiresAt.After(now), "not wrapped into the past")
		require.False(t, tok.ExpiresAt.After(now.Add(24*time.Hour)), "trusted for a day at most")
	})

	t.Run("RefreshedBeforeExpiry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.ttl = 600
		_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.NoError(t, err)
		b.advance(590 * time.Second) // within the margin (min(60s, 120s))
		_, err = b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.NoError(t, err)
		require.EqualValues(t, 1, b.fake.tokens.Load())
		require.EqualValues(t, 1, b.fake.refreshes.Load(), "renewed with the refresh token")
	})

	t.Run("RefreshFailureFallsBackToToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.refreshAnswer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 1003, "refresh token revoked", nil) }
		_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.NoError(t, err)
		b.advance(2 * time.Hour)
		_, err = b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.NoError(t, err)
		require.EqualValues(t, 1, b.fake.refreshes.Load())
		require.EqualValues(t, 2, b.fake.tokens.Load())
	})

	t.Run("Code1003RefreshesOnceAndRepeatsOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var calls atomic.Int64
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			writeEnv(w, 200, 0, "success", map[string]any{"user_id": "1"})
		}
		_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.NoError(t, err)
		b.fake.revoke() // the token dies before its time
		_, err = b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.NoError(t, err)
		require.EqualValues(t, 2, calls.Load(), "the rejected call is repeated once after the refresh")
		require.EqualValues(t, 1, b.fake.refreshes.Load())
	})

	t.Run("SecondCode1003IsAnError", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var calls atomic.Int64
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			writeEnv(w, 200, 1003, "token invalid", nil)
		}
		_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{})
		require.True(t, channelapi.IsCode(err, channelapi.CodeTokenInvalid))
		require.Equal(t, channelapi.ClassTransient, channelapi.ClassOf(err))
		require.EqualValues(t, 2, calls.Load(), "exactly one repeat")
	})

	t.Run("InvalidateKeepsANewerToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ts := b.client.Tokens()
		first, err := ts.Token(ctx)
		require.NoError(t, err)
		ts.Invalidate(first)
		second, err := ts.Token(ctx)
		require.NoError(t, err)
		require.NotEqual(t, first, second)
		ts.Invalidate(first) // a late 1003 for the old token
		third, err := ts.Token(ctx)
		require.NoError(t, err)
		require.Equal(t, second, third)
	})

	t.Run("WrongCredentialsAreHeldBriefly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c, err := channelapi.New(channelapi.Config{BaseURL: b.srv.URL + "/api/v1", AppKey: testAppKey, Secret: "wrong-" + testSecret, HTTPClient: b.srv.Client()})
		require.NoError(t, err)
		for range 5 {
			_, err = c.Create(ctx, channelbody.Users, channelbody.User{})
			require.Equal(t, channelapi.ClassAuth, channelapi.ClassOf(err))
			require.NotContains(t, err.Error(), "wrong-"+testSecret)
		}
		require.EqualValues(t, 1, b.fake.tokens.Load(), "the refusal is remembered, not retried at once")
	})

	t.Run("WaitingCallerHonoursItsContext", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.tokenDelay = 300 * time.Millisecond
		go func() { _, _ = b.client.Tokens().Token(ctx) }()
		time.Sleep(20 * time.Millisecond)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		_, err := b.client.Tokens().Token(cctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		time.Sleep(400 * time.Millisecond)
	})
}

func TestLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("FiltersAndPagingInTheQuery", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var query string
		b.fake.answer = func(w http.ResponseWriter, r *http.Request) {
			query = r.URL.RawQuery
			writeEnv(w, 200, 0, "success", map[string]any{"list": []any{map[string]any{"channel_payment_id": "P1"}}, "total": 41, "page": 2, "page_size": 20})
		}
		page, err := b.client.ListPayments(ctx, channelapi.ListParams{ChannelUserID: "U1", PaymentType: "user", Page: 2, PageSize: 20})
		require.NoError(t, err)
		require.Equal(t, "channel_user_id=U1&page=2&page_size=20&payment_type=user", query)
		require.Len(t, page.Items, 1)
		require.Equal(t, 41, page.Total)
		require.Equal(t, 2, page.Page)
	})
	t.Run("UndefinedFilterIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.client.ListTasks(ctx, channelapi.ListParams{ChannelUserID: "U1"})
		require.ErrorContains(t, err, "channel_user_id")
	})
	t.Run("BareArray", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
			writeEnv(w, 200, 0, "success", []any{map[string]any{"channel_task_id": "T1"}, map[string]any{"channel_task_id": "T2"}})
		}
		page, err := b.client.ListApplications(ctx, channelapi.ListParams{Status: "pending"})
		require.NoError(t, err)
		require.Len(t, page.Items, 2)
	})
}

func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{ChannelUserID: "U1"})
	require.NoError(t, err)
	b.fake.revoke()
	_, _ = b.client.Create(ctx, channelbody.Users, channelbody.User{ChannelUserID: "U1"})
	logs := b.logs.String()
	require.Contains(t, logs, "channel request")
	require.NotContains(t, logs, testSecret)
	require.NotContains(t, logs, "TOKEN", "no access or refresh token in any line")
}

func TestClassOfPlainErrors(t *testing.T) {
	t.Parallel()
	require.Equal(t, channelapi.ClassTransient, channelapi.ClassOf(errors.New("boom")))
	require.Equal(t, "rate-limited", channelapi.ClassRateLimited.String())
}
