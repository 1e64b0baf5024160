// Package workertest runs a worker in-process for a test, as channelsimtest
// runs a simulator and dbtest a schema.
package workertest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/worker"
)

// Start builds a worker from cfg and starts it; the worker is stopped when
// the test ends and must stop without an error. It returns the worker.
func Start(t testing.TB, cfg worker.Config) *worker.Worker {
	t.Helper()
	ctx := context.Background()
	w, err := worker.New(ctx, cfg)
	require.NoError(t, err, "build the worker")
	require.NoError(t, w.Start(ctx), "start the worker")
	t.Cleanup(func() { require.NoError(t, w.Stop(ctx)) })
	return w
}
