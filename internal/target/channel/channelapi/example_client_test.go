package channelapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// ExampleClient_Create creates a company on a simulated channel and
// reads it back.
func ExampleClient_Create() {
	sim := channelsim.New(channelsim.Config{AppKey: "channel_001", Secret: "your_secret_key"})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	client, err := channelapi.New(channelapi.Config{
		BaseURL: srv.URL + "/api/v1", AppKey: "channel_001", Secret: "your_secret_key",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	created, err := client.Create(ctx, channelbody.Companies, channelbody.Company{
		ChannelCompanyID: "C20240101001",
		CompanyName:      "某某科技有限公司",
		SocialCreditCode: "91350100M000100Y43",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created with a channel id:", created.ChannelRef != "")

	_, err = client.Get(ctx, channelbody.Companies, "C-UNKNOWN")
	fmt.Println("unknown company:", err != nil)
	// Output:
	// created with a channel id: true
	// unknown company: true
}
