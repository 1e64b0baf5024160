package channelapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
)

// The tests of this file pin down what a hostile or broken channel cannot
// make the client do.

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		url  string
		ok   bool
	}{
		{"HTTPSAnyHost", "https://api.example.com/api/v1", true},
		{"HTTPLoopbackV4", "http://127.0.0.1:8080/api/v1", true},
		{"HTTPLoopbackV4AnyOf8", "http://127.9.9.9/api/v1", true},
		{"HTTPLoopbackV6", "http://[::1]:8080/api/v1", true},
		{"HTTPLocalhost", "http://localhost:8080/api/v1", true},
		{"HTTPLocalhostUppercase", "http://LOCALHOST/api/v1", true},
		{"HTTPRemoteHost", "http://api.example.com/api/v1", false},
		{"HTTPPrivateAddress", "http://10.0.0.1/api/v1", false},
		{"HTTPLocalhostLookalike", "http://localhost.evil.example/api/v1", false},
		{"HTTPLoopbackLookalike", "http://127.0.0.1.nip.io/api/v1", false},
		{"HTTPUnspecified", "http://0.0.0.0/api/v1", false},
		{"OtherScheme", "ftp://127.0.0.1/api/v1", false},
		{"NoHost", "https:///api/v1", false},
		{"Relative", "/api/v1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := channelapi.New(channelapi.Config{BaseURL: tt.url, AppKey: "a", Secret: testSecret})
			if tt.ok {
				require.NoError(t, err)
				require.NoError(t, channelapi.CheckBaseURL(tt.url))
				return
			}
			require.ErrorContains(t, err, "BaseURL")
			require.ErrorContains(t, err, "https")
			require.Error(t, channelapi.CheckBaseURL(tt.url))
		})
	}
	t.Run("PasswordNotRepeated", func(t *testing.T) {
		t.Parallel()
		_, err := channelapi.New(channelapi.Config{BaseURL: "http://user:pa55word@api.example.com/api/v1", AppKey: "a", Secret: testSecret})
		require.ErrorContains(t, err, "BaseURL")
		require.NotContains(t, err.Error(), "pa55word")
	})
}

func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	var cases []struct {
		name    string
		status  int
		onToken bool
	}
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, onToken := range []bool{true, false} {
			where := "DataCall"
			if onToken {
				where = "TokenCall"
			}
			cases = append(cases, struct {
				name    string
				status  int
				onToken bool
			}{fmt.Sprintf("%d%s", status, where), status, onToken})
		}
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var stolen atomic.Int64
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				stolen.Add(1)
				writeEnv(w, 200, 0, "success", map[string]any{"access_token": "x", "expires_in": 7200})
			}))
			t.Cleanup(target.Close)
			targetHost := strings.TrimPrefix(target.URL, "http://")
			redirect := func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.Path, tt.status)
			}
			if tt.onToken {
				b.fake.tokenAnswer = redirect
			} else {
				b.fake.answer = redirect
			}

			_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
			var ce *channelapi.Error
			require.ErrorAs(t, err, &ce)
			require.Zero(t, stolen.Load(), "the redirect target receives nothing: not the secret, not the data")
			require.Equal(t, tt.status, ce.HTTPStatus)
			require.Equal(t, targetHost, ce.Redirect)
			require.ErrorContains(t, err, targetHost, "the error names where the channel pointed")
			require.ErrorContains(t, err, "not followed")
			require.Equal(t, channelapi.ClassTransient, ce.Class, "not the record's fault")
			require.NotContains(t, err.Error(), testSecret)
			require.Equal(t, tt.onToken, ce.TokenEndpoint)
		})
	}
	t.Run("CallersHTTPClientIsLeftAlone", func(t *testing.T) {
		t.Parallel()
		hc := &http.Client{}
		_, err := channelapi.New(channelapi.Config{BaseURL: "https://api.example.com", AppKey: "a", Secret: testSecret, HTTPClient: hc})
		require.NoError(t, err)
		require.Nil(t, hc.CheckRedirect)
	})
}

func TestHugeRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		value func(now time.Time) string
		cap   time.Duration
		want  time.Duration
	}{
		{"SecondsToTheYear2319", func(time.Time) string { return "9467280000" }, 0, 15 * time.Minute},
		{"HTTPDateInTheYear2319", func(time.Time) string { return "Sat, 01 Jan 2319 00:00:00 GMT" }, 0, 15 * time.Minute},
		{"BeyondAnyInteger", func(time.Time) string { return "99999999999999999999999999" }, 0, 15 * time.Minute},
		{"ConfiguredCap", func(time.Time) string { return "3600" }, 2 * time.Minute, 2 * time.Minute},
		{"ConfiguredCapOnADate", func(now time.Time) string { return now.Add(time.Hour).UTC().Format(http.TimeFormat) }, 2 * time.Minute, 2 * time.Minute},
		{"ShortWaitKept", func(time.Time) string { return "7" }, 0, 7 * time.Second},
		{"WaitAtTheCapKept", func(time.Time) string { return "900" }, 0, 15 * time.Minute},
		{"NegativeIsNoWait", func(time.Time) string { return "-99999999999999999999999999" }, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			now := time.Unix(0, b.now.Load())
			b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tt.value(now))
				w.WriteHeader(http.StatusTooManyRequests)
			}
			client, err := channelapi.New(channelapi.Config{
				BaseURL: b.srv.URL + "/api/v1", AppKey: testAppKey, Secret: testSecret, HTTPClient: b.srv.Client(),
				MaxRetryAfter: tt.cap, NowFunc: func() time.Time { return now },
			})
			require.NoError(t, err)
			_, err = client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
			var ce *channelapi.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, channelapi.ClassRateLimited, ce.Class)
			require.Equal(t, tt.want, ce.RetryAfter)
		})
	}
}

// tokenFailures are answers of a token endpoint that refuse a token
// without being transient.
var tokenFailures = []struct {
	name   string
	answer func(w http.ResponseWriter)
	code   int
	status int
}{
	{"Param1001", func(w http.ResponseWriter) { writeEnv(w, 200, 1001, "grant_type invalid", nil) }, 1001, 200},
	{"AuthFailed1002", func(w http.ResponseWriter) { writeEnv(w, 200, 1002, "authentication failed", nil) }, 1002, 200},
	{"Forbidden1004", func(w http.ResponseWriter) { writeEnv(w, 200, 1004, "channel suspended", nil) }, 1004, 200},
	{"UnknownCode", func(w http.ResponseWriter) { writeEnv(w, 200, 4242, "something new", nil) }, 4242, 200},
	{"Envelope400", func(w http.ResponseWriter) { writeEnv(w, 400, 1001, "bad request", nil) }, 1001, 400},
	{"Bare403", func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) }, 0, 403},
	{"Bare401", func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) }, 0, 401},
	{"Bare404", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }, 0, 404},
}

