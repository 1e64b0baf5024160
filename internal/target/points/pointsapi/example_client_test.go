package pointsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
)

// ExampleClient_Recharge credits a grant on a simulated APIHub whose
// answer to the recharge is lost, and checks the ledger instead of sending
// the recharge again: a recharge is not idempotent.
func ExampleClient_Recharge() {
	sim := pointssim.New(pointssim.Config{APIKeys: []string{"sk-example"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := pointsapi.New(pointsapi.Config{BaseURL: srv.URL, APIKey: "sk-example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	grant := pointsapi.RechargeRequest{
		ClientUserID:    "u_10001",
		AmountCents:     1000,
		ExternalOrderID: "G20261130001",
		Reason:          pointsapi.ReasonFor("年终奖励", "G20261130001"),
	}

	// The simulator applies the recharge, then drops the connection.
	_ = sim.SetFaults(pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: {DropAfterRate: 1}}})
	_, err = client.Recharge(ctx, grant)
	var e *pointsapi.Error
	fmt.Println("outcome unknown:", errors.As(err, &e) && e.OutcomeUnknown())

	// Once the request can no longer be in flight (client.MaxInFlight),
	// the ledger tells whether it was credited.
	found, entries, err := client.FindRecharge(ctx, grant.ClientUserID, grant.ExternalOrderID, grant.AmountCents)
	fmt.Println("credited:", found, entries, err)

	balance, _ := client.Balance(ctx, "u_10001")
	fmt.Println("balance:", balance.BalanceCents)
	// Output:
	// outcome unknown: true
	// credited: true 1 <nil>
	// balance: 1000
}
