package points

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// client adapts the points API client to the engine: a grant is created
// by a recharge, found in its user's ledger, and never updated.
type client struct {
	api *pointsapi.Client
}

var _ target.Client = (*client)(nil)

// Create credits the grant: one recharge. It returns no Ref: the answer
// does not name the ledger entry, and reading the ledger for it would
// double the requests of every grant.
func (c *client) Create(ctx context.Context, r target.Request) (target.Result, error) {
	g, err := grantOf(r)
	if err != nil {
		return target.Result{}, err
	}
	_, err = c.api.Recharge(ctx, pointsapi.RechargeRequest{
		ClientUserID:    g.ClientUserID,
		AmountCents:     g.AmountCents,
		ExternalOrderID: g.ExternalOrderID,
		Reason:          g.Reason,
	})
	if err != nil {
		return target.Result{}, err
	}
	return target.Result{}, nil
}

// Update is reached only when the grant's hash changed after it was
// credited (or after a credit of it was found): its amount or its user,
// since the hash leaves the reason out. A credited grant cannot change: it
// answers an *ImmutableError naming each changed field, and sends nothing.
// When nothing it compares changed (verify --fix forgot the hash), it
// answers success, still sending nothing.
//
// What was credited is the body accepted before (Request.Accepted); a
// grant adopted from the ledger has none yet, and its credit is read from
// the user's ledger again.
func (c *client) Update(ctx context.Context, r target.Request) (target.Result, error) {
	g, err := grantOf(r)
	if err != nil {
		return target.Result{}, err
	}
	var credited Grant
	ref := r.Ref
	if len(r.Accepted) > 0 {
		if err := json.Unmarshal(r.Accepted, &credited); err != nil {
			return target.Result{}, &ImmutableError{OrderID: g.ExternalOrderID, Unreadable: err}
		}
	} else {
		entries, err := c.credits(ctx, g.ClientUserID, g.ExternalOrderID)
		if err != nil {
			return target.Result{}, err
		}
		if len(entries) == 0 {
			return target.Result{}, &ImmutableError{OrderID: g.ExternalOrderID, Vanished: true}
		}
		e := pick(entries, g.AmountCents)
		credited = Grant{ExternalOrderID: g.ExternalOrderID, ClientUserID: g.ClientUserID, AmountCents: e.AmountCents}
		ref = strconv.FormatInt(e.ID, 10)
	}
	ie := &ImmutableError{OrderID: g.ExternalOrderID}
	if credited.AmountCents != g.AmountCents {
		ie.Changes = append(ie.Changes, Change{Field: "amount_cents",
			Credited: strconv.FormatInt(credited.AmountCents, 10), Now: strconv.FormatInt(g.AmountCents, 10)})
	}
	if credited.ClientUserID != g.ClientUserID {
		ie.Changes = append(ie.Changes, Change{Field: "channel_user_id", Credited: credited.ClientUserID, Now: g.ClientUserID})
	}
	if len(ie.Changes) > 0 {
		return target.Result{}, ie
	}
	return target.Result{Ref: ref}, nil
}

// Find reads the grant's user's whole ledger, every page, for recharge
// entries whose reason carries the order id (pointsapi.ReasonMentions).
// Found: Exists, Same when one of them has the grant's amount, and Ref the
// id of that entry (or of the oldest one) as text. When the user's ledger
// has none and the body accepted before names another user, that user's
// ledger is read too (found there: not Same). The engine calls it only
// once a recharge sent before can no longer be in flight.
func (c *client) Find(ctx context.Context, r target.Request) (target.Found, error) {
	g, err := grantOf(r)
	if err != nil {
		return target.Found{}, err
	}
	entries, err := c.credits(ctx, g.ClientUserID, g.ExternalOrderID)
	if err != nil {
		return target.Found{}, err
	}
	if len(entries) > 0 {
		e := pick(entries, g.AmountCents)
		return target.Found{Exists: true, Ref: strconv.FormatInt(e.ID, 10), Same: e.AmountCents == g.AmountCents}, nil
	}
	// A grant credited to another user and moved since: credited before
	// (verify --fix forgets that it was credited, not to whom), or sent to
	// that user by an attempt whose outcome is unknown. Found there, it is
	// not the same, and Update refuses the move.
	for _, earlier := range [][]byte{r.Accepted, r.LastSent} {
		var other Grant
		if len(earlier) == 0 || json.Unmarshal(earlier, &other) != nil ||
			other.ClientUserID == "" || other.ClientUserID == g.ClientUserID {
			continue
		}
		entries, err = c.credits(ctx, other.ClientUserID, g.ExternalOrderID)
		if err != nil {
			return target.Found{}, err
		}
		if len(entries) > 0 {
			return target.Found{Exists: true, Ref: strconv.FormatInt(pick(entries, other.AmountCents).ID, 10)}, nil
		}
	}
	return target.Found{}, nil
}

