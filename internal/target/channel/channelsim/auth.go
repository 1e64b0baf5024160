package channelsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenStore holds the live access and refresh tokens with their expiry.
type tokenStore struct {
	mu        sync.RWMutex
	access    map[string]time.Time
	refresh   map[string]time.Time
	sweepSize int // sweep expired tokens when a map grows past this
}

const minSweepSize = 1024

func (ts *tokenStore) init() {
	ts.access = make(map[string]time.Time)
	ts.refresh = make(map[string]time.Time)
	ts.sweepSize = minSweepSize
}

// issue mints a new access token and refresh token.
func (ts *tokenStore) issue(now time.Time, ttl, refreshTTL time.Duration) (access, refresh string) {
	access, refresh = "at_"+rand.Text(), "rt_"+rand.Text()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.access[access] = now.Add(ttl)
	ts.refresh[refresh] = now.Add(refreshTTL)
	if len(ts.access) > ts.sweepSize || len(ts.refresh) > ts.sweepSize {
		for t, exp := range ts.access {
			if !now.Before(exp) {
				delete(ts.access, t)
			}
		}
		for t, exp := range ts.refresh {
			if !now.Before(exp) {
				delete(ts.refresh, t)
			}
		}
		ts.sweepSize = max(minSweepSize, 2*max(len(ts.access), len(ts.refresh)))
	}
	return access, refresh
}

// tokenState is what an access token lookup found.
type tokenState uint8

const (
	tokenValid tokenState = iota
	tokenExpired
	tokenUnknown
)

func (ts *tokenStore) check(tok string, now time.Time) tokenState {
	ts.mu.RLock()
	exp, ok := ts.access[tok]
	ts.mu.RUnlock()
	switch {
	case !ok:
		return tokenUnknown
	case !now.Before(exp):
		return tokenExpired
	}
	return tokenValid
}

// useRefresh consumes a refresh token: it reports whether the token was live,
// and it is gone either way (rotation: a refresh token works once).
func (ts *tokenStore) useRefresh(tok string, now time.Time) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	exp, ok := ts.refresh[tok]
	delete(ts.refresh, tok)
	return ok && now.Before(exp)
}

// revokeAll forgets every token and returns how many access tokens it
// forgot.
func (ts *tokenStore) revokeAll() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := len(ts.access)
	clear(ts.access)
	clear(ts.refresh)
	ts.sweepSize = minSweepSize
	return n
}

// RevokeAllTokens makes every access token and refresh token issued so far
// invalid at once, as a channel restart or key rotation would: the next call
// with an old access token answers 1003 and an old refresh token answers
// 1003 on /auth/refresh, so a client must fall back to /auth/token.
func (s *Server) RevokeAllTokens() {
	n := s.tokens.revokeAll()
	s.logger.Info("channelsim: revoked all tokens", slog.Int("access_tokens", n))
}

var (
	tokenFields   = []field{str("appkey", true), str("secret", true), str("grant_type", true)}
	refreshFields = []field{str("refresh_token", true), str("grant_type", true)}
)

// tokenAnswer is the data of a token or refresh answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) answerToken(rep *reply) {
	now := s.now()
	access, refresh := s.tokens.issue(now, s.cfg.TokenTTL, s.cfg.RefreshTokenTTL)
	data, _ := json.Marshal(tokenAnswer{ // plain strings and an int: cannot fail
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    max(1, int64(math.Ceil(s.cfg.TokenTTL.Seconds()))),
		RefreshToken: refresh,
	})
	ok(rep, data)
}

// handleToken answers POST /auth/token.
func (s *Server) handleToken(r *http.Request, rep *reply) {
	s.stats.tokenRequests.Add(1)
	m, msg := s.decodeObject(r)
	if msg == "" {
		if errs := validateObject(nil, "", m, tokenFields, ""); len(errs) > 0 {
			msg = strings.Join(errs, "; ")
		} else if m["grant_type"] != "client_credentials" {
			msg = "grant_type: must be client_credentials"
		}
	}
	if msg != "" {
		s.authReject(rep, CodeParam, msg)
		return
	}
	key, secret := m["appkey"].(string), m["secret"].(string)
	keyOK := subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.AppKey)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.Secret)) == 1
	if !keyOK || !secretOK {
		s.authReject(rep, CodeAuth, "authentication failed: wrong appkey or secret")
		return
	}
	s.stats.tokensIssued.Add(1)
	s.answerToken(rep)
}

// handleRefresh answers POST /auth/refresh. An unknown, used, expired or
// revoked refresh token answers 1003.
func (s *Server) handleRefresh(r *http.Request, rep *reply) {
	s.stats.refreshRequests.Add(1)
	m, msg := s.decodeObject(r)
	if msg == "" {
		if errs := validateObject(nil, "", m, refreshFields, ""); len(errs) > 0 {
			msg = strings.Join(errs, "; ")
		} else if m["grant_type"] != "refresh_token" {
			msg = "grant_type: must be refresh_token"
		}
	}
	if msg != "" {
		s.authReject(rep, CodeParam, msg)
		return
	}
	if !s.tokens.useRefresh(m["refresh_token"].(string), s.now()) {
		s.authReject(rep, CodeToken, "refresh token expired, used or invalid: request a new token")
		return
	}
	s.stats.refreshes.Add(1)
	s.answerToken(rep)
}

func (s *Server) authReject(rep *reply, code int, msg string) {
	s.stats.authReject(code)
	s.fail(rep, code, msg)
}

// checkBearer returns why the request's bearer token is not acceptable, or
// "" if it is.
func (s *Server) checkBearer(r *http.Request) string {
	h := r.Header.Values("Authorization")
	switch {
	case len(h) == 0:
		return "missing Authorization header"
	case len(h) > 1:
		return "more than one Authorization header"
	}
	tok, found := strings.CutPrefix(h[0], "Bearer ")
	if !found || tok == "" || strings.ContainsAny(tok, " \t") {
		return `malformed Authorization header: want "Bearer <access_token>"`
	}
	switch s.tokens.check(tok, s.now()) {
	case tokenExpired:
		return "access token expired"
	case tokenUnknown:
		return "access token invalid or revoked"
	}
	return ""
}
