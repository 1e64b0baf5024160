package usercenter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
)

// verifyPageSize is how many records verify reads at a time.
const verifyPageSize = 100

// verifier compares the user centre with the local records: the accounts
// through list-users, the groups among the top-level groups, and each
// account's memberships through list-user-groups.
type verifier struct {
	c *client
}

// Verify reports every difference of kind k.
func (v *verifier) Verify(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	switch k.Name {
	case "account":
		return v.accounts(ctx, k, local, report)
	case "group":
		return v.groups(ctx, k, local, report)
	case "membership":
		return v.memberships(ctx, k, local, report)
	}
	return fmt.Errorf("usercenter: no verify for kind %s", k.Name)
}

func (v *verifier) accounts(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	remote := map[string][]ucapi.User{}
	for u, err := range v.c.api.Users(ctx, verifyPageSize) {
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		if id, ok := u.SysAttrString(sysAttrKey); ok && id != "" {
			remote[id] = append(remote[id], u)
		}
	}
	return compareByID(ctx, k, local, remote, report, func(l target.Local, u ucapi.User) []string {
		a := l.Built.Body.(*Account)
		var fields []string
		if name, _ := u.SysAttrString("name"); name != a.Name {
			fields = append(fields, "name")
		}
		if phone, _ := u.SysAttrString("phone"); phone != a.Phone {
			fields = append(fields, "phone")
		}
		if u.Enable != a.Active {
			fields = append(fields, "active")
		}
		return fields
	})
}

func (v *verifier) groups(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	groups, err := v.c.api.ListChildGroups(ctx, "", false)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	remote := map[string][]ucapi.Group{}
	for _, g := range groups {
		if ours(&g) {
			id, _ := g.AttrString(groupAttrKey)
			remote[id] = append(remote[id], g)
		}
	}
	return compareByID(ctx, k, local, remote, report, func(l target.Local, g ucapi.Group) []string {
		want := l.Built.Body.(*Group)
		var fields []string
		if g.Name != want.Name {
			fields = append(fields, "name")
		}
		if scc, _ := g.AttrString("social_credit_code"); scc != want.SocialCreditCode {
			fields = append(fields, "social_credit_code")
		}
		return fields
	})
}

// compareByID reports, for remote records keyed by our id: duplicates,
// extras (no valid local record), missing local records, and differences
// fieldsOf finds.
func compareByID[R any](ctx context.Context, k *target.Kind, local target.LocalSet, remote map[string][]R,
	report func(target.Difference), fieldsOf func(target.Local, R) []string) error {
	ids := local.IDs()
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	extras := make([]string, 0)
	for id, rs := range remote {
		if len(rs) > 1 {
			report(target.Difference{Ref: k.Ref(id), Problem: target.Duplicate, Detail: fmt.Sprintf("held %d times", len(rs))})
		}
		if !want[id] {
			extras = append(extras, id)
		}
	}
	slices.Sort(extras)
	for _, id := range extras {
		report(target.Difference{Ref: k.Ref(id), Problem: target.Extra, Detail: "the user centre holds it; no valid local record"})
	}
	for start := 0; start < len(ids); start += verifyPageSize {
		chunk := ids[start:min(start+verifyPageSize, len(ids))]
		locals, err := local.Load(ctx, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			rs, ok := remote[id]
			if !ok {
				report(target.Difference{Ref: k.Ref(id), Problem: target.Missing})
				continue
			}
			l, ok := locals[id]
			if !ok {
				continue
			}
			if fields := fieldsOf(l, rs[0]); len(fields) > 0 {
				report(target.Difference{Ref: k.Ref(id), Problem: target.Different, Fields: fields})
			}
		}
	}
	return nil
}

// memberships compares each account's company groups with the companies
// its membership wants; an account the user centre lacks is the accounts'
// difference, not reported again here.
func (v *verifier) memberships(ctx context.Context, k *target.Kind, local target.LocalSet, report func(target.Difference)) error {
	groups, err := v.c.api.ListChildGroups(ctx, "", false)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	company := map[string]string{} // group id -> company id
	for _, g := range groups {
		if ours(&g) {
			id, _ := g.AttrString(groupAttrKey)
			company[g.ID] = id
		}
	}
	ids := local.IDs()
	for start := 0; start < len(ids); start += verifyPageSize {
		chunk := ids[start:min(start+verifyPageSize, len(ids))]
		locals, err := local.Load(ctx, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			l, ok := locals[id]
			if !ok {
				continue
			}
			u, err := v.c.api.GetUserBySysAttr(ctx, sysAttrKey, id)
			if err != nil {
				return fmt.Errorf("look up account %s: %w", id, err)
			}
			if u == nil {
				continue
			}
			have, err := v.c.companyGroups(ctx, u.ID)
			if err != nil {
				return fmt.Errorf("groups of account %s: %w", id, err)
			}
			var got []string
			for g := range have {
				got = append(got, company[g])
			}
			slices.Sort(got)
			want := l.Built.Body.(*Membership).Companies
			if !slices.Equal(got, want) {
				report(target.Difference{Ref: k.Ref(id), Problem: target.Different, Fields: []string{"companies"},
					Detail: setDiff(want, got)})
			}
		}
	}
	return nil
}

// setDiff renders what got lacks (+) and has in excess (-) against want.
func setDiff(want, got []string) string {
	var parts []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			parts = append(parts, "+"+w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			parts = append(parts, "-"+g)
		}
	}
	return "needs " + strings.Join(parts, " ")
}
