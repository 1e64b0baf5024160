package statuspage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/httpserver/authguard"
)

// CookieName is the name of the session cookie.
const CookieName = "chansync_session"

// CSRFField is the name of the hidden form field that carries a session's
// CSRF token.
const CSRFField = "csrf"

// ActorBearer is the actor recorded for actions authenticated by a bearer
// header.
const ActorBearer = "bearer"

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// touchEvery is how often a session's last request is written to the
// database at most: its idle expiry is exact to within this.
const touchEvery = time.Minute

// sweepEvery is how often a status page deletes expired sessions at most,
// besides at every login.
const sweepEvery = 5 * time.Minute

// session is one login.
type session struct {
	// short names the session in the replay log: the first 8 hex digits of
	// the SHA-256 of its id (never the id itself).
	short   string
	csrf    string
	expires time.Time
}

// sessionStore keeps sessions in Postgres (page_session), keyed by the
// SHA-256 of their id, so that every worker process shares them and they
// survive a restart. A session ends ttl after login, or idle after its last
// request.
type sessionStore struct {
	q    *dbsqlc.Queries
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time

	mu        sync.Mutex
	lastSweep time.Time
}

func newSessionStore(q *dbsqlc.Queries, ttl, idle time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{q: q, ttl: ttl, idle: idle, now: now}
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// create starts a session and returns its id (the cookie's value). Expired
// sessions are deleted first.
func (st *sessionStore) create(ctx context.Context) (string, *session, error) {
	id, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	if err := st.sweep(ctx, true); err != nil {
		return "", nil, err
	}
	key := sha256.Sum256([]byte(id))
	now := st.now()
	sess := &session{short: hex.EncodeToString(key[:4]), csrf: csrf, expires: now.Add(st.ttl)}
	if err := st.q.PageSessionCreate(ctx, dbsqlc.PageSessionCreateParams{
		TokenHash: key[:], CsrfToken: csrf, Now: now, ExpiresAt: sess.expires,
	}); err != nil {
		return "", nil, fmt.Errorf("store session: %w", err)
	}
	return id, sess, nil
}

// get returns the live session with id, or nil, and records the request
// (at most once per touchEvery).
func (st *sessionStore) get(ctx context.Context, id string) (*session, error) {
	if id == "" {
		return nil, nil
	}
	key := sha256.Sum256([]byte(id))
	now := st.now()
	row, err := st.q.PageSessionGet(ctx, dbsqlc.PageSessionGetParams{TokenHash: key[:], Now: now, IdleSince: now.Add(-st.idle)})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, st.sweep(ctx, false)
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := st.q.PageSessionTouch(ctx, dbsqlc.PageSessionTouchParams{TokenHash: key[:], Now: now, TouchedSince: now.Add(-touchEvery)}); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return &session{short: hex.EncodeToString(key[:4]), csrf: row.CsrfToken, expires: row.ExpiresAt}, nil
}

// sweep deletes the sessions that have ended: always when force is set,
// else at most once per sweepEvery.
func (st *sessionStore) sweep(ctx context.Context, force bool) error {
	now := st.now()
	st.mu.Lock()
	due := force || now.Sub(st.lastSweep) >= sweepEvery
	if due {
		st.lastSweep = now
	}
	st.mu.Unlock()
	if !due {
		return nil
	}
	if _, err := st.q.PageSessionDeleteExpired(ctx, dbsqlc.PageSessionDeleteExpiredParams{Now: now, IdleSince: now.Add(-st.idle)}); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

func (st *sessionStore) delete(ctx context.Context, id string) error {
	key := sha256.Sum256([]byte(id))
	if err := st.q.PageSessionDelete(ctx, key[:]); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// principal is who makes a request: a bearer client or a session.
type principal struct {
	actor   string
	session *session // nil for a bearer client
}

// csrf returns the CSRF token for forms; empty for a bearer client.
func (p *principal) csrf() string {
	if p.session == nil {
		return ""
	}
	return p.session.csrf
}

type authResult int

const (
	authNone      authResult = iota // no credentials (or an ended session)
	authWrong                       // a wrong bearer token
	authSession                     // a live session
	authBearer                      // the right bearer token
	authThrottled                   // too many failures from the client's address
	authFailed                      // the sessions could not be read
)

// authenticate tells who makes r. A request with an Authorization header is
// judged by it alone: while the client's address is throttled its token is
// not checked (authThrottled, with the wait), and a wrong one counts as a
// failure of the address.
func (s *server) authenticate(r *http.Request) (authResult, *principal, time.Duration) {
	if tok, present := bearer(r); present {
		remote := s.guard.ClientAddr(r)
		if wait := s.guard.Wait(remote); wait > 0 {
			s.guard.Log(r.Context(), slog.LevelWarn, "status page: bearer refused: too many failures", remote)
			return authThrottled, nil, wait
		}
		if s.tokenOK(tok) {
			return authBearer, &principal{actor: ActorBearer}, 0
		}
		s.guard.Fail(remote)
		s.guard.Log(r.Context(), slog.LevelWarn, "status page: wrong bearer token", remote,
			slog.String("path", httpserver.Clip(r.URL.Path, httpserver.MaxLogValue)))
		return authWrong, nil, 0
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return authNone, nil, 0
	}
	sess, err := s.sessions.get(r.Context(), c.Value)
	if err != nil {
		s.logger.ErrorContext(r.Context(), "status page: sessions", slog.String("error", err.Error()))
		return authFailed, nil, 0
	}
	if sess == nil {
		return authNone, nil, 0
	}
	return authSession, &principal{actor: "admin session " + sess.short, session: sess}, 0
}

// refuse answers a request that authenticate did not let through with
// anything but a login form: 429 with Retry-After, 503, or 401.
func refuse(w http.ResponseWriter, res authResult, wait time.Duration, msg string) {
	switch res {
	case authThrottled:
		w.Header().Set("Retry-After", authguard.RetryAfter(wait))
		http.Error(w, "too many failed attempts from your address: try again in "+authguard.RetryAfter(wait)+" s", http.StatusTooManyRequests)
	case authFailed:
		http.Error(w, "service unavailable: the sessions cannot be read", http.StatusServiceUnavailable)
	default:
		http.Error(w, msg, http.StatusUnauthorized)
	}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal)

// page wraps a GET page: without credentials it redirects to the login
// form (401 for a wrong bearer token, 429 while the client is throttled)
// and shows nothing else.
func (s *server) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, p, wait := s.authenticate(r)
		switch res {
		case authWrong, authThrottled, authFailed:
			refuse(w, res, wait, "unauthorized")
			return
		case authNone:
			// A bare redirect: no body, so nothing of the page leaks.
			s.clearStaleCookie(w, r)
			w.Header().Set("Location", "/login?next="+url.QueryEscape(r.URL.RequestURI()))
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		h(w, r, p)
	})
}

// action wraps a POST: it refuses cross-origin requests (403), requests
// without credentials (401; 429 while the client is throttled), and
// session requests without the session's CSRF token (403).
func (s *server) action(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cop.Check(r); err != nil {
			s.guard.Log(r.Context(), slog.LevelWarn, "status page: cross-origin action refused", s.guard.ClientAddr(r),
				slog.String("path", httpserver.Clip(r.URL.Path, httpserver.MaxLogValue)))
			http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
			return
		}
		res, p, wait := s.authenticate(r)
		if res != authSession && res != authBearer {
			refuse(w, res, wait, "unauthorized: log in first")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if res == authSession {
			got := r.PostForm.Get(CSRFField)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.session.csrf)) != 1 {
				s.logger.WarnContext(r.Context(), "status page: action without a valid CSRF token refused",
					slog.String("path", httpserver.Clip(r.URL.Path, httpserver.MaxLogValue)), slog.String("actor", p.actor))
				http.Error(w, "forbidden: missing or wrong CSRF token (reload the page)", http.StatusForbidden)
				return
			}
		}
		h(w, r, p)
	})
}

