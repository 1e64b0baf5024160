package pointssim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// Example mounts the points simulator beside the user-centre simulator on
// one server, as cmd/apihubsim does, and recharges a user.
func Example() {
	points := pointssim.New(pointssim.Config{APIKeys: []string{"sk-example"}, PoolCents: 5000})
	uc := ucsim.New(ucsim.Config{})
	mux := http.NewServeMux()
	for _, prefix := range []string{points.Prefix(), points.AdminPrefix()} {
		mux.Handle(prefix+"/", points)
	}
	for _, prefix := range []string{uc.Prefix(), uc.AdminPrefix()} {
		mux.Handle(prefix+"/", uc)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/apihub/points/users/recharge",
		strings.NewReader(`{"client_user_id":"u_10001","amount_cents":1000,"external_order_id":"G1","reason":"年终奖励 [G1]"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", "sk-example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Get(srv.URL + "/_sim/points/pool")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))
	balance, _ := points.Balance("u_10001")
	fmt.Println("balance:", balance)
	// Output:
	// 200 {"code":200,"message":"success","data":{"amount_cents":1000,"client_user_id":"u_10001","developer_balance_cents":4000,"external_order_id":"G1","to_user_id":100000001,"user_balance_cents":1000}}
	// {
	//   "balance_cents": 4000
	// }
	// balance: 1000
}
