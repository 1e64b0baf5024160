package mask_test

import (
	"log/slog"
	"os"

	"github.com/chansync/chansync/internal/mask"
)

// ExampleReplaceAttr masks personal data and secrets in a JSON log by key,
// inside groups and structured values too, and scrubs what looks like an
// ID or phone number from other strings.
func ExampleReplaceAttr() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // only so that the output is stable
			}
			return mask.ReplaceAttr(groups, a)
		},
	}))
	logger.Info("push user",
		slog.String("id_card", "11010519491231002X"),
		slog.String("phone", "13800138000"),
		slog.String("secret", "your_secret_key"),
		slog.Group("http", slog.String("authorization", "Bearer abc")),
		slog.Any("body", map[string]any{"bank_account": "6222021234560123", "name": "张三"}),
		slog.String("reason", "1001: phone 13800138000 already registered"),
	)
	// Output:
	// {"level":"INFO","msg":"push user","id_card":"110105********002X","phone":"138****8000","secret":"[redacted]","http":{"authorization":"Bearer [redacted sha256:ba78]"},"body":{"bank_account":"************0123","name":"张三"},"reason":"1001: phone 138****8000 already registered"}
}
