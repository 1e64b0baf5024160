package ingest

import (
	"fmt"
	"net/http"
	"time"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/payload"
	"github.com/chansync/chansync/internal/record"
)

// Sync statuses a GET answers.
const (
	// StatusInSync: the channel accepted the record as it is now.
	StatusInSync = "in_sync"
	// StatusPending: a push is due (never pushed, or changed since).
	StatusPending = "pending"
	// StatusRetrying: a push failed transiently; a retry is scheduled.
	StatusRetrying = "retrying"
	// StatusBlocked: the record waits for a parent that is dead.
	StatusBlocked = "blocked"
	// StatusDead: the channel refused the record for good; reason says why.
	StatusDead = "dead"
)

// RecordView is the body of a GET answer.
type RecordView struct {
	// Kind and ID name the record.
	Kind record.Kind `json:"kind"`
	ID   string      `json:"id"`
	// Record is the local row in the channel API's shape, as it will be
	// pushed.
	Record any `json:"record"`
	// UpdatedAt is when the row last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Problems lists why the push path would refuse the row as it stands
	// (possible only for rows written around this API); empty when valid.
	Problems []FieldError `json:"problems,omitempty"`
	// Sync is the record's sync state.
	Sync SyncView `json:"sync"`
}

// SyncView is where a record stands with the channel.
type SyncView struct {
	// Status is one of StatusInSync, StatusPending, StatusRetrying,
	// StatusBlocked, StatusDead.
	Status string `json:"status"`
	// ChangedSincePush is true when the row changed after the last push
	// read it (a push is then due).
	ChangedSincePush bool `json:"changed_since_push"`
	// Reason is the last error (why it is dead, blocked or retrying).
	Reason string `json:"reason,omitempty"`
	// BlockedOn names the parent a blocked record waits for ("company/C1").
	BlockedOn string `json:"blocked_on,omitempty"`
	// ChannelID is the channel's own id for the record, once accepted.
	ChannelID string `json:"channel_id,omitempty"`
	// Attempts counts failed pushes since the last success.
	Attempts int32 `json:"attempts"`
	// AcceptedAt is when the channel last accepted the record.
	AcceptedAt *time.Time `json:"accepted_at"`
	// LastFailedAt is when the last push failed.
	LastFailedAt *time.Time `json:"last_failed_at,omitempty"`
}

// get serves GET /v1/{resource}/{id}.
func (h *handler) get(r *http.Request, s *spec, id string) *reply {
	ctx := r.Context()
	q := dbsqlc.New(h.cfg.Pool)
	built, err := payload.Load(ctx, q, s.kind, []string{id})
	if err != nil {
		h.logger.ErrorContext(ctx, "ingest read", "kind", string(s.kind), "id", httpserver.Clip(id, maxLoggedID), "error", err.Error())
		return fail(http.StatusInternalServerError, "internal error", nil)
	}
	b, ok := built[id]
	if !ok {
		return fail(http.StatusNotFound, fmt.Sprintf("%s %s does not exist", s.kind, httpserver.Clip(id, maxLoggedID)), nil)
	}
	states, err := q.SyncStates(ctx, dbsqlc.SyncStatesParams{Kinds: []string{string(s.kind)}, Ids: []string{id}})
	if err != nil {
		h.logger.ErrorContext(ctx, "ingest read sync state", "kind", string(s.kind), "id", httpserver.Clip(id, maxLoggedID), "error", err.Error())
		return fail(http.StatusInternalServerError, "internal error", nil)
	}
	var st *dbsqlc.SyncState
	if len(states) > 0 {
		st = &states[0]
	}
	v := RecordView{Kind: s.kind, ID: id, Record: b.Body, UpdatedAt: b.UpdatedAt.UTC(), Sync: syncView(st, b.UpdatedAt)}
	for _, e := range b.Errs {
		v.Problems = append(v.Problems, FieldError{Field: e.Field, Rule: e.Rule, Message: e.Detail})
	}
	return &reply{status: http.StatusOK, body: v}
}

// syncView says where a record whose row changed at rowUpdated stands. A
// synced record is in sync only if its row has not changed since the push.
func syncView(st *dbsqlc.SyncState, rowUpdated time.Time) SyncView {
	if st == nil {
		return SyncView{Status: StatusPending, ChangedSincePush: true}
	}
	v := SyncView{
		Status:           st.Status,
		ChangedSincePush: control.ChangedSincePush(*st, rowUpdated),
		Attempts:         st.Attempts,
		AcceptedAt:       utc(st.AcceptedAt),
		LastFailedAt:     utc(st.LastFailedAt),
	}
	if st.Status == "synced" {
		v.Status = StatusInSync
		if v.ChangedSincePush {
			v.Status = StatusPending
		}
	}
	if st.LastError != nil {
		v.Reason = *st.LastError
	}
	if st.ChannelRef != nil {
		v.ChannelID = *st.ChannelRef
	}
	if st.BlockedOnKind != nil && st.BlockedOnID != nil {
		v.BlockedOn = *st.BlockedOnKind + "/" + *st.BlockedOnID
	}
	return v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
