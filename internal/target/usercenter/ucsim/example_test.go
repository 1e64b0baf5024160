package ucsim_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// Example seeds a stranger's account, loses the answer of a create-user,
// and reads what the simulator holds: the lost create did happen, and a
// blind retry would have made a duplicate.
func Example() {
	sim := ucsim.New(ucsim.Config{AppKey: "ak", SecretKey: "sk"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := ucapi.New(ucapi.Config{BaseURL: srv.URL, AppKey: "ak", SecretKey: ucapi.NewSecret("sk")})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// A username taken by an account that is not ours.
	if _, err := sim.InsertAccount(ucsim.AccountSeed{Username: "10002"}); err != nil {
		panic(err)
	}
	_, err = client.CreateUser(ctx, ucapi.CreateUserRequest{Username: "10002", Password: ucapi.NewSecret("p")})
	fmt.Println("taken:", ucapi.ClassOf(err))

	// Every create-user answer is lost after the account is created.
	if err := sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateUser: {DropAfterRate: 1}}}); err != nil {
		panic(err)
	}
	for _, username := range []string{"10001", "10001-retry"} {
		_, err = client.CreateUser(ctx, ucapi.CreateUserRequest{
			Username: username, Password: ucapi.NewSecret("p"), SysAttrs: map[string]any{"channel_user_id": "10001"},
		})
		fmt.Println("lost:", ucapi.ClassOf(err))
	}
	fmt.Println("accounts:", len(sim.Accounts()))
	fmt.Println("duplicates:", len(sim.Duplicates().Accounts["10001"]))
	// Output:
	// taken: data
	// lost: transient
	// lost: transient
	// accounts: 3
	// duplicates: 2
}
