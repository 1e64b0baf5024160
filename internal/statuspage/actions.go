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
	"github.com/chansync/chansync/internal/record"
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

// recordForm reads the kind and id of a one-record action.
func recordForm(r *http.Request) (record.Kind, string, error) {
	kind := record.Kind(strings.TrimSpace(r.PostForm.Get("kind")))
	if !kind.Valid() {
		return "", "", errors.New("unknown kind: want one of company, user, task, application, payment")
	}
	id := strings.TrimSpace(r.PostForm.Get("id"))
	if id == "" {
		return "", "", errors.New("name the record's id")
	}
	return kind, id, nil
}

// logAction records an action ("replay" or "push") in replay_log (shown on
// the overview) and in the log. The filter is written as the enqueue
// command writes it: the replay filter, or "push kind=K ids=ID".
func (s *server) logAction(ctx context.Context, p *principal, action, filter string, n int) error {
	s.logger.InfoContext(ctx, "status page: "+action,
		slog.String("actor", p.actor), slog.String("filter", filter), slog.Int("count", n))
	return s.ctl.LogReplay(context.WithoutCancel(ctx), p.actor, filter, n)
}

// replayOne replays one dead letter (form: kind, id; back: where to go).
func (s *server) replayOne(w http.ResponseWriter, r *http.Request, p *principal) {
	kind, id, err := recordForm(r)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	f := control.ReplayFilter{Kind: kind, ID: id}
	s.replay(w, r, p, f, orDefault(r.PostForm.Get("back"), recordURL(kind, id)))
}

// replayBulk replays every dead letter of a kind and/or reason (form: kind,
// reason, or all=1).
func (s *server) replayBulk(w http.ResponseWriter, r *http.Request, p *principal) {
	f, err := bulkFilter(r.PostForm)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	s.replay(w, r, p, f, deadURL(f.Kind, f.Reason, 0))
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

// pushOne pushes one record now (form: kind, id).
func (s *server) pushOne(w http.ResponseWriter, r *http.Request, p *principal) {
	kind, id, err := recordForm(r)
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	n, err := s.ctl.Push(r.Context(), kind, []string{id})
	var missing *control.MissingError
	switch {
	case errors.As(err, &missing):
		s.fail(w, r, p, http.StatusNotFound, "No local row: nothing to push.")
		return
	case err != nil:
		s.internal(w, r, p, "push", err)
		return
	}
	if err := s.logAction(r.Context(), p, "push", "push kind="+string(kind)+" ids="+id, n); err != nil {
		s.internal(w, r, p, "record the push (queued)", err)
		return
	}
	http.Redirect(w, r, withNotice(orDefault(r.PostForm.Get("back"), recordURL(kind, id)), "push", n), http.StatusSeeOther)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// bulkFilter reads a bulk replay's filter: kind and/or reason, or all=1 for
// every dead letter.
func bulkFilter(q url.Values) (control.ReplayFilter, error) {
	kind, reason, err := deadFilter(q)
	if err != nil {
		return control.ReplayFilter{}, err
	}
	f := control.ReplayFilter{Kind: kind, Reason: reason}
	if kind == "" && reason == "" {
		if q.Get("all") != "1" {
			return f, errors.New("name a kind or a reason, or all=1 for every dead letter")
		}
		f.All = true
	}
	return f, nil
}

type confirmView struct {
	Kind   record.Kind
	Reason string
	All    bool
	Count  int64
	// Shown lists the first of the records the replay selects.
	Shown []control.DeadLetter
	Back  string
}

// replayBulkConfirm shows how many dead letters a bulk replay selects and
// asks before doing it.
func (s *server) replayBulkConfirm(w http.ResponseWriter, r *http.Request, p *principal) {
	f, err := bulkFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, p, http.StatusBadRequest, err.Error())
		return
	}
	cands, err := s.ctl.ReplayCandidates(r.Context(), f)
	if err != nil {
		s.internal(w, r, p, "list the dead letters to replay", err)
		return
	}
	v := confirmView{Kind: f.Kind, Reason: f.Reason, All: f.All, Count: int64(len(cands)), Back: deadURL(f.Kind, f.Reason, 0)}
	v.Shown = cands[:min(len(cands), candidateRows)]
	s.render(w, r, http.StatusOK, "confirm.html", p, "Replay dead letters?", v)
}
