package ucsim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

func TestBadRequestsAreRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		hdr    map[string]string
		status int
		want   string
	}{
		{"CreateUserWithoutUsername", http.MethodPost, "create-user", map[string]any{"password": "p"}, nil, 422, "username: is required"},
		{"CreateUserEmptyUsername", http.MethodPost, "create-user", map[string]any{"username": "", "password": "p"}, nil, 422, "username: must not be empty"},
		{"CreateUserUsernameNumber", http.MethodPost, "create-user", map[string]any{"username": 10001, "password": "p"}, nil, 422, "username: must be a string, not number"},
		{"CreateUserWithoutPassword", http.MethodPost, "create-user", map[string]any{"username": "u"}, nil, 422, "password: is required"},
		{"CreateUserAttrsNull", http.MethodPost, "create-user", map[string]any{"username": "u", "password": "p", "attrs": nil}, nil, 422, "attrs: must not be null"},
		{"CreateUserSysAttrsArray", http.MethodPost, "create-user", map[string]any{"username": "u", "password": "p", "sys_attrs": []int{1}}, nil, 422, "sys_attrs: must be an object, not array"},
		{"CreateUserBadType", http.MethodPost, "create-user", map[string]any{"username": "u", "password": "p", "user_type": "ROOT"}, nil, 422, "user_type"},
		{"CreateUserUnknownField", http.MethodPost, "create-user", map[string]any{"username": "u", "password": "p", "sys_attr": map[string]any{}}, nil, 422, "sys_attr: unknown field"},
		{"CreateUserEveryProblemNamed", http.MethodPost, "create-user", map[string]any{"username": 1, "nickname": "x"}, nil, 422, "username: must be a string, not number; password: is required; nickname: unknown field"},
		{"BodyNotAnObject", http.MethodPost, "create-user", `["u"]`, nil, 422, "not a JSON object"},
		{"BodyNull", http.MethodPost, "create-user", `null`, nil, 422, "not null"},
		{"BodyMissing", http.MethodPost, "create-user", nil, nil, 422, "a JSON object is required"},
		{"BodyTwoValues", http.MethodPost, "create-user", `{} {}`, nil, 422, "more than one"},
		{"BodyNotJSONContentType", http.MethodPost, "create-user", `{"username":"u","password":"p"}`, map[string]string{"Content-Type": "text/plain"}, 415, "application/json"},
		{"SysAttrValueNull", http.MethodPost, "get-user-by-sys-attr", map[string]any{"key": "channel_user_id", "value": nil}, nil, 422, "value: must not be null"},
		{"SysAttrWithoutKey", http.MethodPost, "get-user-by-sys-attr", map[string]any{"value": "1"}, nil, 422, "key: is required"},
		{"EnableAsText", http.MethodPost, "enable-user-account", map[string]any{"target_user_id": "x", "enable": "yes"}, nil, 422, "enable: must be true, false, 1 or 0"},
		{"EnableAsTwo", http.MethodPost, "enable-user-account", map[string]any{"target_user_id": "x", "enable": 2}, nil, 422, "enable"},
		{"SaveSysAttrsWithoutThem", http.MethodPut, "save-user-sys-attrs", map[string]any{"target_user_id": "x"}, nil, 422, "sys_attrs: is required"},
		{"GroupOrderAsText", http.MethodPost, "create-group", map[string]any{"name": "n", "order": "1"}, nil, 422, "order: must be a number"},
		{"GroupEmptyType", http.MethodPost, "create-group", map[string]any{"name": "n", "type": ""}, nil, 422, "type: must not be empty"},
		{"ListUsersNegativeSkip", http.MethodGet, "list-users?skip=-1", nil, nil, 422, "skip: must be a non-negative integer"},
		{"ListUsersBadDirection", http.MethodGet, "list-users?sort_direction=2", nil, nil, 422, "sort_direction: must be 1 or -1"},
		{"ListUsersBadSortKey", http.MethodGet, "list-users?sort_key=password", nil, nil, 422, "sort_key"},
		{"ListUsersUnknownParam", http.MethodGet, "list-users?page=2", nil, nil, 422, "page: unknown query parameter"},
		{"ListUsersRepeatedParam", http.MethodGet, "list-users?skip=1&skip=2", nil, nil, 422, "skip: given more than once"},
		{"ListChildGroupsBadRecursive", http.MethodGet, "list-child-groups?recursive=maybe", nil, nil, 422, "recursive"},
		{"QueryOnAPost", http.MethodPost, "list-user-groups?x=1", map[string]any{"target_user_id": "u"}, nil, 422, "x: unknown query parameter"},
		{"BodyOnListRoles", http.MethodGet, "list-roles", `{}`, nil, 422, "takes no body"},
		{"MembershipWithoutGroup", http.MethodPost, "add-user-to-group", map[string]any{"target_user_id": "u"}, nil, 422, "group_id: is required"},
		{"AssignWithoutRole", http.MethodPost, "assign-user-role", map[string]any{"target_user_id": "u"}, nil, 422, "role_code: is required"},
		{"UnknownEndpoint", http.MethodPost, "delete-everything", map[string]any{}, nil, 404, "no such endpoint"},
		{"WrongMethod", http.MethodGet, "create-user", nil, nil, 405, "allowed: POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := b.do(t, tc.method, tc.path, tc.body, tc.hdr)
			require.Equal(t, tc.status, res.status, string(res.raw))
			require.True(t, res.hasEnv)
			require.False(t, res.success)
			require.Contains(t, res.msg, tc.want)
			require.Zero(t, b.sim.Stats().Accounts+b.sim.Stats().Groups, "nothing was stored")
		})
	}
}

func TestTooLargeBodyIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ucsim.Config) { c.MaxBodyBytes = 64 })
	res := b.do(t, http.MethodPost, "create-user", map[string]any{"username": "u", "password": strings.Repeat("p", 100)})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	require.Contains(t, res.msg, "larger than 64 bytes")
}

func TestUsernames(t *testing.T) {
	t.Parallel()

	t.Run("TakenUsernameIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.sim.InsertAccount(ucsim.AccountSeed{Username: "10001", SysAttrs: map[string]any{"owner": "someone else"}})
		require.NoError(t, err)
		res := b.do(t, http.MethodPost, "create-user", map[string]any{"username": "10001", "password": "p", "sys_attrs": map[string]any{"channel_user_id": "10001"}})
		require.Equal(t, http.StatusOK, res.status)
		require.False(t, res.success)
		require.Equal(t, ucsim.CodeUsernameTaken, res.code)
		require.Len(t, b.sim.Accounts(), 1)
		require.Empty(t, b.sim.AccountsBySysAttr("channel_user_id", "10001"), "the stranger's account is untouched")
		require.Equal(t, map[string]int64{ucsim.CodeUsernameTaken: 1}, b.sim.Stats().Endpoints["create-user"].Refused)
	})

	t.Run("CreatesAreNotDeduplicated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.createUser(t, "10001", "10001")
		second := b.createUser(t, "10001-b", "10001")
		b.createUser(t, "10002", "10002")
		require.NotEqual(t, first.ID, second.ID)
		require.Len(t, b.sim.AccountsBySysAttr("channel_user_id", "10001"), 2)
		dup := b.sim.Duplicates()
		require.False(t, dup.Empty())
		require.Equal(t, map[string][]string{"10001": {first.ID, second.ID}}, dup.Accounts)
		require.Empty(t, dup.Groups)
		require.Equal(t, int64(3), b.sim.Stats().Calls("create-user"))
	})
}

