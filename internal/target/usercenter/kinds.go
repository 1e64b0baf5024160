package usercenter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/validate"
)

// Name is the user centre target's name.
const Name target.Name = "usercenter"

// Account is what chansync keeps of a person on the user centre: one
// MEMBER account per local user, found by sys_attrs.channel_user_id.
type Account struct {
	// ChannelUserID is our id: the account's username and its
	// sys_attrs.channel_user_id.
	ChannelUserID string `json:"channel_user_id"`
	// Name and Phone go to sys_attrs (and Name to attrs.nickname at
	// creation).
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	// Active is users.active: false disables the account.
	Active bool `json:"active"`
	// Role, when APIHUB_MEMBER_ROLE is set, is the role every account has.
	Role string `json:"role,omitempty"`
}

// Group is what chansync keeps of a company on the user centre: one
// top-level group of type "company", found by attrs.channel_company_id.
type Group struct {
	ChannelCompanyID string `json:"channel_company_id"`
	// Name is the company's name with every "/" replaced by "／" (U+FF0F):
	// the user centre refuses "/" in a group name.
	Name             string `json:"name"`
	SocialCreditCode string `json:"social_credit_code,omitempty"`
}

// Membership is the set of company groups a person belongs to: those of
// the companies of the tasks they have a pending or accepted application
// to.
type Membership struct {
	ChannelUserID string `json:"channel_user_id"`
	// Companies are the companies' ids, sorted.
	Companies []string `json:"companies"`
}

// kinds returns the user centre's kinds; role is APIHUB_MEMBER_ROLE ("" for
// none), part of every account's request.
func kinds(role string) []*target.Kind {
	account := &target.Kind{
		Target: Name, Name: "account", Plural: "accounts", IDField: "channel_user_id", Source: "user",
		VersionsSQL: "SELECT channel_user_id AS record_id, updated_at FROM users",
		Affected:    map[string]target.AffectedFunc{"user": target.Identity},
	}
	account.Load = func(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
		rows, err := dbsqlc.New(db).UsersByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]*target.Built, len(rows))
		for _, r := range rows {
			out[r.ChannelUserID] = buildAccount(account, r, role)
		}
		return out, nil
	}
	account.Page = func(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
		rows, err := dbsqlc.New(db).UsersPage(ctx, dbsqlc.UsersPageParams{After: after, PageSize: size})
		if err != nil {
			return nil, err
		}
		out := make([]*target.Built, len(rows))
		for i, r := range rows {
			out[i] = buildAccount(account, r, role)
		}
		return out, nil
	}

	group := &target.Kind{
		Target: Name, Name: "group", Plural: "groups", IDField: "channel_company_id", Source: "company",
		VersionsSQL: "SELECT channel_company_id AS record_id, updated_at FROM companies",
		Affected:    map[string]target.AffectedFunc{"company": target.Identity},
	}
	group.Load = func(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
		rows, err := dbsqlc.New(db).CompaniesByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]*target.Built, len(rows))
		for _, r := range rows {
			out[r.ChannelCompanyID] = buildGroup(group, r)
		}
		return out, nil
	}
	group.Page = func(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
		rows, err := dbsqlc.New(db).CompaniesPage(ctx, dbsqlc.CompaniesPageParams{After: after, PageSize: size})
		if err != nil {
			return nil, err
		}
		out := make([]*target.Built, len(rows))
		for i, r := range rows {
			out[i] = buildGroup(group, r)
		}
		return out, nil
	}

	membership := &target.Kind{
		Target: Name, Name: "membership", Plural: "memberships", IDField: "channel_user_id", Source: "user",
		DependsOn: []string{"account", "group"},
		// The same version loadMemberships computes: the latest change of
		// the user's applications and of their tasks (a task may move to
		// another company), or the user's creation.
		VersionsSQL: `SELECT u.channel_user_id AS record_id,
    greatest(u.created_at, max(a.updated_at), max(t.updated_at)) AS updated_at
FROM users u
LEFT JOIN applications a ON a.channel_user_id = u.channel_user_id
LEFT JOIN tasks t ON t.channel_task_id = a.channel_task_id
GROUP BY u.channel_user_id, u.created_at`,
		Affected: map[string]target.AffectedFunc{
			"user": target.Identity,
			"application": func(ctx context.Context, db dbsqlc.DBTX, ids []string) ([]string, error) {
				return dbsqlc.New(db).UsersOfApplications(ctx, ids)
			},
			"task": func(ctx context.Context, db dbsqlc.DBTX, ids []string) ([]string, error) {
				return dbsqlc.New(db).UsersOfTasks(ctx, ids)
			},
		},
	}
	membership.Load = func(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
		return loadMemberships(ctx, db, membership, ids)
	}
	membership.Page = func(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
		ids, err := dbsqlc.New(db).UserIDsPage(ctx, dbsqlc.UserIDsPageParams{After: after, PageSize: size})
		if err != nil || len(ids) == 0 {
			return nil, err
		}
		built, err := loadMemberships(ctx, db, membership, ids)
		if err != nil {
			return nil, err
		}
		out := make([]*target.Built, 0, len(ids))
		for _, id := range ids {
			if b, ok := built[id]; ok {
				out = append(out, b)
			}
		}
		return out, nil
	}
	return []*target.Kind{account, group, membership}
}

