package ucapi

import (
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The app token's shape, per seed 002's own example (gen_apihub_app_token).
const (
	// AppTokenType is the value of the token's typ claim.
	AppTokenType = "app_token"
	// AppTokenBackdate is how far before now a token's iat is set, so that
	// a service whose clock is behind ours still accepts it.
	AppTokenBackdate = 300 * time.Second
	// AppTokenLifetime is how long after now a token expires.
	AppTokenLifetime = 2 * time.Hour
	// DefaultRenewBefore is how long before its expiry a token is replaced.
	DefaultRenewBefore = 10 * time.Minute
)

// AppClaims are the claims of an app token.
type AppClaims struct {
	// Typ is AppTokenType.
	Typ string `json:"typ"`
	jwt.RegisteredClaims
}

// MintAppToken signs an app token for ak with sk at now: a JWT, HS256,
// claims sub = iss = ak, typ = "app_token", iat = now − 300 s,
// exp = now + 2 h. It returns the token and its expiry. The error never
// holds sk.
func MintAppToken(ak string, sk Secret, now time.Time) (string, time.Time, error) {
	return newSigner(ak, sk).mint(now)
}

// signer mints app tokens. The key lives only in signFunc's closure, so
// that no reflection-based print of a signer (or of a Client) shows it.
type signer struct {
	ak       string
	signFunc func(c AppClaims) (string, error)
}

func newSigner(ak string, sk Secret) *signer {
	key := []byte(string(sk))
	return &signer{ak: ak, signFunc: func(c AppClaims) (string, error) {
		return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key) //nolint:wrapcheck // wrapped by mint
	}}
}

func (s *signer) mint(now time.Time) (string, time.Time, error) {
	exp := now.Add(AppTokenLifetime)
	c := AppClaims{Typ: AppTokenType, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    s.ak,
		Subject:   s.ak,
		IssuedAt:  jwt.NewNumericDate(now.Add(-AppTokenBackdate)),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	tok, err := s.signFunc(c)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign app token: %w", err)
	}
	return tok, exp.Truncate(time.Second), nil
}

// tokenCache keeps the current app token and mints a new one when less
// than renewBefore of it remains.
type tokenCache struct {
	signer      *signer
	renewBefore time.Duration
	nowFunc     func() time.Time

	mu     sync.Mutex
	token  string
	exp    time.Time
	minted int64
}

// get returns a token valid for at least renewBefore.
func (t *tokenCache) get() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.nowFunc()
	if t.token != "" && t.exp.Sub(now) > t.renewBefore {
		return t.token, nil
	}
	tok, exp, err := t.signer.mint(now)
	if err != nil {
		return "", err
	}
	t.token, t.exp = tok, exp
	t.minted++
	return tok, nil
}

// drop forgets tok if it is the current token (after the service refused
// it), so that the next call mints a fresh one.
func (t *tokenCache) drop(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token, t.exp = "", time.Time{}
	}
}

func (t *tokenCache) count() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.minted
}
