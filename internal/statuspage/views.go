package statuspage

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/payload"
	"github.com/chansync/chansync/internal/record"
)

const (
	// replayLogRows is how many replays the overview lists.
	replayLogRows = 20
	// reasonRows is how many shared reasons the pages list.
	reasonRows = 50
	// attemptRows is how many attempts a record's page lists.
	attemptRows = 50
	// maxReasonFilter bounds the reason filter's length.
	maxReasonFilter = 200
)

type queueEntry struct {
	State string
	Jobs  int64
}

type overviewView struct {
	Kinds   []control.KindStatus
	Total   control.KindStatus
	Queue   []queueEntry
	Channel ChannelState
	// Bulk is nil when no bulk run is recorded; BulkFailed tells that it
	// could not be read.
	Bulk       *BulkRun
	BulkFailed bool
	Reasons    []reasonRow
	Replays    []dbsqlc.ReplayLog
}

type reasonRow struct {
	Reason  string
	Records int64
	// URL lists the dead letters with this reason.
	URL string
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	st, err := s.ctl.Status(ctx, "", 0)
	if err != nil {
		s.internal(w, r, p, "read the status", err)
		return
	}
	v := overviewView{Kinds: st.Kinds}
	for _, k := range st.Kinds {
		t := &v.Total
		t.Total += k.Total
		t.InSync += k.InSync
		t.Pending += k.Pending
		t.Retrying += k.Retrying
		t.Blocked += k.Blocked
		t.Dead += k.Dead
		if k.LastAcceptedAt != nil && (t.LastAcceptedAt == nil || k.LastAcceptedAt.After(*t.LastAcceptedAt)) {
			t.LastAcceptedAt = k.LastAcceptedAt
		}
	}
	for state, n := range st.Queue {
		v.Queue = append(v.Queue, queueEntry{State: state, Jobs: n})
	}
	slices.SortFunc(v.Queue, func(a, b queueEntry) int { return strings.Compare(a.State, b.State) })

	v.Channel = ChannelState{Status: ChannelUnknown}
	if s.cfg.ChannelStateFunc != nil {
		v.Channel = s.cfg.ChannelStateFunc()
		if v.Channel.Status == "" {
			v.Channel.Status = ChannelUnknown
		}
		v.Channel.Detail = mask.Text(v.Channel.Detail)
	}

	if v.Bulk, err = s.cfg.BulkRunFunc(ctx); err != nil {
		s.logger.WarnContext(ctx, "status page: read bulk run", slog.String("error", err.Error()))
		v.Bulk, v.BulkFailed = nil, true
	}

	if v.Reasons, err = s.reasons(r, ""); err != nil {
		s.internal(w, r, p, "read the dead letters' reasons", err)
		return
	}
	if v.Replays, err = s.q.StatusPageReplayLog(ctx, replayLogRows); err != nil {
		s.internal(w, r, p, "read the replay log", err)
		return
	}
	for i := range v.Replays {
		v.Replays[i].Filter = mask.Text(v.Replays[i].Filter)
	}
	s.render(w, r, http.StatusOK, "overview.html", p, "Overview", v)
}

// reasons lists the reasons dead letters (of kind, if set) share.
func (s *server) reasons(r *http.Request, kind record.Kind) ([]reasonRow, error) {
	rows, err := s.q.StatusPageDeadReasons(r.Context(), dbsqlc.StatusPageDeadReasonsParams{Kind: optional(string(kind)), MaxRows: reasonRows})
	if err != nil {
		return nil, err
	}
	out := make([]reasonRow, len(rows))
	for i, row := range rows {
		masked := mask.Text(row.Reason)
		out[i] = reasonRow{Reason: masked, Records: row.Records, URL: deadURL(kind, maskedFilter(row.Reason, masked), 0)}
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deadURL links to a page of dead letters.
func deadURL(kind record.Kind, reason string, page int) string {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", string(kind))
	}
	if reason != "" {
		q.Set("reason", reason)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/dead"
	}
	return "/dead?" + q.Encode()
}

// replayBulkURL links to the confirmation of a bulk replay.
func replayBulkURL(kind record.Kind, reason string) string {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", string(kind))
	}
	if reason != "" {
		q.Set("reason", reason)
	}
	if len(q) == 0 {
		q.Set("all", "1")
	}
	return "/actions/replay-bulk?" + q.Encode()
}

