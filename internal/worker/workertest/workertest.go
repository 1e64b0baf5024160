// Package workertest runs a worker in-process for a test, as channelsimtest
// runs a simulator and dbtest a schema.
package workertest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/worker"
)

// Start runs worker.Run with cfg until the test ends, and returns once the
// worker is working, with the address of its HTTP server ("" when
// cfg.HTTPAddr is empty). cfg.ReadyFunc is Start's own. At the end of the
// test the worker is stopped and must return without an error.
func Start(t testing.TB, cfg worker.Config) (httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cfg.ReadyFunc = func(addr string) { ready <- addr }
	go func() { done <- worker.Run(ctx, cfg) }()
	select {
	case httpAddr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("worker did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return httpAddr
}
