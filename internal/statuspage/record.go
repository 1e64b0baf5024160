package statuspage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/source"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

const (
	// attemptRows is how many attempts a record's panel lists.
	attemptRows = 50
	// ledgerRows is how many ledger entries a user's page lists at most.
	ledgerRows = 20
	// maxPointsError bounds the message shown when the points cannot be
	// read.
	maxPointsError = 160
	// userSource is the source whose records have points.
	userSource = "user"
)

type attemptRow struct {
	At      time.Time
	Outcome string
	Error   string
}

// panelView is where a record stands on one kind of one target.
type panelView struct {
	Target string
	Kind   string
	// Found tells whether the kind holds the record (its local rows exist).
	Found bool
	// Held is the reason the target is held, "" when it pushes.
	Held string
	// Label says where the record stands: "in sync", "changed since last
	// push", "pending", "not queued yet", "retrying", "blocked", "dead",
	// "no local row", or "not taken by this target".
	Label string
	// State is the sync state, nil if the record was never queued.
	State *dbsqlc.SyncState
	// Replayable tells whether the record is a dead letter; Pushable
	// whether it can be pushed now.
	Replayable bool
	Pushable   bool
	LastError  string
	// Payload is the payload last sent, masked.
	Payload string
	// BlockedOn names the record a blocked one waits for; BlockedOnURL
	// links to its page.
	BlockedOn    string
	BlockedOnURL string
	Attempts     []attemptRow
}

// ledgerRow is one ledger entry as shown.
type ledgerRow struct {
	At           time.Time
	RecordType   string
	Change       string
	BalanceAfter string
	Reason       string
}

// pointsView is a user's points as shown: Error (masked, short) when they
// could not be read, None when the target has nothing.
type pointsView struct {
	Balance string
	Entries []ledgerRow
	Error   string
	None    bool
}

type recordView struct {
	Source string
	ID     string
	// HasRow tells whether the local row exists; Fields are its columns,
	// masked.
	HasRow bool
	Fields []field
	// Panels show the record on every kind of its source, in the
	// registry's order.
	Panels []panelView
	// Points is the user's points; nil when the page shows none.
	Points *pointsView
	// Back is the page's own path, for actions to return to.
	Back string
}

func (s *server) recordDetail(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	src, err := source.Lookup(r.PathValue("source"))
	if err != nil || src.Name != r.PathValue("source") || id == "" {
		s.fail(w, r, p, http.StatusNotFound, "No such record.")
		return
	}
	v := recordView{Source: src.Name, ID: id, Back: r.URL.EscapedPath()}
	row, _, found, err := src.Row(ctx, s.cfg.Pool, id)
	if err != nil {
		s.internal(w, r, p, "read the record", err)
		return
	}
	if found {
		v.HasRow = true
		if v.Fields, err = maskedRow(src.Name, src.IDColumn, row); err != nil {
			s.internal(w, r, p, "read the record", err)
			return
		}
	}
	holds, err := s.ctl.Holds(ctx)
	if err != nil {
		s.internal(w, r, p, "read the targets' holds", err)
		return
	}
	anyState := false
	for _, k := range s.reg.BySource(src.Name) {
		pv, err := s.panel(ctx, k, id, v.HasRow)
		if err != nil {
			s.internal(w, r, p, "read the record's sync state", err)
			return
		}
		for _, h := range holds {
			if h.Target == pv.Target {
				pv.Held = h.Reason
			}
		}
		anyState = anyState || pv.State != nil
		v.Panels = append(v.Panels, pv)
	}
	if !v.HasRow && !anyState {
		s.fail(w, r, p, http.StatusNotFound, "No such record.")
		return
	}
	if src.Name == userSource && s.cfg.PointsFunc != nil {
		v.Points = s.points(ctx, id)
	}
	s.render(w, r, http.StatusOK, "record.html", p, src.Name+" "+id, v)
}

