package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// holdTTL is how long a process trusts what it read of a target's hold
// before it reads it again: a hold put or lifted by another process is
// seen within this long.
const holdTTL = time.Second

// holdCache remembers each target's hold briefly, so that every batch does
// not read it.
type holdCache struct {
	mu      sync.Mutex
	entries map[target.Name]holdEntry
}

type holdEntry struct {
	hold *dbsqlc.TargetHold
	read time.Time
}

func newHoldCache() *holdCache { return &holdCache{entries: map[target.Name]holdEntry{}} }

func (c *holdCache) get(t target.Name) (*dbsqlc.TargetHold, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[t]
	if !ok || time.Since(e.read) > holdTTL {
		return nil, false
	}
	return e.hold, true
}

// forget drops what the cache knows of t's hold: the next look reads it.
func (c *holdCache) forget(t target.Name) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, t)
}

func (c *holdCache) set(t target.Name, h *dbsqlc.TargetHold) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[t] = holdEntry{hold: h, read: time.Now()}
}

// Hold returns the hold on target t, nil when it is not held.
func (e *Engine) Hold(ctx context.Context, t target.Name) (*dbsqlc.TargetHold, error) {
	if h, ok := e.holds.get(t); ok {
		return h, nil
	}
	h, err := e.q.GetHold(ctx, string(t))
	if errors.Is(err, pgx.ErrNoRows) {
		e.holds.set(t, nil)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read hold on %s: %w", t, err)
	}
	e.holds.set(t, &h)
	return &h, nil
}

// checkHold reads the hold on the push's target. Not held: it returns
// nothing. Held with a probe due: this push may take the probe (probe is
// true: push one record). Otherwise it returns how long to wait and why.
func (p *push) checkHold(ctx context.Context) (probe bool, wait time.Duration, reason string, err error) {
	h, err := p.e.Hold(ctx, p.k.Target)
	if err != nil || h == nil {
		return false, 0, "", err
	}
	if until := time.Until(h.NextProbeAt); until > 0 {
		return false, until + jitter(until), h.Reason, nil
	}
	taken, err := p.e.q.TakeHoldProbe(ctx, dbsqlc.TakeHoldProbeParams{Target: string(p.k.Target), ProbeSeconds: p.rt.holdProbe.Seconds()})
	if errors.Is(err, pgx.ErrNoRows) {
		// Another push took the probe: the target is still held until its
		// answer. The next look reads the hold again (with the next probe's
		// time, or gone if the probe lifted it).
		p.e.holds.forget(p.k.Target)
		return false, p.rt.holdProbe, h.Reason, nil
	}
	if err != nil {
		return false, 0, "", fmt.Errorf("take probe of %s: %w", p.k.Target, err)
	}
	p.e.holds.set(p.k.Target, &taken)
	p.e.logger.InfoContext(ctx, "probing a held target", p.attrs("", slog.String("hold", taken.Reason))...)
	return true, 0, taken.Reason, nil
}

// jitter spreads the wake-ups of the jobs waiting for a probe over up to
// a tenth of the wait (at most 5s).
func jitter(d time.Duration) time.Duration {
	return time.Duration(time.Now().UnixNano() % int64(min(d/10, 5*time.Second)+1))
}

// probeRetry is how soon a probe that learnt nothing of the hold is
// followed by another.
const probeRetry = time.Second

// endProbe ends a probe. The target's own answer to a request the probe
// sent, if it is not the hold's failure (the record accepted, or refused
// for itself), lifts the hold. The hold's failure again leaves it held
// until the next probe (put by hold). A probe that learnt nothing — it sent
// nothing (a record found on the target by a lookup, one whose earlier
// create may still be in flight) or met another failure (a 5xx, a lost
// answer) — lets the next probe come at once rather than a whole probe
// interval later.
func (p *push) endProbe(ctx context.Context, it *item, reason string) {
	if it.held {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lifted := it.sent && (it.outcome == syncstatus.Accepted || (it.outcome == syncstatus.Died && it.answered))
	if !lifted {
		h, err := p.e.q.ReopenHoldProbe(wctx, dbsqlc.ReopenHoldProbeParams{Target: string(p.k.Target), AfterSeconds: probeRetry.Seconds()})
		switch {
		case err == nil:
			p.e.holds.set(p.k.Target, &h)
		case !errors.Is(err, pgx.ErrNoRows):
			p.e.logger.WarnContext(ctx, "reopen hold probe", p.attrs("", slog.String("error", err.Error()))...)
		}
		p.snooze(probeRetry)
		return
	}
	if _, err := p.e.q.LiftHold(wctx, string(p.k.Target)); err != nil {
		p.e.logger.WarnContext(ctx, "lift hold", p.attrs("", slog.String("error", err.Error()))...)
		return
	}
	p.e.holds.set(p.k.Target, nil)
	p.e.logger.WarnContext(ctx, "target hold lifted: pushing resumes", p.attrs("", slog.String("hold", reason))...)
}

// hold holds the push's target, across processes, for a failure that is
// the target's (credentials refused, a token endpoint failing, a points
// pool too low); the batch stops and its job waits for the next probe.
func (p *push) hold(ctx context.Context, f target.Failure) {
	reason := f.Hold
	if reason == "" {
		reason = "held"
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	h, err := p.e.q.PutHold(wctx, dbsqlc.PutHoldParams{
		Target: string(p.k.Target), Reason: reason, Detail: f.Reason, ProbeSeconds: p.rt.holdProbe.Seconds(),
	})
	// The push that starts the hold says so at ERROR; those that meet it
	// too (its records pushed side by side, a probe that failed) at INFO.
	level := slog.LevelError
	if err != nil {
		p.e.logger.ErrorContext(ctx, "record hold", p.attrs("", slog.String("error", err.Error()))...)
	} else {
		p.e.holds.set(p.k.Target, &h)
		if !h.Since.Equal(h.UpdatedAt) {
			level = slog.LevelInfo
		}
	}
	p.stopped.Store(true)
	p.tally(func(r *Result) { r.Held = reason })
	p.snooze(p.rt.holdProbe)
	p.e.logger.Log(ctx, level, "target held: pushing to it paused in every worker", p.attrs("",
		slog.String("hold", reason), slog.String("error", f.Reason), slog.Duration("next_probe_in", p.rt.holdProbe))...)
}
