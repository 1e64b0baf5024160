package cli_test

import (
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/cli"
)

type testBundle struct {
	cmd *struct{ cli.Channel }
}

// setup parses args as a command embedding cli.Channel would, with the
// required settings given unless args override them.
func setup(t *testing.T, args ...string) (*testBundle, error) {
	t.Helper()
	b := &testBundle{cmd: &struct{ cli.Channel }{}}
	parser, err := kong.New(b.cmd, kong.Exit(func(int) { t.Fatal("kong exited") }))
	require.NoError(t, err)
	base := []string{"--channel-base-url=https://api.example.com/api/v1", "--channel-appkey=app", "--channel-secret=s3cret"}
	_, err = parser.Parse(append(base, args...))
	return b, err
}

func TestPlainHTTPChannelIsRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		url  string
		want string // "" when accepted
	}{
		{"HTTPS", "https://api.example.com/api/v1", ""},
		{"HTTPLoopbackV4", "http://127.0.0.1:8080/api/v1", ""},
		{"HTTPLoopbackV6", "http://[::1]:8080/api/v1", ""},
		{"HTTPLocalhost", "http://localhost:8080/api/v1", ""},
		{"HTTPRemote", "http://api.example.com/api/v1", "CHANNEL_BASE_URL (--channel-base-url) must be https"},
		{"HTTPPrivateAddress", "http://192.168.1.10/api/v1", "CHANNEL_BASE_URL (--channel-base-url) must be https"},
		{"NotAURL", "api.example.com", "CHANNEL_BASE_URL (--channel-base-url) must be an absolute https URL"},
		{"OtherScheme", "ftp://api.example.com", "CHANNEL_BASE_URL (--channel-base-url) must be an https URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setup(t, "--channel-base-url="+tt.url)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestRetryAfterMaxSetting(t *testing.T) {
	t.Parallel()
	t.Run("DefaultIsFifteenMinutes", func(t *testing.T) {
		t.Parallel()
		b, err := setup(t)
		require.NoError(t, err)
		require.Equal(t, 15*time.Minute, b.cmd.RetryAfterMax)
	})
	t.Run("FlagSetsIt", func(t *testing.T) {
		t.Parallel()
		b, err := setup(t, "--retry-after-max=2m")
		require.NoError(t, err)
		require.Equal(t, 2*time.Minute, b.cmd.RetryAfterMax)
	})
	for _, v := range []string{"0s", "-1m"} {
		t.Run("Refuses"+v, func(t *testing.T) {
			t.Parallel()
			_, err := setup(t, "--retry-after-max="+v)
			require.ErrorContains(t, err, "RETRY_AFTER_MAX (--retry-after-max) must be positive")
		})
	}
}

func TestChannelSettingsNameWhatIsMissing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"AppKey", []string{"--channel-appkey="}, "CHANNEL_APPKEY (--channel-appkey) is required"},
		{"Secret", []string{"--channel-secret="}, "CHANNEL_SECRET (--channel-secret) is required"},
		{"BaseURL", []string{"--channel-base-url="}, "CHANNEL_BASE_URL (--channel-base-url) is required"},
		{"NegativeRPS", []string{"--channel-rps=-1"}, "CHANNEL_RPS (--channel-rps) must not be negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setup(t, tt.args...)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
