package statuspage

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
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

// session is one login.
type session struct {
	// short names the session in the replay log: the first 8 hex digits of
	// the SHA-256 of its id (never the id itself).
	short   string
	csrf    string
	expires time.Time
}

// sessionStore keeps sessions in memory, keyed by the SHA-256 of their id.
type sessionStore struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*session
	ttl time.Duration
	now func() time.Time
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{m: map[[sha256.Size]byte]*session{}, ttl: ttl, now: now}
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// create starts a session and returns its id (the cookie's value). Expired
// sessions are swept first.
func (st *sessionStore) create() (string, *session, error) {
	id, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	key := sha256.Sum256([]byte(id))
	sess := &session{short: hex.EncodeToString(key[:4]), csrf: csrf, expires: st.now().Add(st.ttl)}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	for k, s := range st.m {
		if !now.Before(s.expires) {
			delete(st.m, k)
		}
	}
	st.m[key] = sess
	return id, sess, nil
}

// get returns the live session with id, or nil (an expired one is removed).
func (st *sessionStore) get(id string) *session {
	if id == "" {
		return nil
	}
	key := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, ok := st.m[key]
	if !ok {
		return nil
	}
	if !st.now().Before(sess.expires) {
		delete(st.m, key)
		return nil
	}
	return sess
}

func (st *sessionStore) delete(id string) {
	key := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, key)
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
	authNone    authResult = iota // no credentials (or an expired session)
	authWrong                     // a wrong bearer token
	authSession                   // a live session
	authBearer                    // the right bearer token
)

// authenticate tells who makes r. A request with an Authorization header is
// judged by it alone.
func (s *server) authenticate(r *http.Request) (authResult, *principal) {
	if tok, present := bearer(r); present {
		if s.tokenOK(tok) {
			return authBearer, &principal{actor: ActorBearer}
		}
		return authWrong, nil
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return authNone, nil
	}
	sess := s.sessions.get(c.Value)
	if sess == nil {
		return authNone, nil
	}
	return authSession, &principal{actor: "admin session " + sess.short, session: sess}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal)

// page wraps a GET page: without credentials it redirects to the login
// form (401 for a wrong bearer token) and shows nothing else.
func (s *server) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, p := s.authenticate(r)
		switch res {
		case authWrong:
			http.Error(w, "unauthorized", http.StatusUnauthorized)
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
// without credentials (401), and session requests without the session's
// CSRF token (403).
func (s *server) action(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cop.Check(r); err != nil {
			s.logger.WarnContext(r.Context(), "status page: cross-origin action refused",
				slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
			http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
			return
		}
		res, p := s.authenticate(r)
		if res != authSession && res != authBearer {
			http.Error(w, "unauthorized: log in first", http.StatusUnauthorized)
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
					slog.String("path", r.URL.Path), slog.String("actor", p.actor))
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
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if res, _ := s.authenticate(r); res == authSession || res == authBearer {
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
	if !s.tokenOK(strings.TrimSpace(r.PostForm.Get("token"))) {
		s.logger.WarnContext(r.Context(), "status page: login failed", slog.String("remote", r.RemoteAddr))
		s.render(w, r, http.StatusUnauthorized, "login.html", nil, "Log in", loginView{Next: next, Failed: true})
		return
	}
	id, sess, err := s.sessions.create()
	if err != nil {
		s.logger.ErrorContext(r.Context(), "status page: start session", slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, s.sessionCookie(r, id, sess.expires))
	s.logger.InfoContext(r.Context(), "status page: logged in",
		slog.String("actor", "admin session "+sess.short), slog.String("remote", r.RemoteAddr))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logoutForm(w http.ResponseWriter, r *http.Request, p *principal) {
	s.render(w, r, http.StatusOK, "logout.html", p, "Log out", nil)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, p *principal) {
	if c, err := r.Cookie(CookieName); err == nil && p.session != nil {
		s.sessions.delete(c.Value)
	}
	http.SetCookie(w, s.sessionCookie(r, "", time.Time{}))
	s.logger.InfoContext(r.Context(), "status page: logged out", slog.String("actor", p.actor))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
