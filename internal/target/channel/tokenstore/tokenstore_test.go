package tokenstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/tokenstore"
)

func TestSharedToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ManyProcessesOneFetch", func(t *testing.T) {
		t.Parallel()
		s := dbtest.New(t)
		var fetches atomic.Int64
		fetch := func(ctx context.Context, current *channelapi.TokenState) (channelapi.TokenState, error) {
			n := fetches.Add(1)
			time.Sleep(20 * time.Millisecond)
			return channelapi.TokenState{AccessToken: fmt.Sprintf("tok-%d", n), RefreshToken: "r", ExpiresAt: time.Now().Add(time.Hour)}, nil
		}
		// Eight "processes", each with its own token source, share the store.
		var wg sync.WaitGroup
		tokens := make([]string, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ts := &channelapi.TokenSource{FetchFunc: tokenstore.New(s.Pool, fetch, fmt.Sprint("p", i)).Fetch}
				tok, err := ts.Token(ctx)
				require.NoError(t, err)
				tokens[i] = tok
			}()
		}
		wg.Wait()
		require.EqualValues(t, 1, fetches.Load())
		for _, tok := range tokens {
			require.Equal(t, "tok-1", tok)
		}
	})

	t.Run("RejectedTokenIsRenewedOnceForAll", func(t *testing.T) {
		t.Parallel()
		s := dbtest.New(t)
		var fetches atomic.Int64
		fetch := func(ctx context.Context, current *channelapi.TokenState) (channelapi.TokenState, error) {
			n := fetches.Add(1)
			return channelapi.TokenState{AccessToken: fmt.Sprintf("tok-%d", n), ExpiresAt: time.Now().Add(time.Hour)}, nil
		}
		a := tokenstore.New(s.Pool, fetch, "a")
		b := tokenstore.New(s.Pool, fetch, "b")
		first, err := a.Fetch(ctx, nil)
		require.NoError(t, err)
		// Both processes find the token revoked; the first renews it, the
		// second adopts the renewed one.
		renewed, err := a.Fetch(ctx, &first)
		require.NoError(t, err)
		adopted, err := b.Fetch(ctx, &first)
		require.NoError(t, err)
		require.Equal(t, renewed.AccessToken, adopted.AccessToken)
		require.EqualValues(t, 2, fetches.Load())
	})
}

func TestShortLivedTokenIsShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.New(t)
	var fetches atomic.Int64
	// The channel issues tokens for 4 seconds, less than MinValidity.
	fetch := func(ctx context.Context, current *channelapi.TokenState) (channelapi.TokenState, error) {
		n := fetches.Add(1)
		return channelapi.TokenState{AccessToken: fmt.Sprintf("tok-%d", n), ExpiresAt: time.Now().Add(4 * time.Second)}, nil
	}
	a := tokenstore.New(s.Pool, fetch, "a")
	b := tokenstore.New(s.Pool, fetch, "b")
	first, err := a.Fetch(ctx, nil)
	require.NoError(t, err)
	// b's own token is about to expire: it adopts a's, which has more than
	// half its life left, instead of asking the channel for one more.
	stale := channelapi.TokenState{AccessToken: "tok-old", ExpiresAt: time.Now().Add(500 * time.Millisecond)}
	adopted, err := b.Fetch(ctx, &stale)
	require.NoError(t, err)
	require.Equal(t, first.AccessToken, adopted.AccessToken)
	require.EqualValues(t, 1, fetches.Load())
}
