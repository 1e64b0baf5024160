// Package pointssimtest serves a pointssim.Server over HTTP for the length
// of one test, so that tests of other packages can run their real HTTP
// client against a strict points API.
package pointssimtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chansync/chansync/internal/target/points/pointssim"
)

// Server is a simulator listening on a local port. The embedded
// *pointssim.Server gives the Go API (Ledger, Balance, Pool, SetPool,
// Duplicates, Stats, SetFaults, RevokeKey, Publish, ...).
type Server struct {
	*pointssim.Server
	// HTTP is the underlying test server.
	HTTP *httptest.Server
}

// Start builds a simulator from cfg, serves it on a local port with plain
// HTTP/1.1 (so that dropped connections are real ones), and stops it when
// the test ends. It fails the test at once if cfg is invalid.
func Start(tb testing.TB, cfg pointssim.Config) *Server {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("pointssimtest: %v", err)
	}
	sim := pointssim.New(cfg)
	ts := httptest.NewServer(sim)
	tb.Cleanup(ts.Close)
	return &Server{Server: sim, HTTP: ts}
}

// BaseURL returns the server's root, such as "http://127.0.0.1:41234":
// what a pointsapi client is configured with (APIHUB_BASE_URL; the client
// adds /api/v1/apihub itself).
func (s *Server) BaseURL() string { return s.HTTP.URL }

// URL returns the API's URL, prefix included, such as
// "http://127.0.0.1:41234/api/v1/apihub".
func (s *Server) URL() string { return s.HTTP.URL + s.Prefix() }

// AdminURL returns the base URL of the admin endpoints, such as
// "http://127.0.0.1:41234/_sim/points".
func (s *Server) AdminURL() string { return s.HTTP.URL + s.AdminPrefix() }

// Client returns an HTTP client for the server whose idle connections are
// closed when the server stops.
func (s *Server) Client() *http.Client { return s.HTTP.Client() }
