package channelsim_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

func TestAuth(t *testing.T) {
	t.Parallel()

	t.Run("IssuesTokenOfTheSeedShape", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, "Bearer", b.tokens["token_type"])
		require.Equal(t, json.Number("7200"), b.tokens["expires_in"])
		require.NotEmpty(t, b.tokens["access_token"])
		require.NotEmpty(t, b.tokens["refresh_token"])

		again := b.do(t, http.MethodPost, "/auth/token", tokenBody(testAppKey, testSecret), noAuth)
		require.Equal(t, 0, again.code)
		require.NotEqual(t, b.token, again.data["access_token"], "every token is new")
		require.NotEqual(t, b.tokens["refresh_token"], again.data["refresh_token"])

		st := b.sim.Stats()
		require.Equal(t, int64(2), st.TokenRequests)
		require.Equal(t, int64(2), st.TokensIssued)
	})

	t.Run("TokenErrors", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name     string
			body     any
			hdr      map[string]string
			wantCode int
			wantMsg  string
		}{
			{"WrongAppKeyIs1002", tokenBody("other", testSecret), nil, 1002, "wrong appkey or secret"},
			{"WrongSecretIs1002", tokenBody(testAppKey, "nope"), nil, 1002, "wrong appkey or secret"},
			{"WrongGrantTypeIs1001", map[string]any{"appkey": testAppKey, "secret": testSecret, "grant_type": "password"}, nil, 1001, "grant_type: must be client_credentials"},
			{"MissingAppKeyIs1001", map[string]any{"secret": testSecret, "grant_type": "client_credentials"}, nil, 1001, "appkey: required"},
			{"MissingGrantTypeIs1001", map[string]any{"appkey": testAppKey, "secret": testSecret}, nil, 1001, "grant_type: required"},
			{"EmptySecretIs1001", tokenBody(testAppKey, ""), nil, 1001, "secret: must not be empty"},
			{"NumberAppKeyIs1001", map[string]any{"appkey": 1, "secret": testSecret, "grant_type": "client_credentials"}, nil, 1001, "appkey: must be a string, got number"},
			{"UnknownFieldIs1001", map[string]any{"appkey": testAppKey, "secret": testSecret, "grant_type": "client_credentials", "scope": "all"}, nil, 1001, "scope: unknown field"},
			{"InvalidJSONIs1001", `{"appkey":`, nil, 1001, "body: invalid JSON"},
			{"ArrayIs1001", `[1]`, nil, 1001, "body: must be a JSON object"},
			{"NullIs1001", `null`, nil, 1001, "body: must be a JSON object"},
			{"EmptyBodyIs1001", ``, nil, 1001, "body: empty"},
			{"TrailingDataIs1001", `{"appkey":"a","secret":"b","grant_type":"client_credentials"} {}`, nil, 1001, "trailing data"},
			{"InvalidUTF8Is1001", "{\"appkey\":\"\xff\",\"secret\":\"s\",\"grant_type\":\"client_credentials\"}", nil, 1001, "body: not valid UTF-8"},
			{"NotJSONContentTypeIs1001", tokenBody(testAppKey, testSecret), map[string]string{"Content-Type": "text/plain"}, 1001, "Content-Type must be application/json"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				res := b.do(t, http.MethodPost, "/auth/token", tc.body, noAuth, tc.hdr)
				require.Equal(t, http.StatusOK, res.status, "errors are HTTP 200 in the default style")
				require.Equal(t, tc.wantCode, res.code)
				require.Contains(t, res.message, tc.wantMsg)
				require.Equal(t, int64(1), b.sim.Stats().AuthRejections[tc.wantCode])
			})
		}
	})

	t.Run("OnlyPost", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.do(t, http.MethodGet, "/auth/token", nil)
		require.Equal(t, http.StatusMethodNotAllowed, res.status)
		require.Equal(t, 1001, res.code)
	})

	t.Run("BearerErrors", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name    string
			hdr     map[string]string
			wantMsg string
		}{
			{"Missing", noAuth, "missing Authorization header"},
			{"BasicScheme", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, "malformed Authorization header"},
			{"LowercaseScheme", map[string]string{"Authorization": "bearer x"}, "malformed Authorization header"},
			{"NoToken", map[string]string{"Authorization": "Bearer "}, "malformed Authorization header"},
			{"TwoWords", map[string]string{"Authorization": "Bearer a b"}, "malformed Authorization header"},
			{"UnknownToken", bearer("at_nonsense"), "invalid or revoked"},
			{"RefreshTokenIsNoAccessToken", nil, "invalid or revoked"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				hdr := tc.hdr
				if hdr == nil {
					hdr = bearer(b.tokens["refresh_token"].(string))
				}
				res := b.do(t, http.MethodPost, "/users", user("U1"), hdr)
				require.Equal(t, 1003, res.code)
				require.Contains(t, res.message, tc.wantMsg)
				require.Zero(t, b.sim.Count("user"), "nothing is stored without a valid token")
				require.Equal(t, int64(1), b.sim.Stats().Kinds["user"].Rejections[1003])
			})
		}
	})

	t.Run("TokenExpires", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.TokenTTL = 10 * time.Second })
		require.Equal(t, json.Number("10"), b.tokens["expires_in"])
		b.clock.Advance(9 * time.Second)
		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)

		b.clock.Advance(time.Second)
		res := b.do(t, http.MethodPost, "/users", user("U2"))
		require.Equal(t, 1003, res.code)
		require.Contains(t, res.message, "expired")

		ref := b.do(t, http.MethodPost, "/auth/refresh", map[string]any{"refresh_token": b.tokens["refresh_token"], "grant_type": "refresh_token"}, noAuth)
		require.Equal(t, 0, ref.code, ref.message)
		res = b.do(t, http.MethodPost, "/users", user("U2"), bearer(ref.data["access_token"].(string)))
		require.Equal(t, 0, res.code, res.message)
	})

	t.Run("SubSecondLifetimeAnswersOneSecond", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.TokenTTL = 300 * time.Millisecond })
		require.Equal(t, json.Number("1"), b.tokens["expires_in"])
		b.clock.Advance(300 * time.Millisecond)
		require.Equal(t, 1003, b.do(t, http.MethodGet, "/users/U1", nil).code)
	})

	t.Run("RefreshTokenExpires", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *channelsim.Config) { c.RefreshTokenTTL = time.Minute })
		b.clock.Advance(time.Minute)
		res := b.do(t, http.MethodPost, "/auth/refresh", map[string]any{"refresh_token": b.tokens["refresh_token"], "grant_type": "refresh_token"}, noAuth)
		require.Equal(t, 1003, res.code)
		require.Equal(t, int64(1), b.sim.Stats().AuthRejections[1003])
	})
}