func TestTokenEndpointFailureIsAuthNotData(t *testing.T) {
	t.Parallel()
	for _, tt := range tokenFailures {
		for _, viaRefresh := range []bool{false, true} {
			name := tt.name + "/FirstToken"
			if viaRefresh {
				name = tt.name + "/RefreshThenToken"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				var dataCalls atomic.Int64
				b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
					dataCalls.Add(1)
					writeEnv(w, 200, 0, "success", map[string]any{"user_id": "1"})
				}
				ctx := context.Background()
				if viaRefresh {
					_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{ChannelUserID: "U1"})
					require.NoError(t, err)
					b.advance(2 * time.Hour)
					b.fake.refreshAnswer = func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) }
					dataCalls.Store(0)
				}
				b.fake.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) }

				_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{ChannelUserID: "U1"})
				require.Zero(t, dataCalls.Load(), "no data call without a token")
				var ce *channelapi.Error
				require.ErrorAs(t, err, &ce)
				require.Equal(t, channelapi.ClassAuth, ce.Class, "never permanent: no record is to blame")
				require.Equal(t, channelapi.ClassAuth, channelapi.ClassOf(err))
				require.ErrorIs(t, err, channelapi.ErrTokenEndpoint)
				require.True(t, ce.TokenEndpoint)
				require.Equal(t, "POST /auth/token", ce.Op, "the failure after the fallback is the token call's")
				require.ErrorContains(t, err, "POST /auth/token: the token endpoint fails")
				require.ErrorContains(t, err, fmt.Sprintf("HTTP %d", tt.status))
				if tt.code != 0 {
					require.ErrorContains(t, err, fmt.Sprintf("code %d", tt.code))
				}
				require.NotContains(t, err.Error(), testSecret)
				if viaRefresh {
					require.EqualValues(t, 1, b.fake.refreshes.Load(), "the refresh was tried first")
				}
			})
		}
	}
	t.Run("RefreshRefusedTokenGranted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		_, err := b.client.Create(ctx, channelbody.Users, channelbody.User{ChannelUserID: "U1"})
		require.NoError(t, err)
		b.advance(2 * time.Hour)
		b.fake.refreshAnswer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 1004, "no refresh for you", nil) }
		_, err = b.client.Create(ctx, channelbody.Users, channelbody.User{ChannelUserID: "U1"})
		require.NoError(t, err, "the fallback to /auth/token succeeds")
		require.EqualValues(t, 2, b.fake.tokens.Load())
	})
	t.Run("ObserverSeesAuthNotPermanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 1004, "channel suspended", nil) }
		var seen atomic.Pointer[channelapi.Error]
		client, err := channelapi.New(channelapi.Config{
			BaseURL: b.srv.URL + "/api/v1", AppKey: testAppKey, Secret: testSecret, HTTPClient: b.srv.Client(),
			ObserveFunc: func(route string, e *channelapi.Error, _ time.Duration) {
				if route == "POST /auth/token" {
					seen.Store(e)
				}
			},
		})
		require.NoError(t, err)
		_, err = client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
		require.Error(t, err)
		require.NotNil(t, seen.Load())
		require.Equal(t, channelapi.ClassAuth, seen.Load().Class, "the channel's health reads auth failing, not a data error")
		require.True(t, seen.Load().TokenEndpoint)
	})
	t.Run("DataCallRefusalIsNotMarked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 1004, "permission denied", nil) }
		_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
		require.Equal(t, channelapi.ClassPermanent, channelapi.ClassOf(err))
		require.NotErrorIs(t, err, channelapi.ErrTokenEndpoint)
		require.NotContains(t, err.Error(), "token endpoint")
	})
}

func TestTokenEndpointTransientFailureStaysTransient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		class  channelapi.Class
	}{
		{"Bare503", func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }, channelapi.ClassTransient},
		{"Bare502HTML", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		}, channelapi.ClassTransient},
		{"Server5001", func(w http.ResponseWriter) { writeEnv(w, 500, 5001, "internal error", nil) }, channelapi.ClassTransient},
		{"Bare408", func(w http.ResponseWriter) { w.WriteHeader(http.StatusRequestTimeout) }, channelapi.ClassTransient},
		{"RateLimited429", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		}, channelapi.ClassRateLimited},
		{"DroppedConnection", func(w http.ResponseWriter) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}, channelapi.ClassTransient},
		{"NoAccessToken", func(w http.ResponseWriter) { writeEnv(w, 200, 0, "success", map[string]any{"expires_in": 7200}) }, channelapi.ClassTransient},
		{"HeaderInjectingToken", func(w http.ResponseWriter) {
			writeEnv(w, 200, 0, "success", map[string]any{"access_token": "abc\r\nX-Evil: 1", "expires_in": 7200})
		}, channelapi.ClassTransient},
		{"HugeToken", func(w http.ResponseWriter) {
			writeEnv(w, 200, 0, "success", map[string]any{"access_token": strings.Repeat("t", 1<<20), "expires_in": 7200})
		}, channelapi.ClassTransient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) }
			_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
			var ce *channelapi.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.class, ce.Class)
			require.ErrorIs(t, err, channelapi.ErrTokenEndpoint)
			require.ErrorContains(t, err, "the token endpoint fails")
			require.Less(t, len(err.Error()), 1000, "a huge answer is not copied into the error")
		})
	}
}

