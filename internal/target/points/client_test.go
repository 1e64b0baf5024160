package points_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
)

// TestClassify: what each answer of APIHub means for a grant and for the
// target.
func TestClassify(t *testing.T) {
	t.Parallel()
	tgt, err := points.New(points.Settings{BaseURL: "http://127.0.0.1:1", APIKey: "k"}, target.Deps{})
	require.NoError(t, err)
	tests := []struct {
		name string
		err  error
		want target.Failure
	}{
		{"PoolTooLowHoldsTheTarget", &pointsapi.Error{HTTPStatus: 402, Code: 402, Class: pointsapi.ClassPoolTooLow, Sent: true},
			target.Failure{Class: target.Hold, Hold: points.HoldPoolLow, Answered: true}},
		{"KeyRefusedHoldsTheTarget", &pointsapi.Error{HTTPStatus: 401, Code: 401, Class: pointsapi.ClassAuth, Sent: true},
			target.Failure{Class: target.Hold, Hold: points.HoldAuth, Answered: true}},
		{"RateLimitWaits", &pointsapi.Error{HTTPStatus: 429, Code: 429, Class: pointsapi.ClassRateLimited, RetryAfter: 7 * time.Second, Sent: true},
			target.Failure{Class: target.RateLimited, RetryAfter: 7 * time.Second, Answered: true}},
		{"NoAnswerMayHaveBeenApplied", &pointsapi.Error{Class: pointsapi.ClassTransient, Sent: true, Err: errors.New("connection reset")},
			target.Failure{Class: target.Transient, MaybeApplied: true}},
		{"DialFailureWasNeverSent", &pointsapi.Error{Class: pointsapi.ClassTransient, Err: errors.New("connection refused")},
			target.Failure{Class: target.Transient}},
		{"ServerErrorInTheEnvelopeWasAnswered", &pointsapi.Error{HTTPStatus: 500, Code: 500, Class: pointsapi.ClassTransient, Sent: true},
			target.Failure{Class: target.Transient, MaybeApplied: true, Answered: true}},
		{"BareBadGatewayMayStillBeInFlight", &pointsapi.Error{HTTPStatus: 502, Class: pointsapi.ClassTransient, Sent: true},
			target.Failure{Class: target.Transient, MaybeApplied: true}},
		{"GatewayTimeoutMayStillBeInFlight", &pointsapi.Error{HTTPStatus: 504, Code: 504, Class: pointsapi.ClassTransient, Sent: true},
			target.Failure{Class: target.Transient, MaybeApplied: true}},
		{"OtherRefusalIsPermanentNotAConflict", &pointsapi.Error{HTTPStatus: 400, Code: 400, Class: pointsapi.ClassData, Sent: true},
			target.Failure{Class: target.Permanent, Answered: true}},
		{"ChangeOfACreditedGrantIsPermanent", &points.ImmutableError{OrderID: "G1", Changes: []points.Change{{Field: "amount_cents", Credited: "1000", Now: "2000"}}},
			target.Failure{Class: target.Permanent}},
		{"WrappedLedgerErrorKeepsItsClass", fmt.Errorf("read the ledger: %w", &pointsapi.Error{HTTPStatus: 401, Code: 401, Class: pointsapi.ClassAuth, Sent: true}),
			target.Failure{Class: target.Hold, Hold: points.HoldAuth, Answered: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tgt.Client.Classify(tt.err)
			require.NotEmpty(t, got.Reason)
			got.Reason = ""
			require.Equal(t, tt.want, got)
		})
	}
}

// TestTargetDescription: the settle time covers the client's timeout plus
// the margin, and the hold probe follows POINTS_POOL_PROBE (3 min unset).
func TestTargetDescription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		s         points.Settings
		wantBound time.Duration
		wantProbe time.Duration
	}{
		{"Defaults", points.Settings{}, pointsapi.DefaultTimeout + points.SettleMargin, 3 * time.Minute},
		{"Configured", points.Settings{Timeout: 3 * time.Second, PoolProbe: 10 * time.Second}, 8 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.s.BaseURL, tt.s.APIKey = "http://127.0.0.1:1", "k"
			tgt, err := points.New(tt.s, target.Deps{})
			require.NoError(t, err)
			require.Equal(t, points.Name, tgt.Name)
			require.Equal(t, tt.wantBound, tgt.InFlightBound)
			require.Equal(t, tt.wantProbe, tgt.HoldProbe)
			require.NotNil(t, tgt.Verifier)
		})
	}
	_, err := points.New(points.Settings{BaseURL: "http://example.com", APIKey: "k"}, target.Deps{})
	require.ErrorContains(t, err, "https", "a remote points API must be reached over https")
}

