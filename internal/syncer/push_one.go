package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// errPaused is the error of a call refused by an open circuit.
var errPaused = errors.New("target unavailable: circuit open")

// verdict is a classified failure, with whether the target's circuit was
// open (the failure is the outage's, not the record's).
type verdict struct {
	target.Failure
	paused bool
}

// call runs one client call behind the target's circuit breaker.
func (p *push) call(fn func() (target.Result, error)) (target.Result, error) {
	res, err := p.rt.breaker.Execute(fn)
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return res, errPaused
	}
	return res, err
}

func (p *push) classify(err error) verdict {
	if errors.Is(err, errPaused) {
		return verdict{Failure: target.Failure{Class: target.Transient, Reason: errPaused.Error()}, paused: true}
	}
	f := p.rt.Client.Classify(err)
	// A transient failure that opened the circuit is the outage's.
	return verdict{Failure: f, paused: f.Class == target.Transient && p.rt.breaker.State() == gobreaker.StateOpen}
}

// find looks the record up behind the breaker.
func (p *push) find(ctx context.Context, req target.Request) (target.Found, error) {
	var found target.Found
	_, err := p.call(func() (target.Result, error) {
		var err error
		found, err = p.rt.Client.Find(ctx, req)
		return target.Result{Ref: found.Ref}, err
	})
	return found, err
}

// pushOne pushes one ready record with create-or-update, and reports
// whether the batch must stop. A record the target has never accepted is
// created; if an earlier create of it may have reached the target without
// our seeing its success (unsettled), it is looked up first — once that
// create can no longer be in flight — and adopted when found.
func (p *push) pushOne(ctx context.Context, it *item, parents map[target.Ref]dbsqlc.SyncState) bool {
	start := time.Now()
	defer func() { it.took = time.Since(start) }()
	req := target.Request{
		Kind: p.k, ID: it.id, Body: it.built.Body, JSON: it.built.JSON,
		Accepted: it.state.AcceptedPayload, LastSent: it.state.LastPayload, ParentRefs: parentRefs(it.built, parents),
	}
	if it.state.RemoteRef != nil {
		req.Ref = *it.state.RemoteRef
	}
	create := it.state.RemoteRef == nil && it.state.AcceptedAt == nil

	if create && it.unsettled != nil {
		if wait := time.Until(*it.unsettled); wait > 0 {
			it.outcome, it.later = syncstatus.Waiting, true
			it.reason = fmt.Sprintf("an earlier create may still be in flight: looked up after %s", it.unsettled.UTC().Format(time.RFC3339))
			p.snooze(wait + 100*time.Millisecond)
			return false
		}
		found, err := p.find(ctx, req)
		if err != nil {
			return p.failed(ctx, it, err)
		}
		it.unsettled = nil
		if found.Exists {
			p.e.logger.InfoContext(ctx, "found on the target after an unknown create: adopted", p.attrs(it.id, slog.String("ref", found.Ref))...)
			it.ref, req.Ref = found.Ref, found.Ref
			p.tally(func(r *Result) { r.Adopted++ })
			if found.Same {
				p.accept(it, true)
				return false
			}
			create = false
		}
	}

	switched := false
	for {
		if p.stopped.Load() {
			// Another record of the batch met a hold, a pause or a long
			// rate limit: send nothing more.
			it.outcome = syncstatus.Waiting
			return true
		}
		it.sent = true
		var res target.Result
		var err error
		if create {
			res, err = p.call(func() (target.Result, error) { return p.rt.Client.Create(ctx, req) })
		} else {
			res, err = p.call(func() (target.Result, error) { return p.rt.Client.Update(ctx, req) })
		}
		if res.Ref != "" {
			it.ref, req.Ref = res.Ref, res.Ref
		}
		if err == nil {
			if create {
				it.unsettled = nil
			}
			p.accept(it, create)
			return false
		}
		if create && res.Ref != "" {
			// Created, then a later step failed: the next push updates.
			it.unsettled = nil
			create = false
		}
		if ctx.Err() != nil {
			// Shutdown, job timeout or lost leases, in the middle of a
			// request: a create may have reached the target.
			if create && !errors.Is(err, errPaused) {
				it.unsettled = ptr(time.Now().Add(p.rt.InFlightBound))
			}
			it.outcome = syncstatus.Waiting
			return true
		}
		v := p.classify(err)
		if create && v.MaybeApplied {
			settle := p.rt.InFlightBound
			if v.Answered {
				settle = 0
			}
			it.unsettled = ptr(time.Now().Add(settle))
		}
		switch {
		case v.paused:
			it.outcome = syncstatus.Waiting
			p.snooze(max(p.e.cfg.BreakerTimeout/2, time.Second))
			p.e.logger.InfoContext(ctx, "target unavailable, pausing", p.attrs(it.id, slog.String("error", v.Reason))...)
			return true
		case v.Class == target.RateLimited:
			wait := v.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			if wait > p.e.cfg.MaxInlineRateWait {
				it.outcome = syncstatus.Waiting
				p.snooze(wait)
				return true
			}
			p.e.logger.InfoContext(ctx, "rate limited, waiting", p.attrs(it.id, slog.Duration("retry_after", wait))...)
			if p.e.cfg.Observer != nil {
				p.e.cfg.Observer.RateLimited(p.k, wait)
			}
			select {
			case <-ctx.Done():
				it.outcome = syncstatus.Waiting
				return true
			case <-time.After(wait):
			}
			continue
		case v.Class == target.Hold:
			it.outcome, it.held = syncstatus.Waiting, true
			p.hold(ctx, v.Failure)
			return true
		case v.Class == target.Permanent:
			if v.Conflict && !switched {
				found, ferr := p.find(ctx, req)
				if ferr != nil {
					return p.failed(ctx, it, ferr)
				}
				if found.Exists == create {
					// A create of a record the target has, or an update of
					// one it lacks: switch verb once.
					if found.Exists {
						it.ref, req.Ref = found.Ref, found.Ref
					}
					create, switched = !found.Exists, true
					continue
				}
			}
			it.outcome, it.answered = syncstatus.Died, v.Answered
			if v.Answered {
				it.reason = fmt.Sprintf("%s: %s rejected: %s", it.built.Path(), p.k.Target, v.Reason)
			} else {
				// Refused before anything was sent (the target's own rules
				// in chansync, such as a credited grant that may not change).
				it.reason = fmt.Sprintf("%s: %s", it.built.Path(), v.Reason)
			}
			p.e.logger.WarnContext(ctx, "record dead-lettered", p.attrs(it.id, slog.String("reason", it.reason))...)
			return false
		default:
			p.fail(ctx, it, v.Reason)
			return false
		}
	}
}

