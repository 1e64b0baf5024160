package ingest

import (
	"fmt"
	"net/http"
	"time"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/source"
	"github.com/chansync/chansync/internal/syncstatus"
)

// The standings a GET answers (internal/syncstatus).
const (
	// StatusInSync: the target accepted the record as it is now.
	StatusInSync = string(syncstatus.InSync)
	// StatusPending: a push is due (never pushed, or changed since).
	StatusPending = string(syncstatus.StandingPending)
	// StatusRetrying: a push failed transiently; a retry is scheduled.
	StatusRetrying = string(syncstatus.StandingRetrying)
	// StatusBlocked: the record waits for a parent that is dead.
	StatusBlocked = string(syncstatus.StandingBlocked)
	// StatusDead: the target refused the record for good; reason says why.
	StatusDead = string(syncstatus.StandingDead)
)

// RecordView is the body of a GET answer.
type RecordView struct {
	// Kind and ID name the record (Kind is the source's singular name).
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Record is the local row in the shape its first target is sent it
	// (the channel API's, for the channel's tables), or the row itself when
	// no enabled target takes it.
	Record any `json:"record"`
	// UpdatedAt is when the row last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Problems lists why a push would refuse the row as it stands
	// (possible only for rows written around this API); empty when valid.
	Problems []FieldError `json:"problems,omitempty"`
	// Sync is where the record stands on its first target.
	Sync SyncView `json:"sync"`
	// Targets is where it stands on every enabled target that takes it.
	Targets []SyncView `json:"targets"`
}

// SyncView is where a record stands on one target.
type SyncView struct {
	// Target and Kind name the target's kind of record.
	Target string `json:"target"`
	Kind   string `json:"kind"`
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
	// ChannelID is the target's own id for the record, once accepted.
	ChannelID string `json:"channel_id,omitempty"`
	// Attempts counts failed pushes since the last success.
	Attempts int32 `json:"attempts"`
	// AcceptedAt is when the target last accepted the record.
	AcceptedAt *time.Time `json:"accepted_at"`
	// LastFailedAt is when the last push failed.
	LastFailedAt *time.Time `json:"last_failed_at,omitempty"`
}

// get serves GET /v1/{resource}/{id}.
func (h *handler) get(r *http.Request, s *source.Source, id string) *reply {
	ctx := r.Context()
	row, updatedAt, found, err := s.Row(ctx, h.cfg.Pool, id)
	if err != nil {
		h.logger.ErrorContext(ctx, "ingest read", "kind", s.Name, "id", id, "error", err.Error())
		return fail(http.StatusInternalServerError, "internal error", nil)
	}
	if !found {
		return fail(http.StatusNotFound, fmt.Sprintf("%s %s does not exist", s.Name, id), nil)
	}
	v := RecordView{Kind: s.Name, ID: id, Record: row, UpdatedAt: updatedAt.UTC(), Targets: []SyncView{}}
	reg := h.cfg.Controller.Registry()
	var problems = map[string]bool{}
	for i, k := range reg.BySource(s.Name) {
		built, err := k.Load(ctx, h.cfg.Pool, []string{id})
		if err != nil {
			h.logger.ErrorContext(ctx, "ingest read", "kind", k.String(), "id", id, "error", err.Error())
			return fail(http.StatusInternalServerError, "internal error", nil)
		}
		b, ok := built[id]
		if !ok {
			continue
		}
		if i == 0 {
			v.Record = b.Body
		}
		for _, e := range b.Errs {
			if key := e.Field + "\x00" + e.Rule; !problems[key] {
				problems[key] = true
				v.Problems = append(v.Problems, FieldError{Field: e.Field, Rule: e.Rule, Message: e.Detail})
			}
		}
		rs, found, err := h.cfg.Controller.Standing(ctx, k, id)
		if err != nil {
			h.logger.ErrorContext(ctx, "ingest read sync state", "kind", k.String(), "id", id, "error", err.Error())
			return fail(http.StatusInternalServerError, "internal error", nil)
		}
		if found {
			v.Targets = append(v.Targets, syncView(rs, b.UpdatedAt))
		}
	}
	if len(v.Targets) > 0 {
		v.Sync = v.Targets[0]
	}
	return &reply{status: http.StatusOK, body: v}
}

// syncView says where a record stands on one target, as
// chansync_standing computes it.
func syncView(rs control.RecordStanding, version time.Time) SyncView {
	v := SyncView{Target: string(rs.Kind.Target), Kind: rs.Kind.Name, Status: string(rs.Standing)}
	st := rs.State
	if st == nil {
		v.ChangedSincePush = true
		return v
	}
	v.ChangedSincePush = changedSincePush(st, version)
	v.Attempts = st.Attempts
	v.AcceptedAt = utc(st.AcceptedAt)
	v.LastFailedAt = utc(st.LastFailedAt)
	if st.LastError != nil {
		v.Reason = *st.LastError
	}
	if st.RemoteRef != nil {
		v.ChannelID = *st.RemoteRef
	}
	if st.BlockedOnKind != nil && st.BlockedOnID != nil {
		v.BlockedOn = *st.BlockedOnKind + "/" + *st.BlockedOnID
	}
	return v
}

// changedSincePush reports whether the rows changed after the push that st
// records read them, or were never read by one.
func changedSincePush(st *dbsqlc.SyncState, version time.Time) bool {
	return st.SourceUpdatedAt == nil || st.SourceUpdatedAt.Before(version)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