// recordPrefix matches the "kinds/id: " a reason starts with.
var recordPrefix = regexp.MustCompile(`^[a-z]+/[^ ]*: `)

// reasonField returns the field a reason names ("id_card" in
// "users/U1: id_card: check digit mismatch"), or "".
func reasonField(reason string) string {
	rest := recordPrefix.ReplaceAllString(reason, "")
	f, _, ok := strings.Cut(rest, ": ")
	if !ok || f == "" || strings.ContainsAny(f, " \t") {
		return ""
	}
	return f
}

type deadRow struct {
	Kind          record.Kind
	ID            string
	Status        string
	Field         string
	Reason        string
	Attempts      int32
	FirstFailedAt *time.Time
	LastFailedAt  *time.Time
}

type deadView struct {
	Kind   record.Kind
	Reason string
	// Page is the page shown (from 1) of Pages; From and To number the
	// rows shown (from 1) of Total.
	Page, Pages     int
	Total, From, To int64
	Rows            []deadRow
	PrevURL         string
	NextURL         string
	ReplayURL       string
	Reasons         []reasonRow
	Back            string
}

// deadFilter reads the kind and reason filters of a query or form.
func deadFilter(q url.Values) (record.Kind, string, error) {
	var kind record.Kind
	if k := strings.TrimSpace(q.Get("kind")); k != "" {
		kind = record.Kind(k)
		if !kind.Valid() {
			return "", "", errors.New("unknown kind: want one of company, user, task, application, payment")
		}
	}
	reason := strings.TrimSpace(q.Get("reason"))
	if len(reason) > maxReasonFilter {
		return "", "", errors.New("reason filter too long")
	}
	return kind, reason, nil
}

func (s *server) deadLetters(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	q := r.URL.Query()
	kind, reason, err := deadFilter(q)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	page := 1
	if ps := q.Get("page"); ps != "" {
		if page, err = strconv.Atoi(ps); err != nil || page < 1 {
			s.fail(w, r, p, http.StatusBadRequest, "page must be a number from 1")
			return
		}
	}
	size := s.cfg.PageSize
	total, err := s.q.StatusPageDeadLetterCount(ctx, dbsqlc.StatusPageDeadLetterCountParams{Kind: optional(string(kind)), Reason: optional(reason)})
	if err != nil {
		s.internal(w, r, p, "count the dead letters", err)
		return
	}
	v := deadView{Kind: kind, Reason: reason, Page: page, Total: total, Back: r.URL.RequestURI()}
	v.Pages = int((total + int64(size) - 1) / int64(size))
	offset := int64(page-1) * int64(size)
	if offset < total {
		rows, err := s.q.StatusPageDeadLetters(ctx, dbsqlc.StatusPageDeadLettersParams{
			Kind: optional(string(kind)), Reason: optional(reason), PageOffset: int32(offset), PageSize: int32(size),
		})
		if err != nil {
			s.internal(w, r, p, "read the dead letters", err)
			return
		}
		for _, row := range rows {
			why := mask.Text(derefString(row.LastError))
			v.Rows = append(v.Rows, deadRow{
				Kind: record.Kind(row.Kind), ID: row.RecordID, Status: row.Status, Field: reasonField(why), Reason: why,
				Attempts: row.Attempts, FirstFailedAt: row.FirstFailedAt, LastFailedAt: row.LastFailedAt,
			})
		}
		v.From = offset + 1
		v.To = offset + int64(len(v.Rows))
	}
	if page > 1 {
		v.PrevURL = deadURL(kind, reason, min(page-1, max(v.Pages, 1)))
	}
	if page < v.Pages {
		v.NextURL = deadURL(kind, reason, page+1)
	}
	if total > 0 {
		v.ReplayURL = replayBulkURL(kind, reason)
	}
	if v.Reasons, err = s.reasons(r, kind); err != nil {
		s.internal(w, r, p, "read the dead letters' reasons", err)
		return
	}
	s.render(w, r, http.StatusOK, "dead.html", p, "Dead letters", v)
}

type attemptRow struct {
	At      time.Time
	Outcome string
	Error   string
}

