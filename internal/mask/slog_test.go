package mask

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// The personal data and secrets the tests log; none may appear in output.
const (
	idCard      = "11010519491231002X"
	phone       = "13800138000"
	landline    = "010-87654321"
	bankAccount = "6222021234567890123"
	appSecret   = "app-secret-DO-NOT-LOG"
	accessTok   = "eyJhbGciOiJIUzI1NiJ9.access.DO-NOT-LOG"
	refreshTok  = "refresh-token-DO-NOT-LOG"
)

var originals = []string{idCard, phone, "87654321", bankAccount, appSecret, accessTok, refreshTok}

func requireNoOriginals(t *testing.T, out string) {
	t.Helper()
	for _, o := range originals {
		require.NotContains(t, out, o)
	}
}

func testUser() *channelbody.User {
	certified := true
	return &channelbody.User{
		ChannelUserID: "U1001",
		Name:          "张三",
		IDCard:        idCard,
		Phone:         phone,
		LiveCertification: &channelbody.LiveCertification{
			Certified:         &certified,
			CertificationTime: "2024-01-15T10:30:00Z",
		},
	}
}

func testPayment() channelbody.Payment {
	return channelbody.Payment{
		ChannelPaymentID: "P1",
		PaymentType:      "user",
		ChannelUserID:    "U1001",
		Amount:           "5000.00",
		PaymentTime:      "2024-02-20T10:00:00Z",
		BankAccount:      bankAccount,
		PaymentBasis:     &channelbody.PaymentBasis{BasisType: "月薪"},
	}
}

// logEverything logs, through logger, each way a record or a secret might
// reach a log line.
func logEverything(logger *slog.Logger) {
	company := channelbody.Company{ChannelCompanyID: "C1", CompanyName: "某某科技有限公司", SocialCreditCode: "91350100M000100Y43", ContactPhone: landline}
	body, _ := json.Marshal(testUser())

	logger.Info("push user",
		slog.String("kind", "user"),
		slog.String("id_card", idCard),
		slog.String("phone", phone),
		slog.Any("body", testUser()),
	)
	logger.Info("push payment", slog.Any("payment", testPayment()), slog.Any("company", company))
	logger.Info("raw body", slog.Any("body", json.RawMessage(body)), slog.String("body_text", string(body)))
	logger.Info("auth",
		slog.String("appkey", "channel_001"),
		slog.String("secret", appSecret),
		slog.Any("token", channelapi.Token{AccessToken: accessTok, TokenType: "Bearer", ExpiresIn: 7200, RefreshToken: refreshTok}),
		slog.Any("request", channelapi.TokenRequest{AppKey: "channel_001", Secret: appSecret, GrantType: "client_credentials"}),
		slog.Group("http", slog.String("Authorization", "Bearer "+accessTok), slog.Group("headers", slog.String("X-Refresh-Token", refreshTok))),
	)
	logger.Error("channel rejected users/U1001: id_card "+idCard+" invalid",
		slog.Any("error", fmt.Errorf("push users/U1001: 1001 %s phone %s", idCard, phone)),
		slog.String("reason", "bank_account "+bankAccount+" frozen"),
		slog.Group("secret", slog.String("value", appSecret)),
		slog.Int64("phone", 13800138000),
	)
	logger.With(slog.String("access_token", accessTok)).WithGroup("user").Info("with", slog.String("phone", phone), slog.Any("ids", []string{idCard}))
}

func TestReplaceAttrJSONLogHasNoOriginals(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: ReplaceAttr}))
	logEverything(logger)
	out := buf.String()
	requireNoOriginals(t, out)

	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6)
	for _, l := range lines {
		require.True(t, json.Valid([]byte(l)), "every line stays valid JSON: %s", l)
	}

	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, "110105********002X", first["id_card"])
	require.Equal(t, "138****8000", first["phone"])
	require.Equal(t, "user", first["kind"])
	body := first["body"].(map[string]any)
	require.Equal(t, "U1001", body["channel_user_id"], "what is not personal stays")
	require.Equal(t, "110105********002X", body["id_card"])
	require.Equal(t, "138****8000", body["phone"])
	require.Equal(t, "2024-01-15T10:30:00Z", body["live_certification"].(map[string]any)["certification_time"])

	require.Contains(t, lines[1], `"bank_account":"***************0123"`)
	require.Contains(t, lines[1], `"contact_phone":"010*****4321"`)
	require.Contains(t, lines[1], `"amount":5000.00`, "a json.Number stays a number, as the JSON handler writes it")
	require.Contains(t, lines[3], `"secret":"[redacted]"`)
	require.Contains(t, lines[3], `"Authorization":"Bearer [redacted `+Fingerprint(accessTok)+`]"`)
	require.Contains(t, lines[3], `"access_token":"[redacted `+Fingerprint(accessTok)+`]"`, "the fingerprint matches the bearer header's")
	require.Contains(t, lines[3], `"appkey":"channel_001"`)
	require.Contains(t, lines[4], `"msg":"channel rejected users/U1001: id_card 110105********002X invalid"`)
	require.Contains(t, lines[4], `"phone":"138****8000"`)
}

