// Package source describes the local tables that HR systems write and
// chansync reads: users, companies, tasks, applications, payments and
// points grants. Each is a Source: its name (the name its outbox entries
// and target kinds carry), its table and id column, and what the ingest
// API needs to write it (body, decode-time rules, references, upsert).
// Code that handles every table iterates All.
package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/validate"
)

// Source is one local table.
type Source struct {
	// Name names the source in the singular ("user"): outbox entries and
	// target kinds carry it.
	Name string
	// Plural is the ingest API's path (/v1/users).
	Plural string
	// Table is the table; IDColumn its primary key, also the id field of
	// its ingest body.
	Table    string
	IDColumn string
	// NewBody returns a pointer to a zero ingest body.
	NewBody func() any
	// ID returns a pointer to the body's id.
	ID func(body any) *string
	// Validate checks and normalises a body in place: the rules a write
	// must keep whatever target is enabled.
	Validate func(body any) validate.Errors
	// Parents returns the local records a body references.
	Parents func(body any) []Parent
	// Upsert writes records (a JSON array of bodies) and returns their ids.
	Upsert func(ctx context.Context, q *dbsqlc.Queries, records []byte) ([]string, error)
	// Existing returns which of ids have a row.
	Existing func(ctx context.Context, q *dbsqlc.Queries, ids []string) ([]string, error)
}

// Parent is a reference from a body to a local record of another source.
type Parent struct {
	// Field holds the reference.
	Field string
	// Source and ID name the referenced record.
	Source string
	ID     string
}

// All lists every source, parents before children.
var All = []*Source{companies, users, tasks, applications, payments, grants}

// Lookup returns the source named name (singular or plural); the error
// names the known ones.
func Lookup(name string) (*Source, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, s := range All {
		if n == s.Name || n == s.Plural {
			return s, nil
		}
	}
	names := make([]string, len(All))
	for i, s := range All {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("unknown source %q: want one of %s", name, strings.Join(names, ", "))
}

// Row returns the local row of the record named id as a JSON object (the
// table's columns) and when it last changed; found is false when there is
// no such row.
func (s *Source) Row(ctx context.Context, db dbsqlc.DBTX, id string) (row json.RawMessage, updatedAt time.Time, found bool, err error) {
	sql := fmt.Sprintf("SELECT to_jsonb(t), t.updated_at FROM %s t WHERE t.%s = $1",
		pgx.Identifier{s.Table}.Sanitize(), pgx.Identifier{s.IDColumn}.Sanitize())
	err = db.QueryRow(ctx, sql, id).Scan(&row, &updatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("read %s %s: %w", s.Name, id, err)
	}
	return row, updatedAt, true, nil
}

// ExistingSet returns which of ids have a row, as a set.
func (s *Source) ExistingSet(ctx context.Context, q *dbsqlc.Queries, ids []string) (map[string]bool, error) {
	got, err := s.Existing(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("look up %s ids: %w", s.Name, err)
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
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