func TestRefresh(t *testing.T) {
	t.Parallel()

	refreshBodyFunc := func(tok any) map[string]any {
		return map[string]any{"refresh_token": tok, "grant_type": "refresh_token"}
	}

	t.Run("RotatesTheRefreshToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rt1 := b.tokens["refresh_token"]
		res := b.do(t, http.MethodPost, "/auth/refresh", refreshBodyFunc(rt1), noAuth)
		require.Equal(t, 0, res.code, res.message)
		require.Equal(t, "Bearer", res.data["token_type"])
		require.Equal(t, json.Number("7200"), res.data["expires_in"])
		at2, rt2 := res.data["access_token"].(string), res.data["refresh_token"]
		require.NotEqual(t, b.token, at2)
		require.NotEqual(t, rt1, rt2)

		again := b.do(t, http.MethodPost, "/auth/refresh", refreshBodyFunc(rt1), noAuth)
		require.Equal(t, 1003, again.code, "a used refresh token is dead")

		require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1"), bearer(at2)).code)
		require.Equal(t, 0, b.do(t, http.MethodGet, "/users/U1", nil).code, "the old access token lives until it expires")
		require.Equal(t, 0, b.do(t, http.MethodPost, "/auth/refresh", refreshBodyFunc(rt2), noAuth).code)

		st := b.sim.Stats()
		require.Equal(t, int64(3), st.RefreshRequests)
		require.Equal(t, int64(2), st.Refreshes)
	})

	// The seed's header table marks the bearer required on every call, but
	// a refresh is made when the access token is expiring or dead: the
	// simulator accepts it with the current token, a stale one, or none.
	t.Run("AcceptedWithOrWithoutBearer", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			hdr  func(b *testBundle) map[string]string
		}{
			{"NoBearer", func(*testBundle) map[string]string { return noAuth }},
			{"CurrentBearer", func(b *testBundle) map[string]string { return bearer(b.token) }},
			{"UnknownBearer", func(*testBundle) map[string]string { return bearer("at_revoked_long_ago") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				res := b.do(t, http.MethodPost, "/auth/refresh", refreshBodyFunc(b.tokens["refresh_token"]), tc.hdr(b))
				require.Equal(t, 0, res.code, res.message)
				require.NotEmpty(t, res.data["access_token"])
			})
		}
	})

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name     string
			body     any
			wantCode int
			wantMsg  string
		}{
			{"UnknownTokenIs1003", refreshBodyFunc("rt_nonsense"), 1003, "refresh token expired, used or invalid"},
			{"AccessTokenIsNoRefreshToken", nil, 1003, "refresh token expired, used or invalid"},
			{"WrongGrantTypeIs1001", map[string]any{"refresh_token": "x", "grant_type": "client_credentials"}, 1001, "grant_type: must be refresh_token"},
			{"MissingTokenIs1001", map[string]any{"grant_type": "refresh_token"}, 1001, "refresh_token: required"},
			{"NumberTokenIs1001", map[string]any{"refresh_token": 5, "grant_type": "refresh_token"}, 1001, "refresh_token: must be a string"},
			{"UnknownFieldIs1001", map[string]any{"refresh_token": "x", "grant_type": "refresh_token", "appkey": "a"}, 1001, "appkey: unknown field"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				body := tc.body
				if body == nil {
					body = refreshBodyFunc(b.token)
				}
				res := b.do(t, http.MethodPost, "/auth/refresh", body, noAuth)
				require.Equal(t, tc.wantCode, res.code)
				require.Contains(t, res.message, tc.wantMsg)
			})
		}
	})
}

func TestRevokeAllTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, 0, b.do(t, http.MethodPost, "/users", user("U1")).code)

	b.sim.RevokeAllTokens()

	res := b.do(t, http.MethodGet, "/users/U1", nil)
	require.Equal(t, 1003, res.code)
	require.Contains(t, res.message, "revoked")
	ref := b.do(t, http.MethodPost, "/auth/refresh", map[string]any{"refresh_token": b.tokens["refresh_token"], "grant_type": "refresh_token"}, noAuth)
	require.Equal(t, 1003, ref.code, "refresh tokens die too: fall back to /auth/token")

	fresh := b.do(t, http.MethodPost, "/auth/token", tokenBody(testAppKey, testSecret), noAuth)
	require.Equal(t, 0, fresh.code)
	require.Equal(t, 0, b.do(t, http.MethodGet, "/users/U1", nil, bearer(fresh.data["access_token"].(string))).code)
}

func TestErrorStyleHTTP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		prepareFunc func(t *testing.T, b *testBundle)
		method      string
		path        string
		body        any
		hdr         map[string]string
		wantStatus  int
		wantCode    int
	}{
		{name: "BadBodyIs400", method: http.MethodPost, path: "/users", body: map[string]any{"name": "x"}, wantStatus: 400, wantCode: 1001},
		{name: "WrongSecretIs401", method: http.MethodPost, path: "/auth/token", body: tokenBody(testAppKey, "bad"), hdr: noAuth, wantStatus: 401, wantCode: 1002},
		{name: "BadBearerIs401", method: http.MethodGet, path: "/users/U1", hdr: bearer("bad"), wantStatus: 401, wantCode: 1003},
		{name: "DeniedIs403", prepareFunc: func(t *testing.T, b *testBundle) { require.NoError(t, b.sim.Deny("user", "U1")) }, method: http.MethodPost, path: "/users", body: user("U1"), wantStatus: 403, wantCode: 1004},
		{name: "Injected5001Is500", prepareFunc: func(t *testing.T, b *testBundle) {
			require.NoError(t, b.sim.SetFaults(channelsim.Faults{CodeRates: map[int]float64{5001: 1}}))
		}, method: http.MethodPost, path: "/users", body: user("U1"), wantStatus: 500, wantCode: 5001},
		{name: "Injected1003Is401", prepareFunc: func(t *testing.T, b *testBundle) {
			require.NoError(t, b.sim.SetFaults(channelsim.Faults{CodeRates: map[int]float64{1003: 1}}))
		}, method: http.MethodPost, path: "/users", body: user("U1"), wantStatus: 401, wantCode: 1003},
		{name: "MissingRecordIs404", method: http.MethodGet, path: "/users/nobody", wantStatus: 404, wantCode: 1001},
		{name: "SuccessIs200", method: http.MethodPost, path: "/users", body: user("U1"), wantStatus: 200, wantCode: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *channelsim.Config) { c.ErrorStyle = channelsim.ErrorStyleHTTP })
			if tc.prepareFunc != nil {
				tc.prepareFunc(t, b)
			}
			res := b.do(t, tc.method, tc.path, tc.body, tc.hdr)
			require.Equal(t, tc.wantStatus, res.status, string(res.raw))
			require.True(t, res.hasEnv, "the envelope comes with the status")
			require.Equal(t, tc.wantCode, res.code)
		})
	}
}
