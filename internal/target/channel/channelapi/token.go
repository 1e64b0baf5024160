package channelapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// TokenState is an access token with what is needed to renew it.
type TokenState struct {
	// AccessToken is sent as the Bearer token.
	AccessToken string
	// RefreshToken renews it through /auth/refresh; may be empty.
	RefreshToken string
	// ExpiresAt is when the channel said the access token expires.
	ExpiresAt time.Time
}

// FetchTokenFunc obtains a new token: with the refresh token of the current
// state when it has one (falling back to the credentials), else with the
// credentials. current is nil on the first fetch.
type FetchTokenFunc func(ctx context.Context, current *TokenState) (TokenState, error)

// TokenSource hands out one access token shared by every goroutine of the
// process. Concurrent callers that need a new token wait for a single fetch;
// a token is renewed before it expires; a token the channel rejected is
// dropped with Invalidate; after the channel refused the credentials the
// failure is remembered for AuthHold, so callers do not hammer /auth/token.
//
// The state and the fetch sit behind FetchFunc, which is the seam for
// sharing one token between processes (a store in Postgres, one process
// fetching while the others wait).
type TokenSource struct {
	// FetchFunc obtains a new token.
	FetchFunc FetchTokenFunc
	// Margin is how long before expiry a token is renewed. Default: the
	// smaller of 60s and a fifth of the token's lifetime.
	Margin time.Duration
	// AuthHold is how long a refused-credentials error is remembered.
	// Default 5s.
	AuthHold time.Duration
	// NowFunc is the clock. Default time.Now.
	NowFunc func() time.Time

	mu        sync.Mutex
	cur       *TokenState
	lifetime  time.Duration
	fetching  bool
	lastErr   error
	holdUntil time.Time
	group     singleflight.Group

	fetches atomic.Int64
}

func (ts *TokenSource) now() time.Time {
	if ts.NowFunc != nil {
		return ts.NowFunc()
	}
	return time.Now()
}

func (ts *TokenSource) margin() time.Duration {
	if ts.Margin > 0 {
		return ts.Margin
	}
	return min(60*time.Second, ts.lifetime/5)
}

// Token returns a valid access token, fetching one if needed. Concurrent
// callers that need a new token share one fetch (singleflight); a token
// that has not expired yet is handed out while another caller fetches its
// successor; after refused credentials the failure is returned for
// AuthHold without another fetch.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	now := ts.now()
	if ts.cur != nil && now.Before(ts.cur.ExpiresAt.Add(-ts.margin())) {
		tok := ts.cur.AccessToken
		ts.mu.Unlock()
		return tok, nil
	}
	if ts.fetching && ts.cur != nil && now.Before(ts.cur.ExpiresAt) {
		// Someone is fetching; the current token has not expired yet.
		tok := ts.cur.AccessToken
		ts.mu.Unlock()
		return tok, nil
	}
	if ts.lastErr != nil && now.Before(ts.holdUntil) {
		err := ts.lastErr
		ts.mu.Unlock()
		return "", err
	}
	ts.mu.Unlock()
	// The fetch serves every waiter: it does not die with this caller.
	ch := ts.group.DoChan("token", func() (any, error) { return ts.fetch(context.WithoutCancel(ctx)) })
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

// fetch obtains a new token and records it (or the failure).
func (ts *TokenSource) fetch(ctx context.Context) (string, error) {
	ts.mu.Lock()
	ts.fetching = true
	var current *TokenState
	if ts.cur != nil {
		c := *ts.cur
		current = &c
	}
	ts.mu.Unlock()

	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := ts.FetchFunc(fctx, current)
	cancel()
	ts.fetches.Add(1)

	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.fetching = false
	if err != nil {
		ts.lastErr = err
		hold := ts.AuthHold
		if hold <= 0 {
			hold = 5 * time.Second
		}
		if ClassOf(err) == ClassAuth {
			ts.holdUntil = ts.now().Add(hold)
		} else {
			ts.holdUntil = time.Time{}
		}
		return "", err
	}
	ts.lastErr = nil
	ts.lifetime = st.ExpiresAt.Sub(ts.now())
	ts.cur = &st
	return st.AccessToken, nil
}

// Invalidate drops token if it is the current one, so that the next call to
// Token renews it. A newer token is kept.
func (ts *TokenSource) Invalidate(token string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.cur != nil && ts.cur.AccessToken == token {
		ts.cur.ExpiresAt = time.Time{}
	}
}

// Fetches returns how many token fetches (new or refreshed) were made.
func (ts *TokenSource) Fetches() int64 { return ts.fetches.Load() }
