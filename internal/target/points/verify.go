package points

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// verifyLoadSize is how many local grants verify loads at a time.
const verifyLoadSize = 500

// verifyParallel bounds the ledgers verify reads at once.
const verifyParallel = 4

// ourTag finds the order id in a reason written the way chansync writes
// it (pointsapi.ReasonFor): a reason ending in "[ORDER_ID]", the id 1 to 64
// of [A-Za-z0-9_-].
var ourTag = regexp.MustCompile(`(?:^|\s)\[([A-Za-z0-9_-]{1,64})\]$`)

// OrderIDOf returns the order id of a ledger reason written the way
// chansync writes it ("年终奖励 [G20261130001]"), or "" for a reason that is
// not.
func OrderIDOf(reason string) string {
	if m := ourTag.FindStringSubmatch(reason); m != nil {
		return m[1]
	}
	return ""
}

// verifier compares the ledgers with the local grants: for every user of
// a valid local grant, it reads the user's whole ledger once and matches
// its recharge entries with the user's grants.
type verifier struct {
	api *pointsapi.Client
}

// Verify reports, for the grants:
//
//   - missing: a valid local grant whose user's ledger has no recharge
//     entry carrying its order id. Every valid grant is checked, not only
//     those the sync state says are credited: a grant never pushed yet is
//     missing too, and --fix enqueues it (looked up first, then credited).
//   - duplicate: a grant whose order id two or more recharge entries carry
//     (credited more than once).
//   - different: a recharge entry carries the order id with another amount
//     (field amount_cents), or a recharge entry in chansync's format in
//     the ledger of a user the grant does not name (field channel_user_id;
//     seen only when that user's ledger is read: when they have a valid
//     local grant too).
//   - extra: a recharge entry whose reason carries an order id in
//     chansync's format (OrderIDOf) that is no valid local grant.
//
// "Carries the order id" is pointsapi.ReasonMentions, as for the engine's
// lookup.
func (v *verifier) Verify(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	if k.Name != grantKind.Name {
		return fmt.Errorf("points: no verify for kind %s", k.Name)
	}
	ids := local.IDs()
	grants := make(map[string]*Grant, len(ids))
	byUser := map[string][]*Grant{}
	for start := 0; start < len(ids); start += verifyLoadSize {
		locals, err := local.Load(ctx, ids[start:min(start+verifyLoadSize, len(ids))])
		if err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(locals)) {
			g, ok := locals[id].Built.Body.(*Grant)
			if !ok {
				continue
			}
			grants[id] = g
			byUser[g.ClientUserID] = append(byUser[g.ClientUserID], g)
		}
	}
	users := slices.Sorted(maps.Keys(byUser))
	found := make([][]target.Difference, len(users))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(verifyParallel)
	for i, u := range users {
		eg.Go(func() error {
			var entries []pointsapi.LogEntry
			for e, err := range v.api.AllLogs(ectx, u) {
				if err != nil {
					return fmt.Errorf("read the ledger of %s: %w", u, err)
				}
				if e.RecordType == pointsapi.RecordRecharge {
					entries = append(entries, e)
				}
			}
			found[i] = compareLedger(k, u, byUser[u], grants, entries)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	for _, diffs := range found {
		for _, d := range diffs {
			report(d)
		}
	}
	return nil
}

// compareLedger compares one user's recharge entries (newest first) with
// the user's grants; grants holds every valid local grant by order id.
func compareLedger(k *target.Kind, user string, mine []*Grant, grants map[string]*Grant, entries []pointsapi.LogEntry) []target.Difference {
	var out []target.Difference
	claimed := make([]bool, len(entries))
	for _, g := range mine {
		var hits []pointsapi.LogEntry
		for i := len(entries) - 1; i >= 0; i-- { // oldest first
			if pointsapi.ReasonMentions(entries[i].Reason, g.ExternalOrderID) {
				hits = append(hits, entries[i])
				claimed[i] = true
			}
		}
		ref := k.Ref(g.ExternalOrderID)
		if len(hits) == 0 {
			out = append(out, target.Difference{Ref: ref, Problem: target.Missing,
				Detail: fmt.Sprintf("no recharge entry in the ledger of %s carries the order id", user)})
			continue
		}
		if len(hits) > 1 {
			out = append(out, target.Difference{Ref: ref, Problem: target.Duplicate,
				Detail: fmt.Sprintf("credited %d times to %s: ledger entries %s", len(hits), user, entryIDs(hits))})
		}
		for _, e := range hits {
			if e.AmountCents != g.AmountCents {
				out = append(out, target.Difference{Ref: ref, Problem: target.Different, Fields: []string{"amount_cents"},
					Detail: fmt.Sprintf("ledger entry %d of %s credits %d, the grant %d", e.ID, user, e.AmountCents, g.AmountCents)})
			}
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		id := OrderIDOf(e.Reason)
		if claimed[i] || id == "" {
			continue
		}
		if g, ok := grants[id]; ok {
			out = append(out, target.Difference{Ref: k.Ref(id), Problem: target.Different, Fields: []string{"channel_user_id"},
				Detail: fmt.Sprintf("ledger entry %d credits %d to %s, the grant names %s", e.ID, e.AmountCents, user, g.ClientUserID)})
			continue
		}
		out = append(out, target.Difference{Ref: k.Ref(id), Problem: target.Extra,
			Detail: fmt.Sprintf("ledger entry %d credits %d to %s; no valid local grant", e.ID, e.AmountCents, user)})
	}
	return out
}

func entryIDs(entries []pointsapi.LogEntry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = strconv.FormatInt(e.ID, 10)
	}
	return strings.Join(parts, ", ")
}
