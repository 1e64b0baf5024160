package pointsapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/points/pointssim/pointssimtest"
)

// testBundle is a client of a simulator, both on one fake clock.
type testBundle struct {
	sim    *pointssimtest.Server
	client *pointsapi.Client
	logs   *lockedBuffer
	// now is the shared clock, in unix nanoseconds.
	now *atomic.Int64
}

// setup starts a simulator accepting testKey and a client of it; the
// tweaks adjust the simulator's config, then the client's.
func setup(t *testing.T, simTweak func(*pointssim.Config), clientTweak func(*pointsapi.Config)) *testBundle {
	t.Helper()
	b := &testBundle{logs: &lockedBuffer{}, now: &atomic.Int64{}}
	b.now.Store(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, b.now.Load()) }
	simCfg := pointssim.Config{APIKeys: []string{testKey}, NowFunc: clock}
	if simTweak != nil {
		simTweak(&simCfg)
	}
	b.sim = pointssimtest.Start(t, simCfg)
	cfg := pointsapi.Config{
		BaseURL:    b.sim.BaseURL(),
		APIKey:     testKey,
		HTTPClient: b.sim.Client(),
		Logger:     slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		NowFunc:    clock,
	}
	if clientTweak != nil {
		clientTweak(&cfg)
	}
	client, err := pointsapi.New(cfg)
	require.NoError(t, err)
	b.client = client
	t.Cleanup(b.sim.Client().CloseIdleConnections)
	return b
}

func (b *testBundle) advance(d time.Duration) { b.now.Add(int64(d)) }

func grant(user, order string, cents int64) pointsapi.RechargeRequest {
	return pointsapi.RechargeRequest{ClientUserID: user, AmountCents: cents, ExternalOrderID: order, Reason: pointsapi.ReasonFor("年终奖励", order)}
}

func TestEveryEndpointAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) {
		c.PoolCents = 100_000
		c.Projects = []pointssim.Project{
			{ShortCode: "aB3kZ9", Name: "厂房租赁", Industry: "制造业", Icon: "https://cdn.example/1.png", Tags: []string{"制造业", "租房"}},
			{ShortCode: "cD4", Name: "物流", Industry: "物流", Icon: "https://cdn.example/2.png", Tags: []string{"供应链"}},
		}
	}, nil)
	ctx := context.Background()

	res, err := b.client.Recharge(ctx, grant("u_10001", "G20261130001", 1000))
	require.NoError(t, err)
	require.Equal(t, pointsapi.RechargeResult{
		ClientUserID: "u_10001", ToUserID: pointssim.FirstUserID, AmountCents: 1000, ExternalOrderID: "G20261130001",
		DeveloperBalanceCents: 99_000, UserBalanceCents: 1000,
	}, res)

	bal, err := b.client.Balance(ctx, "u_10001")
	require.NoError(t, err)
	require.Equal(t, pointsapi.Balance{ClientUserID: "u_10001", UserID: pointssim.FirstUserID, BalanceCents: 1000}, bal)

	page, err := b.client.Logs(ctx, pointsapi.LogsParams{ClientUserID: "u_10001"})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	require.Equal(t, 20, page.PageSize, "the API's default")
	require.Equal(t, []pointsapi.LogEntry{{
		ID: 1, Source: pointsapi.SourceTransfer, RecordType: pointsapi.RecordRecharge, ChangeCents: 1000, AmountCents: 1000,
		BalanceAfter: 1000, Reason: "年终奖励 [G20261130001]", Status: "success", CreatedAt: "2026-11-30T08:00:00Z",
	}}, page.List)

	tok, err := b.client.IssueToken(ctx, "u_10001")
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)
	require.EqualValues(t, 7200, tok.ExpiresIn)
	require.NotContains(t, fmt.Sprint(tok), tok.AccessToken)

	tags, err := b.client.PublishedTags(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"供应链", "制造业", "租房"}, tags)

	all, err := b.client.PublishedList(ctx, pointsapi.ProjectsQuery{})
	require.NoError(t, err)
	require.Equal(t, []pointsapi.Project{
		{ShortCode: "aB3kZ9", Name: "厂房租赁", Industry: "制造业", Icon: "https://cdn.example/1.png", Tags: []string{"制造业", "租房"}},
		{ShortCode: "cD4", Name: "物流", Industry: "物流", Icon: "https://cdn.example/2.png", Tags: []string{"供应链"}},
	}, all)
	some, err := b.client.PublishedList(ctx, pointsapi.ProjectsQuery{Tags: []string{"供应", "nothing"}, Limit: 1})
	require.NoError(t, err)
	require.Len(t, some, 1)
	require.Equal(t, "cD4", some[0].ShortCode, "matches first")

	st := b.sim.Stats()
	require.EqualValues(t, 2, st.TokensIssued, "one for IssueToken, one cached for the project calls")
	require.Zero(t, st.KeyOnBearerCalls, "the key is never sent with a bearer token")
	require.Zero(t, st.AuthFailures)
}

func TestErrorClassesAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		prepare    func(b *testBundle)
		class      pointsapi.Class
		status     int
		retryAfter time.Duration
		applied    bool
	}{
		{"RevokedKeyIsAuth", func(b *testBundle) { b.sim.RevokeKey(testKey) }, pointsapi.ClassAuth, 401, 0, false},
		{"PoolTooLowIsItsOwnClass", func(b *testBundle) { require.NoError(t, b.sim.SetPool(999)) }, pointsapi.ClassPoolTooLow, 402, 0, false},
		{"RateLimitedCarriesRetryAfter", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{RateLimitRate: 1, RetryAfter: 3}}))
		}, pointsapi.ClassRateLimited, 429, 3 * time.Second, false},
		{"RateLimitedRetryAfterIsCapped", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{RateLimitRate: 1, RetryAfter: 86400}}))
		}, pointsapi.ClassRateLimited, 429, pointsapi.DefaultMaxRetryAfter, false},
		{"ServerErrorIsTransient", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{Status500Rate: 1}}))
		}, pointsapi.ClassTransient, 500, 0, false},
		{"BadGatewayIsTransient", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{BadGatewayRate: 1}}))
		}, pointsapi.ClassTransient, 502, 0, false},
		{"DownIsTransient", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{Down: simkit.Down503}))
		}, pointsapi.ClassTransient, 503, 0, false},
		{"TimeoutIsTransient", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: {Latency: time.Hour}}}))
		}, pointsapi.ClassTransient, 0, 0, false},
		{"OtherClientErrorIsData", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{StatusRates: map[int]float64{403: 1}}))
		}, pointsapi.ClassData, 403, 0, false},
		{"DroppedBeforeApplyingIsTransient", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{DropBeforeRate: 1}}))
		}, pointsapi.ClassTransient, 0, 0, false},
		{"DroppedAfterApplyingIsTransientAndApplied", func(b *testBundle) {
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{DropAfterRate: 1}}))
		}, pointsapi.ClassTransient, 0, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil, func(c *pointsapi.Config) {
				if tt.name == "TimeoutIsTransient" {
					c.Timeout = 100 * time.Millisecond
				}
			})
			tt.prepare(b)
			_, err := b.client.Recharge(context.Background(), grant("u1", "G1", 1000))
			var e *pointsapi.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.class, e.Class, err.Error())
			require.Equal(t, tt.status, e.HTTPStatus)
			if tt.status >= 400 && tt.status != 502 && tt.status != 503 && tt.status != 429 {
				require.Equal(t, tt.status, e.Code, "the envelope's code is the status")
			}
			require.Equal(t, tt.retryAfter, e.RetryAfter)
			require.True(t, e.Sent)
			require.Equal(t, tt.class == pointsapi.ClassTransient, e.OutcomeUnknown())
			require.NotContains(t, err.Error(), testKey)
			if tt.applied {
				require.Len(t, b.sim.Recharges(), 1)
			} else {
				require.Empty(t, b.sim.Recharges())
			}
		})
	}
}

func TestBearerTokenIsRenewedAfterRenewAfterOfItsLife(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) { c.TokenTTL = 100 * time.Second }, nil)
	ctx := context.Background()
	for _, step := range []struct {
		advance time.Duration
		fetches int64
	}{
		{0, 1},                 // first call fetches
		{79 * time.Second, 1},  // 79% of its life: still cached
		{time.Second, 2},       // 80%: renewed before it expires
		{50 * time.Second, 2},  // 50% of the new one
		{200 * time.Second, 3}, // long expired: renewed
	} {
		b.advance(step.advance)
		_, err := b.client.PublishedTags(ctx)
		require.NoError(t, err)
		require.Equal(t, step.fetches, b.client.TokenFetches())
		require.Equal(t, step.fetches, b.sim.Stats().TokensIssued)
	}
	require.Zero(t, b.sim.Stats().AuthFailures, "never sent an expired token")
}