func TestReplaceAttrTextLogHasNoOriginals(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logEverything(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: ReplaceAttr})))
	requireNoOriginals(t, buf.String())
	require.Contains(t, buf.String(), "id_card=110105********002X")
}

func TestHandlerJSONLogHasNoOriginals(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logger := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil)))
	logEverything(logger)
	logger.WithGroup("secret").Info("in a sensitive group", slog.String("anything", appSecret))
	logger.With(slog.Group("creds", slog.String("refresh_token", refreshTok))).Info("grouped with")
	out := buf.String()
	requireNoOriginals(t, out)

	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 8)
	require.Contains(t, lines[0], `"id_card":"110105********002X"`)
	require.Contains(t, lines[5], `"access_token":"[redacted `+Fingerprint(accessTok)+`]"`)
	require.Contains(t, lines[5], `"user":{"phone":"138****8000","ids":["110105********002X"]}`)
	require.Contains(t, lines[6], `"secret":{"anything":"[redacted]"}`)
	require.Contains(t, lines[7], `"creds":{"refresh_token":"[redacted `+Fingerprint(refreshTok)+`]"}`)
}

func TestHandlerPassesThrough(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	h := NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	logger := slog.New(h)
	require.False(t, h.Enabled(t.Context(), slog.LevelInfo))
	logger.Info("dropped")
	logger.Warn("kept", slog.Int("count", 3), slog.Any("ref", testRef{Kind: "user", ID: "U1"}))
	require.NotContains(t, buf.String(), "dropped")
	require.Contains(t, buf.String(), `"count":3`)
	require.Contains(t, buf.String(), `"ref":{"Kind":"user","ID":"U1"}`)
}

func TestReplaceAttrLeavesOtherAttributes(t *testing.T) {
	t.Parallel()

	plainErr := errors.New("connection refused")
	ref := testRef{Kind: "task", ID: "T1"}
	tests := []struct {
		name string
		attr slog.Attr
	}{
		{"String", slog.String("kind", "user")},
		{"Int", slog.Int("attempt", 3)},
		{"Error", slog.Any("error", plainErr)},
		{"StructWithoutSecrets", slog.Any("ref", ref)},
		{"Bytes", slog.Any("hash", []byte{1, 2, 3})},
		{"NilAny", slog.Any("nothing", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ReplaceAttr(nil, tt.attr)
			require.Equal(t, tt.attr.Key, got.Key)
			require.Equal(t, tt.attr.Value.Kind(), got.Value.Kind())
			require.Equal(t, tt.attr.Value.Any(), got.Value.Any())
		})
	}

	t.Run("TimeAndLevelUntouched", func(t *testing.T) {
		t.Parallel()
		a := slog.String(slog.TimeKey, "13800138000")
		require.Equal(t, a, ReplaceAttr(nil, a))
	})
}

func TestJSON(t *testing.T) {
	t.Parallel()

	t.Run("MasksByKeyAtAnyDepth", func(t *testing.T) {
		t.Parallel()
		in := `{"user":{"name":"张三","id_card":"11010519491231002X","phone":13800138000},"list":[{"bank_account":"6222021234567890123"}],"note":"call 13800138000","secret":{"a":["x",1,true]}}`
		out, err := JSON([]byte(in))
		require.NoError(t, err)
		require.JSONEq(t, `{"user":{"name":"张三","id_card":"110105********002X","phone":"138****8000"},"list":[{"bank_account":"***************0123"}],"note":"call 138****8000","secret":{"a":["[redacted]","[redacted]","[redacted]"]}}`, string(out))
	})
	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		_, err := JSON([]byte(`{"id_card":`))
		require.Error(t, err)
		_, err = JSON([]byte(`{} {}`))
		require.Error(t, err)
	})
}

// testRef is a plain struct with nothing to mask.
type testRef struct {
	Kind string
	ID   string
}
