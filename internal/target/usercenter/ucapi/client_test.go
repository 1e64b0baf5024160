package ucapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	ptr := func(s string) *string { return &s }
	cases := []struct {
		name    string
		route   string
		runFunc func(t *testing.T, b *testBundle)
	}{
		{"GetUserBySysAttrFindsOurAccount", ucapi.RouteGetUserBySysAttr, func(t *testing.T, b *testBundle) {
			want := b.member(t, "10001")
			u, err := b.client.GetUserBySysAttr(t.Context(), "channel_user_id", "10001")
			require.NoError(t, err)
			require.Equal(t, want.ID, u.ID)
			require.Equal(t, "10001", u.Username)
			v, ok := u.SysAttrString("channel_user_id")
			require.True(t, ok)
			require.Equal(t, "10001", v)
		}},
		{"GetUserBySysAttrNoneIsNilNotError", ucapi.RouteGetUserBySysAttr, func(t *testing.T, b *testBundle) {
			b.member(t, "10001")
			u, err := b.client.GetUserBySysAttr(t.Context(), "channel_user_id", "10002")
			require.NoError(t, err)
			require.Nil(t, u)
		}},
		{"GetUserBySysAttrMatchesTheType", ucapi.RouteGetUserBySysAttr, func(t *testing.T, b *testBundle) {
			b.member(t, "10001")
			u, err := b.client.GetUserBySysAttr(t.Context(), "channel_user_id", 10001)
			require.NoError(t, err)
			require.Nil(t, u, "the number 10001 is not the string \"10001\"")
		}},
		{"GetUserByUsername", ucapi.RouteGetUserByUsername, func(t *testing.T, b *testBundle) {
			want := b.member(t, "10001")
			u, err := b.client.GetUserByUsername(t.Context(), "10001")
			require.NoError(t, err)
			require.Equal(t, want.ID, u.ID)
			u, err = b.client.GetUserByUsername(t.Context(), "nobody")
			require.NoError(t, err)
			require.Nil(t, u)
		}},
		{"GetUserByID", ucapi.RouteGetUserByID, func(t *testing.T, b *testBundle) {
			want := b.member(t, "10001")
			u, err := b.client.GetUserByID(t.Context(), want.ID)
			require.NoError(t, err)
			require.Equal(t, "10001", u.Username)
		}},
		{"CreateUserMakesAMember", ucapi.RouteCreateUser, func(t *testing.T, b *testBundle) {
			u, err := b.client.CreateUser(t.Context(), ucapi.CreateUserRequest{
				Username: "10001", Password: ucapi.NewSecret(testPassword), Attrs: map[string]any{"nickname": "张三"},
				SysAttrs: map[string]any{"channel_user_id": "10001", "phone": "13800000000", "username_password_temporary": true},
			})
			require.NoError(t, err)
			require.Equal(t, ucapi.UserTypeMember, u.Type)
			require.True(t, u.Enable)
			require.Equal(t, "张三", u.Attrs["nickname"])
			a, ok := b.sim.Account(u.ID)
			require.True(t, ok)
			require.Equal(t, map[string]any{"channel_user_id": "10001", "phone": "13800000000", "username_password_temporary": true}, a.SysAttrs)
			require.Equal(t, len(testPassword), a.PasswordLen)
		}},
		{"SaveUserSysAttrsMerges", ucapi.RouteSaveUserSysAttrs, func(t *testing.T, b *testBundle) {
			a := b.member(t, "10001")
			u, err := b.client.SaveUserSysAttrs(t.Context(), a.ID, map[string]any{"name": "李四", "extra.level": 2})
			require.NoError(t, err)
			require.Equal(t, "李四", u.SysAttrs["name"])
			require.Equal(t, "10001", u.SysAttrs["channel_user_id"], "keys not given are kept")
			require.Equal(t, map[string]any{"level": json.Number("2")}, u.SysAttrs["extra"], "a dotted key reaches a nested value")
		}},
		{"EnableUserAccountBothWays", ucapi.RouteEnableUserAccount, func(t *testing.T, b *testBundle) {
			a := b.member(t, "10001")
			u, err := b.client.EnableUserAccount(t.Context(), a.ID, false)
			require.NoError(t, err)
			require.False(t, u.Enable)
			got, _ := b.sim.Account(a.ID)
			require.False(t, got.Enable)
			u, err = b.client.EnableUserAccount(t.Context(), a.ID, true)
			require.NoError(t, err)
			require.True(t, u.Enable)
		}},
		{"ListUsersPages", ucapi.RouteListUsers, func(t *testing.T, b *testBundle) {
			for i := range 5 {
				b.member(t, fmt.Sprint(10001+i))
				b.clock.Advance(time.Second)
			}
			_, err := b.sim.InsertAccount(ucsim.AccountSeed{Username: "boss", Type: ucapi.UserTypeAdmin})
			require.NoError(t, err)
			page, err := b.client.ListUsers(t.Context(), ucapi.ListUsersParams{Skip: 1, Limit: 2})
			require.NoError(t, err)
			require.Equal(t, 5, page.Total, "MEMBERs only")
			require.Equal(t, []string{"10004", "10003"}, []string{page.Items[0].Username, page.Items[1].Username}, "newest first by default")
			page, err = b.client.ListUsers(t.Context(), ucapi.ListUsersParams{Limit: 2, SortKey: "firstCreated", SortDirection: 1})
			require.NoError(t, err)
			require.Equal(t, "10001", page.Items[0].Username)
		}},
		{"CreateGroupMakesACompany", ucapi.RouteCreateGroup, func(t *testing.T, b *testBundle) {
			g, err := b.client.CreateGroup(t.Context(), ucapi.CreateGroupRequest{
				Name: "甲公司／分部", Type: "company", Attrs: map[string]any{"channel_company_id": "20001", "social_credit_code": "91350100M000100Y43"},
			})
			require.NoError(t, err)
			require.Equal(t, "甲公司／分部", g.Name)
			require.Equal(t, "", g.Parent)
			require.Nil(t, g.Children)
			require.Equal(t, "/", g.IDPath)
			got, ok := b.sim.Group(g.ID)
			require.True(t, ok)
			require.Equal(t, "company", got.Type)
			require.Equal(t, "20001", got.Attrs["channel_company_id"])
		}},
		{"ListChildGroupsTopLevel", ucapi.RouteListChildGroups, func(t *testing.T, b *testBundle) {
			top := b.company(t, "20001")
			_, err := b.sim.InsertGroup(ucsim.GroupSeed{Name: "部门", Parent: top.ID})
			require.NoError(t, err)
			gs, err := b.client.ListChildGroups(t.Context(), "", false)
			require.NoError(t, err)
			require.Len(t, gs, 1, "top-level groups only")
			require.Equal(t, top.ID, gs[0].ID)
			v, _ := gs[0].AttrString("channel_company_id")
			require.Equal(t, "20001", v)
			require.Nil(t, gs[0].Children, "not looked up")
			gs, err = b.client.ListChildGroups(t.Context(), "", true)
			require.NoError(t, err)
			require.Len(t, gs[0].Children, 1)
			require.Equal(t, "/"+top.ID+"/", gs[0].Children[0].IDPath)
			require.NotNil(t, gs[0].Children[0].Children, "looked up, none")
		}},
		{"UpdateGroupIsPartial", ucapi.RouteUpdateGroup, func(t *testing.T, b *testBundle) {
			g := b.company(t, "20001")
			got, err := b.client.UpdateGroup(t.Context(), ucapi.UpdateGroupRequest{ID: g.ID, Name: ptr("新名字"), Attrs: map[string]any{"social_credit_code": "X"}})
			require.NoError(t, err)
			require.Equal(t, "新名字", got.Name)
			require.Equal(t, "company", got.Type, "fields not given are kept")
			require.Equal(t, map[string]any{"channel_company_id": "20001", "social_credit_code": "X"}, got.Attrs)
		}},
		{"AddUserToGroup", ucapi.RouteAddUserToGroup, func(t *testing.T, b *testBundle) {
			a := b.member(t, "10001")
			g := b.company(t, "20001")
			require.NoError(t, b.client.AddUserToGroup(t.Context(), g.ID, a.ID))
			require.NoError(t, b.client.AddUserToGroup(t.Context(), g.ID, a.ID), "adding twice is harmless")
			require.Equal(t, []ucsim.Membership{{GroupID: g.ID, UserID: a.ID}}, b.sim.Memberships())
		}},
		{"RemoveUserFromGroup", ucapi.RouteRemoveUserFromGroup, func(t *testing.T, b *testBundle) {
			a := b.member(t, "10001")
			g := b.company(t, "20001", a.ID)
			require.NoError(t, b.client.RemoveUserFromGroup(t.Context(), g.ID, a.ID))
			require.Empty(t, b.sim.Memberships())
		}},
		{"ListUserGroups", ucapi.RouteListUserGroups, func(t *testing.T, b *testBundle) {
			a := b.member(t, "10001")
			g := b.company(t, "20001", a.ID)
			b.company(t, "20002")
			gs, err := b.client.ListUserGroups(t.Context(), a.ID)
			require.NoError(t, err)
			require.Len(t, gs, 1)
			require.Equal(t, g.ID, gs[0].ID)
			require.Equal(t, "company", gs[0].Type)
		}},
		{"SaveRoleAndListRoles", ucapi.RouteSaveRole, func(t *testing.T, b *testBundle) {
			r, err := b.client.SaveRole(t.Context(), ucapi.SaveRoleRequest{Code: "WORKER", Name: "灵工"})
			require.NoError(t, err)
			require.Equal(t, "WORKER", r.Code)
			roles, err := b.client.ListRoles(t.Context())
			require.NoError(t, err)
			require.Len(t, roles, 1)
			require.Equal(t, "灵工", roles[0].Name)
		}},
		{"AssignUserRoleAndListUserRoles", ucapi.RouteAssignUserRole, func(t *testing.T, b *testBundle) {
			a := b.member(t, "10001")
			_, err := b.client.SaveRole(t.Context(), ucapi.SaveRoleRequest{Code: "WORKER"})
			require.NoError(t, err)
			require.NoError(t, b.client.AssignUserRole(t.Context(), a.ID, "WORKER"))
			roles, err := b.client.ListUserRoles(t.Context(), a.ID)
			require.NoError(t, err)
			require.Equal(t, []string{"MEMBER", "WORKER"}, roles, "the account type comes first")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			tc.runFunc(t, b)
			var routes []string
			for _, o := range b.observed.all() {
				require.Nil(t, o.err, o.route)
				routes = append(routes, o.route)
			}
			require.Contains(t, routes, tc.route)
		})
	}
}

