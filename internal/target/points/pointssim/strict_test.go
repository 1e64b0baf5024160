package pointssim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/points/pointssim"
)

func TestRechargeRefusesBadBodiesAndChangesNothing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		body        string
		contentType string
		status      int
		want        []string
	}{
		{"MissingUser", `{"amount_cents":100}`, "", 400, []string{"client_user_id: is required"}},
		{"BlankUser", `{"client_user_id":"  ","amount_cents":100}`, "", 400, []string{"client_user_id: is required and must not be blank"}},
		{"UserAsNumber", `{"client_user_id":10001,"amount_cents":100}`, "", 400, []string{"client_user_id: must be a string, not number"}},
		{"UserNull", `{"client_user_id":null,"amount_cents":100}`, "", 400, []string{"client_user_id: must not be null"}},
		{"MissingAmount", `{"client_user_id":"u1"}`, "", 400, []string{"amount_cents: is required"}},
		{"ZeroAmount", `{"client_user_id":"u1","amount_cents":0}`, "", 400, []string{"amount_cents: must be a positive integer, got 0"}},
		{"NegativeAmount", `{"client_user_id":"u1","amount_cents":-5}`, "", 400, []string{"amount_cents: must be a positive integer (digits only", `"-5"`}},
		{"FractionalAmount", `{"client_user_id":"u1","amount_cents":10.5}`, "", 400, []string{"amount_cents: must be a positive integer (digits only", `"10.5"`}},
		{"IntegralFractionForm", `{"client_user_id":"u1","amount_cents":1000.0}`, "", 400, []string{"amount_cents: must be a positive integer (digits only"}},
		{"ExponentAmount", `{"client_user_id":"u1","amount_cents":1e3}`, "", 400, []string{"amount_cents: must be a positive integer (digits only"}},
		{"AmountAsString", `{"client_user_id":"u1","amount_cents":"1000"}`, "", 400, []string{"amount_cents: must be a number (a positive integer), not string"}},
		{"AmountNull", `{"client_user_id":"u1","amount_cents":null}`, "", 400, []string{"amount_cents: must not be null"}},
		{"AmountBeyondFloatPrecision", `{"client_user_id":"u1","amount_cents":9007199254740992}`, "", 400, []string{"amount_cents: must be at most 9007199254740991"}},
		{"OrderIDAsNumber", `{"client_user_id":"u1","amount_cents":1,"external_order_id":7}`, "", 400, []string{"external_order_id: must be a string, not number"}},
		{"OrderIDNull", `{"client_user_id":"u1","amount_cents":1,"external_order_id":null}`, "", 400, []string{"external_order_id: must not be null (omit it instead)"}},
		{"EmptyReason", `{"client_user_id":"u1","amount_cents":1,"reason":""}`, "", 400, []string{"reason: must not be empty (omit it instead)"}},
		{"UnknownField", `{"client_user_id":"u1","amount":100}`, "", 400, []string{"amount: unknown field", "amount_cents: is required"}},
		{"EmptyBody", ``, "", 400, []string{"body: a JSON object is required"}},
		{"NotAnObject", `[1,2]`, "", 400, []string{"body: not a JSON object"}},
		{"NullBody", `null`, "", 400, []string{"body: a JSON object is required, not null"}},
		{"TwoValues", `{"client_user_id":"u1","amount_cents":1}{}`, "", 400, []string{"body: more than one JSON value"}},
		{"NotJSONContentType", `{"client_user_id":"u1","amount_cents":1}`, "text/plain", 415, []string{"Content-Type must be application/json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			headers := withKey()
			if tt.contentType != "" {
				headers = append(headers, "Content-Type", tt.contentType)
			}
			a := b.call(t, http.MethodPost, "/points/users/recharge", []byte(tt.body), headers...)
			require.Equal(t, tt.status, a.status, string(a.raw))
			require.Equal(t, tt.status, a.code, "the envelope's code is the HTTP status")
			require.Equal(t, "null", string(a.data))
			for _, w := range tt.want {
				require.Contains(t, a.message, w)
			}
			require.EqualValues(t, pointssim.DefaultPoolCents, b.sim.Pool(), "the pool is untouched")
			require.Empty(t, b.sim.Recharges())
			_, seen := b.sim.Ledger("u1")
			require.False(t, seen)
		})
	}
}