func TestGroupNames(t *testing.T) {
	t.Parallel()

	t.Run("SlashIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, body := range []map[string]any{{"name": "A/B"}, {"name": "A", "type": "x/y"}} {
			res := b.do(t, http.MethodPost, "create-group", body)
			require.Equal(t, http.StatusOK, res.status)
			require.False(t, res.success)
			require.Equal(t, ucsim.CodeBadGroup, res.code)
			require.Contains(t, res.msg, `must not contain "/"`)
		}
		g := b.createGroup(t, "甲／乙", "20001")
		res := b.do(t, http.MethodPost, "update-group", map[string]any{"id": g.ID, "name": "A/B"})
		require.Equal(t, ucsim.CodeBadGroup, res.code)
		require.Len(t, b.sim.Groups(), 1)
		require.Equal(t, "甲／乙", b.sim.Groups()[0].Name, "the fullwidth solidus is fine")
	})

	t.Run("CreatesAreNotDeduplicated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.createGroup(t, "甲公司", "20001")
		second := b.createGroup(t, "甲公司", "20001")
		b.createGroup(t, "甲公司", "20002")
		require.Len(t, b.sim.GroupsByAttr("channel_company_id", "20001"), 2)
		require.Equal(t, map[string][]string{"20001": {first.ID, second.ID}}, b.sim.Duplicates().Groups)
		require.Len(t, b.sim.Groups(), 3, "equal names make separate groups")
	})
}

func TestGetUserBySysAttrMatchesExactly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.sim.InsertAccount(ucsim.AccountSeed{Username: "a", SysAttrs: map[string]any{"channel_user_id": "10001", "n": 5, "nested": map[string]any{"k": "v"}}})
	require.NoError(t, err)
	cases := []struct {
		name  string
		key   string
		value any
		found bool
	}{
		{"SameString", "channel_user_id", "10001", true},
		{"NumberIsNotString", "channel_user_id", 10001, false},
		{"OtherString", "channel_user_id", "10002", false},
		{"NumberByValue", "n", 5.0, true},
		{"StringIsNotNumber", "n", "5", false},
		{"DottedKeyReachesNested", "nested.k", "v", true},
		{"MissingKey", "absent", "x", false},
	}
	for _, tc := range cases {
		var u *user
		b.ok(t, http.MethodPost, "get-user-by-sys-attr", map[string]any{"key": tc.key, "value": tc.value}, &u)
		require.Equal(t, tc.found, u != nil, tc.name)
	}
}

