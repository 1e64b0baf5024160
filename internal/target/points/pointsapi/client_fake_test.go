package pointsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  pointsapi.Config
		want string
	}{
		{"MissingBaseURL", pointsapi.Config{APIKey: "k"}, "BaseURL is required"},
		{"NotHTTP", pointsapi.Config{BaseURL: "ftp://open.apihub.net", APIKey: "k"}, "want an https URL"},
		{"PlainHTTPToARemoteHost", pointsapi.Config{BaseURL: "http://open.apihub.net", APIKey: "k"}, "plain http is refused"},
		{"CredentialsInURL", pointsapi.Config{BaseURL: "https://u:p@open.apihub.net", APIKey: "k"}, "must not carry credentials"},
		{"QueryInURL", pointsapi.Config{BaseURL: "https://open.apihub.net/?x=1", APIKey: "k"}, "query"},
		{"MissingAPIKey", pointsapi.Config{BaseURL: "https://open.apihub.net"}, "APIKey is required"},
		{"APIKeyWithLineBreak", pointsapi.Config{BaseURL: "https://open.apihub.net", APIKey: "k\r\nX-Evil: 1"}, "line breaks"},
		{"NegativeTimeout", pointsapi.Config{BaseURL: "https://open.apihub.net", APIKey: "k", Timeout: -1}, "Timeout"},
		{"RenewAfterAboveOne", pointsapi.Config{BaseURL: "https://open.apihub.net", APIKey: "k", RenewAfter: 1.5}, "RenewAfter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pointsapi.New(tt.cfg)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "X-Evil")
		})
	}
}

func TestNewAcceptsHTTPSAndLoopbackHTTP(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://open.apihub.net", "https://gw.example.com/apihub/", "http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80"} {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			c, err := pointsapi.New(pointsapi.Config{BaseURL: base, APIKey: "k"})
			require.NoError(t, err)
			require.Equal(t, pointsapi.DefaultTimeout, c.MaxInFlight())
			require.Equal(t, pointsapi.DefaultServiceUser, c.ServiceUser())
		})
	}
}

func TestCredentialsGoWhereTheSeedSays(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]http.Header{}
	b := setupFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/apihub/apikeys/token":
			writeEnvelope(w, 200, 200, "success", map[string]any{"access_token": "tok-1", "expires_in": 7200})
		case "/api/v1/apihub/projects/published-tags":
			writeEnvelope(w, 200, 200, "success", map[string]any{"list": []string{"a"}})
		default:
			writeEnvelope(w, 200, 200, "success", map[string]any{"client_user_id": "u1", "balance_cents": 5})
		}
	})
	ctx := context.Background()
	_, err := b.client.Balance(ctx, "u1")
	require.NoError(t, err)
	_, err = b.client.PublishedTags(ctx)
	require.NoError(t, err)

	balance := seen["GET /api/v1/apihub/points/users/balance"]
	require.Equal(t, testKey, balance.Get("X-API-Key"))
	require.Empty(t, balance.Get("Authorization"))
	token := seen["POST /api/v1/apihub/apikeys/token"]
	require.Equal(t, testKey, token.Get("X-API-Key"))
	require.Equal(t, "application/json", token.Get("Content-Type"))
	tags := seen["GET /api/v1/apihub/projects/published-tags"]
	require.Equal(t, "Bearer tok-1", tags.Get("Authorization"))
	require.Empty(t, tags.Get("X-API-Key"), "the key is not sent where a bearer token is due")
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := setupFake(t, func(w http.ResponseWriter, _ *http.Request) {
		writeEnvelope(w, 200, 200, "success", map[string]any{"balance_cents": 1})
	})
	target := strings.TrimPrefix(elsewhere.srv.URL, "http://")
	b := setupFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	_, err := b.client.Balance(context.Background(), "u1")
	var e *pointsapi.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusTemporaryRedirect, e.HTTPStatus)
	require.Equal(t, target, e.RedirectHost)
	require.Contains(t, err.Error(), target)
	require.Equal(t, pointsapi.ClassTransient, e.Class)
	require.Zero(t, elsewhere.hits.Load(), "the key never reaches the redirect's target")
}