// TestExactlyOnce: a recharge whose outcome is unknown is never sent again
// before the user's ledger, read once the request can no longer be in
// flight, shows it absent; found, it is adopted.
func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults simkit.Faults
		// applied: the lost recharge was applied (adopted, not sent again).
		applied bool
		// settles: the answer was lost, so the lookup waits for the settle
		// time; an answered 500 is looked up at once.
		settles bool
	}{
		{"AnswerLostAfterApplyIsFoundNotCreditedTwice", simkit.Faults{DropAfterRate: 1}, true, true},
		{"ConnectionDroppedBeforeApplyIsSentAgainAfterSettling", simkit.Faults{DropBeforeRate: 1}, false, true},
		{"ServerErrorIsLookedUpAtOnceThenSent", simkit.Faults{Status500Rate: 1}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.grant(t, "G1", "U1", 1000, "年终奖励")
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: tt.faults}}))

			res := b.push(t, "G1")
			require.Equal(t, 1, res.Failed)
			st := b.state(t, "G1")
			require.NotNil(t, st.UnsettledUntil, "the recharge may have been applied: unsettled")
			require.Equal(t, int64(1), b.rechargeRequests())
			require.NoError(t, b.sim.SetFaults(pointssim.Faults{}))

			if tt.settles {
				res = b.push(t, "G1")
				require.Equal(t, 1, res.Waiting, "too early: the lost recharge may still land")
				require.Positive(t, res.SnoozeFor)
				require.Equal(t, int64(1), b.rechargeRequests(), "not sent again")
				require.Zero(t, b.logRequests(), "not even looked up yet")
			}
			res = b.pushUntil(t, b.engine, func(r syncer.Result) bool { return r.Created == 1 }, "G1")
			require.Positive(t, b.logRequests(), "the ledger was read first")
			require.Equal(t, 1, b.credits("G1"), "credited exactly once")
			b.requireNoDoubleCredit(t)
			st = b.state(t, "G1")
			require.Equal(t, syncstatus.Synced, st.Status)
			require.Nil(t, st.UnsettledUntil)
			if tt.applied {
				require.Equal(t, 1, res.Adopted)
				require.Equal(t, int64(1), b.rechargeRequests(), "adopted from the ledger, never sent again")
				ledger, _ := b.sim.Ledger("U1")
				require.Equal(t, strconv.FormatInt(ledger[0].ID, 10), *st.RemoteRef, "the ledger entry is the grant's ref")
			} else {
				require.Zero(t, res.Adopted)
				require.Equal(t, int64(2), b.rechargeRequests(), "absent from the ledger: sent again")
			}
		})
	}
}

// TestWorkerKilledMidRecharge: a worker that died holding a grant whose
// recharge reached APIHub leaves a lease; once it is swept, the grant is
// looked up after the settle time and adopted, never credited again.
func TestWorkerKilledMidRecharge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.grant(t, "G1", "U1", 1000, "年终奖励")
	built, err := b.kind.Load(ctx, b.pool, []string{"G1"})
	require.NoError(t, err)
	g := built["G1"].Body.(*points.Grant)

	// The dead worker's claim, and its recharge, which APIHub applied.
	_, err = b.q.ClaimRecords(ctx, dbsqlc.ClaimRecordsParams{
		Target: string(points.Name), Kind: "grant", Ids: []string{"G1"}, Holder: "dead-worker", LeaseSeconds: 1,
	})
	require.NoError(t, err)
	_, err = b.api.Recharge(ctx, pointsapi.RechargeRequest{ClientUserID: g.ClientUserID, AmountCents: g.AmountCents, ExternalOrderID: g.ExternalOrderID, Reason: g.Reason})
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		n, err := b.engine.SweepLostLeases(ctx, func(context.Context, pgx.Tx, []target.Ref) error { return nil })
		require.NoError(t, err)
		return n == 1
	}, 30*time.Second, 100*time.Millisecond)
	require.NotNil(t, b.state(t, "G1").UnsettledUntil, "its recharge may have landed")
	require.Equal(t, 1, b.push(t, "G1").Waiting, "too early: the dead worker's recharge may still land")

	res := b.pushUntil(t, b.engine, func(r syncer.Result) bool { return r.Created == 1 }, "G1")
	require.Equal(t, 1, res.Adopted)
	require.Equal(t, int64(1), b.rechargeRequests(), "only the dead worker's recharge")
	require.Equal(t, 1, b.credits("G1"))
}