func TestCredentialsAreChecked(t *testing.T) {
	t.Parallel()
	recharge := []byte(`{"client_user_id":"u1","amount_cents":100}`)
	for _, tt := range []struct {
		name    string
		prepare func(b *testBundle, t *testing.T) []string // returns headers
		method  string
		path    string
		body    []byte
		want    string
	}{
		{"RechargeWithoutKey", func(*testBundle, *testing.T) []string { return nil },
			http.MethodPost, "/points/users/recharge", recharge, "X-API-Key header is required"},
		{"RechargeWithUnknownKey", func(*testBundle, *testing.T) []string { return []string{"X-API-Key", "sk-nope"} },
			http.MethodPost, "/points/users/recharge", recharge, "API key is invalid"},
		{"RechargeWithRevokedKey", func(b *testBundle, t *testing.T) []string {
			require.True(t, b.sim.RevokeKey(testKey))
			return withKey()
		}, http.MethodPost, "/points/users/recharge", recharge, "API key is disabled"},
		{"BalanceWithABearerTokenInstead", func(b *testBundle, t *testing.T) []string {
			return []string{"Authorization", "Bearer " + b.token(t, "u1")}
		}, http.MethodGet, "/points/users/balance?client_user_id=u1", nil, "X-API-Key header is required"},
		{"TokenWithRevokedKey", func(b *testBundle, t *testing.T) []string {
			b.sim.RevokeKey(testKey)
			return withKey()
		}, http.MethodPost, "/apikeys/token", []byte(`{"client_user_id":"u1"}`), "API key is disabled"},
		{"ProjectsWithTheKeyOnly", func(*testBundle, *testing.T) []string { return withKey() },
			http.MethodGet, "/projects/published-tags", nil, "Authorization: Bearer <access_token> is required"},
		{"ProjectsWithUnknownToken", func(*testBundle, *testing.T) []string { return []string{"Authorization", "Bearer pts_made_up"} },
			http.MethodGet, "/projects/published-list", nil, "access token is invalid"},
		{"ProjectsWithLowerCaseScheme", func(b *testBundle, t *testing.T) []string {
			return []string{"Authorization", "bearer " + b.token(t, "u1")}
		}, http.MethodGet, "/projects/published-tags", nil, "Authorization must be"},
		{"ProjectsWithExpiredToken", func(b *testBundle, t *testing.T) []string {
			tok := b.token(t, "u1")
			b.advance(pointssim.DefaultTokenTTL)
			return []string{"Authorization", "Bearer " + tok}
		}, http.MethodGet, "/projects/published-tags", nil, "access token has expired"},
		{"ProjectsWithTokenOfARevokedKey", func(b *testBundle, t *testing.T) []string {
			tok := b.token(t, "u1")
			b.sim.RevokeKey(testKey)
			return []string{"Authorization", "Bearer " + tok}
		}, http.MethodGet, "/projects/published-tags", nil, "issued with an API key that is disabled"},
		{"ProjectsWithRevokedTokens", func(b *testBundle, t *testing.T) []string {
			tok := b.token(t, "u1")
			require.Equal(t, 1, b.sim.RevokeTokens())
			return []string{"Authorization", "Bearer " + tok}
		}, http.MethodGet, "/projects/published-tags", nil, "access token is invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			a := b.call(t, tt.method, tt.path, tt.body, tt.prepare(b, t)...)
			require.Equal(t, http.StatusUnauthorized, a.status, string(a.raw))
			require.Equal(t, http.StatusUnauthorized, a.code)
			require.Contains(t, a.message, tt.want)
			require.NotContains(t, string(a.raw), testKey, "an answer never echoes the key")
			require.Empty(t, b.sim.Recharges())
			require.Positive(t, b.sim.Stats().AuthFailures)
		})
	}
}

func TestTokenLivesItsTTLExactly(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) { c.TokenTTL = 90*time.Second + time.Millisecond })
	a := b.call(t, http.MethodPost, "/apikeys/token", []byte(`{"client_user_id":"svc"}`), withKey()...)
	tok := decode[struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}](t, a)
	require.EqualValues(t, 91, tok.ExpiresIn, "whole seconds, rounded up")
	bearer := []string{"Authorization", "Bearer " + tok.AccessToken}
	b.advance(90 * time.Second)
	require.Equal(t, http.StatusOK, b.call(t, http.MethodGet, "/projects/published-tags", nil, bearer...).status)
	b.advance(time.Millisecond)
	require.Equal(t, http.StatusUnauthorized, b.call(t, http.MethodGet, "/projects/published-tags", nil, bearer...).status)
}