func TestAnswersOfGatewaysAndBrokenServersAreClassified(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 2048)
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		class      pointsapi.Class
		status     int
		code       int
		retryAfter time.Duration
		message    string
	}{
		{"Bare502HTML", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html><h1>502 Bad Gateway</h1></html>"))
		}, pointsapi.ClassTransient, 502, 0, 0, ""},
		{"Bare408", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(408) }, pointsapi.ClassTransient, 408, 0, 0, ""},
		{"Bare404", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) }, pointsapi.ClassData, 404, 0, 0, ""},
		{"Envelope403", func(w http.ResponseWriter, _ *http.Request) { writeEnvelope(w, 403, 403, "forbidden", nil) }, pointsapi.ClassData, 403, 403, 0, "forbidden"},
		{"Code402InsideA200", func(w http.ResponseWriter, _ *http.Request) { writeEnvelope(w, 200, 402, "积分池余额不足", nil) }, pointsapi.ClassPoolTooLow, 200, 402, 0, "积分池余额不足"},
		{"Code401InsideA200", func(w http.ResponseWriter, _ *http.Request) { writeEnvelope(w, 200, 401, "invalid key", nil) }, pointsapi.ClassAuth, 200, 401, 0, "invalid key"},
		{"Code500InsideA200", func(w http.ResponseWriter, _ *http.Request) { writeEnvelope(w, 200, 500, "oops", nil) }, pointsapi.ClassTransient, 200, 500, 0, "oops"},
		{"Garbage200", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{not json")) }, pointsapi.ClassTransient, 200, 0, 0, "not a JSON envelope"},
		{"DataOfTheWrongShape", func(w http.ResponseWriter, _ *http.Request) {
			writeEnvelope(w, 200, 200, "success", map[string]any{"balance_cents": "lots"})
		}, pointsapi.ClassTransient, 200, 200, 0, "not the documented shape"},
		{"AnswerTooLarge", func(w http.ResponseWriter, _ *http.Request) {
			writeEnvelope(w, 200, 200, "success", map[string]any{"balance_cents": 1, "pad": huge})
		}, pointsapi.ClassTransient, 200, 0, 0, "larger than 1024 bytes"},
		{"RateLimitedSeconds", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			writeEnvelope(w, 429, 429, "too many requests", nil)
		}, pointsapi.ClassRateLimited, 429, 429, 7 * time.Second, "too many requests"},
		{"RateLimitedHugeRetryAfterIsCapped", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "999999999999999999999999")
			w.WriteHeader(429)
		}, pointsapi.ClassRateLimited, 429, 0, time.Hour, ""},
		{"RateLimitedHTTPDate", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", time.Date(2026, 11, 30, 8, 0, 30, 0, time.UTC).Format(http.TimeFormat))
			w.WriteHeader(429)
		}, pointsapi.ClassRateLimited, 429, 0, 30 * time.Second, ""},
		{"RateLimitedWithoutHeader", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) }, pointsapi.ClassRateLimited, 429, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupFake(t, tt.answer, func(c *pointsapi.Config) {
				c.MaxAnswerBytes = 1024
				c.MaxRetryAfter = time.Hour
			})
			_, err := b.client.Balance(context.Background(), "u1")
			var e *pointsapi.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.class, e.Class, err.Error())
			require.Equal(t, tt.class, pointsapi.ClassOf(err))
			require.Equal(t, tt.status, e.HTTPStatus)
			require.Equal(t, tt.code, e.Code)
			require.Equal(t, tt.retryAfter, e.RetryAfter)
			require.Contains(t, e.Error(), tt.message)
			require.Equal(t, pointsapi.RouteBalance, e.Op)
			require.True(t, e.Sent, "an answer came, so the request was sent")
			require.Equal(t, tt.class == pointsapi.ClassTransient, e.OutcomeUnknown())
		})
	}
}

