package main

import (
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"
)

// parse parses a worker command line as main does, with the settings a
// run needs, and returns Validate's verdict.
func parse(t *testing.T, args ...string) error {
	t.Helper()
	var spec struct {
		Run runCmd `cmd:"" default:"withargs"`
	}
	parser, err := kong.New(&spec, kong.Name("worker"), kong.Exit(func(int) { t.Fatal("kong exited") }))
	require.NoError(t, err)
	base := []string{
		"--database-url=postgres://localhost/chansync",
		"--channel-base-url=https://api.example.com/api/v1", "--channel-appkey=k", "--channel-secret=s",
		"--http-addr=127.0.0.1:0",
	}
	_, err = parser.Parse(append(base, args...))
	return err
}

// TestAdminTokenEqualToIngestTokenRefused: one token for both the status
// page and ingest would let any ingest client run the page's actions; the
// worker refuses to start, naming both settings.
func TestAdminTokenEqualToIngestTokenRefused(t *testing.T) {
	t.Parallel()
	const tok = "one-token-for-everything-0123456789"

	tests := []struct {
		name string
		args []string
		want []string // substrings of the error; none: valid
	}{
		{"EqualTokensRefused", []string{"--admin-token=" + tok, "--ingest-token=" + tok}, []string{"ADMIN_TOKEN", "INGEST_TOKEN", "equal"}},
		{"DistinctTokensAccepted", []string{"--admin-token=" + tok, "--ingest-token=" + tok + "-ingest"}, nil},
		{"OneTokenAccepted", []string{"--admin-token=" + tok}, nil},
		{"BadTrustedProxyNamed", []string{"--trusted-proxies=10.0.0.0/8,not-an-address"}, []string{"TRUSTED_PROXIES", "not-an-address"}},
		{"IdleLongerThanTTLRefused", []string{"--admin-session-ttl=1h", "--admin-session-idle=2h"}, []string{"ADMIN_SESSION_IDLE"}},
		{"NoAuthFailuresRefused", []string{"--auth-max-failures=0"}, []string{"AUTH_MAX_FAILURES"}},
		{"TinyReadTimeoutRefused", []string{"--http-read-timeout=10ms"}, []string{"HTTP_READ_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parse(t, tt.args...)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
