package simkit

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxBodyBytes is how much of a request body Injector.Before reads
// while it delays a request, unless InjectorConfig.MaxBodyBytes says.
const DefaultMaxBodyBytes = 1 << 20

// InjectorConfig configures an Injector. The zero value is usable.
type InjectorConfig struct {
	// Seed seeds the random source: the same seed and the same requests
	// draw the same faults.
	Seed uint64
	// Status500Func renders the answer of FaultStatus500 in the simulator's
	// own envelope. Default: a bare HTTP 500 with a plain-text body.
	Status500Func func() Answer
	// MaxBodyBytes caps how much of a request body Before reads while it
	// delays a request (it reads the body first so that net/http notices a
	// client that hangs up). Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Injector draws faults for one simulator. It owns the seeded random
// source and the fault counters; plans are passed to each call, so that a
// simulator may keep one plan per endpoint. It is safe for concurrent use.
type Injector struct {
	rng           *Rand
	counters      Counters
	status500Func func() Answer
	maxBody       int64
}

// NewInjector returns an Injector for cfg.
func NewInjector(cfg InjectorConfig) *Injector {
	in := &Injector{rng: NewRand(cfg.Seed), status500Func: cfg.Status500Func, maxBody: cfg.MaxBodyBytes}
	if in.status500Func == nil {
		in.status500Func = bare500
	}
	if in.maxBody <= 0 {
		in.maxBody = DefaultMaxBodyBytes
	}
	return in
}

// Counters returns the fault counters: each injected fault counted under
// its name. A simulator may count faults of its own there too (Add).
func (in *Injector) Counters() *Counters { return &in.counters }

// Rand returns the injector's seeded random source.
func (in *Injector) Rand() *Rand { return in.rng }

// Down answers a request while the API is down: a bare HTTP 503 with HTML
// (FaultDown503) or a closed connection (FaultDownClose), counted. It
// reports false, and draws nothing, for DownOff.
func (in *Injector) Down(mode DownMode) (Answer, bool) {
	switch mode {
	case Down503:
		in.counters.Add(FaultDown503)
		return Answer{Status: http.StatusServiceUnavailable, ContentType: ContentTypeHTML, Body: HTML503, Fault: FaultDown503}, true
	case DownClose:
		in.counters.Add(FaultDownClose)
		return Answer{Drop: true, Fault: FaultDownClose}, true
	}
	return Answer{}, false
}

// Before applies the "before" part of plan p to request r: it waits the
// latency (reading the body first, and giving up when the client does),
// then draws at most one "before" fault. It reports true when the returned
// Answer must be sent instead of applying the request: an injected fault,
// or Answer.Gone when the client went away during the delay. A nil or
// inactive plan changes nothing and draws nothing.
//
// When it delays a request with a body, Before replaces r.Body with an
// in-memory copy of at most InjectorConfig.MaxBodyBytes+1 bytes, so the
// simulator still sees a too-large body as too large.
func (in *Injector) Before(r *http.Request, p *Plan) (Answer, bool) {
	if !p.Active() {
		return Answer{}, false
	}
	f := &p.faults
	if f.Latency > 0 || f.Jitter > 0 {
		d := f.Latency
		if f.Jitter > 0 {
			d += time.Duration(in.rng.Int64N(int64(f.Jitter) + 1))
		}
		in.counters.Add(FaultLatency)
		// Read the body first: net/http notices a client that hangs up (and
		// cancels the context) only once the body has been read.
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(io.LimitReader(r.Body, in.maxBody+1))
			if err != nil {
				return Answer{Gone: true, Fault: FaultLatency}, true
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if !Sleep(r.Context(), d) {
			return Answer{Gone: true, Fault: FaultLatency}, true
		}
	}
	if len(p.steps) == 0 {
		return Answer{}, false
	}
	u := in.rng.Float64()
	for _, st := range p.steps {
		if u >= st.rate {
			u -= st.rate
			continue
		}
		in.counters.Add(st.name)
		var a Answer
		switch st.name {
		case FaultDropBefore:
			a = Answer{Drop: true}
		case FaultBadGateway:
			a = Answer{Status: http.StatusBadGateway, ContentType: ContentTypeHTML, Body: HTML502}
		case FaultRateLimit:
			a = Answer{Status: http.StatusTooManyRequests, ContentType: ContentTypeText, Body: Text429,
				Header: [][2]string{{"Retry-After", p.retryAfter}}}
		case FaultRateLimitNoHeader:
			a = Answer{Status: http.StatusTooManyRequests, ContentType: ContentTypeText, Body: Text429}
		case FaultStatus500:
			a = in.status500Func()
		default:
			a = st.answerFunc()
		}
		a.Fault = st.name
		return a, true
	}
	return Answer{}, false
}

// DropAfter draws whether the answer of a request that plan p let through,
// and that was applied, is lost (FaultDropAfter, counted). The caller then
// sets Answer.Drop (and Answer.Fault) on its answer. A plan without
// DropAfterRate draws nothing.
func (in *Injector) DropAfter(p *Plan) bool {
	if !p.Active() || p.faults.DropAfterRate <= 0 {
		return false
	}
	if in.rng.Float64() < p.faults.DropAfterRate {
		in.counters.Add(FaultDropAfter)
		return true
	}
	return false
}

// Sleep waits d or until ctx ends; it reports whether it waited d.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Rand is a seeded random source safe for concurrent use.
type Rand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewRand returns a source seeded with seed: the same seed draws the same
// numbers in the same order.
func NewRand(seed uint64) *Rand {
	return &Rand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Float64 returns a number in [0, 1).
func (l *Rand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// Int64N returns a number in [0, n); it panics if n <= 0.
func (l *Rand) Int64N(n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}

// Counters count named events (injected faults). The zero value is ready;
// it is safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]int64
}

// Add counts one event named name.
func (c *Counters) Add(name string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]int64)
	}
	c.m[name]++
	c.mu.Unlock()
}

// Get returns the count of name.
func (c *Counters) Get(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

// Snapshot returns a copy of the counts (never nil).
func (c *Counters) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Reset sets every count back to zero.
func (c *Counters) Reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// Log is an append-only request log safe for concurrent use. The zero
// value is ready.
type Log[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add appends v.
func (l *Log[T]) Add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// All returns a copy of the log, oldest first (never nil).
func (l *Log[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]T, len(l.items))
	copy(out, l.items)
	return out
}

// Len returns the number of entries.
func (l *Log[T]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// Reset empties the log.
func (l *Log[T]) Reset() {
	l.mu.Lock()
	l.items = nil
	l.mu.Unlock()
}