func TestAccounts(t *testing.T) {
	t.Parallel()

	t.Run("CreateUserAnswersTheSeedsShape", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.do(t, http.MethodPost, "create-user", map[string]any{"username": "lisi3", "password": "12345678"})
		require.True(t, res.success)
		require.Len(t, res.trace, 32)
		var m map[string]any
		require.NoError(t, json.Unmarshal(res.result, &m))
		for _, k := range []string{"_id", "username", "type", "password", "attrs", "enable", "firstCreated", "ak", "isDel"} {
			require.Contains(t, m, k)
		}
		require.Regexp(t, `^[0-9a-f]{24}$`, m["_id"])
		require.Equal(t, "MEMBER", m["type"])
		require.Equal(t, testAK, m["ak"])
		require.Equal(t, "2026-11-30T08:00:00.000000", m["firstCreated"])
		require.Equal(t, map[string]any{"avatar": ucsim.DefaultAvatar, "nickname": "lisi3"}, m["attrs"])
		require.NotContains(t, m, "sys_attrs", "none were given")
		require.NotContains(t, string(res.raw), "12345678", "the password never comes back")
		a, _ := b.sim.AccountByUsername("lisi3")
		require.Equal(t, 8, a.PasswordLen)
	})

	t.Run("SaveSysAttrsMergesAndRefusesAConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		u := b.createUser(t, "10001", "10001")
		var got user
		b.ok(t, http.MethodPut, "save-user-sys-attrs", map[string]any{"target_user_id": u.ID, "sys_attrs": map[string]any{"name": "张三", "a.b": 1}}, &got)
		require.Equal(t, map[string]any{"channel_user_id": "10001", "name": "张三", "a": map[string]any{"b": 1.0}}, got.SysAttrs)
		res := b.do(t, http.MethodPut, "save-user-sys-attrs", map[string]any{"target_user_id": u.ID, "sys_attrs": map[string]any{"name.x": 1}})
		require.False(t, res.success)
		require.Contains(t, res.msg, "sys_attrs.name.x: name is not an object")
		a, _ := b.sim.Account(u.ID)
		require.Equal(t, "张三", a.SysAttrs["name"], "a refused change changes nothing")
		require.False(t, a.Modified.IsZero())
	})

	t.Run("EnableTakesBooleansAndOneZero", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		u := b.createUser(t, "10001", "10001")
		for _, tc := range []struct {
			v    any
			want bool
		}{{false, false}, {1, true}, {0, false}, {true, true}} {
			var got user
			b.ok(t, http.MethodPost, "enable-user-account", map[string]any{"target_user_id": u.ID, "enable": tc.v}, &got)
			require.Equal(t, tc.want, got.Enable)
			a, _ := b.sim.Account(u.ID)
			require.Equal(t, tc.want, a.Enable)
		}
	})

	t.Run("UnknownIDsAreRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, rq := range []struct {
			method, path string
			body         map[string]any
		}{
			{http.MethodPost, "enable-user-account", map[string]any{"target_user_id": "nope", "enable": true}},
			{http.MethodPut, "save-user-sys-attrs", map[string]any{"target_user_id": "nope", "sys_attrs": map[string]any{}}},
			{http.MethodPost, "list-user-groups", map[string]any{"target_user_id": "nope"}},
			{http.MethodPost, "list-user-roles", map[string]any{"target_user_id": "nope"}},
		} {
			res := b.do(t, rq.method, rq.path, rq.body)
			require.Equal(t, http.StatusOK, res.status, rq.path)
			require.Equal(t, ucsim.CodeUserNotFound, res.code, rq.path)
		}
		var u *user
		b.ok(t, http.MethodPost, "get-user-by-id", map[string]any{"target_user_id": "nope"}, &u)
		require.Nil(t, u, "a lookup answers null")
	})

	t.Run("ListUsersPagesMembersOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, name := range []string{"a", "b", "c", "d"} {
			b.createUser(t, name, name)
			b.clock.Advance(1)
		}
		_, err := b.sim.InsertAccount(ucsim.AccountSeed{Username: "root", Type: "ADMIN"})
		require.NoError(t, err)
		var page struct {
			Total int    `json:"total"`
			Items []user `json:"items"`
		}
		b.ok(t, http.MethodGet, "list-users", nil, &page)
		require.Equal(t, 4, page.Total)
		require.Equal(t, "d", page.Items[0].Username, "newest first")
		b.ok(t, http.MethodGet, "list-users?skip=1&limit=2&sort_key=username&sort_direction=1", nil, &page)
		require.Equal(t, []string{"b", "c"}, []string{page.Items[0].Username, page.Items[1].Username})
		b.ok(t, http.MethodGet, "list-users?skip=10", nil, &page)
		require.Empty(t, page.Items)
		require.Equal(t, 4, page.Total)
		b.ok(t, http.MethodGet, "list-users", map[string]any{"user_type": "ADMIN"}, &page)
		require.Equal(t, 1, page.Total)
		b.ok(t, http.MethodGet, "list-users", map[string]any{"search": "C"}, &page)
		require.Equal(t, "c", page.Items[0].Username)
	})
}

