package source

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/chansync/chansync/internal/validate"
)

// UserBody is the ingest body of a user: the channel's user and the local
// column active (false disables the person's user-centre account; never
// sent to the channel).
type UserBody struct {
	ChannelUserID     string                         `json:"channel_user_id"`
	Name              string                         `json:"name"`
	IDCard            string                         `json:"id_card"`
	Phone             string                         `json:"phone"`
	LiveCertification *channelbody.LiveCertification `json:"live_certification,omitempty"`
	Active            *bool                          `json:"active,omitempty"`
}

// Channel returns the user as the channel's body.
func (b *UserBody) Channel() *channelbody.User {
	return &channelbody.User{
		ChannelUserID: b.ChannelUserID, Name: b.Name, IDCard: b.IDCard, Phone: b.Phone,
		LiveCertification: b.LiveCertification,
	}
}

// GrantBody is the ingest body of a points grant.
type GrantBody struct {
	ExternalOrderID string      `json:"external_order_id"`
	ChannelUserID   string      `json:"channel_user_id"`
	AmountCents     json.Number `json:"amount_cents"`
	Reason          *string     `json:"reason,omitempty"`
}

// ValidateGrant checks a grant's order id, user and amount, and writes the
// amount in canonical form. The same rules hold for a row the push reads.
func ValidateGrant(b *GrantBody) validate.Errors {
	var errs validate.Errors
	errs.Check("external_order_id", validate.ExternalOrderID(b.ExternalOrderID))
	if b.ChannelUserID == "" {
		errs.Add("channel_user_id", validate.RuleRequired, "is required")
	} else {
		errs.Check("channel_user_id", validate.ID(b.ChannelUserID))
	}
	if n, err := validate.AmountCents(string(b.AmountCents)); errs.Check("amount_cents", err) {
		b.AmountCents = json.Number(jsonInt(n))
	}
	return errs
}

func jsonInt(n int64) string {
	data, _ := json.Marshal(n)
	return string(data)
}

var companies = &Source{
	Name: "company", Plural: "companies", Table: "companies", IDColumn: "channel_company_id",
	NewBody:  func() any { return new(channelbody.Company) },
	ID:       func(b any) *string { return &b.(*channelbody.Company).ChannelCompanyID },
	Validate: func(b any) validate.Errors { return validate.Company(b.(*channelbody.Company)) },
	Parents:  func(any) []Parent { return nil },
	Upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
		rows, err := q.IngestUpsertCompanies(ctx, recs)
		return ids(rows, err, func(r dbsqlc.IngestUpsertCompaniesRow) string { return r.ID })
	},
	Existing: func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error) {
		return q.ExistingCompanyIDs(ctx, ids)
	},
}

var users = &Source{
	Name: "user", Plural: "users", Table: "users", IDColumn: "channel_user_id",
	NewBody: func() any { return new(UserBody) },
	ID:      func(b any) *string { return &b.(*UserBody).ChannelUserID },
	Validate: func(b any) validate.Errors {
		ub := b.(*UserBody)
		u := ub.Channel()
		errs := validate.User(u)
		ub.Name, ub.IDCard, ub.Phone, ub.LiveCertification = u.Name, u.IDCard, u.Phone, u.LiveCertification
		return errs
	},
	Parents: func(any) []Parent { return nil },
	Upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
		rows, err := q.IngestUpsertUsers(ctx, recs)
		return ids(rows, err, func(r dbsqlc.IngestUpsertUsersRow) string { return r.ID })
	},
	Existing: func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error) {
		return q.ExistingUserIDs(ctx, ids)
	},
}

var tasks = &Source{
	Name: "task", Plural: "tasks", Table: "tasks", IDColumn: "channel_task_id",
	NewBody: func() any { return new(channelbody.Task) },
	ID:      func(b any) *string { return &b.(*channelbody.Task).ChannelTaskID },
	Validate: func(b any) validate.Errors {
		t := b.(*channelbody.Task)
		errs := validate.Task(t)
		// The column is an integer; a larger count could not be stored.
		if t.RecruitCount > math.MaxInt32 {
			errs.Add("recruit_count", validate.RuleRange, fmt.Sprintf("must be at most %d", math.MaxInt32))
		}
		return errs
	},
	Parents: func(b any) []Parent {
		t := b.(*channelbody.Task)
		return []Parent{{Field: "channel_company_id", Source: "company", ID: t.ChannelCompanyID}}
	},
	Upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
		rows, err := q.IngestUpsertTasks(ctx, recs)
		return ids(rows, err, func(r dbsqlc.IngestUpsertTasksRow) string { return r.ID })
	},
	Existing: func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error) {
		return q.ExistingTaskIDs(ctx, ids)
	},
}

var applications = &Source{
	Name: "application", Plural: "applications", Table: "applications", IDColumn: "channel_application_id",
	NewBody:  func() any { return new(channelbody.Application) },
	ID:       func(b any) *string { return &b.(*channelbody.Application).ChannelApplicationID },
	Validate: func(b any) validate.Errors { return validate.Application(b.(*channelbody.Application)) },
	Parents: func(b any) []Parent {
		a := b.(*channelbody.Application)
		return []Parent{
			{Field: "channel_user_id", Source: "user", ID: a.ChannelUserID},
			{Field: "channel_task_id", Source: "task", ID: a.ChannelTaskID},
		}
	},
	Upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
		rows, err := q.IngestUpsertApplications(ctx, recs)
		return ids(rows, err, func(r dbsqlc.IngestUpsertApplicationsRow) string { return r.ID })
	},
	Existing: func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error) {
		return q.ExistingApplicationIDs(ctx, ids)
	},
}

var payments = &Source{
	Name: "payment", Plural: "payments", Table: "payments", IDColumn: "channel_payment_id",
	NewBody:  func() any { return new(channelbody.Payment) },
	ID:       func(b any) *string { return &b.(*channelbody.Payment).ChannelPaymentID },
	Validate: func(b any) validate.Errors { return validate.Payment(b.(*channelbody.Payment)) },
	Parents: func(b any) []Parent {
		p := b.(*channelbody.Payment)
		var out []Parent
		if p.ChannelApplicationID != "" {
			out = append(out, Parent{Field: "channel_application_id", Source: "application", ID: p.ChannelApplicationID})
		}
		if p.ChannelUserID != "" {
			out = append(out, Parent{Field: "channel_user_id", Source: "user", ID: p.ChannelUserID})
		}
		return out
	},
	Upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
		rows, err := q.IngestUpsertPayments(ctx, recs)
		return ids(rows, err, func(r dbsqlc.IngestUpsertPaymentsRow) string { return r.ID })
	},
	Existing: func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error) {
		return q.ExistingPaymentIDs(ctx, ids)
	},
}

var grants = &Source{
	Name: "points_grant", Plural: "points_grants", Table: "points_grants", IDColumn: "external_order_id",
	NewBody:  func() any { return new(GrantBody) },
	ID:       func(b any) *string { return &b.(*GrantBody).ExternalOrderID },
	Validate: func(b any) validate.Errors { return ValidateGrant(b.(*GrantBody)) },
	Parents: func(b any) []Parent {
		return []Parent{{Field: "channel_user_id", Source: "user", ID: b.(*GrantBody).ChannelUserID}}
	},
	Upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
		rows, err := q.IngestUpsertGrants(ctx, recs)
		return ids(rows, err, func(r dbsqlc.IngestUpsertGrantsRow) string { return r.ID })
	},
	Existing: func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error) {
		return q.ExistingGrantIDs(ctx, ids)
	},
}
