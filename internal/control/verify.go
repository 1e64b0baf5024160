package control

import (
	"context"
	"fmt"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/queue"
	"github.com/chansync/chansync/internal/target"
)

// KindVerify is what verify found for one kind.
type KindVerify struct {
	Target string `json:"target"`
	Kind   string `json:"kind"`
	// Local counts the valid local records compared.
	Local int `json:"local"`
	// Missing, Extra, Different and Duplicate count the differences.
	Missing   int `json:"missing"`
	Extra     int `json:"extra"`
	Different int `json:"different"`
	Duplicate int `json:"duplicate"`
	// Skipped is set when the target cannot be verified.
	Skipped string `json:"skipped,omitempty"`
}

// VerifyReport is what verify found, and what it enqueued to repair.
type VerifyReport struct {
	Kinds       []KindVerify        `json:"kinds"`
	Differences []target.Difference `json:"differences"`
	// Fixed counts the records enqueued for a repair (--fix).
	Fixed int `json:"fixed"`
}

// Clean reports whether verify found no difference.
func (r VerifyReport) Clean() bool { return len(r.Differences) == 0 }

// Verify compares what each selected kind's target holds with the valid
// local records. With fix it makes every missing or different record look
// changed (a missing one also unknown to the target, so that it is looked
// up and created) and enqueues its push; extra and duplicate records are
// reported only (chansync deletes nothing on a target).
func (c *Controller) Verify(ctx context.Context, kinds []*target.Kind, fix bool) (VerifyReport, error) {
	var rep VerifyReport
	if len(kinds) == 0 {
		kinds = c.reg.Kinds()
	}
	for _, k := range kinds {
		t, err := c.reg.Target(k.Target)
		if err != nil {
			return rep, err
		}
		kv := KindVerify{Target: string(k.Target), Kind: k.Name}
		if t.Verifier == nil {
			kv.Skipped = "the target cannot be verified"
			rep.Kinds = append(rep.Kinds, kv)
			continue
		}
		local, err := c.localSet(ctx, k)
		if err != nil {
			return rep, err
		}
		kv.Local = len(local.ids)
		var missing, different []string
		err = t.Verifier.Verify(ctx, k, local, func(d target.Difference) {
			rep.Differences = append(rep.Differences, d)
			switch d.Problem {
			case target.Missing:
				kv.Missing++
				missing = append(missing, d.Ref.ID)
			case target.Extra:
				kv.Extra++
			case target.Different:
				kv.Different++
				different = append(different, d.Ref.ID)
			case target.Duplicate:
				kv.Duplicate++
			}
		})
		if err != nil {
			return rep, fmt.Errorf("verify %s: %w", k, err)
		}
		rep.Kinds = append(rep.Kinds, kv)
		if fix {
			n, err := c.repair(ctx, k, missing, different)
			if err != nil {
				return rep, err
			}
			rep.Fixed += n
		}
	}
	return rep, nil
}

// repair makes the named records look changed and enqueues their push.
func (c *Controller) repair(ctx context.Context, k *target.Kind, missing, different []string) (int, error) {
	for _, set := range []struct {
		ids    []string
		remote bool
	}{{missing, true}, {different, false}} {
		if len(set.ids) == 0 {
			continue
		}
		if err := c.q.ForgetRecords(ctx, dbsqlc.ForgetRecordsParams{
			Target: string(k.Target), Kind: k.Name, Ids: set.ids, ForgetRemote: set.remote,
		}); err != nil {
			return 0, fmt.Errorf("repair %s: %w", k, err)
		}
	}
	refs := make([]target.Ref, 0, len(missing)+len(different))
	for _, id := range append(append([]string(nil), missing...), different...) {
		refs = append(refs, k.Ref(id))
	}
	if _, err := c.inserter.Insert(ctx, c.client, refs, queue.Bulk); err != nil {
		return 0, fmt.Errorf("repair %s: %w", k, err)
	}
	return len(refs), nil
}

// localSet is the valid local records of one kind (target.LocalSet).
type localSet struct {
	c   *Controller
	k   *target.Kind
	ids []string
}

func (c *Controller) localSet(ctx context.Context, k *target.Kind) (*localSet, error) {
	ls := &localSet{c: c, k: k}
	after := ""
	for {
		built, err := k.Page(ctx, c.pool, after, c.pageSize)
		if err != nil {
			return nil, fmt.Errorf("read %s rows: %w", k, err)
		}
		if len(built) == 0 {
			return ls, nil
		}
		for _, b := range built {
			if b.Valid() {
				ls.ids = append(ls.ids, b.Ref.ID)
			}
		}
		after = built[len(built)-1].Ref.ID
	}
}

// IDs returns the ids of the valid local records, sorted.
func (ls *localSet) IDs() []string { return ls.ids }

// Load returns the valid local records among ids, with the target's ids
// the sync state knows.
func (ls *localSet) Load(ctx context.Context, ids []string) (map[string]target.Local, error) {
	built, err := ls.k.Load(ctx, ls.c.pool, ids)
	if err != nil {
		return nil, fmt.Errorf("read %s rows: %w", ls.k, err)
	}
	kinds := make([]string, len(ids))
	for i := range ids {
		kinds[i] = ls.k.Name
	}
	states, err := ls.c.q.SyncStates(ctx, dbsqlc.SyncStatesParams{Target: string(ls.k.Target), Kinds: kinds, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("read %s sync state: %w", ls.k, err)
	}
	refs := make(map[string]string, len(states))
	for _, s := range states {
		if s.RemoteRef != nil {
			refs[s.RecordID] = *s.RemoteRef
		}
	}
	out := make(map[string]target.Local, len(built))
	for id, b := range built {
		if b.Valid() {
			out[id] = target.Local{Built: b, Ref: refs[id]}
		}
	}
	return out, nil
}
