package channel

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/jsoncmp"
)

// client adapts the channel API client to the engine: create is POST,
// update is PUT, find is GET by our id, and the channel's answers are
// classified per channel-api.md.
type client struct {
	api *channelapi.Client
}

var _ target.Client = (*client)(nil)

// Create POSTs the body and returns the channel's own id.
func (c *client) Create(ctx context.Context, r target.Request) (target.Result, error) {
	created, err := c.api.Create(ctx, resourceOf(r.Kind), r.JSON)
	return target.Result{Ref: string(created.ChannelRef)}, err
}

// Update PUTs the body to the record named by our id.
func (c *client) Update(ctx context.Context, r target.Request) (target.Result, error) {
	created, err := c.api.Update(ctx, resourceOf(r.Kind), r.ID, r.JSON)
	return target.Result{Ref: string(created.ChannelRef)}, err
}

// Find GETs the record named by our id; a "not found" answer is a record
// the channel lacks, not an error. Same compares every field sent with the
// channel's copy.
func (c *client) Find(ctx context.Context, r target.Request) (target.Found, error) {
	rec, err := c.api.Get(ctx, resourceOf(r.Kind), r.ID)
	if errors.Is(err, channelapi.ErrNotFound) {
		return target.Found{}, nil
	}
	if err != nil {
		return target.Found{}, err
	}
	found := target.Found{Exists: true, Ref: string(rec.ChannelRef)}
	if r.JSON != nil {
		found.Same, _ = jsoncmp.Equal(r.JSON, rec.Raw)
	}
	return found, nil
}

// Classify maps a channel error to the engine's failure classes: 1001
// after a create or update may only mean the record is (or is not) there
// already (Conflict, confirmed with Find); 1002 and failures of the token
// endpoints hold the whole target; 429 waits; 5001, 5xx and network errors
// are transient, and may have been applied unless the connection was
// never made.
func (c *client) Classify(err error) target.Failure {
	var ce *channelapi.Error
	if !errors.As(err, &ce) {
		return target.Failure{Class: target.Transient, MaybeApplied: !neverSent(err), Reason: err.Error()}
	}
	f := target.Failure{Reason: reason(ce), RetryAfter: ce.RetryAfter, Answered: ce.HTTPStatus != 0}
	switch ce.Class {
	case channelapi.ClassRateLimited:
		f.Class = target.RateLimited
	case channelapi.ClassAuth:
		f.Class = target.Hold
		f.Hold = HoldAuth
		if ce.TokenEndpoint {
			f.Hold = HoldTokenEndpoint
		}
	case channelapi.ClassPermanent:
		f.Class = target.Permanent
		f.Conflict = ce.Code == channelapi.CodeParam
	default:
		f.Class = target.Transient
		// A failure to get a token means the data call was never sent.
		f.MaybeApplied = !ce.TokenEndpoint && !neverSent(ce)
	}
	return f
}

// The reasons the channel is held for.
const (
	// HoldAuth: the channel refuses our credentials (1002).
	HoldAuth = "auth failing"
	// HoldTokenEndpoint: /auth/token or /auth/refresh fails with an answer
	// that is no record's fault (1001, 1004, an unknown code, a bare 403).
	HoldTokenEndpoint = "token endpoint failing"
)

// neverSent reports whether err proves the request never reached the
// channel: the connection could not be made.
func neverSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

func reason(e *channelapi.Error) string {
	switch {
	case e.TokenEndpoint:
		return e.Error()
	case e.Code != 0 && e.Message != "":
		return fmt.Sprintf("code %d: %s", e.Code, e.Message)
	case e.Code != 0:
		return fmt.Sprintf("code %d", e.Code)
	}
	return e.Error()
}