func TestUsersIteratesEveryPage(t *testing.T) {
	t.Parallel()
	b := setup(t, func(_ *ucapi.Config, s *ucsim.Config) { s.MaxListLimit = 4 })
	var want []string
	for i := range 11 {
		want = append(want, b.member(t, fmt.Sprint(10001+i)).ID)
		b.clock.Advance(time.Second)
	}
	var got []string
	for u, err := range b.client.Users(t.Context(), 10) {
		require.NoError(t, err)
		got = append(got, u.ID)
	}
	require.Equal(t, want, got, "oldest first, every account once, though the service serves 4 a page")
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		faults  ucsim.Faults
		runFunc func(b *testBundle) error
		class   ucapi.Class
		checkFn func(t *testing.T, e *ucapi.Error)
	}{
		{"DroppedConnectionIsTransient", ucsim.Faults{All: simkit.Faults{DropBeforeRate: 1}},
			func(b *testBundle) error { _, err := b.client.ListRoles(context.Background()); return err },
			ucapi.ClassTransient, func(t *testing.T, e *ucapi.Error) { require.Zero(t, e.HTTPStatus); require.Error(t, e.Err) }},
		{"BareBadGatewayIsTransient", ucsim.Faults{All: simkit.Faults{BadGatewayRate: 1}},
			func(b *testBundle) error { _, err := b.client.ListRoles(context.Background()); return err },
			ucapi.ClassTransient, func(t *testing.T, e *ucapi.Error) { require.Equal(t, http.StatusBadGateway, e.HTTPStatus) }},
		{"Status500IsTransient", ucsim.Faults{All: simkit.Faults{Status500Rate: 1}},
			func(b *testBundle) error { _, err := b.client.ListRoles(context.Background()); return err },
			ucapi.ClassTransient, func(t *testing.T, e *ucapi.Error) {
				require.Equal(t, http.StatusInternalServerError, e.HTTPStatus)
				require.Equal(t, ucsim.CodeInternal, e.Code)
			}},
		{"RateLimitCarriesRetryAfter", ucsim.Faults{All: simkit.Faults{RateLimitRate: 1, RetryAfter: 7}},
			func(b *testBundle) error { _, err := b.client.ListRoles(context.Background()); return err },
			ucapi.ClassRateLimited, func(t *testing.T, e *ucapi.Error) { require.Equal(t, 7*time.Second, e.RetryAfter) }},
		{"RateLimitWithoutHeader", ucsim.Faults{All: simkit.Faults{RateLimitNoHeaderRate: 1}},
			func(b *testBundle) error { _, err := b.client.ListRoles(context.Background()); return err },
			ucapi.ClassRateLimited, func(t *testing.T, e *ucapi.Error) { require.Zero(t, e.RetryAfter) }},
		{"Down503IsTransient", ucsim.Faults{Down: simkit.Down503},
			func(b *testBundle) error { _, err := b.client.ListRoles(context.Background()); return err },
			ucapi.ClassTransient, func(t *testing.T, e *ucapi.Error) { require.Equal(t, http.StatusServiceUnavailable, e.HTTPStatus) }},
		{"TakenUsernameIsData", ucsim.Faults{},
			func(b *testBundle) error {
				_, err := b.client.CreateUser(context.Background(), ucapi.CreateUserRequest{Username: "stranger", Password: ucapi.NewSecret(testPassword)})
				return err
			},
			ucapi.ClassData, func(t *testing.T, e *ucapi.Error) {
				require.Equal(t, http.StatusOK, e.HTTPStatus)
				require.Equal(t, ucsim.CodeUsernameTaken, e.Code)
				require.Contains(t, e.Message, "stranger")
				require.NotEmpty(t, e.Trace)
			}},
		{"UnknownUserIsData", ucsim.Faults{},
			func(b *testBundle) error {
				_, err := b.client.EnableUserAccount(context.Background(), "nope", false)
				return err
			},
			ucapi.ClassData, func(t *testing.T, e *ucapi.Error) { require.Equal(t, ucsim.CodeUserNotFound, e.Code) }},
		{"SlashInGroupNameIsRefusedBeforeSending", ucsim.Faults{},
			func(b *testBundle) error {
				_, err := b.client.CreateGroup(context.Background(), ucapi.CreateGroupRequest{Name: "A/B"})
				return err
			},
			ucapi.ClassData, func(t *testing.T, e *ucapi.Error) { require.Equal(t, "name", e.Field); require.Zero(t, e.HTTPStatus) }},
		{"RevokedCredentialsAreAuth", ucsim.Faults{},
			func(b *testBundle) error {
				b.sim.Revoke()
				_, err := b.client.ListRoles(context.Background())
				return err
			},
			ucapi.ClassAuth, func(t *testing.T, e *ucapi.Error) {
				require.Equal(t, http.StatusUnauthorized, e.HTTPStatus)
				require.Equal(t, ucsim.CodeUnauthorized, e.Code)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.sim.InsertAccount(ucsim.AccountSeed{Username: "stranger"})
			require.NoError(t, err)
			require.NoError(t, b.sim.SetFaults(tc.faults))
			e := requireClass(t, tc.runFunc(b), tc.class)
			tc.checkFn(t, e)
			require.Equal(t, 1, b.sim.Stats().Accounts, "nothing was created")
		})
	}
}