// Kinds returns the user centre's kinds: account, group, membership. role
// is APIHUB_MEMBER_ROLE ("" for none).
func Kinds(role string) []*target.Kind { return kinds(role) }

// buildAccount turns a user row into its account. Only our id and the name
// are checked: the user centre states no rule for name or phone, and an ID
// number or a phone that the channel refuses is still a person to onboard.
func buildAccount(k *target.Kind, row dbsqlc.User, role string) *target.Built {
	b := &target.Built{Ref: k.Ref(row.ChannelUserID), UpdatedAt: row.UpdatedAt}
	body := &Account{ChannelUserID: row.ChannelUserID, Name: strings.TrimSpace(row.Name), Phone: strings.TrimSpace(row.Phone), Active: row.Active, Role: role}
	b.Errs.Check("channel_user_id", validate.ID(body.ChannelUserID))
	if body.Name == "" {
		b.Errs.Add("name", validate.RuleRequired, "is required")
	}
	b.Body = body
	return k.Finish(b, nil)
}

// GroupName is the group name of a company: its name with every "/"
// replaced by "／" (U+FF0F).
func GroupName(companyName string) string {
	return strings.ReplaceAll(strings.TrimSpace(companyName), "/", "／")
}

func buildGroup(k *target.Kind, row dbsqlc.Company) *target.Built {
	b := &target.Built{Ref: k.Ref(row.ChannelCompanyID), UpdatedAt: row.UpdatedAt}
	body := &Group{ChannelCompanyID: row.ChannelCompanyID, Name: GroupName(row.CompanyName), SocialCreditCode: strings.TrimSpace(row.SocialCreditCode)}
	b.Errs.Check("channel_company_id", validate.ID(body.ChannelCompanyID))
	if body.Name == "" {
		b.Errs.Add("company_name", validate.RuleRequired, "is required")
	}
	b.Body = body
	return k.Finish(b, nil)
}

// memberStatuses are the application statuses that make a member.
var memberStatuses = []string{"pending", "accepted"}

// loadMemberships builds the memberships of the named users: the companies
// of the tasks of their pending or accepted applications. An application
// whose status is no known status (a bad row, dead on the channel) makes
// no member.
func loadMemberships(ctx context.Context, db dbsqlc.DBTX, k *target.Kind, ids []string) (map[string]*target.Built, error) {
	rows, err := dbsqlc.New(db).MembershipRows(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read memberships: %w", err)
	}
	type acc struct {
		version   time.Time
		companies []string
	}
	byUser := map[string]*acc{}
	var order []string
	for _, r := range rows {
		a := byUser[r.UserID]
		if a == nil {
			a = &acc{version: r.UserCreatedAt}
			byUser[r.UserID] = a
			order = append(order, r.UserID)
		}
		for _, t := range []*time.Time{r.ApplicationUpdatedAt, r.TaskUpdatedAt} {
			if t != nil && t.After(a.version) {
				a.version = *t
			}
		}
		if r.ApplicationStatus == nil || r.CompanyID == nil {
			continue
		}
		status, err := validate.ApplicationStatuses.Normalize(*r.ApplicationStatus)
		if err == nil && slices.Contains(memberStatuses, status) {
			a.companies = append(a.companies, *r.CompanyID)
		}
	}
	out := make(map[string]*target.Built, len(order))
	for _, id := range order {
		a := byUser[id]
		slices.Sort(a.companies)
		a.companies = slices.Compact(a.companies)
		if a.companies == nil {
			a.companies = []string{}
		}
		b := &target.Built{Ref: k.Ref(id), UpdatedAt: a.version, Body: &Membership{ChannelUserID: id, Companies: a.companies}}
		b.Parents = append(b.Parents, target.ParentRef{Field: "channel_user_id", Ref: target.Ref{Target: Name, Kind: "account", ID: id}})
		for _, c := range a.companies {
			b.Parents = append(b.Parents, target.ParentRef{Field: "companies", Ref: target.Ref{Target: Name, Kind: "group", ID: c}})
		}
		out[id] = k.Finish(b, nil)
	}
	return out, nil
}