func TestPoolTooLowAnswers402AndChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) { c.PoolCents = 500 })
	require.Equal(t, http.StatusOK, b.recharge(t, "u1", 300, "G1", "first [G1]").status)
	a := b.recharge(t, "u1", 300, "G2", "second [G2]")
	require.Equal(t, http.StatusPaymentRequired, a.status, string(a.raw))
	require.Equal(t, http.StatusPaymentRequired, a.code)
	require.Contains(t, a.message, "pool is too low")
	require.EqualValues(t, 200, b.sim.Pool())
	bal, _ := b.sim.Balance("u1")
	require.EqualValues(t, 300, bal)
	ledger, _ := b.sim.Ledger("u1")
	require.Len(t, ledger, 1)
	require.Len(t, b.sim.Recharges(), 1)
	require.EqualValues(t, 1, b.sim.Stats().PoolTooLow)

	pool, err := b.sim.TopUpPool(1000)
	require.NoError(t, err)
	require.EqualValues(t, 1200, pool)
	res := decode[map[string]any](t, b.recharge(t, "u1", 300, "G2", "second [G2]"))
	require.EqualValues(t, 900, res["developer_balance_cents"])
	require.EqualValues(t, 600, res["user_balance_cents"])
}

func TestTheSameOrderSentTwiceCreditsTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 2 {
		res := decode[map[string]any](t, b.recharge(t, "u1", 1000, "G20261130001", "年终奖励 [G20261130001]"))
		require.Equal(t, "G20261130001", res["external_order_id"])
	}
	bal, _ := b.sim.Balance("u1")
	require.EqualValues(t, 2000, bal, "not idempotent: credited twice")
	require.EqualValues(t, pointssim.DefaultPoolCents-2000, b.sim.Pool())
	rep := b.sim.Duplicates(nil)
	require.Equal(t, map[string]int{"G20261130001": 2}, rep.ByExternalOrderID)
	require.Equal(t, map[string]int{"G20261130001": 2}, rep.ByReason)
	require.Equal(t, map[string]int{"G20261130001": 2, "G2026113000": 0}, b.sim.CreditCountsOf("G20261130001", "G2026113000"))
}

func TestRechargeAnswerAndLedgerEntryAreShapedAsTheSeed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := decode[map[string]any](t, b.recharge(t, "u_10001", 1000, "pay_20260408123456", ""))
	require.Equal(t, map[string]any{
		"client_user_id": "u_10001", "to_user_id": float64(pointssim.FirstUserID), "amount_cents": float64(1000),
		"external_order_id": "pay_20260408123456", "developer_balance_cents": float64(pointssim.DefaultPoolCents - 1000),
		"user_balance_cents": float64(1000),
	}, res)
	withoutOrder := decode[map[string]any](t, b.recharge(t, "u_10001", 5, "", "bonus"))
	require.NotContains(t, withoutOrder, "external_order_id", "echoed only when sent")

	page := decode[map[string]json.RawMessage](t, b.call(t, http.MethodGet, "/points/users/logs?client_user_id=u_10001", nil, withKey()...))
	require.JSONEq(t, `20`, string(page["page_size"]))
	require.JSONEq(t, `1`, string(page["page"]))
	require.JSONEq(t, `2`, string(page["total"]))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(page["list"], &list))
	require.Len(t, list, 2)
	require.Equal(t, "bonus", list[0]["reason"], "newest first")
	require.Equal(t, map[string]any{
		"id": float64(1), "source": "transfer", "record_type": "recharge", "change_cents": float64(1000),
		"amount_cents": float64(1000), "balance_after": float64(1000),
		"reason": "用户充值(订单 pay_20260408123456)", "status": "success", "short_code": nil, "project_id": nil,
		"created_at": "2026-11-30T08:00:00Z",
	}, list[1], "a recharge without reason gets the seed's text")
}