func TestGroupsAndMemberships(t *testing.T) {
	t.Parallel()

	t.Run("ChildGroupsAndPaths", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		top := b.createGroup(t, "甲公司", "20001")
		var child group
		b.ok(t, http.MethodPost, "create-group", map[string]any{"name": "部门", "parent": top.ID}, &child)
		require.Equal(t, "/"+top.ID+"/", child.IDPath)
		require.Equal(t, "/甲公司/", child.NamePath)
		require.Equal(t, "dept", child.Type)

		var gs []group
		b.ok(t, http.MethodGet, "list-child-groups?parent=&recursive=false", nil, &gs)
		require.Len(t, gs, 1)
		require.Nil(t, gs[0].Children)
		b.ok(t, http.MethodGet, "list-child-groups?recursive=1", nil, &gs)
		require.Len(t, gs[0].Children, 1)
		require.NotNil(t, gs[0].Children[0].Children)
		require.Empty(t, gs[0].Children[0].Children)
		b.ok(t, http.MethodGet, "list-child-groups?parent="+top.ID, nil, &gs)
		require.Equal(t, child.ID, gs[0].ID)
		res := b.do(t, http.MethodGet, "list-child-groups?parent=nope", nil)
		require.Equal(t, ucsim.CodeGroupNotFound, res.code)
		res = b.do(t, http.MethodPost, "update-group", map[string]any{"id": top.ID, "parent": child.ID})
		require.Equal(t, ucsim.CodeBadGroup, res.code, "no cycles")
	})

	t.Run("UpdateGroupMergesAttrs", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		g := b.createGroup(t, "甲", "20001")
		var got group
		b.ok(t, http.MethodPost, "update-group", map[string]any{"id": g.ID, "attrs": map[string]any{"social_credit_code": "X", "x.y": "z"}}, &got)
		require.Equal(t, map[string]any{"channel_company_id": "20001", "social_credit_code": "X", "x": map[string]any{"y": "z"}}, got.Attrs)
		require.Equal(t, "甲", got.Name)
	})

	t.Run("MembershipsAreASet", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		u := b.createUser(t, "10001", "10001")
		g := b.createGroup(t, "甲", "20001")
		body := map[string]any{"group_id": g.ID, "target_user_id": u.ID}
		b.ok(t, http.MethodPost, "add-user-to-group", body, nil)
		b.ok(t, http.MethodPost, "add-user-to-group", body, nil)
		require.Equal(t, []ucsim.Membership{{GroupID: g.ID, UserID: u.ID}}, b.sim.Memberships())
		var ids []string
		b.ok(t, http.MethodPost, "list-group-users", map[string]any{"group_id": g.ID}, &ids)
		require.Equal(t, []string{u.ID}, ids)
		var gs []group
		b.ok(t, http.MethodPost, "list-user-groups", map[string]any{"target_user_id": u.ID}, &gs)
		require.Equal(t, g.ID, gs[0].ID)
		b.ok(t, http.MethodPost, "remove-user-from-group", body, nil)
		b.ok(t, http.MethodPost, "remove-user-from-group", body, nil)
		require.Empty(t, b.sim.Memberships())
		res := b.do(t, http.MethodPost, "add-user-to-group", map[string]any{"group_id": "nope", "target_user_id": u.ID})
		require.Equal(t, ucsim.CodeGroupNotFound, res.code)
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.createUser(t, "10001", "10001")
	res := b.do(t, http.MethodPost, "assign-user-role", map[string]any{"target_user_id": u.ID, "role_code": "WORKER"})
	require.Equal(t, ucsim.CodeRoleNotFound, res.code, "a role must exist first")
	var r map[string]any
	b.ok(t, http.MethodPut, "save-role", map[string]any{"code": "WORKER", "name": "灵工"}, &r)
	require.Equal(t, "灵工", r["name"])
	require.Equal(t, "", r["desc"])
	b.ok(t, http.MethodPut, "save-role", map[string]any{"code": "WORKER", "desc": "d"}, &r)
	require.Equal(t, "灵工", r["name"], "a field not given is kept")
	b.ok(t, http.MethodPost, "assign-user-role", map[string]any{"target_user_id": u.ID, "role_code": "WORKER"}, nil)
	b.ok(t, http.MethodPost, "assign-user-role", map[string]any{"target_user_id": u.ID, "role_code": "WORKER"}, nil)
	var roles []string
	b.ok(t, http.MethodPost, "list-user-roles", map[string]any{"target_user_id": u.ID}, &roles)
	require.Equal(t, []string{"MEMBER", "WORKER"}, roles)
	var list []map[string]any
	b.ok(t, http.MethodGet, "list-roles", nil, &list)
	require.Len(t, list, 1)
	b.ok(t, http.MethodPost, "unassign-user-role", map[string]any{"target_user_id": u.ID, "role_code": "WORKER"}, nil)
	b.ok(t, http.MethodPost, "list-user-roles", map[string]any{"target_user_id": u.ID}, &roles)
	require.Equal(t, []string{"MEMBER"}, roles)
	require.Equal(t, []ucsim.Role{{Code: "WORKER", Name: "灵工", Desc: "d", Order: float64(b.clock.Now().Unix())}}, b.sim.Roles())
}
