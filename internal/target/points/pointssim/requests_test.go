package pointssim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/points/pointssim"
)

// TestRequestLogNamesWhatEachRequestWasAbout: with RecordRequests, each
// request's log entry names its user, a recharge's external_order_id and
// a logs request's page as they were sent, also when a fault answered it
// or it was refused, so that a test can prove an order was never sent; and
// reading them changes nothing the handler sees.
func TestRequestLogNamesWhatEachRequestWasAbout(t *testing.T) {
	t.Parallel()
	rechargeFaults := func(f simkit.Faults) pointssim.Faults {
		return pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: f}}
	}
	for _, tt := range []struct {
		name   string
		faults pointssim.Faults
		// maxBody, if set, is Config.MaxBodyBytes.
		maxBody int64
		// pool, if set, is the pool's balance before the request.
		pool   *int64
		method string
		path   string
		body   string
		want   pointssim.Request
		// applied is the amount credited, 0 for none.
		applied int64
	}{
		{name: "AppliedRecharge", method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u1","amount_cents":250,"external_order_id":"G1","reason":"grant [G1]"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u1", ExternalOrderID: "G1", Status: 200, Applied: true}, applied: 250},
		{name: "RechargeAnsweredByA500", faults: rechargeFaults(simkit.Faults{Status500Rate: 1}),
			method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u1","amount_cents":250,"external_order_id":"G2","reason":"grant [G2]"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u1", ExternalOrderID: "G2", Status: 500, Fault: simkit.FaultStatus500}},
		{name: "RechargeDroppedBeforeApplying", faults: rechargeFaults(simkit.Faults{DropBeforeRate: 1}),
			method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u1","amount_cents":250,"external_order_id":"G3"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u1", ExternalOrderID: "G3", Status: 0, Fault: simkit.FaultDropBefore}},
		// With latency the injector reads the body too, after the log did.
		{name: "RechargeAppliedAndItsAnswerLost", faults: rechargeFaults(simkit.Faults{DropAfterRate: 1, Latency: time.Millisecond}),
			method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u1","amount_cents":90,"external_order_id":"G4"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u1", ExternalOrderID: "G4", Status: 0, Fault: simkit.FaultDropAfter, Applied: true}, applied: 90},
		{name: "RechargeRefusedFor402", pool: new(int64),
			method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u1","amount_cents":250,"external_order_id":"G5"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u1", ExternalOrderID: "G5", Status: 402}},
		{name: "MalformedRechargeNamesWhatItSent", method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u2","amount_cents":"12","external_order_id":"G 6"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u2", ExternalOrderID: "G 6", Status: 400}},
		{name: "OrderThatIsNoStringIsNotNamed", method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u2","amount_cents":1,"external_order_id":7}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, ClientUserID: "u2", Status: 400}},
		{name: "BodyTooLargeIsStillTooLarge", maxBody: 64, method: http.MethodPost, path: "/points/users/recharge",
			body: `{"client_user_id":"u2","amount_cents":1,"external_order_id":"G7","reason":"` + strings.Repeat("x", 100) + `"}`,
			want: pointssim.Request{Endpoint: pointssim.EndpointRecharge, Status: 413}},
		{name: "LogsFirstPageByDefault", method: http.MethodGet, path: "/points/users/logs?client_user_id=u1",
			want: pointssim.Request{Endpoint: pointssim.EndpointLogs, ClientUserID: "u1", Page: 1, Status: 200}},
		{name: "LogsPageAnsweredByA500", faults: pointssim.Faults{All: simkit.Faults{Status500Rate: 1}},
			method: http.MethodGet, path: "/points/users/logs?client_user_id=u1&page=3&page_size=100",
			want: pointssim.Request{Endpoint: pointssim.EndpointLogs, ClientUserID: "u1", Page: 3, Status: 500, Fault: simkit.FaultStatus500}},
		{name: "LogsPageThatIsNoPositiveInteger", method: http.MethodGet, path: "/points/users/logs?client_user_id=u1&page=%2B2",
			want: pointssim.Request{Endpoint: pointssim.EndpointLogs, ClientUserID: "u1", Page: 0, Status: 400}},
		{name: "BalanceUnderA502", faults: pointssim.Faults{All: simkit.Faults{BadGatewayRate: 1}},
			method: http.MethodGet, path: "/points/users/balance?client_user_id=u3",
			want: pointssim.Request{Endpoint: pointssim.EndpointBalance, ClientUserID: "u3", Status: 502, Fault: simkit.FaultBadGateway}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *pointssim.Config) {
				c.RecordRequests, c.Faults, c.MaxBodyBytes = true, tt.faults, tt.maxBody
			})
			if tt.pool != nil {
				require.NoError(t, b.sim.SetPool(*tt.pool))
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, b.sim.URL()+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("X-API-Key", testKey)
			if resp, err := b.sim.Client().Do(req); err == nil {
				resp.Body.Close()
			}

			var logged []pointssim.Request
			require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/requests", nil, &logged))
			require.Len(t, logged, 1)
			got := logged[0]
			require.False(t, got.Time.IsZero())
			got.Time = tt.want.Time
			tt.want.Method, tt.want.Path = tt.method, "/api/v1/apihub"+strings.Split(tt.path, "?")[0]
			require.Equal(t, tt.want, got)

			var credited int64
			for _, r := range b.sim.Recharges() {
				require.Equal(t, tt.want.ExternalOrderID, r.ExternalOrderID, "the handler read the body the log read")
				credited += r.AmountCents
			}
			require.Equal(t, tt.applied, credited)
		})
	}
}

// TestRequestLogIsOffByDefault: without RecordRequests the log stays
// empty, and recharges are applied as ever.
func TestRequestLogIsOffByDefault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, http.StatusOK, b.recharge(t, "u1", 5, "G1", "grant [G1]").status)
	require.Empty(t, b.sim.Requests())
	require.Len(t, b.sim.Recharges(), 1)
}
