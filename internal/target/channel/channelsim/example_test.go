package channelsim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// post sends a JSON body and returns the answer's status line and body.
func post(url, token, body string) string {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// The simulator is an http.Handler: serve it, fetch a token, push records.
// A child whose parent the channel does not hold yet is refused and counted
// as an order violation.
func Example() {
	sim := channelsim.New(channelsim.Config{AppKey: "demo", Secret: "s3cret"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	base := srv.URL + sim.Prefix()

	id, _ := sim.Insert("company", []byte(`{"channel_company_id":"C1","company_name":"某某科技有限公司","social_credit_code":"91350100M000100Y43"}`))
	fmt.Println("company C1 is", id)

	answer := post(base+"/auth/token", "", `{"appkey":"demo","secret":"s3cret","grant_type":"client_credentials"}`)
	token := answer[strings.Index(answer, `"access_token":"`)+16:]
	token = token[:strings.IndexByte(token, '"')]

	fmt.Println(post(base+"/tasks", token, `{"channel_task_id":"T1","channel_company_id":"C2","task_name":"分拣","task_type":"short_term",`+
		`"recruit_count":3,"recruitment_start_time":"2024-01-20T00:00:00Z","recruitment_end_time":"2024-02-10T23:59:59Z"}`))
	fmt.Println("order violations:", sim.Stats().OrderViolations())
	// Output:
	// company C1 is 20001
	// 200 {"code":1001,"message":"channel_company_id: company C2 not found","data":{}}
	// order violations: 1
}

// Faults can be switched on and off while clients run, from Go or with
// POST /_sim/faults.
func ExampleServer_SetFaults() {
	sim := channelsim.New(channelsim.Config{})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	if err := sim.SetFaults(channelsim.Faults{RateLimitRate: 1, RetryAfter: 2, IncludeAuth: true}); err != nil {
		fmt.Println(err)
		return
	}
	resp, err := http.Post(srv.URL+"/api/v1/auth/token", "application/json", strings.NewReader(`{}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), sim.Stats().Faults[channelsim.FaultRateLimit])
	// Output:
	// 429 2 1
}
