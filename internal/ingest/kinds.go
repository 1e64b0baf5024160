package ingest

import (
	"context"
	"fmt"
	"math"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/payload"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/validate"
)

// spec is what the handler needs to know about one kind: its body type,
// its validator (the one the push path runs, from internal/validate), its
// id and parents, and its upsert.
type spec struct {
	kind record.Kind
	// newBody returns a pointer to a zero body (*channelbody.User, ...).
	newBody func() any
	// validate checks and normalises a body in place.
	validate func(body any) validate.Errors
	// id returns a pointer to the body's channel_*_id.
	id func(body any) *string
	// limits checks what the local table cannot store although the
	// validators accept it.
	limits func(body any) validate.Errors
	// upsert writes records (a JSON array of bodies) and returns their ids.
	upsert func(ctx context.Context, q *dbsqlc.Queries, records []byte) ([]string, error)
}

var specs = map[string]*spec{}

func init() {
	for _, s := range []*spec{
		{
			kind:     record.User,
			newBody:  func() any { return new(channelbody.User) },
			validate: func(b any) validate.Errors { return validate.User(b.(*channelbody.User)) },
			id:       func(b any) *string { return &b.(*channelbody.User).ChannelUserID },
			upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
				rows, err := q.IngestUpsertUsers(ctx, recs)
				return ids(rows, err, func(r dbsqlc.IngestUpsertUsersRow) string { return r.ID })
			},
		},
		{
			kind:     record.Company,
			newBody:  func() any { return new(channelbody.Company) },
			validate: func(b any) validate.Errors { return validate.Company(b.(*channelbody.Company)) },
			id:       func(b any) *string { return &b.(*channelbody.Company).ChannelCompanyID },
			upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
				rows, err := q.IngestUpsertCompanies(ctx, recs)
				return ids(rows, err, func(r dbsqlc.IngestUpsertCompaniesRow) string { return r.ID })
			},
		},
		{
			kind:     record.Task,
			newBody:  func() any { return new(channelbody.Task) },
			validate: func(b any) validate.Errors { return validate.Task(b.(*channelbody.Task)) },
			id:       func(b any) *string { return &b.(*channelbody.Task).ChannelTaskID },
			limits: func(b any) validate.Errors {
				var errs validate.Errors
				if n := b.(*channelbody.Task).RecruitCount; n > math.MaxInt32 {
					errs.Add("recruit_count", validate.RuleRange, fmt.Sprintf("must be at most %d", math.MaxInt32))
				}
				return errs
			},
			upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
				rows, err := q.IngestUpsertTasks(ctx, recs)
				return ids(rows, err, func(r dbsqlc.IngestUpsertTasksRow) string { return r.ID })
			},
		},
		{
			kind:     record.Application,
			newBody:  func() any { return new(channelbody.Application) },
			validate: func(b any) validate.Errors { return validate.Application(b.(*channelbody.Application)) },
			id:       func(b any) *string { return &b.(*channelbody.Application).ChannelApplicationID },
			upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
				rows, err := q.IngestUpsertApplications(ctx, recs)
				return ids(rows, err, func(r dbsqlc.IngestUpsertApplicationsRow) string { return r.ID })
			},
		},
		{
			kind:     record.Payment,
			newBody:  func() any { return new(channelbody.Payment) },
			validate: func(b any) validate.Errors { return validate.Payment(b.(*channelbody.Payment)) },
			id:       func(b any) *string { return &b.(*channelbody.Payment).ChannelPaymentID },
			upsert: func(ctx context.Context, q *dbsqlc.Queries, recs []byte) ([]string, error) {
				rows, err := q.IngestUpsertPayments(ctx, recs)
				return ids(rows, err, func(r dbsqlc.IngestUpsertPaymentsRow) string { return r.ID })
			},
		},
	} {
		specs[s.kind.Plural()] = s
	}
}

func ids[T any](rows []T, err error, id func(T) string) ([]string, error) {
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out, nil
}

// existing returns which of ids exist locally as records of kind k.
func existing(ctx context.Context, q *dbsqlc.Queries, k record.Kind, ids []string) (map[string]bool, error) {
	got, err := payload.Existing(ctx, q, k, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}