// TestCreditedGrantIsImmutable: once credited, a grant's amount or user
// cannot change (a dead letter naming the field, no second recharge); a
// change of its reason alone sends nothing.
func TestCreditedGrantIsImmutable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  string
		outcome func(syncer.Result) int
		reason  string
	}{
		{"AmountChangeIsDeadNamingAmount", `UPDATE points_grants SET amount_cents = 2000`,
			func(r syncer.Result) int { return r.Dead }, "grants/G1: amount_cents: already credited 1000, now 2000: a credited grant cannot change"},
		{"UserChangeIsDeadNamingUser", `UPDATE points_grants SET channel_user_id = 'U2'`,
			func(r syncer.Result) int { return r.Dead }, "channel_user_id: already credited U1, now U2"},
		{"ReasonChangeSendsNothing", `UPDATE points_grants SET reason = '另一个理由'`,
			func(r syncer.Result) int { return r.Unchanged }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.grant(t, "G1", "U1", 1000, "年终奖励")
			require.Equal(t, 1, b.push(t, "G1").Created)
			before := b.sim.Stats().Requests

			b.exec(t, tt.change)
			require.Equal(t, 1, tt.outcome(b.push(t, "G1")))
			require.Equal(t, before, b.sim.Stats().Requests, "nothing sent")
			require.Equal(t, 1, b.credits("G1"))
			st := b.state(t, "G1")
			if tt.reason == "" {
				require.Equal(t, syncstatus.Synced, st.Status)
				return
			}
			require.Equal(t, syncstatus.Dead, st.Status)
			require.Contains(t, *st.LastError, tt.reason)
		})
	}
}

// TestAmountChangedBeforeTheLookupIsDead: a recharge lost after it was
// applied, then an amount changed before the lookup: the ledger shows the
// order credited with the old amount, and the grant is dead, not credited
// again with the new one.
func TestAmountChangedBeforeTheLookupIsDead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.grant(t, "G1", "U1", 1000, "年终奖励")
	require.NoError(t, b.sim.SetFaults(pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: {DropAfterRate: 1}}}))
	require.Equal(t, 1, b.push(t, "G1").Failed)
	require.NoError(t, b.sim.SetFaults(pointssim.Faults{}))
	b.exec(t, `UPDATE points_grants SET amount_cents = 2000`)

	b.pushUntil(t, b.engine, func(r syncer.Result) bool { return r.Dead == 1 }, "G1")
	require.Contains(t, *b.state(t, "G1").LastError, "amount_cents: already credited 1000, now 2000")
	require.Equal(t, int64(1), b.rechargeRequests())
	require.Equal(t, 1, b.credits("G1"))
}

// TestHold: an empty pool (402) or a refused key (401) holds every grant,
// in every worker process, with no grant failed or dead and no attempt
// spent; a probe after the fix resumes them, each credited once.
func TestHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		hold     string
		breakFn  func(b *testBundle) error
		repairFn func(b *testBundle) error
	}{
		{"EmptyPoolHoldsUntilToppedUp", points.HoldPoolLow,
			func(b *testBundle) error { return b.sim.SetPool(0) },
			func(b *testBundle) error { _, err := b.sim.TopUpPool(1_000_000); return err }},
		{"RefusedKeyHoldsUntilRestored", points.HoldAuth,
			func(b *testBundle) error { b.sim.RevokeKey(testKey); return nil },
			func(b *testBundle) error { return b.sim.RestoreKey(testKey) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.newEngine(t)
			ids := []string{"G1", "G2", "G3", "G4"}
			for i, id := range ids {
				b.grant(t, id, fmt.Sprintf("U%d", i%2+1), int64(100*(i+1)), "奖励")
			}
			require.NoError(t, tt.breakFn(b))

			res := b.push(t, ids[:3]...)
			require.Equal(t, tt.hold, res.Held)
			require.Equal(t, 3, res.Waiting, "no grant failed or dead")
			require.Equal(t, int64(1), b.rechargeRequests(), "the batch stops at the refusal")
			for _, id := range ids[:3] {
				st := b.state(t, id)
				require.Zero(t, st.Attempts, "no attempt spent")
				require.Equal(t, syncstatus.Pending, st.Status)
			}
			h, err := b.q.GetHold(ctx, string(points.Name))
			require.NoError(t, err)
			require.Equal(t, tt.hold, h.Reason)

			res = b.pushWith(t, other, "G4")
			require.Equal(t, tt.hold, res.Held, "another worker process holds too")
			require.Equal(t, int64(1), b.rechargeRequests(), "and sends nothing before the probe")

			require.NoError(t, tt.repairFn(b))
			b.pushUntil(t, other, func(r syncer.Result) bool { return r.Created > 0 }, ids...)
			for _, id := range ids {
				b.pushUntil(t, b.engine, func(syncer.Result) bool { return b.state(t, id).Status == syncstatus.Synced }, id)
				require.Equal(t, 1, b.credits(id), id)
			}
			b.requireNoDoubleCredit(t)
			_, err = b.q.GetHold(ctx, string(points.Name))
			require.Error(t, err, "the hold is lifted")
		})
	}
}