func TestLogsPageNewestFirstAndRefuseBadPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := 1; i <= 45; i++ {
		require.Equal(t, http.StatusOK, b.recharge(t, "u1", int64(i), "G"+strconv.Itoa(i), fmt.Sprintf("grant [G%d]", i)).status)
	}
	_, err := b.sim.AddCharge(pointssim.Charge{ClientUserID: "u1", AmountCents: 7, Reason: "解锁查看详情", ShortCode: "aB3kZ9", ProjectID: 12})
	require.NoError(t, err)

	type page struct {
		List     []pointssim.Entry `json:"list"`
		Total    int               `json:"total"`
		Page     int               `json:"page"`
		PageSize int               `json:"page_size"`
	}
	var ids []int64
	for p := 1; p <= 5; p++ {
		got := decode[page](t, b.call(t, http.MethodGet, fmt.Sprintf("/points/users/logs?client_user_id=u1&page=%d&page_size=10", p), nil, withKey()...))
		require.Equal(t, 46, got.Total)
		require.Equal(t, p, got.Page)
		require.Equal(t, 10, got.PageSize)
		for _, e := range got.List {
			ids = append(ids, e.ID)
		}
		if p == 1 {
			require.Equal(t, "deduct", got.List[0].RecordType)
			require.EqualValues(t, -7, got.List[0].ChangeCents)
			require.Equal(t, "aB3kZ9", *got.List[0].ShortCode)
			require.EqualValues(t, 12, *got.List[0].ProjectID)
		}
	}
	require.Len(t, ids, 46)
	for i := 1; i < len(ids); i++ {
		require.Greater(t, ids[i-1], ids[i], "newest first, no entry twice")
	}
	beyond := decode[page](t, b.call(t, http.MethodGet, "/points/users/logs?client_user_id=u1&page=9&page_size=10", nil, withKey()...))
	require.Empty(t, beyond.List)
	full := decode[page](t, b.call(t, http.MethodGet, "/points/users/logs?client_user_id=u1&page_size=100", nil, withKey()...))
	require.Len(t, full.List, 46)

	for _, tt := range []struct{ query, want string }{
		{"client_user_id=u1&page_size=101", "page_size: must be at most 100"},
		{"client_user_id=u1&page=0", "page: must be a positive integer, got 0"},
		{"client_user_id=u1&page=abc", "page: must be a positive integer (digits only"},
		{"client_user_id=u1&page_size=-1", "page_size: must be a positive integer (digits only"},
		{"client_user_id=u1&page=1.5", "page: must be a positive integer (digits only"},
		{"page=1", "client_user_id: is required"},
		{"client_user_id=u1&client_user_id=u2", "client_user_id: given more than once"},
		{"client_user_id=u1&size=10", "size: unknown query parameter"},
	} {
		a := b.call(t, http.MethodGet, "/points/users/logs?"+tt.query, nil, withKey()...)
		require.Equal(t, http.StatusBadRequest, a.status, tt.query)
		require.Contains(t, a.message, tt.want, tt.query)
	}
}

func TestBalanceOfANewUserIsZero(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := decode[map[string]any](t, b.call(t, http.MethodGet, "/points/users/balance?client_user_id=u_10001", nil, withKey()...))
	require.Equal(t, map[string]any{"client_user_id": "u_10001", "user_id": float64(pointssim.FirstUserID), "balance_cents": float64(0)}, got)
	a := b.call(t, http.MethodGet, "/points/users/balance", nil, withKey()...)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Contains(t, a.message, "client_user_id: is required")
}

func TestPublishedFormsFollowTheSeed(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) {
		c.Projects = []pointssim.Project{
			{ShortCode: "aB3kZ9", Name: "厂房租赁", Industry: "制造业", Icon: "https://x/1.png", Tags: []string{"制造业", "租房"}},
			{ShortCode: "cD4", Name: "物流", Industry: "物流", Tags: []string{"供应链"}},
		}
	})
	require.NoError(t, b.sim.Publish(pointssim.Project{ShortCode: "eF5", Name: "仓储", Industry: "物流", Tags: []string{"供应链", "仓储"}}))
	bearer := []string{"Authorization", "Bearer " + b.token(t, "chansync")}

	tags := decode[struct {
		List []string `json:"list"`
	}](t, b.call(t, http.MethodGet, "/projects/published-tags", nil, bearer...))
	require.Equal(t, []string{"仓储", "供应链", "制造业", "租房"}, tags.List, "deduplicated and sorted")

	type list struct {
		List  []pointssim.Project `json:"list"`
		Total int                 `json:"total"`
	}
	codes := func(l list) []string {
		var out []string
		for _, p := range l.List {
			out = append(out, p.ShortCode)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"aB3kZ9", "cD4", "eF5"}},
		{"?limit=2", []string{"aB3kZ9", "cD4"}},
		{"?tags=租房", []string{"aB3kZ9"}},
		{"?tags=" + "供应", []string{"cD4", "eF5"}},
		{"?tags=仓储,租房", []string{"aB3kZ9", "eF5"}},
		{"?tags=仓储&limit=2", []string{"eF5", "aB3kZ9"}},
		{"?tags=nothing&limit=10", []string{"aB3kZ9", "cD4", "eF5"}},
		{"?tags=nothing", nil},
	} {
		got := decode[list](t, b.call(t, http.MethodGet, "/projects/published-list"+tt.query, nil, bearer...))
		require.Equal(t, tt.want, codes(got), tt.query)
		require.Equal(t, len(tt.want), got.Total, tt.query)
	}
	require.True(t, b.sim.Unpublish("aB3kZ9"))
	got := decode[list](t, b.call(t, http.MethodGet, "/projects/published-list", nil, bearer...))
	require.Equal(t, []string{"cD4", "eF5"}, codes(got))

	for _, q := range []string{"?limit=0", "?limit=x", "?tags=", "?tags=a,,b", "?tag=a"} {
		a := b.call(t, http.MethodGet, "/projects/published-list"+q, nil, bearer...)
		require.Equal(t, http.StatusBadRequest, a.status, q)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.call(t, http.MethodGet, "/points/users/nothing", nil, withKey()...)
	require.Equal(t, http.StatusNotFound, a.status)
	require.Equal(t, http.StatusNotFound, a.code)
	a = b.call(t, http.MethodGet, "/points/users/recharge", nil, withKey()...)
	require.Equal(t, http.StatusMethodNotAllowed, a.status)
	require.Equal(t, http.MethodPost, a.header.Get("Allow"))
	require.Equal(t, map[string]int64{"404": 1}, b.sim.Stats().Endpoints["unknown"].Statuses)
}