func TestConcurrentCallersShareOneTokenFetch(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) {
		// A slow token endpoint, so that every caller arrives while the
		// first fetch is in flight.
		c.Faults = pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointToken: {Latency: 100 * time.Millisecond}}}
	}, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			_, err := b.client.PublishedTags(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, b.client.TokenFetches())
	require.EqualValues(t, 1, b.sim.Stats().TokensIssued)
}

func TestACancelledCallerDoesNotCancelTheSharedFetch(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) {
		c.Faults = pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointToken: {Latency: 100 * time.Millisecond}}}
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.client.PublishedTags(ctx)
		done <- err
	}()
	require.Eventually(t, func() bool { return b.client.TokenFetches() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	_, err := b.client.PublishedTags(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, b.client.TokenFetches(), "the second caller got the first fetch's token")
}

func TestARefusedTokenIsRenewedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, nil)
	ctx := context.Background()
	_, err := b.client.PublishedTags(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, b.sim.RevokeTokens())
	_, err = b.client.PublishedList(ctx, pointsapi.ProjectsQuery{})
	require.NoError(t, err, "a 401 renews the token and repeats the call once")
	require.EqualValues(t, 2, b.client.TokenFetches())

	b.sim.RevokeKey(testKey)
	_, err = b.client.PublishedTags(ctx)
	require.Equal(t, pointsapi.ClassAuth, pointsapi.ClassOf(err), "with the key refused, the renewal fails: auth")
	require.EqualValues(t, 3, b.client.TokenFetches())
}

func TestTheKeyNeverReachesLogsOrErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) { c.PoolCents = 10 }, nil)
	ctx := context.Background()
	var msgs []string
	keep := func(err error) {
		if err != nil {
			msgs = append(msgs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	_, err := b.client.Recharge(ctx, grant("u1", "G1", 1000)) // 402
	keep(err)
	_, err = b.client.PublishedTags(ctx)
	keep(err)
	require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{DropAfterRate: 1}}))
	_, err = b.client.Balance(ctx, "u1")
	keep(err)
	require.NoError(t, b.sim.SetFaults(pointssim.Faults{}))
	b.sim.RevokeKey(testKey)
	_, err = b.client.Logs(ctx, pointsapi.LogsParams{ClientUserID: "u1"})
	keep(err)
	_, err = b.client.PublishedTags(ctx)
	keep(err)
	require.Len(t, msgs, 12, "four calls failed")
	require.NotEmpty(t, b.logs.String())
	for _, m := range append(msgs, b.logs.String(), fmt.Sprint(b.client), fmt.Sprintf("%#v", b.client)) {
		require.NotContains(t, m, testKey)
	}
}

func TestLedgerIsReadAcrossPages(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, nil)
	ctx := context.Background()
	for i := 1; i <= 230; i++ {
		_, err := b.client.Recharge(ctx, grant("u1", "G"+strconv.Itoa(i), int64(i)))
		require.NoError(t, err)
	}
	_, err := b.sim.AddCharge(pointssim.Charge{ClientUserID: "u1", AmountCents: 5, Reason: "解锁查看详情 [G7]", ShortCode: "aB3kZ9", ProjectID: 12})
	require.NoError(t, err)
	// A second credit of G7, as a resend without a ledger check would make.
	_, err = b.client.Recharge(ctx, grant("u1", "G7", 7))
	require.NoError(t, err)

	var ids []int64
	for e, err := range b.client.AllLogs(ctx, "u1") {
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	require.Len(t, ids, 232, "three pages of 100")
	for i := 1; i < len(ids); i++ {
		require.Greater(t, ids[i-1], ids[i], "newest first")
	}
	logs := b.sim.Stats().Endpoints["logs"].Requests
	require.EqualValues(t, 3, logs)

	for _, tt := range []struct {
		order   string
		amount  int64
		found   bool
		entries int
	}{
		{"G1", 1, true, 1},     // the oldest, on the last page
		{"G230", 230, true, 1}, // on the first page
		{"G7", 7, true, 2},     // credited twice; the charge mentioning it is no recharge
		{"G5", 6, false, 0},    // another amount
		{"G999", 1, false, 0},
		{"G23", 23, true, 1}, // not confused with G230
	} {
		found, entries, err := b.client.FindRecharge(ctx, "u1", tt.order, tt.amount)
		require.NoError(t, err)
		require.Equal(t, tt.found, found, tt.order)
		require.Equal(t, tt.entries, entries, tt.order)
	}
	counts, err := b.client.CountRecharges(ctx, "u1", "G7", "G8", "G999")
	require.NoError(t, err)
	require.Equal(t, map[string]int{"G7": 2, "G8": 1, "G999": 0}, counts)
	require.Equal(t, map[string]int{"G7": 2}, b.sim.Duplicates(nil).ByReason, "the simulator sees the same double credit")
}