func TestMessagesAreCutAndCarryNoCredential(t *testing.T) {
	t.Parallel()
	long := "密钥 " + testKey + " 无效。" + strings.Repeat("积分池余额不足,", 100)
	b := setupFake(t, func(w http.ResponseWriter, _ *http.Request) { writeEnvelope(w, 401, 401, long, nil) })
	_, err := b.client.Balance(context.Background(), "u1")
	var e *pointsapi.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, pointsapi.ClassAuth, e.Class)
	require.LessOrEqual(t, len(e.Message), pointsapi.MaxMessageBytes)
	require.True(t, utf8.ValidString(e.Message), "cut at a rune boundary")
	require.True(t, strings.HasSuffix(e.Message, "…"))
	require.Contains(t, e.Message, "[redacted]")
	require.NotContains(t, err.Error(), testKey)
	require.NotContains(t, b.logs.String(), testKey)
}

func TestTheKeyIsNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg := pointsapi.Config{BaseURL: "https://open.apihub.net", APIKey: testKey}
	client, err := pointsapi.New(cfg)
	require.NoError(t, err)
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", slog.Any("cfg", cfg), slog.Any("key", cfg.APIKey))
	logger.Info("text", slog.String("cfg", fmt.Sprint(cfg)))
	asJSON, err := json.Marshal(map[string]any{"api_key": cfg.APIKey})
	require.NoError(t, err)
	printed := []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s|%q|%x|%d", cfg.APIKey, cfg.APIKey, cfg.APIKey, cfg.APIKey),
		fmt.Sprint(client), fmt.Sprintf("%+v", client), fmt.Sprintf("%#v", client), fmt.Sprintf("%v", *client), fmt.Sprintf("%+v", *client),
		string(asJSON), logs.String(),
	}
	for _, s := range printed {
		require.NotContains(t, s, testKey)
	}
	require.Contains(t, fmt.Sprint(cfg.APIKey), "[redacted]")
}

func TestRequestsThatBreakTheContractAreNotSent(t *testing.T) {
	t.Parallel()
	b := setupFake(t, func(w http.ResponseWriter, _ *http.Request) { writeEnvelope(w, 200, 200, "success", map[string]any{}) })
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"RechargeWithoutUser", func() error {
			_, err := b.client.Recharge(ctx, pointsapi.RechargeRequest{AmountCents: 100})
			return err
		}, "client_user_id: required"},
		{"RechargeOfZero", func() error {
			_, err := b.client.Recharge(ctx, pointsapi.RechargeRequest{ClientUserID: "u1"})
			return err
		}, "amount_cents: must be a positive integer, got 0"},
		{"RechargeNegative", func() error {
			_, err := b.client.Recharge(ctx, pointsapi.RechargeRequest{ClientUserID: "u1", AmountCents: -5})
			return err
		}, "amount_cents: must be a positive integer, got -5"},
		{"RechargeBeyondFloatPrecision", func() error {
			_, err := b.client.Recharge(ctx, pointsapi.RechargeRequest{ClientUserID: "u1", AmountCents: 1 << 60})
			return err
		}, "amount_cents: must be at most"},
		{"LogsPageSizeAbove100", func() error {
			_, err := b.client.Logs(ctx, pointsapi.LogsParams{ClientUserID: "u1", PageSize: 101})
			return err
		}, "page_size: must be 1 to 100"},
		{"LogsNegativePage", func() error {
			_, err := b.client.Logs(ctx, pointsapi.LogsParams{ClientUserID: "u1", Page: -1})
			return err
		}, "page: must be at least 1"},
		{"BalanceWithoutUser", func() error {
			_, err := b.client.Balance(ctx, " ")
			return err
		}, "client_user_id: required"},
		{"TagWithComma", func() error {
			_, err := b.client.PublishedList(ctx, pointsapi.ProjectsQuery{Tags: []string{"a,b"}})
			return err
		}, "tags:"},
		{"NegativeLimit", func() error {
			_, err := b.client.PublishedList(ctx, pointsapi.ProjectsQuery{Limit: -1})
			return err
		}, "limit: must not be negative"},
		{"FindRechargeWithoutOrder", func() error {
			_, _, err := b.client.FindRecharge(ctx, "u1", "", 100)
			return err
		}, "order id: required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			var e *pointsapi.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, pointsapi.ClassData, e.Class)
			require.False(t, e.Sent)
			require.False(t, e.OutcomeUnknown())
			require.Contains(t, err.Error(), tt.field)
		})
	}
	require.Zero(t, b.hits.Load(), "nothing reached the server")
}

func TestLostAnswersLeaveTheOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	req := pointsapi.RechargeRequest{ClientUserID: "u1", AmountCents: 100, ExternalOrderID: "G1", Reason: pointsapi.ReasonFor("bonus", "G1")}

	t.Run("ConnectionClosedAfterTheRequest", func(t *testing.T) {
		t.Parallel()
		b := setupFake(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = r.Body.Read(make([]byte, 1024))
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		})
		_, err := b.client.Recharge(ctx, req)
		var e *pointsapi.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, pointsapi.ClassTransient, e.Class)
		require.True(t, e.OutcomeUnknown(), err.Error())
		require.EqualValues(t, 1, b.hits.Load(), "a recharge is never resent by the transport")
	})
	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setupFake(t, func(_ http.ResponseWriter, r *http.Request) {
			// Read the body first: the server notices a client that hung
			// up only then.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		},
			func(c *pointsapi.Config) { c.Timeout = 50 * time.Millisecond })
		require.Equal(t, 50*time.Millisecond, b.client.MaxInFlight())
		_, err := b.client.Recharge(ctx, req)
		var e *pointsapi.Error
		require.ErrorAs(t, err, &e)
		require.True(t, e.OutcomeUnknown(), err.Error())
		require.Contains(t, err.Error(), "timeout")
	})
	t.Run("ConnectionRefused", func(t *testing.T) {
		t.Parallel()
		b := setupFake(t, func(http.ResponseWriter, *http.Request) {})
		b.srv.Close()
		_, err := b.client.Recharge(ctx, req)
		var e *pointsapi.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, pointsapi.ClassTransient, e.Class)
		require.False(t, e.Sent, "nothing was written: safe to send again")
		require.False(t, e.OutcomeUnknown())
		require.NotContains(t, err.Error(), testKey)
	})
}

func TestReasonMentionsWholeOrderIDsOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		reason, order string
		want          bool
	}{
		{"年终奖励 [G20261130001]", "G20261130001", true},
		{pointsapi.ReasonFor("年终奖励", "G1"), "G1", true},
		{pointsapi.ReasonFor("", "G1"), "G1", true},
		{"用户充值(订单 pay_20260408123456)", "pay_20260408123456", true},
		{"订单G7已发放", "G7", true},
		{"G7", "G7", true},
		{"[G10]", "G1", false},
		{"[XG1]", "G1", false},
		{"[G1-2]", "G1", false},
		{"[G1_2] and then [G1]", "G1", true},
		{"", "G1", false},
		{"[G1]", "", false},
	} {
		t.Run(tt.reason+"/"+tt.order, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, pointsapi.ReasonMentions(tt.reason, tt.order))
		})
	}
}

// scriptedLedger serves a ledger whose pages a test can disturb.
type scriptedLedger struct {
	mu      sync.Mutex
	entries []map[string]any // newest first
	// afterPage, if set, runs after page n was served.
	afterPage func(s *scriptedLedger, page int)
	// ignorePage serves page 1 whatever is asked.
	ignorePage bool
	// total, if set, overrides the reported total.
	total int
}