func TestRefreshSendsBearer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("RefreshCarriesTheCurrentToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first, err := b.client.Tokens().Token(ctx)
		require.NoError(t, err)
		b.advance(2 * time.Hour)
		second, err := b.client.Tokens().Token(ctx)
		require.NoError(t, err)
		require.NotEqual(t, first, second)
		require.Equal(t, []string{"token ", "refresh Bearer " + first}, b.fake.authCalls(),
			"the token call carries no bearer; the refresh call carries the token it renews")
	})
	t.Run("SimulatorAcceptsIt", func(t *testing.T) {
		t.Parallel()
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		now := func() time.Time { return time.Unix(0, clock.Load()) }
		sim := channelsimtest.Start(t, channelsim.Config{AppKey: testAppKey, Secret: testSecret, NowFunc: now})
		client, err := channelapi.New(channelapi.Config{BaseURL: sim.URL(), AppKey: testAppKey, Secret: testSecret, HTTPClient: sim.Client(), NowFunc: now})
		require.NoError(t, err)
		_, err = client.Tokens().Token(ctx)
		require.NoError(t, err)
		clock.Add(int64(2 * time.Hour)) // the access token has expired; the refresh token lives on
		_, err = client.Tokens().Token(ctx)
		require.NoError(t, err)
		st := sim.Stats()
		require.EqualValues(t, 1, st.Refreshes, "renewed by the refresh token, sent with the expired bearer")
		require.EqualValues(t, 1, st.TokensIssued)
	})
	t.Run("FallbackTokenCallCarriesNone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.refreshAnswer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 1003, "refresh token revoked", nil) }
		first, err := b.client.Tokens().Token(ctx)
		require.NoError(t, err)
		b.advance(2 * time.Hour)
		_, err = b.client.Tokens().Token(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"token ", "refresh Bearer " + first, "token "}, b.fake.authCalls())
	})
}

func TestChannelMessageIsCut(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("x", channelapi.MaxMessageLen)
	for _, tt := range []struct {
		name    string
		message string
		want    string // "" to check only the bounds and the prefix
	}{
		{"ShortKept", "task_name is required", "task_name is required"},
		{"ExactlyAtTheLimitKept", exact, exact},
		{"LongASCII", strings.Repeat("a", 10_000), strings.Repeat("a", channelapi.MaxMessageLen-len("…")) + "…"},
		{"LongChineseCutOnARuneBoundary", strings.Repeat("参数错误", 500), strings.Repeat("参数错误", 24) + "参数错…"},
		{"NewlinesCannotForgeLogLines", "bad\nlevel=ERROR msg=forged", "bad level=ERROR msg=forged"},
		{"TerminalEscapesDisarmed", "bad \x1b[2J\x1b[31mred\x07", "bad  [2J [31mred "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.answer = func(w http.ResponseWriter, _ *http.Request) { writeEnv(w, 200, 1001, tt.message, nil) }
			var observed atomic.Pointer[channelapi.Error]
			client, err := channelapi.New(channelapi.Config{
				BaseURL: b.srv.URL + "/api/v1", AppKey: testAppKey, Secret: testSecret, HTTPClient: b.srv.Client(),
				ObserveFunc: func(_ string, e *channelapi.Error, _ time.Duration) {
					if e != nil {
						observed.Store(e)
					}
				},
			})
			require.NoError(t, err)
			_, err = client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
			var ce *channelapi.Error
			require.ErrorAs(t, err, &ce)
			require.LessOrEqual(t, len(ce.Message), channelapi.MaxMessageLen)
			require.True(t, utf8.ValidString(ce.Message))
			require.Equal(t, tt.want, ce.Message)
			require.Equal(t, ce.Message, observed.Load().Message, "metrics and health see the cut message too")
		})
	}
	t.Run("TokenEndpointMessage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) {
			writeEnv(w, 200, 1004, strings.Repeat("拒", 10_000), nil)
		}
		_, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
		var ce *channelapi.Error
		require.ErrorAs(t, err, &ce)
		require.LessOrEqual(t, len(ce.Message), channelapi.MaxMessageLen)
		require.True(t, strings.HasSuffix(ce.Message, "…"))
	})
	t.Run("ChannelIDAndTimeAreCut", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.answer = func(w http.ResponseWriter, _ *http.Request) {
			writeEnv(w, 200, 0, "success", map[string]any{"user_id": strings.Repeat("9", 100_000), "created_at": strings.Repeat("T", 100_000)})
		}
		created, err := b.client.Create(context.Background(), channelbody.Users, channelbody.User{ChannelUserID: "U1"})
		require.NoError(t, err)
		require.LessOrEqual(t, len(created.ChannelRef), channelapi.MaxMessageLen)
		require.LessOrEqual(t, len(created.CreatedAt), channelapi.MaxMessageLen)
	})
}