func TestALostRechargeIsFoundInTheLedgerNotSentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) {
		c.Faults = pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: {DropAfterRate: 1}}}
	}, nil)
	ctx := context.Background()
	req := grant("u1", "G42", 4200)
	_, err := b.client.Recharge(ctx, req)
	var e *pointsapi.Error
	require.ErrorAs(t, err, &e)
	require.True(t, e.OutcomeUnknown(), err.Error())

	found, entries, err := b.client.FindRecharge(ctx, req.ClientUserID, req.ExternalOrderID, req.AmountCents)
	require.NoError(t, err)
	require.True(t, found, "the recharge was applied before the answer was lost")
	require.Equal(t, 1, entries)
	require.Empty(t, b.sim.Duplicates(nil).ByExternalOrderID)
}

func TestPoolTooLowLeavesBalancesUnchanged(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) { c.PoolCents = 1500 }, nil)
	ctx := context.Background()
	_, err := b.client.Recharge(ctx, grant("u1", "G1", 1000))
	require.NoError(t, err)
	_, err = b.client.Recharge(ctx, grant("u1", "G2", 1000))
	require.Equal(t, pointsapi.ClassPoolTooLow, pointsapi.ClassOf(err))
	var e *pointsapi.Error
	require.ErrorAs(t, err, &e)
	require.False(t, e.OutcomeUnknown(), "a 402 is a definite no")
	bal, err := b.client.Balance(ctx, "u1")
	require.NoError(t, err)
	require.EqualValues(t, 1000, bal.BalanceCents)
	require.EqualValues(t, 500, b.sim.Pool())
	found, _, err := b.client.FindRecharge(ctx, "u1", "G2", 1000)
	require.NoError(t, err)
	require.False(t, found)

	_, err = b.sim.TopUpPool(10_000)
	require.NoError(t, err)
	res, err := b.client.Recharge(ctx, grant("u1", "G2", 1000))
	require.NoError(t, err)
	require.EqualValues(t, 2000, res.UserBalanceCents)
}

func TestObserverSeesEveryRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	observed := map[string][]string{}
	b := setup(t, nil, func(c *pointsapi.Config) {
		c.ObserveFunc = func(route string, err *pointsapi.Error, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			class := "ok"
			if err != nil {
				class = err.Class.String()
			}
			observed[route] = append(observed[route], class)
		}
	})
	ctx := context.Background()
	_, err := b.client.Recharge(ctx, grant("u1", "G1", 1))
	require.NoError(t, err)
	require.NoError(t, b.sim.SetPool(0))
	_, err = b.client.Recharge(ctx, grant("u1", "G2", 1))
	require.Error(t, err)
	_, err = b.client.PublishedTags(ctx)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string][]string{
		pointsapi.RouteRecharge:      {"ok", "pool-too-low"},
		pointsapi.RouteToken:         {"ok"},
		pointsapi.RoutePublishedTags: {"ok"},
	}, observed)
}

func TestRateLimiterHoldsRequestsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, func(c *pointsapi.Config) { c.Limiter = rate.NewLimiter(rate.Every(time.Hour), 1) })
	_, err := b.client.Balance(context.Background(), "u1")
	require.NoError(t, err, "the burst lets one through")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = b.client.Recharge(ctx, grant("u1", "G1", 1))
	var e *pointsapi.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, pointsapi.ClassTransient, e.Class)
	require.False(t, e.Sent, "held back before sending: safe to send again")
	require.Empty(t, b.sim.Recharges())
	require.EqualValues(t, 1, b.sim.Stats().Requests)
}
