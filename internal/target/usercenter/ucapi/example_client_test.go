package ucapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// Example creates an account and a company group on the simulated user
// centre, makes the account a member, and shows how a taken username is
// classified.
func Example() {
	sim := ucsim.New(ucsim.Config{AppKey: "my-ak", SecretKey: "my-sk"})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	client, err := ucapi.New(ucapi.Config{BaseURL: srv.URL, AppKey: "my-ak", SecretKey: "my-sk"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// Look the account up first: creates are not idempotent.
	u, err := client.GetUserBySysAttr(ctx, "channel_user_id", "10001")
	if err != nil {
		panic(err)
	}
	if u == nil {
		u, err = client.CreateUser(ctx, ucapi.CreateUserRequest{
			Username: "10001",
			Password: "a password the caller generated",
			Attrs:    map[string]any{"nickname": "张三"},
			SysAttrs: map[string]any{"channel_user_id": "10001", "name": "张三"},
		})
		if err != nil {
			panic(err)
		}
	}
	fmt.Println(u.Username, u.Type, u.Enable)

	g, err := client.CreateGroup(ctx, ucapi.CreateGroupRequest{
		Name: "示例公司", Type: "company", Attrs: map[string]any{"channel_company_id": "20001"},
	})
	if err != nil {
		panic(err)
	}
	if err := client.AddUserToGroup(ctx, g.ID, u.ID); err != nil {
		panic(err)
	}
	groups, err := client.ListUserGroups(ctx, u.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(groups), groups[0].Name, groups[0].Type)

	_, err = client.CreateUser(ctx, ucapi.CreateUserRequest{Username: "10001", Password: "another one"})
	var e *ucapi.Error
	if errors.As(err, &e) {
		fmt.Println(e.Class, e.HTTPStatus)
	}
	// Output:
	// 10001 MEMBER true
	// 1 示例公司 company
	// data 200
}
