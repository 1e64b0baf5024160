package pointsapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Bearer token lifetimes: a token whose answer gives no usable expires_in
// is trusted for fallbackTokenLife, and none for longer than maxTokenLife.
const (
	fallbackTokenLife = 5 * time.Minute
	maxTokenLife      = 24 * time.Hour
)

// bearer is the cached token of the service user.
type bearer struct {
	mu        sync.Mutex
	cur       string
	renewAt   time.Time
	expiresAt time.Time
	group     singleflight.Group
	fetches   atomic.Int64
}

// TokenFetches returns how many times the client asked POST apikeys/token
// for its service user's token.
func (c *Client) TokenFetches() int64 { return c.bearer.fetches.Load() }

// fresh returns the cached token if it need not be renewed yet at now.
func (b *bearer) fresh(now time.Time) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur != "" && now.Before(b.renewAt) {
		return b.cur, true
	}
	return "", false
}

// token returns the service user's bearer token, fetching a new one when
// RenewAfter of its life has passed. Concurrent callers share one fetch;
// the fetch does not die with the caller that started it. When a renewal
// fails while the old token has not expired, the old token is used.
func (c *Client) token(ctx context.Context) (string, error) {
	if tok, ok := c.bearer.fresh(c.nowFunc()); ok {
		return tok, nil
	}
	ch := c.bearer.group.DoChan("token", func() (any, error) {
		if tok, ok := c.bearer.fresh(c.nowFunc()); ok {
			return tok, nil // renewed while this caller waited
		}
		c.bearer.fetches.Add(1)
		sentAt := c.nowFunc()
		t, err := c.IssueToken(context.WithoutCancel(ctx), c.serviceUser)
		if err != nil {
			return nil, err
		}
		life := fallbackTokenLife
		if t.ExpiresIn > 0 {
			life = min(time.Duration(min(t.ExpiresIn, int64(maxTokenLife/time.Second)))*time.Second, maxTokenLife)
		}
		// Lifetimes count from when the request was sent: the token may
		// have been issued at any moment after.
		c.bearer.mu.Lock()
		c.bearer.cur = t.AccessToken
		c.bearer.expiresAt = sentAt.Add(life)
		c.bearer.renewAt = sentAt.Add(time.Duration(float64(life) * c.renewAfter))
		c.bearer.mu.Unlock()
		return t.AccessToken, nil
	})
	select {
	case <-ctx.Done():
		return "", &Error{Op: RouteToken, Message: "waiting for the bearer token", Class: ClassTransient, Err: ctx.Err()}
	case r := <-ch:
		if r.Err == nil {
			return r.Val.(string), nil
		}
		c.bearer.mu.Lock()
		stale, usable := c.bearer.cur, c.bearer.cur != "" && c.nowFunc().Before(c.bearer.expiresAt)
		c.bearer.mu.Unlock()
		if usable && ClassOf(r.Err) != ClassAuth {
			c.logger.WarnContext(ctx, "apihub bearer token renewal failed; using the current token until it expires",
				slog.String("error", r.Err.Error()))
			return stale, nil
		}
		return "", r.Err
	}
}

// dropToken forgets tok if it is the cached token, so that the next call
// fetches a new one. A newer token is kept.
func (c *Client) dropToken(tok string) {
	c.bearer.mu.Lock()
	defer c.bearer.mu.Unlock()
	if c.bearer.cur == tok {
		c.bearer.cur = ""
		c.bearer.renewAt, c.bearer.expiresAt = time.Time{}, time.Time{}
	}
}
