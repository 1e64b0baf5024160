// Package channelsimtest serves a channelsim.Server over HTTP for the
// length of one test, so that tests of other packages can run their real
// HTTP client against a strict channel.
package channelsimtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// Server is a simulator listening on a local port. The embedded
// *channelsim.Server gives the Go API (Records, Stats, SetFaults, Deny,
// RevokeAllTokens, ...).
type Server struct {
	*channelsim.Server
	// HTTP is the underlying test server.
	HTTP *httptest.Server
}

// Start builds a simulator from cfg, serves it on a local port with plain
// HTTP/1.1 (so that dropped connections are real ones), and stops it when
// the test ends. It fails the test at once if cfg is invalid.
func Start(tb testing.TB, cfg channelsim.Config) *Server {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("channelsimtest: %v", err)
	}
	sim := channelsim.New(cfg)
	ts := httptest.NewServer(sim)
	tb.Cleanup(ts.Close)
	return &Server{Server: sim, HTTP: ts}
}

// URL returns the channel's base URL, prefix included, such as
// "http://127.0.0.1:41234/api/v1": what a client is configured with.
func (s *Server) URL() string { return s.HTTP.URL + s.Prefix() }

// RootURL returns the server's URL without any prefix.
func (s *Server) RootURL() string { return s.HTTP.URL }

// AdminURL returns the base URL of the admin endpoints, such as
// "http://127.0.0.1:41234/_sim".
func (s *Server) AdminURL() string { return s.HTTP.URL + s.AdminPrefix() }

// Client returns an HTTP client for the server whose idle connections are
// closed when the server stops.
func (s *Server) Client() *http.Client { return s.HTTP.Client() }
