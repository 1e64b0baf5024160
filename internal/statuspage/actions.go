package statuspage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/target"
)

// candidateRows is how many of a bulk replay's records the confirmation
// lists by id.
const candidateRows = 20

// withNotice returns back (a local path) with the notice of an action.
func withNotice(back, notice string, n int) string {
	u, err := url.Parse(localPath(back))
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("notice", notice)
	q.Set("n", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// recordForm reads the target, kind and id of a one-record action. The
// kind is required and names its target; a target, when given, must be
// the kind's.
func (s *server) recordForm(r *http.Request) (*target.Kind, string, error) {
	kindName := strings.TrimSpace(r.PostForm.Get("kind"))
	if kindName == "" {
		return nil, "", fmt.Errorf("kind is required: want one of %s", strings.Join(s.reg.KindNames(), ", "))
	}
	kinds, err := s.reg.Select(strings.TrimSpace(r.PostForm.Get("target")), kindName)
	if err != nil {
		return nil, "", err
	}
	id := strings.TrimSpace(r.PostForm.Get("id"))
	if id == "" {
		return nil, "", errors.New("id is required: name the record's id")
	}
	return kinds[0], id, nil
}

// logAction records an action ("replay" or "push") in replay_log (shown on
// the overview) and in the log. The filter is written as the enqueue
// command writes it: the replay filter, or "push target=T kind=K ids=ID".
func (s *server) logAction(ctx context.Context, p *principal, action, filter string, n int) error {
	s.logger.InfoContext(ctx, "status page: "+action,
		slog.String("actor", p.actor), slog.String("filter", filter), slog.Int("count", n))
	return s.ctl.LogReplay(context.WithoutCancel(ctx), p.actor, filter, n)
}

// replayOne replays one dead letter (form: target, kind, id; back: where
// to go).
func (s *server) replayOne(w http.ResponseWriter, r *http.Request, p *principal) {
	k, id, err := s.recordForm(r)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	f := control.ReplayFilter{Target: string(k.Target), Kind: k.Name, ID: id}
	s.replay(w, r, p, f, orDefault(r.PostForm.Get("back"), recordURL(k.Source, id)))
}

// replayBulk replays every dead letter of a target, kind and/or reason
// (form: target, kind, reason, or all=1).
func (s *server) replayBulk(w http.ResponseWriter, r *http.Request, p *principal) {
	sel, f, err := s.bulkFilter(r.PostForm)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	s.replay(w, r, p, f, deadURL(sel, 0))
}

func (s *server) replay(w http.ResponseWriter, r *http.Request, p *principal, f control.ReplayFilter, back string) {
	n, err := s.ctl.Replay(r.Context(), f)
	if err != nil {
		s.internal(w, r, p, "replay", err)
		return
	}
	if err := s.logAction(r.Context(), p, "replay", f.String(), n); err != nil {
		s.internal(w, r, p, fmt.Sprintf("record the replay (%d replayed)", n), err)
		return
	}
	http.Redirect(w, r, withNotice(back, "replay", n), http.StatusSeeOther)
}

// pushOne pushes one record of one kind now (form: target, kind, id).
func (s *server) pushOne(w http.ResponseWriter, r *http.Request, p *principal) {
	k, id, err := s.recordForm(r)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	n, err := s.ctl.Push(r.Context(), k, []string{id})
	var missing *control.MissingError
	switch {
	case errors.As(err, &missing):
		s.fail(w, r, p, http.StatusNotFound, "No local row: nothing to push.")
		return
	case err != nil:
		s.internal(w, r, p, "push", err)
		return
	}
	filter := "push target=" + string(k.Target) + " kind=" + k.Name + " ids=" + id
	if err := s.logAction(r.Context(), p, "push", filter, n); err != nil {
		s.internal(w, r, p, "record the push (queued)", err)
		return
	}
	http.Redirect(w, r, withNotice(orDefault(r.PostForm.Get("back"), recordURL(k.Source, id)), "push", n), http.StatusSeeOther)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// bulkFilter reads a bulk replay's filter: target, kind and/or reason, or
// all=1 for every dead letter of every enabled target.
func (s *server) bulkFilter(q url.Values) (deadSel, control.ReplayFilter, error) {
	sel, err := s.deadFilter(q)
	if err != nil {
		return sel, control.ReplayFilter{}, err
	}
	f := control.ReplayFilter{Target: sel.Target, Kind: sel.Kind, Reason: sel.Reason}
	if sel == (deadSel{}) {
		if q.Get("all") != "1" {
			return sel, f, errors.New("name a target, a kind or a reason, or all=1 for every dead letter")
		}
		f.All = true
	}
	return sel, f, nil
}

// candidate is one record a bulk replay selects.
type candidate struct {
	control.DeadLetter
	URL string
}

type confirmView struct {
	deadSel
	All   bool
	Count int64
	// Shown lists the first of the records the replay selects.
	Shown []candidate
	Back  string
}

// replayBulkConfirm shows how many dead letters a bulk replay selects and
// asks before doing it.
func (s *server) replayBulkConfirm(w http.ResponseWriter, r *http.Request, p *principal) {
	sel, f, err := s.bulkFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	cands, err := s.ctl.ReplayCandidates(r.Context(), f)
	if err != nil {
		s.internal(w, r, p, "list the dead letters to replay", err)
		return
	}
	v := confirmView{deadSel: sel, All: f.All, Count: int64(len(cands)), Back: deadURL(sel, 0)}
	for _, c := range cands[:min(len(cands), candidateRows)] {
		v.Shown = append(v.Shown, candidate{DeadLetter: c, URL: s.kindRecordURL(c.Kind, c.ID)})
	}
	s.render(w, r, http.StatusOK, "confirm.html", p, "Replay dead letters?", v)
}
