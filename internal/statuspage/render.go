package statuspage

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// view is what every template receives.
type view struct {
	// Title is the page's title.
	Title string
	// LoggedIn tells whether to show the navigation; Actor names who is
	// logged in; CSRF is the token for forms (empty for bearer clients).
	LoggedIn bool
	Actor    string
	CSRF     string
	// Notice is a one-line message about the last action.
	Notice string
	// Now is when the page was rendered.
	Now time.Time
	// Data is the page's own data.
	Data any
}

func parseTemplates(now func() time.Time) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when":   formatTime,
		"ago":    func(t any) string { return ago(t, now()) },
		"deref":  derefString,
		"until":  func(t any) string { return until(t, now()) },
		"plural": plural,
		"slug":   func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	}
	pages, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := path.Base(p)
		if name == "layout.html" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", p)
		if err != nil {
			return nil, fmt.Errorf("statuspage: parse %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a page. p may be nil (not logged in).
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, p *principal, title string, data any) {
	v := view{Title: title, Now: s.cfg.Now(), Data: data, Notice: noticeText(r.URL.Query())}
	if p != nil {
		v.LoggedIn = true
		v.Actor = p.actor
		v.CSRF = p.csrf()
	}
	t, ok := s.tmpl[page]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.logger.ErrorContext(r.Context(), "status page: render", slog.String("page", page), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorView struct {
	Status  int
	Message string
}

// fail shows an error page (logged in) or a bare message.
func (s *server) fail(w http.ResponseWriter, r *http.Request, p *principal, status int, msg string) {
	s.render(w, r, status, "error.html", p, http.StatusText(status), errorView{Status: status, Message: msg})
}

// internal logs err and shows a 500 without its detail.
func (s *server) internal(w http.ResponseWriter, r *http.Request, p *principal, what string, err error) {
	s.logger.ErrorContext(r.Context(), "status page: "+what, slog.String("error", err.Error()))
	s.fail(w, r, p, http.StatusInternalServerError, "Could not "+what+"; see the worker's log.")
}

// noticeText renders the outcome of the last action from the query of the
// page it redirected to (?notice=replay|push&n=N). Only fixed sentences are
// shown, never text from the query.
func noticeText(q url.Values) string {
	n := q.Get("n")
	switch q.Get("notice") {
	case "replay":
		if n == "0" {
			return "Nothing replayed: no dead letter matched."
		}
		var k int64
		if _, err := fmt.Sscan(n, &k); err != nil || k < 0 {
			return ""
		}
		return fmt.Sprintf("Replayed %d %s: back to pending and queued.", k, plural(k, "dead letter", "dead letters"))
	case "push":
		return "Pushed now: the record is queued on the events queue."
	}
	return ""
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// recordURL links to the detail page of the record of source named id.
func recordURL(source, id string) string {
	return "/records/" + url.PathEscape(source) + "/" + url.PathEscape(id)
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func asTime(t any) (time.Time, bool) {
	switch v := t.(type) {
	case time.Time:
		return v, !v.IsZero()
	case *time.Time:
		if v == nil {
			return time.Time{}, false
		}
		return *v, !v.IsZero()
	}
	return time.Time{}, false
}

// formatTime shows a time in UTC, or "—" for none.
func formatTime(t any) string {
	tt, ok := asTime(t)
	if !ok {
		return "—"
	}
	return tt.UTC().Format("2006-01-02 15:04:05Z")
}

// ago shows how long before now t was: "5m ago", or "" for none.
func ago(t any, now time.Time) string {
	tt, ok := asTime(t)
	if !ok {
		return ""
	}
	d := now.Sub(tt)
	if d < 0 {
		return "in the future"
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// until shows how long after now t is: "in 5m", "due" once it has passed,
// or "" for none.
func until(t any, now time.Time) string {
	tt, ok := asTime(t)
	if !ok {
		return ""
	}
	d := tt.Sub(now)
	switch {
	case d <= 0:
		return "due"
	case d < time.Minute:
		return fmt.Sprintf("in %ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("in %dd", int(d.Hours()/24))
}
