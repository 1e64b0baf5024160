package authguard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/httpserver/authguard"
	"github.com/chansync/chansync/internal/testkit"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	guard *authguard.Guard
	clock *clock
	logs  *testkit.SyncBuffer
}

func setup(t *testing.T, cfg authguard.Config) *testBundle {
	t.Helper()
	b := &testBundle{clock: &clock{t: time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)}, logs: &testkit.SyncBuffer{}}
	cfg.NowFunc = b.clock.Now
	cfg.Logger = slog.New(slog.NewJSONHandler(b.logs, nil))
	b.guard = authguard.New(cfg)
	return b
}

func (b *testBundle) lines() []string {
	s := strings.TrimSpace(b.logs.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestBruteForceThrottled: an address that fails MaxFailures times must
// wait; the wait grows with every failure past the budget (a burst of
// parallel guesses pays for itself); the budget comes back over Window;
// other addresses are not affected.
func TestBruteForceThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, authguard.Config{MaxFailures: 5, Window: 5 * time.Minute})
	const addr = "192.0.2.7"

	for range 5 {
		require.Zero(t, b.guard.Wait(addr), "within the budget")
		b.guard.Fail(addr)
	}
	wait := b.guard.Wait(addr)
	require.Equal(t, time.Minute, wait, "one attempt comes back every Window/MaxFailures")
	require.Equal(t, "60", authguard.RetryAfter(wait))

	// Guesses that slipped through in parallel lengthen the wait.
	b.guard.Fail(addr)
	b.guard.Fail(addr)
	require.Equal(t, 3*time.Minute, b.guard.Wait(addr))

	require.Zero(t, b.guard.Wait("192.0.2.8"), "another address may try")

	b.clock.Advance(3 * time.Minute)
	require.Zero(t, b.guard.Wait(addr), "the wait is over")
	b.guard.Fail(addr)
	require.Equal(t, time.Minute, b.guard.Wait(addr), "and one attempt was all it regained")
}

// TestFailureLogLinesAreRateLimited: a flood of failures writes at most one
// line per address per LogEvery and LogBurst lines in all, plus a line
// counting those left out.
func TestFailureLogLinesAreRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, authguard.Config{LogEvery: time.Minute, LogBurst: 5})
	ctx := context.Background()

	for range 1000 {
		b.guard.Log(ctx, slog.LevelWarn, "login failed", "192.0.2.1")
	}
	require.Len(t, b.lines(), 1, "one line for one address in a minute")

	for i := range 1000 {
		b.guard.Log(ctx, slog.LevelWarn, "login failed", fmt.Sprintf("198.51.100.%d", i%250))
	}
	require.Len(t, b.lines(), 5, "at most LogBurst lines over every address")

	b.clock.Advance(time.Minute)
	b.guard.Log(ctx, slog.LevelWarn, "login failed", "192.0.2.1")
	lines := b.lines()
	require.Len(t, lines, 7, "the count of lines left out, then the line")
	require.Contains(t, lines[5], `"msg":"authentication failures not logged (rate limit)"`)
	require.Contains(t, lines[5], `"lines":1995`)
	require.Contains(t, lines[6], `"remote":"192.0.2.1"`)
}

// TestManyAddressesDoNotGrowMemory: failures from more addresses than
// MaxAddresses leave at most MaxAddresses in the table.
func TestManyAddressesDoNotGrowMemory(t *testing.T) {
	t.Parallel()
	b := setup(t, authguard.Config{MaxAddresses: 100})
	for i := range 10000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		b.guard.Fail(addr)
		b.guard.Log(context.Background(), slog.LevelWarn, "login failed", addr)
	}
	require.Equal(t, 100, b.guard.Len())
	require.LessOrEqual(t, len(b.lines()), authguard.DefaultLogBurst+1)
}

// TestClientAddrTrustsOnlyConfiguredProxies: X-Forwarded-For names the
// client only for a request from a trusted proxy, and a forged hop left of
// the proxy's own is not believed; IPv6 clients count per /64.
func TestClientAddrTrustsOnlyConfiguredProxies(t *testing.T) {
	t.Parallel()
	proxies, err := authguard.ParsePrefixes("127.0.0.1, 10.0.0.0/8")
	require.NoError(t, err)
	b := setup(t, authguard.Config{TrustedProxies: proxies})

	tests := []struct {
		name   string
		remote string
		xff    string
		want   string
	}{
		{"DirectClient", "192.0.2.9:5555", "", "192.0.2.9"},
		{"DirectClientCannotForge", "192.0.2.9:5555", "203.0.113.1", "192.0.2.9"},
		{"BehindTrustedProxy", "127.0.0.1:5555", "203.0.113.1", "203.0.113.1"},
		{"BehindTwoTrustedProxies", "127.0.0.1:5555", "203.0.113.1, 10.1.2.3", "203.0.113.1"},
		{"ForgedHopLeftOfTheClient", "127.0.0.1:5555", "198.51.100.66, 203.0.113.1", "203.0.113.1"},
		{"GarbledHopStopsTheWalk", "127.0.0.1:5555", "203.0.113.1, nonsense", "127.0.0.1"},
		{"ProxyWithoutHeader", "127.0.0.1:5555", "", "127.0.0.1"},
		{"IPv6CountsPer64", "[2001:db8:1:2:3:4:5:6]:5555", "", "2001:db8:1:2::/64"},
		{"IPv4MappedIPv6", "[::ffff:192.0.2.9]:5555", "", "192.0.2.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			require.Equal(t, tt.want, b.guard.ClientAddr(r))
		})
	}
}

func TestParsePrefixesNamesTheBadEntry(t *testing.T) {
	t.Parallel()
	_, err := authguard.ParsePrefixes("10.0.0.0/8, 300.1.1.1")
	require.ErrorContains(t, err, "300.1.1.1")
	p, err := authguard.ParsePrefixes("")
	require.NoError(t, err)
	require.Empty(t, p)
}