// panel reads where the record named id stands on kind k.
func (s *server) panel(ctx context.Context, k *target.Kind, id string, hasRow bool) (panelView, error) {
	pv := panelView{Target: string(k.Target), Kind: k.Name}
	rs, found, err := s.ctl.Standing(ctx, k, id)
	if err != nil {
		return pv, err
	}
	pv.Found = found
	if found {
		pv.State = rs.State
	} else {
		st, err := s.q.StatusPageSyncState(ctx, dbsqlc.StatusPageSyncStateParams{Target: string(k.Target), Kind: k.Name, RecordID: id})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return pv, fmt.Errorf("sync state of %s/%s: %w", k, id, err)
		default:
			pv.State = &st
		}
	}
	pv.Label = standingLabel(rs, found, hasRow)
	pv.Pushable = found && hasRow
	if st := pv.State; st != nil {
		pv.Replayable = st.Status.DeadLetter()
		pv.LastError = hideURLs(mask.Text(derefString(st.LastError)))
		if pv.Payload, err = s.payloadShown(ctx, k, id, *st, found); err != nil {
			return pv, err
		}
		if st.BlockedOnKind != nil && st.BlockedOnID != nil {
			pv.BlockedOn = *st.BlockedOnKind + "/" + *st.BlockedOnID
			if parent, err := s.reg.Kind(*st.BlockedOnKind); err == nil {
				pv.BlockedOnURL = recordURL(parent.Source, *st.BlockedOnID)
			}
		}
	}
	attempts, err := s.q.StatusPageAttempts(ctx, dbsqlc.StatusPageAttemptsParams{
		Target: string(k.Target), Kind: k.Name, RecordID: id, MaxRows: attemptRows,
	})
	if err != nil {
		return pv, fmt.Errorf("attempts of %s/%s: %w", k, id, err)
	}
	for _, a := range attempts {
		pv.Attempts = append(pv.Attempts, attemptRow{At: a.CreatedAt, Outcome: a.Outcome, Error: hideURLs(mask.Text(derefString(a.Error)))})
	}
	return pv, nil
}

// standingLabel says where a record stands, from its standing as
// chansync_standing computes it: a pending record is "not queued yet"
// without a sync state, and "changed since last push" when it was
// accepted before its row changed.
func standingLabel(rs control.RecordStanding, found, hasRow bool) string {
	switch {
	case !found && hasRow:
		return "not taken by this target"
	case !found:
		return "no local row"
	case rs.Standing == syncstatus.InSync:
		return "in sync"
	case rs.Standing == syncstatus.StandingPending && rs.State == nil:
		return "not queued yet"
	case rs.Standing == syncstatus.StandingPending && rs.State.Status == syncstatus.Synced:
		return "changed since last push"
	}
	return string(rs.Standing)
}

// payloadShown returns the payload last sent for a record, masked: the one
// kept in its sync state (not accepted, or accepted by a kind that keeps
// it), else, when its row still builds the accepted payload, that one.
func (s *server) payloadShown(ctx context.Context, k *target.Kind, id string, st dbsqlc.SyncState, found bool) (string, error) {
	switch {
	case len(st.LastPayload) > 0:
		return maskedJSON(st.LastPayload), nil
	case len(st.AcceptedPayload) > 0:
		return maskedJSON(st.AcceptedPayload), nil
	case st.AcceptedHash == nil || !found:
		return "", nil
	}
	built, err := k.Load(ctx, s.cfg.Pool, []string{id})
	if err != nil {
		return "", fmt.Errorf("build %s/%s: %w", k, id, err)
	}
	if b := built[id]; b != nil && b.Valid() && bytes.Equal(b.Hash, st.AcceptedHash) {
		return maskedJSON(b.JSON), nil
	}
	return "", nil
}

// points fetches a user's points; a failure is shown in short, masked,
// and logged.
func (s *server) points(ctx context.Context, userID string) *pointsView {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PointsTimeout)
	defer cancel()
	pts, err := s.cfg.PointsFunc(ctx, userID)
	if err != nil {
		s.logger.WarnContext(ctx, "status page: read points", slog.String("error", mask.Text(err.Error())))
		msg := hideURLs(mask.Text(err.Error()))
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "no answer within " + s.cfg.PointsTimeout.String()
		}
		return &pointsView{Error: httpserver.Clip(msg, maxPointsError)}
	}
	if pts == nil {
		return &pointsView{None: true}
	}
	pv := &pointsView{Balance: formatCents(pts.BalanceCents, false)}
	for _, e := range pts.Entries[:min(len(pts.Entries), ledgerRows)] {
		pv.Entries = append(pv.Entries, ledgerRow{
			At: e.At, RecordType: e.RecordType, Change: formatCents(e.ChangeCents, true),
			BalanceAfter: formatCents(e.BalanceAfter, false), Reason: hideURLs(mask.Text(e.Reason)),
		})
	}
	return pv
}

// formatCents shows an amount of cents as units with two decimals
// ("1234.05", "-0.50"); signed adds "+" to a positive amount.
func formatCents(c int64, signed bool) string {
	sign := ""
	switch {
	case c < 0:
		sign = "-"
	case signed && c > 0:
		sign = "+"
	}
	u := uint64(c)
	if c < 0 {
		u = -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
