package statuspage

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
)

const (
	// replayLogRows is how many replays the overview lists.
	replayLogRows = 20
	// reasonRows is how many shared reasons the pages list.
	reasonRows = 50
	// maxReasonFilter bounds the reason filter's length.
	maxReasonFilter = 200
	// maxDetail bounds a target's detail, a hold's or a mirror run's error
	// as the page shows them.
	maxDetail = 300
)

// detailText masks a target's free text for display: personal data
// masked, URLs by their host only, bounded.
func detailText(s string) string {
	return httpserver.Clip(hideURLs(mask.Text(s)), maxDetail)
}

type queueEntry struct {
	State string
	Jobs  int64
}

// kindRow is one kind's line in a target's table.
type kindRow struct {
	control.KindStatus
	// DeadURL lists the kind's dead letters.
	DeadURL string
}

// targetView is one target on the overview.
type targetView struct {
	Name string
	// State, Since and Detail are the connection as TargetStateFunc reports
	// it (Detail masked).
	State  string
	Since  time.Time
	Detail string
	// Hold is the target's hold (Detail masked), nil when it pushes.
	Hold *control.Hold
	// Kinds are its kinds, dependencies first; Total adds them up.
	Kinds []kindRow
	Total control.KindStatus
	// DeadURL lists the target's dead letters.
	DeadURL string
}

type overviewView struct {
	Targets []targetView
	Queue   []queueEntry
	// Bulk is nil when no bulk run is recorded; BulkFailed tells that it
	// could not be read.
	Bulk       *BulkRun
	BulkFailed bool
	// MirrorOn tells whether the projects mirror is on; Mirror is its last
	// run (nil when none is recorded; Error masked); MirrorFailed tells
	// that it could not be read.
	MirrorOn     bool
	Mirror       *MirrorRun
	MirrorFailed bool
	Reasons      []reasonRow
	Replays      []dbsqlc.ReplayLog
}

