package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/source"
	"github.com/chansync/chansync/internal/validate"
)

// maxTxAttempts bounds how often a write is tried again after a deadlock
// or serialization failure.
const maxTxAttempts = 3

// WriteResult is the body of a 202 answer: the kind of record (the
// source's singular name, such as "user") and the ids accepted, in the
// order sent.
type WriteResult struct {
	Kind     string   `json:"kind"`
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
}

// write serves POST /v1/{resource} (pathID "") and PUT
// /v1/{resource}/{pathID}.
func (h *handler) write(w http.ResponseWriter, r *http.Request, s *source.Source, pathID string) *reply {
	if !jsonContent(r) {
		return fail(http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
	}
	tooLarge := func() *reply {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", h.cfg.MaxBodyBytes), nil)
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return tooLarge()
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge()
		}
		return fail(http.StatusBadRequest, "read body: "+err.Error(), nil)
	}
	elems, isArray, rep := split(raw)
	if rep != nil {
		return rep
	}
	if isArray && pathID != "" {
		return fail(http.StatusBadRequest, "PUT takes one record, not an array", validate.Errors{{Rule: validate.RuleType, Detail: "want a JSON object, got JSON array"}})
	}

	bodies, errs := h.decode(s, elems, isArray, pathID)
	if len(errs) > 0 {
		return invalid(errs)
	}
	return h.store(r.Context(), s, bodies, isArray)
}

// split parses the body: one object, or an array of 1 to MaxRecords.
func split(raw []byte) (elems []json.RawMessage, isArray bool, rep *reply) {
	var doc json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		detail := err.Error()
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			detail = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
		}
		return nil, false, fail(http.StatusBadRequest, "body is not valid JSON: "+detail, validate.Errors{{Rule: RuleSyntax, Detail: detail}})
	}
	doc = bytes.TrimSpace(doc)
	switch doc[0] {
	case '{':
		return []json.RawMessage{doc}, false, nil
	case '[':
		if err := json.Unmarshal(doc, &elems); err != nil {
			return nil, true, fail(http.StatusBadRequest, "body is not valid JSON: "+err.Error(), validate.Errors{{Rule: RuleSyntax, Detail: err.Error()}})
		}
		switch {
		case len(elems) == 0:
			return nil, true, invalid(validate.Errors{{Rule: validate.RuleLength, Detail: "the array holds no records: send 1 to " + fmt.Sprint(MaxRecords)}})
		case len(elems) > MaxRecords:
			return nil, true, invalid(validate.Errors{{Rule: validate.RuleLength, Detail: fmt.Sprintf("the array holds %d records: send at most %d per request", len(elems), MaxRecords)}})
		}
		return elems, true, nil
	}
	return nil, false, invalid(validate.Errors{{Rule: validate.RuleType, Detail: "want a JSON object or an array of objects, got JSON " + jsonKind(doc)}})
}

// decode decodes and validates every record and returns the bodies, or
// every problem found, each field prefixed with the record's index in an
// array ("[3].id_card").
func (h *handler) decode(s *source.Source, elems []json.RawMessage, isArray bool, pathID string) ([]any, validate.Errors) {
	idField := s.IDColumn
	var all validate.Errors
	bodies := make([]any, len(elems))
	seen := make(map[string]int, len(elems))
	for i, raw := range elems {
		prefix := ""
		if isArray {
			prefix = fmt.Sprintf("[%d]", i)
		}
		b := s.NewBody()
		bodies[i] = b
		var errs validate.Errors
		if jsonKind(raw) != "object" {
			errs.Add("", validate.RuleType, "want a JSON object, got JSON "+jsonKind(raw))
			all = append(all, prefixed(prefix, errs)...)
			continue
		}
		errs = append(errs, scanRaw(raw)...)
		decodeObject(raw, reflect.ValueOf(b).Elem(), "", &errs)
		id := s.ID(b)
		if pathID != "" {
			switch *id {
			case "":
				*id = pathID
				if r, ok := FormatChar(pathID); ok {
					errs = append(errs, formatCharError(idField, r))
				}
			case pathID:
			default:
				errs.Add(idField, RuleMismatch, fmt.Sprintf("is %q but the path names %q: leave it out or make them equal", *id, pathID))
			}
		}
		// A field that did not decode is reported once, not again by the
		// validator (as missing, say).
		decoded := errs
		for _, e := range s.Validate(b) {
			if !coveredBy(decoded, e.Field) {
				errs = append(errs, e)
			}
		}
		if *id != "" {
			if j, dup := seen[*id]; dup {
				errs.Add(idField, RuleUnique, fmt.Sprintf("repeats the id of [%d]: send each record once", j))
			} else {
				seen[*id] = i
			}
		}
		all = append(all, prefixed(prefix, errs)...)
	}
	return bodies, all
}

// coveredBy reports whether field is, or lies inside, a field of errs.
func coveredBy(errs validate.Errors, field string) bool {
	for _, e := range errs {
		if e.Field == field || strings.HasPrefix(field, e.Field+".") || strings.HasPrefix(field, e.Field+"[") {
			return true
		}
	}
	return false
}