func (s *scriptedLedger) add(id int64, reason string, amount int64) {
	s.entries = append([]map[string]any{{
		"id": id, "source": "transfer", "record_type": "recharge", "change_cents": amount, "amount_cents": amount,
		"balance_after": amount, "reason": reason, "status": "success", "short_code": nil, "project_id": nil,
		"created_at": "2026-11-30T08:00:00Z",
	}}, s.entries...)
}

func (s *scriptedLedger) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
	if s.ignorePage {
		page = 1
	}
	from := min((page-1)*size, len(s.entries))
	to := min(from+size, len(s.entries))
	list := append([]map[string]any(nil), s.entries[from:to]...)
	total := len(s.entries)
	if s.total > 0 {
		total = s.total
	}
	s.mu.Unlock()
	writeEnvelope(w, 200, 200, "success", map[string]any{
		"client_user_id": r.URL.Query().Get("client_user_id"), "user_id": 1, "list": list,
		"total": total, "page": page, "page_size": size,
	})
	if s.afterPage != nil {
		s.mu.Lock()
		s.afterPage(s, page)
		s.mu.Unlock()
	}
}

func TestLedgerReadsSurviveEntriesAddedMeanwhile(t *testing.T) {
	t.Parallel()
	ledger := &scriptedLedger{}
	for i := int64(1); i <= 250; i++ {
		ledger.add(i, pointsapi.ReasonFor("grant", "G"+strconv.FormatInt(i, 10)), 100)
	}
	ledger.afterPage = func(s *scriptedLedger, page int) {
		if page <= 2 {
			// A new entry on top pushes one entry of this page onto the next.
			s.add(int64(1000+page), "charge", 5)
		}
	}
	b := setupFake(t, ledger.serve)
	ctx := context.Background()
	seen := map[int64]int{}
	for e, err := range b.client.AllLogs(ctx, "u1") {
		require.NoError(t, err)
		seen[e.ID]++
	}
	for id := int64(1); id <= 250; id++ {
		require.Equal(t, 1, seen[id], "entry %d read exactly once", id)
	}
	found, n, err := b.client.FindRecharge(ctx, "u1", "G17", 100)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 1, n, "an entry shifted onto the next page is not counted twice")
}

func TestLedgerReadsRefusePagingThatHidesEntries(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		ledger func() *scriptedLedger
		want   string
	}{
		{"PageIgnored", func() *scriptedLedger {
			l := &scriptedLedger{ignorePage: true}
			for i := int64(1); i <= 250; i++ {
				l.add(i, "x", 1)
			}
			return l
		}, "paging is not advancing"},
		{"EndsBeforeTheTotal", func() *scriptedLedger {
			l := &scriptedLedger{total: 400}
			for i := int64(1); i <= 150; i++ {
				l.add(i, "x", 1)
			}
			return l
		}, "ended at entry 150 of a total of 400"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupFake(t, tt.ledger().serve)
			found, _, err := b.client.FindRecharge(context.Background(), "u1", "G1", 1)
			require.ErrorContains(t, err, tt.want)
			require.False(t, found)
			require.Equal(t, pointsapi.ClassTransient, pointsapi.ClassOf(err))
		})
	}
}

func TestObserveGetsBoundedRoutes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	routes := map[string]int{}
	ledger := &scriptedLedger{}
	b := setupFake(t, ledger.serve, func(c *pointsapi.Config) {
		c.ObserveFunc = func(route string, _ *pointsapi.Error, _ time.Duration) {
			mu.Lock()
			routes[route]++
			mu.Unlock()
		}
	})
	for _, u := range []string{"u1", "u2", "u3"} {
		_, err := b.client.Logs(context.Background(), pointsapi.LogsParams{ClientUserID: u, Page: 1, PageSize: 10})
		require.NoError(t, err)
	}
	require.Equal(t, map[string]int{pointsapi.RouteLogs: 3}, routes, "no user id in a route name")
}