type reasonRow struct {
	Target  string
	Reason  string
	Records int64
	// URL lists the dead letters of the target with this reason.
	URL string
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	st, err := s.ctl.Status(ctx, nil, 0)
	if err != nil {
		s.internal(w, r, p, "read the status", err)
		return
	}
	v := overviewView{}
	for _, t := range s.reg.Targets() {
		v.Targets = append(v.Targets, s.targetView(t.Name, st))
	}
	for state, n := range st.Queue {
		v.Queue = append(v.Queue, queueEntry{State: state, Jobs: n})
	}
	slices.SortFunc(v.Queue, func(a, b queueEntry) int { return strings.Compare(a.State, b.State) })

	if v.Bulk, err = s.cfg.BulkRunFunc(ctx); err != nil {
		s.logger.WarnContext(ctx, "status page: read bulk run", slog.String("error", err.Error()))
		v.Bulk, v.BulkFailed = nil, true
	}
	if s.cfg.LastMirrorRunFunc != nil {
		v.MirrorOn = true
		if v.Mirror, err = s.cfg.LastMirrorRunFunc(ctx); err != nil {
			s.logger.WarnContext(ctx, "status page: read projects mirror run", slog.String("error", err.Error()))
			v.Mirror, v.MirrorFailed = nil, true
		}
		if v.Mirror != nil {
			m := *v.Mirror
			m.Error = detailText(m.Error)
			v.Mirror = &m
		}
	}

	if v.Reasons, err = s.reasons(ctx, deadSel{}); err != nil {
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

// targetView gathers what the overview shows of target name.
func (s *server) targetView(name target.Name, st control.Status) targetView {
	tv := targetView{Name: string(name), State: stateUnknown, DeadURL: deadURL(deadSel{Target: string(name)}, 0)}
	if s.cfg.TargetStateFunc != nil {
		state, since, detail := s.cfg.TargetStateFunc(name)
		if state != "" {
			tv.State = state
		}
		tv.Since, tv.Detail = since, detailText(detail)
	}
	for _, h := range st.Holds {
		if h.Target == string(name) {
			h.Detail = detailText(h.Detail)
			tv.Hold = &h
			break
		}
	}
	t := &tv.Total
	t.Target = string(name)
	for _, k := range st.Kinds {
		if k.Target != string(name) {
			continue
		}
		tv.Kinds = append(tv.Kinds, kindRow{KindStatus: k, DeadURL: deadURL(deadSel{Target: k.Target, Kind: k.Kind}, 0)})
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
	return tv
}

// deadSel selects dead letters: of one target or every enabled one, of one
// kind or all, with a reason containing Reason or any.
type deadSel struct {
	Target string
	Kind   string
	Reason string
}

// targets names the targets sel covers.
func (s *server) targets(sel deadSel) []string {
	if sel.Target != "" {
		return []string{sel.Target}
	}
	return s.reg.TargetNames()
}

// reasons lists the reasons the dead letters sel selects share (its reason
// aside), with their targets.
func (s *server) reasons(ctx context.Context, sel deadSel) ([]reasonRow, error) {
	rows, err := s.q.StatusPageDeadReasons(ctx, dbsqlc.StatusPageDeadReasonsParams{
		Targets: s.targets(sel), Kind: optional(sel.Kind), MaxRows: reasonRows,
	})
	if err != nil {
		return nil, err
	}
	out := make([]reasonRow, len(rows))
	for i, row := range rows {
		masked := mask.Text(row.Reason)
		link := deadSel{Target: row.Target, Kind: sel.Kind, Reason: maskedFilter(row.Reason, masked)}
		out[i] = reasonRow{Target: row.Target, Reason: masked, Records: row.Records, URL: deadURL(link, 0)}
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// values renders sel as query parameters.
func (sel deadSel) values() url.Values {
	q := url.Values{}
	if sel.Target != "" {
		q.Set("target", sel.Target)
	}
	if sel.Kind != "" {
		q.Set("kind", sel.Kind)
	}
	if sel.Reason != "" {
		q.Set("reason", sel.Reason)
	}
	return q
}

// deadURL links to a page of dead letters.
func deadURL(sel deadSel, page int) string {
	q := sel.values()
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/dead"
	}
	return "/dead?" + q.Encode()
}

// replayBulkURL links to the confirmation of a bulk replay.
func replayBulkURL(sel deadSel) string {
	q := sel.values()
	if len(q) == 0 {
		q.Set("all", "1")
	}
	return "/actions/replay-bulk?" + q.Encode()
}

// recordPrefix matches the "plural/id: " a reason starts with.
var recordPrefix = regexp.MustCompile(`^[a-z_]+/[^ ]*: `)

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

// kindRecordURL links to the record page of the source whose ids records
// of the named kind carry.
func (s *server) kindRecordURL(kind, id string) string {
	if k, err := s.reg.Kind(kind); err == nil {
		return recordURL(k.Source, id)
	}
	return recordURL(kind, id)
}

type deadRow struct {
	Target        string
	Kind          string
	ID            string
	RecordURL     string
	Status        syncstatus.Status
	Field         string
	Reason        string
	Attempts      int32
	FirstFailedAt *time.Time
	LastFailedAt  *time.Time
}

// targetKinds is a target and its kinds' names, for the filters.
type targetKinds struct {
	Name  string
	Kinds []string
}

type deadView struct {
	deadSel
	// Page is the page shown (from 1) of Pages; From and To number the
	// rows shown (from 1) of Total.
	Page, Pages     int
	Total, From, To int64
	Rows            []deadRow
	PrevURL         string
	NextURL         string
	ReplayURL       string
	Reasons         []reasonRow
	// Targets lists the enabled targets and their kinds, for the filters.
	Targets []targetKinds
	Back    string
}

// deadFilter reads the target, kind and reason filters of a query or form.
// A kind names its target; a target or kind that is not enabled is an
// error naming the enabled ones.
func (s *server) deadFilter(q url.Values) (deadSel, error) {
	sel := deadSel{Target: strings.TrimSpace(q.Get("target")), Kind: strings.TrimSpace(q.Get("kind"))}
	if sel.Target != "" || sel.Kind != "" {
		kinds, err := s.reg.Select(sel.Target, sel.Kind)
		if err != nil {
			return deadSel{}, err
		}
		if sel.Kind != "" {
			sel.Target, sel.Kind = string(kinds[0].Target), kinds[0].Name
		}
	}
	sel.Reason = strings.TrimSpace(q.Get("reason"))
	if len(sel.Reason) > maxReasonFilter {
		return deadSel{}, errors.New("reason filter too long: at most 200 bytes")
	}
	return sel, nil
}

// filterTargets lists the enabled targets with their kinds.
func (s *server) filterTargets() []targetKinds {
	var out []targetKinds
	for _, t := range s.reg.Targets() {
		tk := targetKinds{Name: string(t.Name)}
		for _, k := range s.reg.Kinds() {
			if k.Target == t.Name {
				tk.Kinds = append(tk.Kinds, k.Name)
			}
		}
		out = append(out, tk)
	}
	return out
}

func (s *server) deadLetters(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	q := r.URL.Query()
	sel, err := s.deadFilter(q)
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
	targets := s.targets(sel)
	total, err := s.q.StatusPageDeadLetterCount(ctx, dbsqlc.StatusPageDeadLetterCountParams{
		Targets: targets, Kind: optional(sel.Kind), Reason: optional(sel.Reason),
	})
	if err != nil {
		s.internal(w, r, p, "count the dead letters", err)
		return
	}
	v := deadView{deadSel: sel, Page: page, Total: total, Targets: s.filterTargets(), Back: r.URL.RequestURI()}
	v.Pages = int((total + int64(size) - 1) / int64(size))
	offset := int64(page-1) * int64(size)
	if offset < total {
		rows, err := s.q.StatusPageDeadLetters(ctx, dbsqlc.StatusPageDeadLettersParams{
			Targets: targets, Kind: optional(sel.Kind), Reason: optional(sel.Reason),
			PageOffset: int32(offset), PageSize: int32(size),
		})
		if err != nil {
			s.internal(w, r, p, "read the dead letters", err)
			return
		}
		for _, row := range rows {
			why := mask.Text(derefString(row.LastError))
			v.Rows = append(v.Rows, deadRow{
				Target: row.Target, Kind: row.Kind, ID: row.RecordID, RecordURL: s.kindRecordURL(row.Kind, row.RecordID),
				Status: row.Status, Field: reasonField(why), Reason: why,
				Attempts: row.Attempts, FirstFailedAt: row.FirstFailedAt, LastFailedAt: row.LastFailedAt,
			})
		}
		v.From = offset + 1
		v.To = offset + int64(len(v.Rows))
	}
	if page > 1 {
		v.PrevURL = deadURL(sel, min(page-1, max(v.Pages, 1)))
	}
	if page < v.Pages {
		v.NextURL = deadURL(sel, page+1)
	}
	if total > 0 {
		v.ReplayURL = replayBulkURL(sel)
	}
	if v.Reasons, err = s.reasons(ctx, sel); err != nil {
		s.internal(w, r, p, "read the dead letters' reasons", err)
		return
	}
	s.render(w, r, http.StatusOK, "dead.html", p, "Dead letters", v)
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
