package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/chansync/chansync/internal/target/jsoncmp"
)

// verifyPageSize is the page size verify asks of the list endpoints.
const verifyPageSize = 100

// verifyParallel bounds the GETs verify has in flight at once.
const verifyParallel = 8

// verifier compares the channel with the local records: tasks,
// applications and payments through their list endpoints (which also find
// records the channel holds and we do not), users and companies, which have
// no list endpoint, with one GET per local record.
type verifier struct {
	api *channelapi.Client
}

// Verify reports, for kind k, every valid local record the channel lacks
// or holds differently, and every record the channel lists that has no
// valid local record.
func (v *verifier) Verify(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	res := resourceOf(k)
	if list := v.lister(res); list != nil {
		return v.verifyListed(ctx, k, list, local, report)
	}
	return v.verifyByGet(ctx, k, local, report)
}

func (v *verifier) lister(res channelbody.Resource) func(context.Context, channelapi.ListParams) (channelapi.Page, error) {
	switch res {
	case channelbody.Tasks:
		return v.api.ListTasks
	case channelbody.Applications:
		return v.api.ListApplications
	case channelbody.Payments:
		return v.api.ListPayments
	}
	return nil
}

func (v *verifier) verifyListed(ctx context.Context, k *target.Kind, list func(context.Context, channelapi.ListParams) (channelapi.Page, error),
	local target.LocalSet, report func(target.Difference)) error {
	want := map[string]bool{}
	for _, id := range local.IDs() {
		want[id] = true
	}
	seen := map[string]int{}
	listed := 0
	for page := 1; ; page++ {
		p, err := list(ctx, channelapi.ListParams{Page: page, PageSize: verifyPageSize})
		if err != nil {
			return fmt.Errorf("list %s page %d: %w", k.Plural, page, err)
		}
		remote := map[string]json.RawMessage{}
		var ids []string
		fresh := 0
		for _, item := range p.Items {
			id := idOf(item, k.IDField)
			if id == "" {
				continue
			}
			seen[id]++
			if seen[id] == 1 {
				fresh++
			}
			if seen[id] == 2 {
				report(target.Difference{Ref: k.Ref(id), Problem: target.Duplicate, Detail: "listed more than once"})
			}
			if seen[id] > 1 {
				continue
			}
			if !want[id] {
				report(target.Difference{Ref: k.Ref(id), Problem: target.Extra, Detail: "the channel holds it; no valid local record"})
				continue
			}
			remote[id] = item
			ids = append(ids, id)
		}
		if err := compare(ctx, k, local, ids, remote, report); err != nil {
			return err
		}
		// The last page is the one that reaches total, or one that lists
		// nothing new (an empty page; or a channel that ignores the page
		// asked for, which must not keep verify reading). A short page is
		// not: a channel may serve fewer than asked for.
		listed += len(p.Items)
		if fresh == 0 || (p.Total > 0 && listed >= p.Total) {
			break
		}
	}
	for _, id := range local.IDs() {
		if seen[id] == 0 {
			report(target.Difference{Ref: k.Ref(id), Problem: target.Missing, Detail: "not in the channel's list"})
		}
	}
	return nil
}

func (v *verifier) verifyByGet(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	ids := local.IDs()
	var mu sync.Mutex
	safeReport := func(d target.Difference) {
		mu.Lock()
		defer mu.Unlock()
		report(d)
	}
	for start := 0; start < len(ids); start += verifyPageSize {
		chunk := ids[start:min(start+verifyPageSize, len(ids))]
		remote := make(map[string]json.RawMessage, len(chunk))
		var rmu sync.Mutex
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(verifyParallel)
		for _, id := range chunk {
			g.Go(func() error {
				rec, err := v.api.Get(gctx, resourceOf(k), id)
				if errors.Is(err, channelapi.ErrNotFound) {
					safeReport(target.Difference{Ref: k.Ref(id), Problem: target.Missing, Detail: "GET answers not found"})
					return nil
				}
				if err != nil {
					return fmt.Errorf("get %s/%s: %w", k.Plural, id, err)
				}
				rmu.Lock()
				remote[id] = rec.Raw
				rmu.Unlock()
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		var found []string
		for _, id := range chunk {
			if _, ok := remote[id]; ok {
				found = append(found, id)
			}
		}
		if err := compare(ctx, k, local, found, remote, report); err != nil {
			return err
		}
	}
	return nil
}

// compare reports the local records among ids whose fields differ from
// the channel's copies.
func compare(ctx context.Context, k *target.Kind, local target.LocalSet, ids []string, remote map[string]json.RawMessage, report func(target.Difference)) error {
	if len(ids) == 0 {
		return nil
	}
	locals, err := local.Load(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		l, ok := locals[id]
		if !ok {
			continue
		}
		fields, err := jsoncmp.Diff(l.Built.JSON, remote[id])
		if err != nil {
			report(target.Difference{Ref: k.Ref(id), Problem: target.Different, Detail: "the channel's copy is not JSON"})
			continue
		}
		if len(fields) > 0 {
			report(target.Difference{Ref: k.Ref(id), Problem: target.Different, Fields: fields})
		}
	}
	return nil
}

// idOf returns the string field named field of a JSON object.
func idOf(item json.RawMessage, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(item, &m) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(m[field], &id) != nil {
		return ""
	}
	return id
}
