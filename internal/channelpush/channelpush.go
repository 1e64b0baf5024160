// Package channelpush adapts the channel API client to the sync engine: it
// sends payloads with the kind's create, update and read endpoints, and
// classifies the channel's errors into the engine's failure classes.
package channelpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chansync/chansync/internal/channelapi"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/syncer"
)

// Pusher implements syncer.Pusher over a channel API client.
type Pusher struct {
	client *channelapi.Client
}

// New returns a Pusher that uses client.
func New(client *channelapi.Client) *Pusher { return &Pusher{client: client} }

var _ syncer.Pusher = (*Pusher)(nil)

// Create POSTs body and returns the channel's own id.
func (p *Pusher) Create(ctx context.Context, kind record.Kind, body json.RawMessage) (string, error) {
	c, err := p.client.Create(ctx, kind, body)
	if err != nil {
		return "", err
	}
	return string(c.ChannelRef), nil
}

// Update PUTs body to the record named id and returns the channel's own id.
func (p *Pusher) Update(ctx context.Context, kind record.Kind, id string, body json.RawMessage) (string, error) {
	c, err := p.client.Update(ctx, kind, id, body)
	if err != nil {
		return "", err
	}
	return string(c.ChannelRef), nil
}

// Exists GETs the record named id; a "not found" answer is (false, nil).
func (p *Pusher) Exists(ctx context.Context, kind record.Kind, id string) (string, bool, error) {
	rec, err := p.client.Get(ctx, kind, id)
	if err != nil {
		if errors.Is(err, channelapi.ErrNotFound) {
			return "", false, nil
		}
		return "", false, err
	}
	return string(rec.ChannelRef), true, nil
}

// Classify maps a channel error to the engine's failure classes: 1001 after
// a create or update is a possible create/update mismatch (Conflict), to be
// confirmed with Exists.
func (p *Pusher) Classify(err error) syncer.Failure {
	var ce *channelapi.Error
	if !errors.As(err, &ce) {
		return syncer.Failure{Class: syncer.Transient, Reason: err.Error()}
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
