package channel

import (
	"context"
	"fmt"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
)

// Name is the channel target's name.
const Name target.Name = "channel"

// The channel's kinds: its five resources, each read from the local table
// of the same name. Kinds() returns them.
var companyKind, userKind, taskKind, applicationKind, paymentKind *target.Kind

func init() {
	companyKind = newKind(channelbody.Companies, nil, loadCompanies, pageCompanies)
	userKind = newKind(channelbody.Users, nil, loadUsers, pageUsers)
	taskKind = newKind(channelbody.Tasks, []string{"company"}, loadTasks, pageTasks)
	applicationKind = newKind(channelbody.Applications, []string{"user", "task"}, loadApplications, pageApplications)
	paymentKind = newKind(channelbody.Payments, []string{"application", "user"}, loadPayments, pagePayments)
}

// Kinds returns the channel's kinds, dependencies first.
func Kinds() []*target.Kind {
	return []*target.Kind{companyKind, userKind, taskKind, applicationKind, paymentKind}
}

// resourceOf maps a kind back to its channel resource.
func resourceOf(k *target.Kind) channelbody.Resource { return channelbody.Resource(k.Name) }

func newKind(res channelbody.Resource, deps []string, load target.LoadFunc, page target.PageFunc) *target.Kind {
	table := res.Plural()
	return &target.Kind{
		Target:      Name,
		Name:        string(res),
		Plural:      table,
		IDField:     res.IDField(),
		Source:      string(res),
		DependsOn:   deps,
		Load:        load,
		Page:        page,
		VersionsSQL: fmt.Sprintf("SELECT %s AS record_id, updated_at FROM %s", res.IDField(), table),
		Affected:    map[string]target.AffectedFunc{string(res): target.Identity},
	}
}

// parents returns the records a channel body references, in the order a
// push checks them; users and companies reference none.
func parents(body any) []target.ParentRef {
	switch b := body.(type) {
	case *channelbody.Task:
		return []target.ParentRef{{Field: "channel_company_id", Ref: companyKind.Ref(b.ChannelCompanyID)}}
	case *channelbody.Application:
		return []target.ParentRef{
			{Field: "channel_user_id", Ref: userKind.Ref(b.ChannelUserID)},
			{Field: "channel_task_id", Ref: taskKind.Ref(b.ChannelTaskID)},
		}
	case *channelbody.Payment:
		var out []target.ParentRef
		if b.ChannelApplicationID != "" {
			out = append(out, target.ParentRef{Field: "channel_application_id", Ref: applicationKind.Ref(b.ChannelApplicationID)})
		}
		if b.ChannelUserID != "" {
			out = append(out, target.ParentRef{Field: "channel_user_id", Ref: userKind.Ref(b.ChannelUserID)})
		}
		return out
	}
	return nil
}

// byID builds rows into a map by id.
func byID[R any](rows []R, err error, build func(R) *target.Built) (map[string]*target.Built, error) {
	if err != nil {
		return nil, err
	}
	out := make(map[string]*target.Built, len(rows))
	for _, r := range rows {
		b := build(r)
		out[b.Ref.ID] = b
	}
	return out, nil
}

// inOrder builds rows in their order.
func inOrder[R any](rows []R, err error, build func(R) *target.Built) ([]*target.Built, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*target.Built, len(rows))
	for i, r := range rows {
		out[i] = build(r)
	}
	return out, nil
}

func loadUsers(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
	rows, err := dbsqlc.New(db).UsersByID(ctx, ids)
	return byID(rows, err, User)
}

func pageUsers(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
	rows, err := dbsqlc.New(db).UsersPage(ctx, dbsqlc.UsersPageParams{After: after, PageSize: size})
	return inOrder(rows, err, User)
}

func loadCompanies(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
	rows, err := dbsqlc.New(db).CompaniesByID(ctx, ids)
	return byID(rows, err, Company)
}

func pageCompanies(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
	rows, err := dbsqlc.New(db).CompaniesPage(ctx, dbsqlc.CompaniesPageParams{After: after, PageSize: size})
	return inOrder(rows, err, Company)
}

func loadTasks(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
	rows, err := dbsqlc.New(db).TasksByID(ctx, ids)
	return byID(rows, err, Task)
}

func pageTasks(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
	rows, err := dbsqlc.New(db).TasksPage(ctx, dbsqlc.TasksPageParams{After: after, PageSize: size})
	return inOrder(rows, err, Task)
}

func loadApplications(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
	rows, err := dbsqlc.New(db).ApplicationsByID(ctx, ids)
	return byID(rows, err, Application)
}

func pageApplications(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
	rows, err := dbsqlc.New(db).ApplicationsPage(ctx, dbsqlc.ApplicationsPageParams{After: after, PageSize: size})
	return inOrder(rows, err, Application)
}

func loadPayments(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
	rows, err := dbsqlc.New(db).PaymentsByID(ctx, ids)
	return byID(rows, err, Payment)
}

func pagePayments(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
	rows, err := dbsqlc.New(db).PaymentsPage(ctx, dbsqlc.PaymentsPageParams{After: after, PageSize: size})
	return inOrder(rows, err, Payment)
}
