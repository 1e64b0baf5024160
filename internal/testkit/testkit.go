// Package testkit holds what the tests of several packages share: the
// goroutines the leak check ignores, and a log sink safe for concurrent
// writes. Only tests import it.
package testkit

import (
	"bytes"
	"sync"

	"go.uber.org/goleak"
)

// LeakOptions are the goroutines goleak.VerifyTestMain ignores: pgx pools'
// health checks and keep-alive HTTP connections, which end a moment after
// their owner closes them.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreAnyFunction("github.com/jackc/puddle/v2.(*Pool[...]).backgroundHealthCheck"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	}
}

// SyncBuffer is an io.Writer safe for concurrent writes (a log sink read
// by the test afterwards).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
