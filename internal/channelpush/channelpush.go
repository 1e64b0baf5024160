// Package channelpush adapts the channel API client to the sync engine: it
// sends payloads with the kind's create, update and read endpoints, and
// classifies the channel's errors into the engine's failure classes.
package channelpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
)

// BreakerConfig tunes the circuit breaker shared by every push of a
// process. Zero values take the defaults.
type BreakerConfig struct {
	// Failures is how many transient failures in a row open the circuit.
	// Default 5.
	Failures uint32
	// Timeout is how long the circuit stays open before one probe is let
	// through. Default 30s.
	Timeout time.Duration
	// OnStateChangeFunc, if set, is told of every change of state.
	OnStateChangeFunc func(from, to string)
}

// Pusher implements syncer.Pusher over a channel API client. A circuit
// breaker stops pushes while the channel is down (transient failures in a
// row), lets one probe through after a pause, and closes again when it
// succeeds. Data errors (4xx, 1001, 1004), rate limits and refused
// credentials do not count against the channel.
type Pusher struct {
	client  *channelapi.Client
	breaker *gobreaker.CircuitBreaker[string]
	timeout time.Duration
}

// New returns a Pusher that uses client.
func New(client *channelapi.Client, cfg BreakerConfig) *Pusher {
	if cfg.Failures == 0 {
		cfg.Failures = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	p := &Pusher{client: client, timeout: cfg.Timeout}
	p.breaker = gobreaker.NewCircuitBreaker[string](gobreaker.Settings{
		Name:        "channel",
		MaxRequests: 1,
		Timeout:     cfg.Timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.Failures },
		IsSuccessful: func(err error) bool {
			return err == nil || channelapi.ClassOf(err) != channelapi.ClassTransient || errors.Is(err, context.Canceled)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if cfg.OnStateChangeFunc != nil {
				cfg.OnStateChangeFunc(from.String(), to.String())
			}
		},
	})
	return p
}

// Open reports whether the circuit is open (pushes paused).
func (p *Pusher) Open() bool { return p.breaker.State() == gobreaker.StateOpen }

var _ syncer.Pusher = (*Pusher)(nil)

// Create POSTs body and returns the channel's own id.
func (p *Pusher) Create(ctx context.Context, kind record.Kind, body json.RawMessage) (string, error) {
	return p.breaker.Execute(func() (string, error) {
		c, err := p.client.Create(ctx, channelbody.Resource(kind), body)
		return string(c.ChannelRef), err
	})
}

// Update PUTs body to the record named id and returns the channel's own id.
func (p *Pusher) Update(ctx context.Context, kind record.Kind, id string, body json.RawMessage) (string, error) {
	return p.breaker.Execute(func() (string, error) {
		c, err := p.client.Update(ctx, channelbody.Resource(kind), id, body)
		return string(c.ChannelRef), err
	})
}

// Exists GETs the record named id; a "not found" answer is (false, nil).
func (p *Pusher) Exists(ctx context.Context, kind record.Kind, id string) (string, bool, error) {
	found := true
	ref, err := p.breaker.Execute(func() (string, error) {
		rec, err := p.client.Get(ctx, channelbody.Resource(kind), id)
		if errors.Is(err, channelapi.ErrNotFound) {
			found = false
			return "", nil
		}
		return string(rec.ChannelRef), err
	})
	if err != nil {
		return "", false, err
	}
	return ref, found, nil
}

// Classify maps a channel error to the engine's failure classes: 1001 after
// a create or update is a possible create/update mismatch (Conflict), to be
// confirmed with Exists. While the circuit is open, transient failures are
// Paused: an outage spends no attempts.
func (p *Pusher) Classify(err error) syncer.Failure {
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return syncer.Failure{Class: syncer.Paused, RetryAfter: p.timeout, Reason: "channel unavailable: circuit open"}
	}
	var ce *channelapi.Error
	if !errors.As(err, &ce) {
		return syncer.Failure{Class: syncer.Transient, Reason: err.Error()}
	}
	if ce.Class == channelapi.ClassTransient && p.Open() {
		// This failure opened the circuit: it is the outage's, not the record's.
		return syncer.Failure{Class: syncer.Paused, RetryAfter: p.timeout, Reason: reason(ce)}
	}
	f := syncer.Failure{Reason: reason(ce), RetryAfter: ce.RetryAfter}
	switch ce.Class {
	case channelapi.ClassRateLimited:
		f.Class = syncer.RateLimited
	case channelapi.ClassAuth:
		f.Class = syncer.AuthFailed
	case channelapi.ClassPermanent:
		f.Class = syncer.Permanent
		f.Conflict = ce.Code == channelapi.CodeParam
	default:
		f.Class = syncer.Transient
	}
	return f
}

func reason(e *channelapi.Error) string {
	switch {
	case e.Code != 0 && e.Message != "":
		return fmt.Sprintf("code %d: %s", e.Code, e.Message)
	case e.Code != 0:
		return fmt.Sprintf("code %d", e.Code)
	}
	return e.Error()
}