// credits returns the recharge entries of the user's ledger whose reason
// carries orderID, oldest first. A ledger that could not be read to the
// end is an error: a part of it proves nothing.
func (c *client) credits(ctx context.Context, userID, orderID string) ([]pointsapi.LogEntry, error) {
	var out []pointsapi.LogEntry
	for e, err := range c.api.AllLogs(ctx, userID) {
		if err != nil {
			return nil, fmt.Errorf("read the ledger of %s for order %s: %w", userID, orderID, err)
		}
		if e.RecordType == pointsapi.RecordRecharge && pointsapi.ReasonMentions(e.Reason, orderID) {
			out = append(out, e)
		}
	}
	// AllLogs yields newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// pick returns the oldest entry of the amount, or the oldest entry.
func pick(entries []pointsapi.LogEntry, amount int64) pointsapi.LogEntry {
	for _, e := range entries {
		if e.AmountCents == amount {
			return e
		}
	}
	return entries[0]
}

func grantOf(r target.Request) (*Grant, error) {
	g, ok := r.Body.(*Grant)
	if !ok {
		return nil, fmt.Errorf("points: a request of kind %s carries %T, not a grant", r.Kind, r.Body)
	}
	return g, nil
}

// Change is one field of a credited grant that changed.
type Change struct {
	// Field is the local column: amount_cents or channel_user_id.
	Field string
	// Credited is what was credited; Now is the row's value.
	Credited, Now string
}

// ImmutableError refuses a change to a credited grant: the engine
// dead-letters the grant with its message, and nothing is sent.
type ImmutableError struct {
	// OrderID names the grant.
	OrderID string
	// Changes are the fields that changed.
	Changes []Change
	// Vanished is set when a credit found in the ledger before is no longer
	// there.
	Vanished bool
	// Unreadable is set when the body accepted before could not be read.
	Unreadable error
}

// Error renders the refusal, e.g. "amount_cents: already credited 1000,
// now 2000: a credited grant cannot change".
func (e *ImmutableError) Error() string {
	switch {
	case e.Unreadable != nil:
		return "external_order_id: the body credited before cannot be read (" + e.Unreadable.Error() + "): a credited grant cannot change"
	case e.Vanished:
		return "external_order_id: a credit of " + e.OrderID + " found in the ledger before is no longer there: check the ledger (enqueue points logs)"
	}
	parts := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		parts[i] = fmt.Sprintf("%s: already credited %s, now %s: a credited grant cannot change", c.Field, c.Credited, c.Now)
	}
	return strings.Join(parts, "; ")
}

// Classify maps an error of the client to the engine's classes:
//
//   - 402 (pool too low) holds the target as HoldPoolLow, 401 (key refused)
//     as HoldAuth: no grant is failed or dead for them;
//   - 429 waits for its Retry-After;
//   - 408, 5xx, network errors and unreadable answers are transient;
//     MaybeApplied when the request was written (pointsapi.Error.Sent),
//     and Answered only when APIHub's own envelope came back and the
//     status is not 504 (a bare 502 or a gateway timeout may leave the
//     request still working behind the gateway);
//   - an *ImmutableError, any other 4xx and a request the client refused
//     to send are permanent (a dead letter; never a conflict to confirm:
//     there is nothing to switch to).
func (c *client) Classify(err error) target.Failure {
	var ie *ImmutableError
	if errors.As(err, &ie) {
		return target.Failure{Class: target.Permanent, Reason: ie.Error()}
	}
	var pe *pointsapi.Error
	if !errors.As(err, &pe) {
		return target.Failure{Class: target.Transient, MaybeApplied: true, Reason: err.Error()}
	}
	f := target.Failure{Reason: pe.Error(), RetryAfter: pe.RetryAfter, Answered: pe.HTTPStatus != 0}
	switch pe.Class {
	case pointsapi.ClassPoolTooLow:
		f.Class, f.Hold = target.Hold, HoldPoolLow
	case pointsapi.ClassAuth:
		f.Class, f.Hold = target.Hold, HoldAuth
	case pointsapi.ClassRateLimited:
		f.Class = target.RateLimited
	case pointsapi.ClassData:
		f.Class = target.Permanent
	default:
		f.Class = target.Transient
		f.MaybeApplied = pe.Sent
		f.Answered = pe.HTTPStatus != 0 && pe.Code != 0 && pe.HTTPStatus != http.StatusGatewayTimeout
	}
	return f
}
