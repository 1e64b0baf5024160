// Package projects mirrors APIHub's published project forms (seed 000,
// GET projects/published-list, each form with its tags) into
// apihub_projects,
// where HR systems read them: on demand (enqueue projects) and on a
// schedule (PROJECTS_SCHEDULE, hourly by default), as a River periodic job
// run by one worker at a time.
//
// A form no longer published keeps its row, with unpublished_at set; one
// published again has it cleared. Each run is recorded in
// projects_mirror_run, failed runs too. The project calls carry the bearer
// token pointsapi obtains for APIHUB_SERVICE_USER and renews before it
// expires.
package projects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// The triggers a run records.
const (
	// TriggerCommand is a run asked for by an operator (enqueue projects).
	TriggerCommand = "enqueue projects"
	// TriggerSchedule is a run of PROJECTS_SCHEDULE.
	TriggerSchedule = "schedule"
)

// Run is one run of the mirror.
type Run struct {
	// ID numbers the run (projects_mirror_run.id).
	ID int64 `json:"id"`
	// Trigger names who started it: TriggerCommand or TriggerSchedule.
	Trigger string `json:"trigger"`
	// StartedAt and FinishedAt bound it; FinishedAt is nil while it runs
	// (or when its process died).
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Published counts the forms listed.
	Published int `json:"published"`
	// Added counts the forms seen for the first time.
	Added int `json:"added"`
	// Updated counts the forms known before whose name, industry, icon or
	// tags changed. It is this run's only: projects_mirror_run has no
	// column for it, and LastRun leaves it zero.
	Updated int `json:"updated"`
	// Unpublished counts the rows no longer listed, now marked so.
	Unpublished int `json:"unpublished"`
	// Republished counts the rows listed again after they were unpublished.
	Republished int `json:"republished"`
	// Skipped counts the forms listed without a short code or a name,
	// which cannot be mirrored (this run's only, like Updated).
	Skipped int `json:"skipped,omitempty"`
	// Error is why the run failed; then it changed nothing.
	Error string `json:"error,omitempty"`
}

// Mirror copies every published form into apihub_projects now, as
// TriggerCommand, and records the run: it reads the whole list (no limit),
// each form with its tags, and writes it in one transaction (a run waits
// for any other). A failed run changes no row. The run is returned with
// its error too.
func Mirror(ctx context.Context, pool *pgxpool.Pool, api *pointsapi.Client) (Run, error) {
	return mirror(ctx, pool, api, TriggerCommand)
}

func mirror(ctx context.Context, pool *pgxpool.Pool, api *pointsapi.Client, trigger string) (Run, error) {
	q := dbsqlc.New(pool)
	started, err := q.StartMirrorRun(ctx, trigger)
	if err != nil {
		return Run{}, fmt.Errorf("projects mirror: record the run: %w", err)
	}
	run := runOf(started)
	counts, err := copyForms(ctx, pool, api, &run)
	var msg *string
	if err != nil {
		s := err.Error()
		msg, run.Error = &s, s
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	finished, ferr := q.FinishMirrorRun(wctx, dbsqlc.FinishMirrorRunParams{
		ID: run.ID, Published: counts.Published, Added: counts.Added,
		Unpublished: counts.Unpublished, Republished: counts.Republished, Error: msg,
	})
	if ferr != nil {
		return run, errors.Join(err, fmt.Errorf("projects mirror: record the end of run %d: %w", run.ID, ferr))
	}
	updated, skipped := run.Updated, run.Skipped
	run = runOf(finished)
	run.Updated, run.Skipped = updated, skipped
	if err != nil {
		return run, fmt.Errorf("projects mirror: %w", err)
	}
	return run, nil
}

// form is one published form as MirrorProjects takes it.
type form struct {
	ShortCode string   `json:"short_code"`
	Name      string   `json:"name"`
	Industry  string   `json:"industry"`
	Icon      string   `json:"icon"`
	Tags      []string `json:"tags"`
}

// copyForms reads the published forms and writes them, in one transaction
// that waits for any other run.
func copyForms(ctx context.Context, pool *pgxpool.Pool, api *pointsapi.Client, run *Run) (dbsqlc.MirrorProjectsRow, error) {
	list, err := api.PublishedList(ctx, pointsapi.ProjectsQuery{})
	if err != nil {
		return dbsqlc.MirrorProjectsRow{}, fmt.Errorf("read the published forms: %w", err)
	}
	forms, skipped := dedupe(list)
	run.Skipped = skipped
	data, err := json.Marshal(forms)
	if err != nil {
		return dbsqlc.MirrorProjectsRow{}, fmt.Errorf("encode the forms: %w", err)
	}
	var counts dbsqlc.MirrorProjectsRow
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := q.LockProjectsMirror(ctx); err != nil {
			return fmt.Errorf("wait for other runs: %w", err)
		}
		counts, err = q.MirrorProjects(ctx, data)
		if err != nil {
			return fmt.Errorf("write apihub_projects: %w", err)
		}
		return nil
	})
	if err != nil {
		return dbsqlc.MirrorProjectsRow{}, err
	}
	run.Updated = int(counts.Updated)
	return counts, nil
}

// dedupe keeps one form per short code (the last listed) in listing
// order, and drops the forms without a short code or a name, counting
// them.
func dedupe(list []pointsapi.Project) ([]form, int) {
	out := make([]form, 0, len(list))
	at := map[string]int{}
	skipped := 0
	for _, p := range list {
		code, name := strings.TrimSpace(p.ShortCode), strings.TrimSpace(p.Name)
		if code == "" || name == "" {
			skipped++
			continue
		}
		tags := slices.Clone(p.Tags)
		if tags == nil {
			tags = []string{}
		}
		f := form{ShortCode: code, Name: name, Industry: p.Industry, Icon: p.Icon, Tags: tags}
		if i, ok := at[code]; ok {
			out[i] = f
			continue
		}
		at[code] = len(out)
		out = append(out, f)
	}
	return out, skipped
}

// LastRun returns the newest run of the mirror, nil when it never ran.
func LastRun(ctx context.Context, db dbsqlc.DBTX) (*Run, error) {
	r, err := dbsqlc.New(db).LastMirrorRun(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the last projects mirror run: %w", err)
	}
	run := runOf(r)
	return &run, nil
}

func runOf(r dbsqlc.ProjectsMirrorRun) Run {
	run := Run{
		ID: r.ID, Trigger: r.Trigger, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Published: int(r.Published), Added: int(r.Added), Unpublished: int(r.Unpublished), Republished: int(r.Republished),
	}
	if r.Error != nil {
		run.Error = *r.Error
	}
	return run
}