type recordView struct {
	Kind record.Kind
	ID   string
	// HasRow tells whether the local row exists; Fields are its columns,
	// masked.
	HasRow bool
	Fields []field
	// State is the sync state, nil if the record was never queued.
	State *dbsqlc.SyncState
	// StatusLabel says where the record stands: "in sync", "changed since
	// last push", "pending", "retrying", "blocked", "dead", "not queued yet".
	StatusLabel string
	// Replayable tells whether the record is a dead letter.
	Replayable bool
	LastError  string
	// LastPayload is the payload last sent, masked.
	LastPayload string
	// BlockedOn names and links to the parent a blocked record waits for.
	BlockedOn    string
	BlockedOnURL string
	Attempts     []attemptRow
	// Back is the page's own path, for actions to return to.
	Back string
}

func (s *server) recordDetail(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	kind := record.Kind(r.PathValue("kind"))
	id := r.PathValue("id")
	if !kind.Valid() || id == "" {
		s.fail(w, r, p, http.StatusNotFound, "No such record.")
		return
	}
	v := recordView{Kind: kind, ID: id, Back: r.URL.EscapedPath()}
	row, err := s.q.StatusPageRecordRow(ctx, dbsqlc.StatusPageRecordRowParams{Kind: string(kind), RecordID: id})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		s.internal(w, r, p, "read the record", err)
		return
	default:
		v.HasRow = true
		if v.Fields, err = maskedRow(kind, row.Row); err != nil {
			s.internal(w, r, p, "read the record", err)
			return
		}
	}
	st, err := s.q.StatusPageSyncState(ctx, dbsqlc.StatusPageSyncStateParams{Kind: string(kind), RecordID: id})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		s.internal(w, r, p, "read the record's sync state", err)
		return
	default:
		v.State = &st
	}
	if !v.HasRow && v.State == nil {
		s.fail(w, r, p, http.StatusNotFound, "No such record.")
		return
	}
	v.StatusLabel = statusLabel(v.State, v.HasRow, row.UpdatedAt)
	if v.State != nil {
		v.Replayable = v.State.Status == "dead" || v.State.Status == "blocked"
		v.LastError = hideURLs(mask.Text(derefString(v.State.LastError)))
		v.LastPayload = maskedJSON(v.State.LastPayload)
		if v.State.LastPayload == nil && v.State.AcceptedHash != nil && v.HasRow {
			// The sync state keeps only payloads not accepted; an accepted
			// one is the row's payload while its hash matches.
			built, err := payload.Load(ctx, s.q, kind, []string{id})
			if err != nil {
				s.internal(w, r, p, "build the record's payload", err)
				return
			}
			if b := built[id]; b != nil && bytes.Equal(b.Hash, v.State.AcceptedHash) {
				v.LastPayload = maskedJSON(b.JSON)
			}
		}
		if v.State.BlockedOnKind != nil && v.State.BlockedOnID != nil {
			v.BlockedOn = *v.State.BlockedOnKind + "/" + *v.State.BlockedOnID
			v.BlockedOnURL = recordURL(*v.State.BlockedOnKind, *v.State.BlockedOnID)
		}
	}
	attempts, err := s.q.StatusPageAttempts(ctx, dbsqlc.StatusPageAttemptsParams{Kind: string(kind), RecordID: id, MaxRows: attemptRows})
	if err != nil {
		s.internal(w, r, p, "read the record's attempts", err)
		return
	}
	for _, a := range attempts {
		v.Attempts = append(v.Attempts, attemptRow{At: a.CreatedAt, Outcome: a.Outcome, Error: hideURLs(mask.Text(derefString(a.Error)))})
	}
	s.render(w, r, http.StatusOK, "record.html", p, string(kind)+" "+id, v)
}

// statusLabel says where a record stands. A synced record is in sync only
// if its row has not changed since the push (as control's counts have it).
func statusLabel(st *dbsqlc.SyncState, hasRow bool, rowUpdated time.Time) string {
	if st == nil {
		return "not queued yet"
	}
	if st.Status == "synced" {
		if hasRow && control.ChangedSincePush(*st, rowUpdated) {
			return "changed since last push"
		}
		return "in sync"
	}
	return st.Status
}

// maskedFilter returns the part of reason a link may carry: its start up to
// the first masked character, so that the link still selects the reason
// (the filter matches a substring) without showing the personal data in it.
func maskedFilter(reason, masked string) string {
	n := 0
	for n < len(reason) && n < len(masked) && reason[n] == masked[n] {
		n++
	}
	if n == len(reason) {
		return reason
	}
	return strings.TrimSpace(strings.ToValidUTF8(reason[:n], ""))
}
