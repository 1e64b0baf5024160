package ucsim

import (
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
)

// appTokenType is the typ claim the simulator accepts.
const appTokenType = "app_token"

// tokenClaims are the claims the simulator reads from a token.
type tokenClaims struct {
	Typ string `json:"typ"`
	jwt.RegisteredClaims
}

// checkToken checks the apihub-token header of r. It returns "" when the
// token is good, else the reason it is refused (never the token itself).
func (s *Server) checkToken(r *http.Request) string {
	if s.revoked.Load() {
		return "credentials revoked"
	}
	raw := r.Header.Get("apihub-token")
	if raw == "" {
		return "apihub-token header is required"
	}
	var c tokenClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation())
	_, err := parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return []byte(s.cfg.SecretKey), nil })
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "token signature invalid (HS256 with the app's sk required)"
	case err != nil:
		return "token malformed"
	}
	now := s.now()
	switch {
	case c.Typ != appTokenType:
		return `token typ must be "app_token"`
	case c.Subject != s.cfg.AppKey:
		return "token sub is not the app's ak"
	case c.Issuer != s.cfg.AppKey:
		return "token iss is not the app's ak"
	case c.ExpiresAt == nil:
		return "token exp is required"
	case !now.Before(c.ExpiresAt.Time):
		return "token expired"
	case c.IssuedAt == nil:
		return "token iat is required"
	case c.IssuedAt.After(now.Add(s.cfg.ClockSkew)):
		return "token iat is in the future"
	case c.NotBefore != nil && c.NotBefore.After(now.Add(s.cfg.ClockSkew)):
		return "token not valid yet (nbf)"
	}
	return ""
}
