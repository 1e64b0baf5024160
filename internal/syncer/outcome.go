package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

// record writes every item's outcome and releases the leases (but those of
// records the push will look at again, unless it stops), then wakes the
// records that waited for the accepted ones.
func (p *push) record(ctx context.Context, items []*item, stopping bool) error {
	outcomes := make([]outcomeRow, len(items))
	var failIDs, failOutcomes, failErrors, acceptedIDs, released []string
	for i, it := range items {
		if it.outcome == "" {
			it.outcome = syncstatus.Waiting
		}
		keep := it.keepLease && it.outcome == syncstatus.Waiting && !stopping
		if !keep {
			released = append(released, it.id)
		}
		prm := outcomeRow{
			RecordID:      it.id,
			Status:        it.outcome.Next(it.state.Status),
			Outcome:       string(it.outcome),
			RemoteRef:     it.ref,
			Error:         it.reason,
			CountsAttempt: it.outcome.CountsAttempt(),
			Failure:       it.outcome.Failure(),
			BlockedOnKind: it.blocked.Kind, BlockedOnID: it.blocked.ID,
			UnsettledUntil: it.unsettled,
			KeepLease:      keep,
		}
		if it.built != nil {
			prm.SourceUpdatedAt = &it.built.UpdatedAt
			if it.outcome == syncstatus.Accepted {
				prm.Hash = it.built.Hash
				prm.Verb = "update"
				if it.created {
					prm.Verb = "create"
				}
				if p.k.KeepAccepted {
					prm.AcceptedPayload = it.built.JSON
				}
			}
			if it.sent && it.outcome != syncstatus.Accepted {
				prm.Payload = it.built.JSON
			}
		}
		outcomes[i] = prm
		switch it.outcome {
		case syncstatus.Accepted:
			acceptedIDs = append(acceptedIDs, it.id)
		case syncstatus.Unchanged:
			p.res.Unchanged++
		case syncstatus.Failed:
			p.res.Failed++
		case syncstatus.Died:
			p.res.Dead++
		case syncstatus.WasBlocked:
			p.res.Blocked++
		case syncstatus.Kept:
			p.res.Kept++
		}
		if it.outcome.Failure() {
			failIDs = append(failIDs, it.id)
			failOutcomes = append(failOutcomes, string(it.outcome))
			failErrors = append(failErrors, it.reason)
		}
		if p.e.cfg.Observer != nil && it.outcome != syncstatus.Waiting {
			p.e.cfg.Observer.Outcome(p.k, it.outcome, it.took)
		}
	}
	doc, err := json.Marshal(outcomes)
	if err != nil {
		return fmt.Errorf("record %s outcomes: %w", p.k, err)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	err = p.e.stateTx(wctx, false, func(q *dbsqlc.Queries) error {
		written, err := q.RecordOutcomes(wctx, dbsqlc.RecordOutcomesParams{Target: string(p.k.Target), Kind: p.k.Name, Outcomes: doc})
		if err != nil {
			return fmt.Errorf("record %s outcomes: %w", p.k, err)
		}
		if int(written) != len(outcomes) {
			// A row changed under the push (chansync_record_outcomes):
			// write none, as if the database had refused.
			return fmt.Errorf("record %s outcomes: wrote %d of %d records (a record's state changed under the push)", p.k, written, len(outcomes))
		}
		if len(failIDs) > 0 {
			if err := q.InsertAttempts(wctx, dbsqlc.InsertAttemptsParams{
				Target: string(p.k.Target), Kind: p.k.Name, Ids: failIDs, Outcomes: failOutcomes, Errors: failErrors,
			}); err != nil {
				return fmt.Errorf("record %s attempts: %w", p.k, err)
			}
		}
		return nil
	})
	if err != nil {
		// What the target did with the records sent is now known only to
		// it. Their leases are left to run out rather than released: the
		// next claim then finds a lease its holder never released and
		// looks the record up before creating it again (ClaimRecords).
		var sent []string
		for _, it := range items {
			if it.sent {
				sent = append(sent, it.id)
			}
		}
		p.setHeld(sent, false)
		return fmt.Errorf("record the outcomes of %d %s (%d sent to the target; their leases are left to run out): %w", len(items), p.k.Plural, len(sent), err)
	}
	p.setHeld(released, false)
	if len(acceptedIDs) > 0 && p.e.cfg.EnqueueFunc != nil && len(p.e.reg.Dependants(p.k)) > 0 {
		blocked, err := p.e.q.BlockedOn(wctx, dbsqlc.BlockedOnParams{Target: string(p.k.Target), ParentKind: p.k.Name, ParentIds: acceptedIDs})
		if err != nil {
			return fmt.Errorf("find records blocked on %s: %w", p.k, err)
		}
		if len(blocked) > 0 {
			refs := make([]target.Ref, len(blocked))
			for i, b := range blocked {
				refs[i] = target.Ref{Target: p.k.Target, Kind: b.Kind, ID: b.RecordID}
			}
			if err := p.e.cfg.EnqueueFunc(wctx, p.opts.Queue, refs); err != nil {
				return fmt.Errorf("wake records blocked on %s: %w", p.k, err)
			}
		}
	}
	return nil
}

// outcomeRow is one record's outcome as chansync_record_outcomes reads it
// (a migration defines the function; db/queries/sync_state.sql calls it).
type outcomeRow struct {
	RecordID        string            `json:"record_id"`
	Status          syncstatus.Status `json:"status"`
	Outcome         string            `json:"outcome"`
	Hash            []byte            `json:"hash,omitempty"` // base64
	RemoteRef       string            `json:"remote_ref,omitempty"`
	AcceptedPayload json.RawMessage   `json:"accepted_payload,omitempty"`
	SourceUpdatedAt *time.Time        `json:"source_updated_at,omitempty"`
	UnsettledUntil  *time.Time        `json:"unsettled_until,omitempty"`
	CountsAttempt   bool              `json:"counts_attempt"`
	Error           string            `json:"error,omitempty"`
	Failure         bool              `json:"failure"`
	BlockedOnKind   string            `json:"blocked_on_kind,omitempty"`
	BlockedOnID     string            `json:"blocked_on_id,omitempty"`
	Payload         json.RawMessage   `json:"payload,omitempty"`
	Verb            string            `json:"verb,omitempty"`
	KeepLease       bool              `json:"keep_lease"`
}