func TestALostRechargeAnswerWasApplied(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) {
		c.Faults = pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{pointssim.EndpointRecharge: {DropAfterRate: 1}}}
	})
	body := []byte(`{"client_user_id":"u1","amount_cents":250,"external_order_id":"G9","reason":"grant [G9]"}`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.sim.URL()+"/points/users/recharge", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", testKey)
	resp, err := b.sim.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is closed without an answer")
	bal, _ := b.sim.Balance("u1")
	require.EqualValues(t, 250, bal, "and yet the user was credited")
	require.Equal(t, map[string]int{"G9": 1}, b.sim.CreditCountsOf("G9"))
	st := b.sim.Stats()
	require.EqualValues(t, 1, st.Faults[simkit.FaultDropAfter])
	require.EqualValues(t, 1, st.Recharges)
	require.Equal(t, map[string]int64{"0": 1}, st.Endpoints["recharge"].Statuses)
	// Other endpoints keep answering.
	require.Equal(t, http.StatusOK, b.call(t, http.MethodGet, "/points/users/balance?client_user_id=u1", nil, withKey()...).status)
}

func TestInjectedStatusesCarryTheEnvelope(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pointssim.Config) { c.Faults = pointssim.Faults{StatusRates: map[int]float64{403: 1}} })
	a := b.recharge(t, "u1", 1, "", "")
	require.Equal(t, http.StatusForbidden, a.status)
	require.Equal(t, http.StatusForbidden, a.code)
	require.Empty(t, b.sim.Recharges(), "an injected error is answered before applying")
	require.EqualValues(t, 1, b.sim.Stats().Faults[pointssim.FaultStatus(403)])

	require.NoError(t, b.sim.SetFaults(pointssim.Faults{All: simkit.Faults{Status500Rate: 1}}))
	a = b.recharge(t, "u1", 1, "", "")
	require.Equal(t, http.StatusInternalServerError, a.status)
	require.Equal(t, http.StatusInternalServerError, a.code)
}

func TestFaultsAreValidated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		name   string
		faults pointssim.Faults
		want   string
	}{
		{"UnknownEndpoint", pointssim.Faults{Endpoints: map[pointssim.Endpoint]simkit.Faults{"refund": {}}}, `unknown endpoint "refund"`},
		{"SuccessIsNoFault", pointssim.Faults{StatusRates: map[int]float64{200: 0.5}}, "status 200, want 400 to 599"},
		{"RatesAboveOne", pointssim.Faults{All: simkit.Faults{Status500Rate: 0.7}, StatusRates: map[int]float64{403: 0.7}}, "more than 1"},
		{"BadDownMode", pointssim.Faults{Down: "sometimes"}, "down mode"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := b.sim.SetFaults(tt.faults)
			require.ErrorIs(t, err, simkit.ErrInvalidFaults)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestConfigIsValidated(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  pointssim.Config
		want string
	}{
		{"NegativePool", pointssim.Config{PoolCents: -1}, "pool cents must not be negative"},
		{"TokenTTLBelowASecond", pointssim.Config{TokenTTL: time.Millisecond}, "token ttl must be at least 1s"},
		{"EmptyKey", pointssim.Config{APIKeys: []string{""}}, "api key 0 is empty"},
		{"ProjectWithoutShortCode", pointssim.Config{Projects: []pointssim.Project{{Name: "x"}}}, "short_code: is required"},
		{"SamePrefixes", pointssim.Config{Prefix: "/x", AdminPrefix: "/x"}, "both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			require.ErrorIs(t, err, pointssim.ErrInvalidConfig)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