// failed handles an error met outside create and update (a lookup): a
// hold, a pause or a rate limit stops the batch, anything else is a
// transient failure of the record (the lookup is repeated next time).
func (p *push) failed(ctx context.Context, it *item, err error) bool {
	if ctx.Err() != nil {
		it.outcome = syncstatus.Waiting
		return true
	}
	v := p.classify(err)
	switch {
	case v.paused:
		it.outcome = syncstatus.Waiting
		p.snooze(max(p.e.cfg.BreakerTimeout/2, time.Second))
		return true
	case v.Class == target.RateLimited:
		it.outcome = syncstatus.Waiting
		p.snooze(max(v.RetryAfter, time.Second))
		return true
	case v.Class == target.Hold:
		it.outcome, it.held = syncstatus.Waiting, true
		p.hold(ctx, v.Failure)
		return true
	case v.Class == target.Permanent:
		it.outcome = syncstatus.Died
		it.reason = fmt.Sprintf("%s: %s lookup rejected: %s", it.built.Path(), p.k.Target, v.Reason)
		p.e.logger.WarnContext(ctx, "record dead-lettered", p.attrs(it.id, slog.String("reason", it.reason))...)
		return false
	}
	p.fail(ctx, it, "lookup: "+v.Reason)
	return false
}

func (p *push) accept(it *item, created bool) {
	it.outcome, it.created = syncstatus.Accepted, created
	if created {
		p.tally(func(r *Result) { r.Created++ })
	} else {
		p.tally(func(r *Result) { r.Updated++ })
	}
}

func (p *push) fail(ctx context.Context, it *item, reason string) {
	if p.opts.FinalAttempt {
		it.outcome = syncstatus.Died
		it.reason = fmt.Sprintf("%s: gave up after %d attempts: %s", it.built.Path(), it.state.Attempts+1, reason)
		p.e.logger.WarnContext(ctx, "record dead-lettered", p.attrs(it.id, slog.String("reason", it.reason))...)
		return
	}
	it.outcome = syncstatus.Failed
	it.reason = reason
	p.tally(func(r *Result) { r.LastError = reason })
	p.e.logger.InfoContext(ctx, "push failed, will retry", p.attrs(it.id, slog.String("error", reason))...)
}

// parentRefs returns the targets' ids of a record's parents.
func parentRefs(b *target.Built, parents map[target.Ref]dbsqlc.SyncState) map[target.Ref]string {
	if len(b.Parents) == 0 {
		return nil
	}
	out := make(map[target.Ref]string, len(b.Parents))
	for _, pr := range b.Parents {
		if st, ok := parents[pr.Ref]; ok && st.RemoteRef != nil {
			out[pr.Ref] = *st.RemoteRef
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