// stub serves one canned answer (and counts requests).
func stub(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func stubClient(t *testing.T, url string, opts ...func(*ucapi.Config)) *ucapi.Client {
	t.Helper()
	cfg := ucapi.Config{BaseURL: url, AppKey: testAK, SecretKey: ucapi.NewSecret(testSK)}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := ucapi.New(cfg)
	require.NoError(t, err)
	return c
}

func TestErrorClassesOfOtherAnswers(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		class   ucapi.Class
		checkFn func(t *testing.T, e *ucapi.Error)
	}{
		{"Forbidden", http.StatusForbidden, nil, `{"success":false,"code":403,"msg":"no"}`, ucapi.ClassAuth,
			func(t *testing.T, e *ucapi.Error) { require.Equal(t, "403", e.Code, "a numeric code as text") }},
		{"RequestTimeout", http.StatusRequestTimeout, nil, ``, ucapi.ClassTransient, nil},
		{"GatewayTimeout", http.StatusGatewayTimeout, nil, `<html>504</html>`, ucapi.ClassTransient, nil},
		{"NotFoundPathIsData", http.StatusNotFound, nil, `{"detail":"Not Found"}`, ucapi.ClassData, nil},
		{"ValidationErrorIsData", http.StatusUnprocessableEntity, nil, `{"success":false,"code":"PARAM_ERROR","message":"username: is required"}`, ucapi.ClassData,
			func(t *testing.T, e *ucapi.Error) {
				require.Equal(t, "username: is required", e.Message, "message read when msg is absent")
			}},
		{"SuccessFalseWithHTTP200IsData", http.StatusOK, nil, `{"success":false,"code":"X","msg":"bad"}`, ucapi.ClassData, nil},
		{"HTMLWithHTTP200IsTransient", http.StatusOK, nil, `<html>captive portal</html>`, ucapi.ClassTransient, nil},
		{"UndecodableResultIsTransient", http.StatusOK, nil, `{"success":true,"result":"not a list"}`, ucapi.ClassTransient,
			func(t *testing.T, e *ucapi.Error) { require.Contains(t, e.Message, "decode result") }},
		{"RetryAfterIsCapped", http.StatusTooManyRequests, map[string]string{"Retry-After": "999999999999"}, ``, ucapi.ClassRateLimited,
			func(t *testing.T, e *ucapi.Error) { require.Equal(t, 15*time.Minute, e.RetryAfter) }},
		{"RetryAfterAsHTTPDate", http.StatusTooManyRequests, map[string]string{"Retry-After": now.Add(2 * time.Minute).UTC().Format(http.TimeFormat)}, ``, ucapi.ClassRateLimited,
			func(t *testing.T, e *ucapi.Error) {
				require.InDelta(t, 2*time.Minute, e.RetryAfter, float64(5*time.Second))
			}},
		{"RetryAfterGarbageIsZero", http.StatusTooManyRequests, map[string]string{"Retry-After": "soon"}, ``, ucapi.ClassRateLimited,
			func(t *testing.T, e *ucapi.Error) { require.Zero(t, e.RetryAfter) }},
		{"LongMessageIsCut", http.StatusOK, nil, `{"success":false,"code":"X","msg":"` + strings.Repeat("错", 1000) + `"}`, ucapi.ClassData,
			func(t *testing.T, e *ucapi.Error) {
				require.LessOrEqual(t, len(e.Message), ucapi.MaxMessageBytes)
				require.True(t, utf8.ValidString(e.Message))
				require.True(t, strings.HasSuffix(e.Message, "…"))
			}},
		{"AnswerTooLargeIsTransient", http.StatusOK, nil, `{"success":true,"result":[` + strings.Repeat(`"xxxxxxxxxx",`, 1000) + `"x"]}`, ucapi.ClassTransient,
			func(t *testing.T, e *ucapi.Error) { require.Contains(t, e.Message, "larger than 8192 bytes") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := stub(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			c := stubClient(t, srv.URL, func(c *ucapi.Config) { c.MaxAnswerBytes = 8192 })
			_, err := c.ListUserRoles(t.Context(), "U1")
			e := requireClass(t, err, tc.class)
			require.Equal(t, tc.status, e.HTTPStatus)
			if tc.checkFn != nil {
				tc.checkFn(t, e)
			}
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	target, hits := stub(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"result":[]}`))
	})
	srv, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal?token=x", http.StatusTemporaryRedirect)
	})
	c := stubClient(t, srv.URL, func(c *ucapi.Config) { c.HTTPClient = &http.Client{} })
	_, err := c.ListRoles(t.Context())
	e := requireClass(t, err, ucapi.ClassTransient)
	require.Equal(t, http.StatusTemporaryRedirect, e.HTTPStatus)
	require.Contains(t, e.Message, strings.TrimPrefix(target.URL, "http://"), "names the target host")
	require.NotContains(t, e.Message, "steal", "but not its path or query")
	require.Zero(t, hits.Load(), "the target was never asked")
}

func TestTimeoutBoundsARequest(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ucapi.Config, _ *ucsim.Config) { c.Timeout = 50 * time.Millisecond })
	require.NoError(t, b.sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateUser: {Latency: time.Minute}}}))
	_, err := b.client.CreateUser(t.Context(), ucapi.CreateUserRequest{Username: "10001", Password: ucapi.NewSecret(testPassword)})
	e := requireClass(t, err, ucapi.ClassTransient)
	require.Contains(t, e.Error(), "timeout")
	require.NoError(t, b.sim.SetFaults(ucsim.Faults{}))
	require.Eventually(t, func() bool { return b.sim.Stats().Faults[simkit.FaultLatency] == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Zero(t, b.sim.Stats().Accounts, "the simulator saw the client leave and applied nothing")
}

func TestDropAfterApplyOnCreateUserCreatesTheAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateUser: {DropAfterRate: 1}}}))
	_, err := b.client.CreateUser(t.Context(), ucapi.CreateUserRequest{
		Username: "10001", Password: ucapi.NewSecret(testPassword), SysAttrs: map[string]any{"channel_user_id": "10001"},
	})
	requireClass(t, err, ucapi.ClassTransient)
	require.Len(t, b.sim.AccountsBySysAttr("channel_user_id", "10001"), 1, "the create happened")

	u, err := b.client.GetUserBySysAttr(t.Context(), "channel_user_id", "10001")
	require.NoError(t, err, "reads are not in the create_user class")
	require.NotNil(t, u, "a lookup finds the account to adopt")
	reqs := b.sim.Requests()
	require.Equal(t, simkit.FaultDropAfter, reqs[0].Fault)
	require.True(t, reqs[0].Applied)
	require.Equal(t, u.ID, reqs[0].ID)
}

func TestDropAfterApplyOnCreateGroupCreatesTheGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.sim.SetFaults(ucsim.Faults{Classes: map[ucsim.Class]simkit.Faults{ucsim.ClassCreateGroup: {DropAfterRate: 1}}}))
	_, err := b.client.CreateGroup(t.Context(), ucapi.CreateGroupRequest{Name: "甲", Type: "company", Attrs: map[string]any{"channel_company_id": "20001"}})
	requireClass(t, err, ucapi.ClassTransient)
	gs, err := b.client.ListChildGroups(t.Context(), "", false)
	require.NoError(t, err)
	require.Len(t, gs, 1)
	v, _ := gs[0].AttrString("channel_company_id")
	require.Equal(t, "20001", v)
}

func TestAppToken(t *testing.T) {
	t.Parallel()

	t.Run("ClaimsAreTheSeeds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.client.ListRoles(t.Context())
		require.NoError(t, err)
		tok := b.sent.tokens()[0]
		var c ucapi.AppClaims
		_, err = jwt.ParseWithClaims(tok, &c, func(tk *jwt.Token) (any, error) {
			require.Equal(t, "HS256", tk.Method.Alg())
			return []byte(testSK), nil
		}, jwt.WithTimeFunc(b.clock.Now))
		require.NoError(t, err)
		now := b.clock.Now()
		require.Equal(t, "app_token", c.Typ)
		require.Equal(t, testAK, c.Subject)
		require.Equal(t, testAK, c.Issuer)
		require.Equal(t, now.Add(-300*time.Second), c.IssuedAt.Time.UTC())
		require.Equal(t, now.Add(2*time.Hour), c.ExpiresAt.Time.UTC())
	})

	t.Run("RenewedTenMinutesBeforeExpiry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		callFunc := func() {
			_, err := b.client.ListRoles(t.Context())
			require.NoError(t, err, "the simulator accepts every token the client sends")
		}
		callFunc()
		b.clock.Advance(time.Hour)
		callFunc()
		b.clock.Advance(49 * time.Minute) // 11 min left
		callFunc()
		require.Equal(t, int64(1), b.client.TokensMinted())
		b.clock.Advance(2 * time.Minute) // 9 min left
		callFunc()
		callFunc()
		require.Equal(t, int64(2), b.client.TokensMinted())
		toks := b.sent.tokens()
		require.Len(t, toks, 5)
		require.Equal(t, toks[0], toks[2])
		require.NotEqual(t, toks[2], toks[3])
		require.Equal(t, toks[3], toks[4])
	})

	t.Run("MintedAfterTheServiceRefusedIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.client.ListRoles(t.Context())
		require.NoError(t, err)
		b.sim.Revoke()
		_, err = b.client.ListRoles(t.Context())
		requireClass(t, err, ucapi.ClassAuth)
		b.sim.Restore()
		b.clock.Advance(time.Second)
		_, err = b.client.ListRoles(t.Context())
		require.NoError(t, err)
		require.Equal(t, int64(2), b.client.TokensMinted(), "a refused token is not reused")
	})

	t.Run("ConcurrentCallersShareOneToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		errs := make(chan error, 8)
		for range 8 {
			go func() { _, err := b.client.ListRoles(context.Background()); errs <- err }()
		}
		for range 8 {
			require.NoError(t, <-errs)
		}
		require.Equal(t, int64(1), b.client.TokensMinted())
	})

	t.Run("MintAppTokenIsWhatTheSimulatorAccepts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tok, exp, err := ucapi.MintAppToken(testAK, ucapi.NewSecret(testSK), b.clock.Now())
		require.NoError(t, err)
		require.Equal(t, b.clock.Now().Add(2*time.Hour), exp)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.sim.URL()+"/list-roles", nil)
		require.NoError(t, err)
		req.Header.Set("apihub-token", tok)
		resp, err := b.sim.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

func TestSecretNeverShown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	// Successes and every kind of failure, all logged at debug level.
	_, err := b.client.CreateUser(ctx, ucapi.CreateUserRequest{Username: "10001", Password: ucapi.NewSecret(testPassword), SysAttrs: map[string]any{"channel_user_id": "10001"}})
	require.NoError(t, err)
	_, err = b.client.CreateUser(ctx, ucapi.CreateUserRequest{Username: "10001", Password: ucapi.NewSecret(testPassword)})
	require.Error(t, err)
	errs := []error{err}
	require.NoError(t, b.sim.SetFaults(ucsim.Faults{All: simkit.Faults{DropAfterRate: 1}}))
	_, err = b.client.CreateUser(ctx, ucapi.CreateUserRequest{Username: "10002", Password: ucapi.NewSecret(testPassword)})
	errs = append(errs, err)
	require.NoError(t, b.sim.SetFaults(ucsim.Faults{}))
	b.sim.Revoke()
	_, err = b.client.ListRoles(ctx)
	errs = append(errs, err)

	cfg := ucapi.Config{BaseURL: "https://open.apihub.net", AppKey: testAK, SecretKey: ucapi.NewSecret(testSK)}
	req := ucapi.CreateUserRequest{Username: "u", Password: ucapi.NewSecret(testPassword)}
	var shown []string
	for _, v := range []any{cfg, &cfg, cfg.SecretKey, b.client, *b.client, req} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			shown = append(shown, fmt.Sprintf(verb, v))
		}
	}
	j, err := json.Marshal(struct{ SK ucapi.Secret }{cfg.SecretKey})
	require.NoError(t, err)
	require.JSONEq(t, `{"SK":"[redacted]"}`, string(j))
	shown = append(shown, string(j))
	for _, err := range errs {
		require.Error(t, err)
		shown = append(shown, err.Error(), fmt.Sprintf("%+v", err))
	}
	var logs strings.Builder
	b.logsTo(&logs, cfg, req)
	shown = append(shown, logs.String(), b.logs.String())
	for _, s := range shown {
		require.NotContains(t, s, testSK)
		require.NotContains(t, s, testPassword)
	}
	require.Contains(t, b.logs.String(), "user centre request", "the client did log")
}

// logsTo logs values through slog's text and JSON handlers.
func (b *testBundle) logsTo(w *strings.Builder, vs ...any) {
	for _, h := range []slog.Handler{slog.NewTextHandler(w, nil), slog.NewJSONHandler(w, nil)} {
		l := slog.New(h)
		for _, v := range vs {
			l.Info("value", slog.Any("v", v))
		}
	}
}

func TestObserveRoutesAreBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.member(t, "10001")
	g := b.company(t, "20001")
	ctx := t.Context()
	_, _ = b.client.GetUserByID(ctx, a.ID)
	_ = b.client.AddUserToGroup(ctx, g.ID, a.ID)
	_, _ = b.client.ListChildGroups(ctx, g.ID, true)
	_ = b.client.AddUserToGroup(ctx, "nope", a.ID)
	_, _ = b.client.ListUsers(ctx, ucapi.ListUsersParams{Skip: 5, Limit: 7})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := b.client.ListRoles(cctx)
	require.ErrorIs(t, err, context.Canceled)

	obs := b.observed.all()
	require.Len(t, obs, 5, "the cancelled call is not reported")
	known := map[string]bool{}
	for _, r := range []string{ucapi.RouteGetUserByID, ucapi.RouteAddUserToGroup, ucapi.RouteListChildGroups, ucapi.RouteListUsers} {
		known[r] = true
	}
	for _, o := range obs {
		require.True(t, known[o.route], o.route)
		require.NotContains(t, o.route, a.ID)
		require.NotContains(t, o.route, g.ID)
	}
	require.NotNil(t, obs[3].err, "the failed call is reported with its error")
	require.Equal(t, ucapi.ClassData, obs[3].err.Class)
}

func TestLimiterIsWaitedOn(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ucapi.Config, _ *ucsim.Config) { c.Limiter = rate.NewLimiter(rate.Every(time.Hour), 1) })
	_, err := b.client.ListRoles(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err = b.client.ListRoles(ctx)
	e := requireClass(t, err, ucapi.ClassTransient)
	require.Contains(t, e.Message, "rate limiter")
	require.Equal(t, int64(1), b.sim.Stats().Requests, "the second call never left")
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	good := ucapi.Config{BaseURL: "https://open.apihub.net", AppKey: testAK, SecretKey: ucapi.NewSecret(testSK)}
	cases := []struct {
		name   string
		change func(*ucapi.Config)
		want   string
	}{
		{"NoBaseURL", func(c *ucapi.Config) { c.BaseURL = "" }, "BaseURL"},
		{"PlainHTTPToARemoteHost", func(c *ucapi.Config) { c.BaseURL = "http://open.apihub.net" }, "https"},
		{"PlainHTTPToAPrivateAddress", func(c *ucapi.Config) { c.BaseURL = "http://10.0.0.5:8080" }, "https"},
		{"NotHTTP", func(c *ucapi.Config) { c.BaseURL = "ftp://open.apihub.net" }, "http(s)"},
		{"NoHost", func(c *ucapi.Config) { c.BaseURL = "https:///x" }, "host"},
		{"UserInfo", func(c *ucapi.Config) { c.BaseURL = "https://me:pw@open.apihub.net" }, "user info"},
		{"Query", func(c *ucapi.Config) { c.BaseURL = "https://open.apihub.net/?a=1" }, "query"},
		{"NoAppKey", func(c *ucapi.Config) { c.AppKey = "" }, "AppKey"},
		{"NoSecretKey", func(c *ucapi.Config) { c.SecretKey = ucapi.Secret{} }, "SecretKey"},
		{"NegativeTimeout", func(c *ucapi.Config) { c.Timeout = -time.Second }, "negative"},
		{"RenewBeforeBeyondLifetime", func(c *ucapi.Config) { c.RenewBefore = 3 * time.Hour }, "RenewBefore"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.change(&cfg)
			_, err := ucapi.New(cfg)
			require.ErrorIs(t, err, ucapi.ErrInvalidConfig)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "pw@")
		})
	}
	for _, base := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2", "https://open.apihub.net/prefix/"} {
		cfg := good
		cfg.BaseURL = base
		c, err := ucapi.New(cfg)
		require.NoError(t, err, base)
		require.NotContains(t, c.String(), testSK)
	}
}

func TestClientRefusesBadArguments(t *testing.T) {
	t.Parallel()
	srv, hits := stub(t, func(w http.ResponseWriter, _ *http.Request) {})
	c := stubClient(t, srv.URL)
	ctx := t.Context()
	empty := ""
	slash := "a/b"
	cases := []struct {
		name  string
		field string
		err   error
	}{
		{"GetUserBySysAttrKey", "key", second(c.GetUserBySysAttr(ctx, "", "1"))},
		{"GetUserBySysAttrNilValue", "value", second(c.GetUserBySysAttr(ctx, "k", nil))},
		{"CreateUserUsername", "username", second(c.CreateUser(ctx, ucapi.CreateUserRequest{Password: ucapi.NewSecret("p")}))},
		{"CreateUserPassword", "password", second(c.CreateUser(ctx, ucapi.CreateUserRequest{Username: "u"}))},
		{"SaveUserSysAttrsNil", "sys_attrs", second(c.SaveUserSysAttrs(ctx, "u", nil))},
		{"EnableNoID", "target_user_id", second(c.EnableUserAccount(ctx, "", true))},
		{"GroupTypeSlash", "type", second(c.CreateGroup(ctx, ucapi.CreateGroupRequest{Name: "n", Type: "a/b"}))},
		{"UpdateGroupEmptyName", "name", second(c.UpdateGroup(ctx, ucapi.UpdateGroupRequest{ID: "g", Name: &empty}))},
		{"UpdateGroupSlashType", "type", second(c.UpdateGroup(ctx, ucapi.UpdateGroupRequest{ID: "g", Type: &slash}))},
		{"MembershipNoGroup", "group_id", c.AddUserToGroup(ctx, "", "u")},
		{"RoleNoCode", "code", second(c.SaveRole(ctx, ucapi.SaveRoleRequest{}))},
		{"AssignNoRole", "role_code", c.AssignUserRole(ctx, "u", "")},
		{"ListUsersNegativeSkip", "skip", second(c.ListUsers(ctx, ucapi.ListUsersParams{Skip: -1}))},
		{"ListUsersBadDirection", "sort_direction", second(c.ListUsers(ctx, ucapi.ListUsersParams{SortDirection: 2}))},
	}
	for _, tc := range cases {
		e := requireClass(t, tc.err, ucapi.ClassData)
		require.Equal(t, tc.field, e.Field, tc.name)
		require.Contains(t, e.Error(), tc.field, tc.name)
	}
	require.Zero(t, hits.Load(), "nothing was sent")
}

func second[T any](_ T, err error) error { return err }

func TestErrorRendering(t *testing.T) {
	t.Parallel()
	e := &ucapi.Error{Route: ucapi.RouteCreateUser, HTTPStatus: 429, Code: "X", Message: "slow down", RetryAfter: time.Second, Trace: "t1", Class: ucapi.ClassRateLimited}
	require.Equal(t, "user centre POST create-user: HTTP 429: code X: slow down (retry after 1s) (trace t1)", e.Error())
	require.Equal(t, ucapi.ClassTransient, ucapi.ClassOf(errors.New("plain")))
	for c, s := range map[ucapi.Class]string{ucapi.ClassTransient: "transient", ucapi.ClassRateLimited: "rate-limited", ucapi.ClassAuth: "auth", ucapi.ClassData: "data", 9: "class(9)"} {
		require.Equal(t, s, c.String())
	}
	wrapped := fmt.Errorf("sync user: %w", &ucapi.Error{Class: ucapi.ClassAuth, Err: context.DeadlineExceeded})
	require.Equal(t, ucapi.ClassAuth, ucapi.ClassOf(wrapped))
	require.ErrorIs(t, wrapped, context.DeadlineExceeded)
}