// secure tells whether the client reached us over TLS (directly or through
// a proxy that says so).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *server) sessionCookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   secure(r),
	}
	if value == "" {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	} else {
		c.Expires = expires
		c.MaxAge = int(expires.Sub(s.cfg.Now()).Seconds())
	}
	return c
}

// clearStaleCookie removes a session cookie that names no live session.
func (s *server) clearStaleCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(CookieName); err == nil {
		http.SetCookie(w, s.sessionCookie(r, "", time.Time{}))
	}
}

// localPath returns next when it is a path on this server, else "/".
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return u.RequestURI()
}

type loginView struct {
	Next   string
	Failed bool
	// RetryAfter, when set, is how many seconds the client must wait
	// before its next login attempt is checked.
	RetryAfter string
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if res, _, _ := s.authenticate(r); res == authSession || res == authBearer {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.clearStaleCookie(w, r)
	s.render(w, r, http.StatusOK, "login.html", nil, "Log in", loginView{Next: next})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.cop.Check(r); err != nil {
		http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := localPath(r.PostForm.Get("next"))
	remote := s.guard.ClientAddr(r)
	if wait := s.guard.Wait(remote); wait > 0 {
		// The token is not even checked: a guess made now tells nothing.
		s.guard.Log(r.Context(), slog.LevelWarn, "status page: login refused: too many failures", remote)
		w.Header().Set("Retry-After", authguard.RetryAfter(wait))
		s.render(w, r, http.StatusTooManyRequests, "login.html", nil, "Log in", loginView{Next: next, RetryAfter: authguard.RetryAfter(wait)})
		return
	}
	if !s.tokenOK(strings.TrimSpace(r.PostForm.Get("token"))) {
		s.guard.Fail(remote)
		s.guard.Log(r.Context(), slog.LevelWarn, "status page: login failed", remote)
		s.render(w, r, http.StatusUnauthorized, "login.html", nil, "Log in", loginView{Next: next, Failed: true})
		return
	}
	id, sess, err := s.sessions.create(r.Context())
	if err != nil {
		s.logger.ErrorContext(r.Context(), "status page: start session", slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, s.sessionCookie(r, id, sess.expires))
	s.logger.InfoContext(r.Context(), "status page: logged in",
		slog.String("actor", "admin session "+sess.short), slog.String("remote", remote))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logoutForm(w http.ResponseWriter, r *http.Request, p *principal) {
	s.render(w, r, http.StatusOK, "logout.html", p, "Log out", nil)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, p *principal) {
	if c, err := r.Cookie(CookieName); err == nil && p.session != nil {
		if err := s.sessions.delete(r.Context(), c.Value); err != nil {
			s.internal(w, r, p, "end the session", err)
			return
		}
	}
	http.SetCookie(w, s.sessionCookie(r, "", time.Time{}))
	s.logger.InfoContext(r.Context(), "status page: logged out", slog.String("actor", p.actor))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