// store writes the records and enqueues their push in one transaction,
// trying again after a deadlock or serialization failure.
func (h *handler) store(ctx context.Context, s *source.Source, bodies []any, isArray bool) *reply {
	for attempt := 1; ; attempt++ {
		rep, err := h.storeOnce(ctx, s, bodies, isArray)
		if err == nil {
			return rep
		}
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && (pgErr.Code == "40001" || pgErr.Code == "40P01") && attempt < maxTxAttempts {
			continue
		}
		if rep := pgReply(s, err); rep != nil {
			return rep
		}
		h.logger.ErrorContext(ctx, "ingest write", "kind", s.Name, "records", len(bodies), "error", err.Error())
		return fail(http.StatusInternalServerError, "internal error: the write was not stored; try again", nil)
	}
}

func (h *handler) storeOnce(ctx context.Context, s *source.Source, bodies []any, isArray bool) (*reply, error) {
	index := make(map[string]int, len(bodies))
	ids := make([]string, len(bodies))
	for i, b := range bodies {
		ids[i] = *s.ID(b)
		index[ids[i]] = i
	}
	prefix := func(i int) string {
		if isArray {
			return fmt.Sprintf("[%d]", i)
		}
		return ""
	}

	tx, err := h.cfg.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := dbsqlc.New(tx)

	if rep, err := missingParents(ctx, q, s, bodies, prefix); rep != nil || err != nil {
		return rep, err
	}

	records, err := json.Marshal(bodies)
	if err != nil {
		return nil, fmt.Errorf("encode %s records: %w", s.Name, err)
	}
	if _, err := s.Upsert(ctx, q, records); err != nil {
		return nil, fmt.Errorf("upsert %s: %w", s.Table, err)
	}

	// The rows as the push path will read them, for every enabled target:
	// whatever a push would refuse is refused here too, and nothing is
	// stored.
	reg := h.cfg.Controller.Registry()
	var errs validate.Errors
	for _, k := range reg.BySource(s.Name) {
		built, err := k.Load(ctx, tx, ids)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		for _, id := range ids {
			b, ok := built[id]
			if !ok {
				return nil, fmt.Errorf("%s %s: row missing after upsert", s.Name, id)
			}
			errs = appendNew(errs, prefixed(prefix(index[id]), b.Errs))
		}
	}
	if len(errs) > 0 {
		return invalid(errs), nil
	}

	refs, err := reg.Affected(ctx, tx, s.Name, ids)
	if err != nil {
		return nil, err
	}
	if err := h.cfg.Controller.InsertTx(ctx, tx, refs); err != nil {
		return nil, err
	}
	// The triggers recorded the change in the outbox; its pushes are
	// enqueued above, so the entries go, or the relay would push them a
	// second time.
	if _, err := q.IngestDropOutbox(ctx, dbsqlc.IngestDropOutboxParams{Kind: s.Name, Ids: ids}); err != nil {
		return nil, fmt.Errorf("drop outbox entries: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	rep := &reply{status: http.StatusAccepted, body: WriteResult{Kind: s.Name, Accepted: len(ids), IDs: ids}, records: len(ids)}
	if len(ids) == 1 {
		rep.id = ids[0]
	}
	return rep, nil
}

// missingParents answers 409 naming every referenced record that does not
// exist locally.
func missingParents(ctx context.Context, q *dbsqlc.Queries, s *source.Source, bodies []any, prefix func(int) string) (*reply, error) {
	type use struct {
		i   int
		ref source.Parent
	}
	var uses []use
	bySource := map[string][]string{}
	for i, b := range bodies {
		for _, p := range s.Parents(b) {
			uses = append(uses, use{i, p})
			bySource[p.Source] = append(bySource[p.Source], p.ID)
		}
	}
	if len(uses) == 0 {
		return nil, nil
	}
	found := map[string]map[string]bool{}
	for name, ids := range bySource {
		src, err := source.Lookup(name)
		if err != nil {
			return nil, err
		}
		if found[name], err = src.ExistingSet(ctx, q, ids); err != nil {
			return nil, err
		}
	}
	var errs validate.Errors
	for _, u := range uses {
		if !found[u.ref.Source][u.ref.ID] {
			errs.Add(join(prefix(u.i), u.ref.Field), RuleExists, fmt.Sprintf("%s %s does not exist", u.ref.Source, u.ref.ID))
		}
	}
	if len(errs) == 0 {
		return nil, nil
	}
	return conflict(errs), nil
}

// appendNew appends the errors of more not already in errs (two targets'
// rules may find the same problem).
func appendNew(errs, more validate.Errors) validate.Errors {
	for _, e := range more {
		if !errs.Has(e.Field, e.Rule) {
			errs = append(errs, e)
		}
	}
	return errs
}

// conflict answers 409 for missing parents.
func conflict(errs validate.Errors) *reply {
	msg := errs[0].Error()
	if len(errs) > 1 {
		msg = fmt.Sprintf("%d referenced records do not exist, the first: %s", len(errs), msg)
	}
	return fail(http.StatusConflict, msg, errs)
}

// pgReply maps the database errors a client can cause to an answer: a
// foreign key violation (a parent gone since the check) to 409, a value the
// column cannot hold to 400. It returns nil for any other error.
func pgReply(s *source.Source, err error) *reply {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return nil
	}
	switch {
	case pgErr.Code == "23503":
		field := strings.TrimSuffix(strings.TrimPrefix(pgErr.ConstraintName, s.Table+"_"), "_fkey")
		return conflict(validate.Errors{{Field: field, Rule: RuleExists, Detail: "the referenced record does not exist"}})
	case strings.HasPrefix(pgErr.Code, "22"):
		return invalid(validate.Errors{{Field: pgErr.ColumnName, Rule: validate.RuleRange, Detail: "cannot be stored: " + pgErr.Message}})
	}
	return nil
}
