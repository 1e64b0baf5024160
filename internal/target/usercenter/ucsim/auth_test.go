package ucsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

func TestTokenIsChecked(t *testing.T) {
	t.Parallel()
	signFunc := func(t *testing.T, m jwt.SigningMethod, key any, c claims) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		require.NoError(t, err)
		return tok
	}
	cases := []struct {
		name     string
		tokFunc  func(t *testing.T, b *testBundle) string
		wantText string
	}{
		{"Missing", func(*testing.T, *testBundle) string { return "" }, "apihub-token header is required"},
		{"Garbage", func(*testing.T, *testBundle) string { return "not.a.jwt" }, "malformed"},
		{"BearerPrefix", func(t *testing.T, b *testBundle) string { return "Bearer " + b.mint(t, nil) }, "malformed"},
		{"WrongSecret", func(t *testing.T, b *testBundle) string {
			c := claims{"sub": testAK, "iss": testAK, "typ": "app_token", "iat": b.clock.Now().Unix(), "exp": b.clock.Now().Add(time.Hour).Unix()}
			return signFunc(t, jwt.SigningMethodHS256, []byte("other-sk"), c)
		}, "signature"},
		{"HS512", func(t *testing.T, b *testBundle) string {
			c := claims{"sub": testAK, "iss": testAK, "typ": "app_token", "iat": b.clock.Now().Unix(), "exp": b.clock.Now().Add(time.Hour).Unix()}
			return signFunc(t, jwt.SigningMethodHS512, []byte(testSK), c)
		}, "HS256"},
		{"AlgNone", func(t *testing.T, b *testBundle) string {
			c := claims{"sub": testAK, "iss": testAK, "typ": "app_token", "iat": b.clock.Now().Unix(), "exp": b.clock.Now().Add(time.Hour).Unix()}
			return signFunc(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, c)
		}, "HS256"},
		{"PersonToken", func(t *testing.T, b *testBundle) string {
			return b.mint(t, func(c claims) { c["typ"] = "person_token" })
		}, "typ"},
		{"NoTyp", func(t *testing.T, b *testBundle) string { return b.mint(t, func(c claims) { delete(c, "typ") }) }, "typ"},
		{"OtherSub", func(t *testing.T, b *testBundle) string { return b.mint(t, func(c claims) { c["sub"] = "someone" }) }, "sub"},
		{"OtherIss", func(t *testing.T, b *testBundle) string { return b.mint(t, func(c claims) { c["iss"] = "someone" }) }, "iss"},
		{"NoExp", func(t *testing.T, b *testBundle) string { return b.mint(t, func(c claims) { delete(c, "exp") }) }, "exp is required"},
		{"Expired", func(t *testing.T, b *testBundle) string {
			return b.mint(t, func(c claims) { c["exp"] = b.clock.Now().Add(-time.Second).Unix() })
		}, "expired"},
		{"ExpiresNow", func(t *testing.T, b *testBundle) string {
			return b.mint(t, func(c claims) { c["exp"] = b.clock.Now().Unix() })
		}, "expired"},
		{"NoIat", func(t *testing.T, b *testBundle) string { return b.mint(t, func(c claims) { delete(c, "iat") }) }, "iat is required"},
		{"IatInTheFuture", func(t *testing.T, b *testBundle) string {
			return b.mint(t, func(c claims) { c["iat"] = b.clock.Now().Add(2 * time.Minute).Unix() })
		}, "future"},
		{"ExpNotANumber", func(t *testing.T, b *testBundle) string { return b.mint(t, func(c claims) { c["exp"] = "tomorrow" }) }, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := b.do(t, http.MethodGet, "list-roles", nil, map[string]string{"apihub-token": tc.tokFunc(t, b)})
			require.Equal(t, http.StatusUnauthorized, res.status)
			require.False(t, res.success)
			require.Equal(t, ucsim.CodeUnauthorized, res.code)
			require.Contains(t, res.msg, tc.wantText)
			st := b.sim.Stats()
			require.Equal(t, int64(1), st.Unauthorized)
			require.Empty(t, st.Endpoints, "nothing reached a handler")
		})
	}
}

func TestTokenAcceptance(t *testing.T) {
	t.Parallel()

	t.Run("IatWithinTheSkewIsAccepted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tok := b.mint(t, func(c claims) { c["iat"] = b.clock.Now().Add(30 * time.Second).Unix() })
		res := b.do(t, http.MethodGet, "list-roles", nil, map[string]string{"apihub-token": tok})
		require.True(t, res.success, string(res.raw))
	})

	t.Run("ExpiresOnTheSimulatorsClock", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.True(t, b.do(t, http.MethodGet, "list-roles", nil).success)
		b.clock.Advance(2 * time.Hour)
		res := b.do(t, http.MethodGet, "list-roles", nil)
		require.Equal(t, http.StatusUnauthorized, res.status)
		require.Contains(t, res.msg, "expired")
	})

	t.Run("RevokeRefusesEveryTokenUntilRestored", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sim.Revoke()
		require.True(t, b.sim.Revoked())
		for _, tok := range []string{b.token, b.mint(t, nil)} {
			res := b.do(t, http.MethodGet, "list-roles", nil, map[string]string{"apihub-token": tok})
			require.Equal(t, http.StatusUnauthorized, res.status)
			require.Contains(t, res.msg, "revoked")
		}
		b.sim.Restore()
		require.True(t, b.do(t, http.MethodGet, "list-roles", nil).success)
	})

	t.Run("MessagesNeverEchoTheToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tok := b.mint(t, func(c claims) { c["sub"] = "x" })
		res := b.do(t, http.MethodGet, "list-roles", nil, map[string]string{"apihub-token": tok})
		require.NotContains(t, string(res.raw), tok)
		require.NotContains(t, string(res.raw), testSK)
	})
}
