// Package tokenstore shares one channel access token between worker
// processes through Postgres. A process that needs a token takes an
// advisory lock; if another process stored a newer, still-valid token
// meanwhile, it adopts it, else it fetches one and stores it. So however
// many workers run, the channel sees one token request per refresh.
package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// Store wraps a fetch function with the shared token in Postgres. Its
// Fetch method is a channelapi.FetchTokenFunc.
type Store struct {
	pool *pgxpool.Pool
	// FetchFunc obtains a token from the channel (the client's FetchToken).
	FetchFunc channelapi.FetchTokenFunc
	// Owner names this process in the table (for operators).
	Owner string
	// MinValidity is how long an adopted token must still be valid, at
	// most half the token's lifetime. Default 30s.
	MinValidity time.Duration
	// NowFunc is the clock. Default time.Now.
	NowFunc func() time.Time
}

// New returns a Store.
func New(pool *pgxpool.Pool, fetch channelapi.FetchTokenFunc, owner string) *Store {
	return &Store{pool: pool, FetchFunc: fetch, Owner: owner}
}

func (s *Store) now() time.Time {
	if s.NowFunc != nil {
		return s.NowFunc()
	}
	return time.Now()
}

// Fetch returns a token for a process whose current token is `current`
// (nil at start): the shared one if another process stored a different one
// that is still valid, else a new one from the channel, which it stores.
func (s *Store) Fetch(ctx context.Context, current *channelapi.TokenState) (channelapi.TokenState, error) {
	minValid := s.MinValidity
	if minValid <= 0 {
		minValid = 30 * time.Second
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.FetchFunc(ctx, current) // the database is down: the channel may not be
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := dbsqlc.New(tx)
	if err := q.LockChannelToken(ctx); err != nil {
		return channelapi.TokenState{}, fmt.Errorf("lock shared token: %w", err)
	}
	row, err := q.GetChannelToken(ctx)
	switch {
	case err == nil:
		shared := channelapi.TokenState{AccessToken: row.AccessToken, ExpiresAt: row.ExpiresAt}
		if row.RefreshToken != nil {
			shared.RefreshToken = *row.RefreshToken
		}
		fresh := current == nil || shared.AccessToken != current.AccessToken
		// A token that lives less than twice MinValidity (the channel may
		// issue tokens for a few seconds) is adopted while it has half its
		// life left; else no process would ever adopt another's token and
		// the channel would see one request per process and refresh.
		need := min(minValid, row.ExpiresAt.Sub(row.FetchedAt)/2)
		if fresh && shared.ExpiresAt.After(s.now().Add(need)) {
			return shared, nil
		}
		// Renew from the shared state: its refresh token is the newest.
		current = &shared
	case errors.Is(err, pgx.ErrNoRows):
	default:
		return channelapi.TokenState{}, fmt.Errorf("read shared token: %w", err)
	}
	st, err := s.FetchFunc(ctx, current)
	if err != nil {
		return st, err
	}
	var refresh *string
	if st.RefreshToken != "" {
		refresh = &st.RefreshToken
	}
	if err := q.PutChannelToken(ctx, dbsqlc.PutChannelTokenParams{
		AccessToken: st.AccessToken, RefreshToken: refresh, ExpiresAt: st.ExpiresAt, FetchedBy: s.Owner,
	}); err != nil {
		return st, fmt.Errorf("store shared token: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return st, fmt.Errorf("store shared token: %w", err)
	}
	return st, nil
}
