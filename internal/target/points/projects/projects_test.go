package projects_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/points/pointssim/pointssimtest"
	"github.com/chansync/chansync/internal/target/points/projects"
	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

const testKey = "sk-projects-test"

type testBundle struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
	sim  *pointssimtest.Server
	api  *pointsapi.Client
}

// setup starts a simulator publishing forms A and B, and a schema.
func setup(t *testing.T) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	sim := pointssimtest.Start(t, pointssim.Config{APIKeys: []string{testKey}, Projects: []pointssim.Project{
		{ShortCode: "A", Name: "问卷 A", Industry: "零售", Icon: "https://cdn.example/a.png", Tags: []string{"调研", "零售"}},
		{ShortCode: "B", Name: "问卷 B", Tags: []string{"招聘"}},
	}})
	api, err := points.NewAPI(points.Settings{BaseURL: sim.BaseURL(), APIKey: testKey, ServiceUser: "chansync-test"}, target.Deps{})
	require.NoError(t, err)
	return &testBundle{pool: s.Pool, q: dbsqlc.New(s.Pool), sim: sim, api: api}
}

func (b *testBundle) rows(t *testing.T) map[string]dbsqlc.ApihubProject {
	t.Helper()
	list, err := b.q.ListProjects(context.Background())
	require.NoError(t, err)
	out := map[string]dbsqlc.ApihubProject{}
	for _, p := range list {
		out[p.ShortCode] = p
	}
	return out
}

func (b *testBundle) mirror(t *testing.T) projects.Run {
	t.Helper()
	run, err := projects.Mirror(context.Background(), b.pool, b.api)
	require.NoError(t, err)
	require.NotNil(t, run.FinishedAt)
	require.Empty(t, run.Error)
	require.Equal(t, projects.TriggerCommand, run.Trigger)
	return run
}

// counts is what a run did, for comparison.
type counts struct{ Published, Added, Updated, Unpublished, Republished int }

func countsOf(r projects.Run) counts {
	return counts{r.Published, r.Added, r.Updated, r.Unpublished, r.Republished}
}

// TestMirrorFollowsThePublishedForms: the mirror adds new forms, updates
// changed ones, marks the ones no longer published (keeping their rows)
// and clears the mark of the ones published again; each run is recorded.
func TestMirrorFollowsThePublishedForms(t *testing.T) {
	t.Parallel()
	b := setup(t)

	run := b.mirror(t)
	require.Equal(t, counts{Published: 2, Added: 2}, countsOf(run))
	rows := b.rows(t)
	require.Len(t, rows, 2)
	a := rows["A"]
	require.Equal(t, "问卷 A", a.Name)
	require.Equal(t, "零售", *a.Industry)
	require.Equal(t, "https://cdn.example/a.png", *a.Icon)
	require.Equal(t, []string{"调研", "零售"}, a.Tags)
	require.Nil(t, a.UnpublishedAt)
	require.Nil(t, rows["B"].Industry, "an empty industry is stored as NULL")
	require.Equal(t, []string{"招聘"}, rows["B"].Tags)

	// A withdrawn, B renamed and retagged, C published.
	require.True(t, b.sim.Unpublish("A"))
	require.NoError(t, b.sim.Publish(pointssim.Project{ShortCode: "B", Name: "问卷 B（新版）", Tags: []string{"招聘", "校招"}}))
	require.NoError(t, b.sim.Publish(pointssim.Project{ShortCode: "C", Name: "问卷 C", Tags: []string{}}))
	run = b.mirror(t)
	require.Equal(t, counts{Published: 2, Added: 1, Updated: 1, Unpublished: 1}, countsOf(run))
	rows = b.rows(t)
	require.Len(t, rows, 3, "an unpublished form keeps its row")
	require.NotNil(t, rows["A"].UnpublishedAt)
	require.Equal(t, a.FirstSeenAt, rows["A"].FirstSeenAt)
	require.Equal(t, a.LastSeenAt, rows["A"].LastSeenAt, "not seen since")
	require.Equal(t, "问卷 B（新版）", rows["B"].Name)
	require.Equal(t, []string{"招聘", "校招"}, rows["B"].Tags)
	require.True(t, rows["B"].LastSeenAt.After(a.LastSeenAt))
	require.Equal(t, []string{}, rows["C"].Tags)

	// A published again.
	require.NoError(t, b.sim.Publish(pointssim.Project{ShortCode: "A", Name: "问卷 A", Industry: "零售", Icon: "https://cdn.example/a.png", Tags: []string{"调研", "零售"}}))
	run = b.mirror(t)
	require.Equal(t, counts{Published: 3, Republished: 1}, countsOf(run))
	rows = b.rows(t)
	require.Nil(t, rows["A"].UnpublishedAt, "published again: the mark is cleared")
	require.Equal(t, a.FirstSeenAt, rows["A"].FirstSeenAt)

	// Nothing changed.
	run = b.mirror(t)
	require.Equal(t, counts{Published: 3}, countsOf(run))

	last, err := projects.LastRun(context.Background(), b.pool)
	require.NoError(t, err)
	require.Equal(t, run.ID, last.ID)
	require.Equal(t, 3, last.Published)
	var runs int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM projects_mirror_run WHERE finished_at IS NOT NULL`).Scan(&runs))
	require.Equal(t, 4, runs)
	require.Equal(t, int64(1), b.sim.Stats().TokensIssued, "one bearer token serves every run until it must be renewed")
}

// TestFailedMirrorRunChangesNothing: a run that cannot read the list (the
// key disabled) is recorded with its error and unpublishes nothing.
func TestFailedMirrorRunChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mirror(t)
	b.sim.RevokeKey(testKey) // and the bearer tokens issued with it

	run, err := projects.Mirror(context.Background(), b.pool, b.api)
	require.ErrorContains(t, err, "read the published forms")
	require.Contains(t, run.Error, "401")
	require.NotNil(t, run.FinishedAt)
	for _, p := range b.rows(t) {
		require.Nil(t, p.UnpublishedAt, p.ShortCode)
	}
	last, err := projects.LastRun(context.Background(), b.pool)
	require.NoError(t, err)
	require.Equal(t, run.ID, last.ID)
	require.Contains(t, last.Error, "401")
	require.Zero(t, last.Published)
}

// TestConcurrentMirrorRunsWaitForEachOther: two runs at once (the schedule
// and an operator) each see the other's work: every form is added once.
func TestConcurrentMirrorRunsWaitForEachOther(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var wg sync.WaitGroup
	runs := make([]projects.Run, 4)
	for i := range runs {
		wg.Go(func() {
			r, err := projects.Mirror(context.Background(), b.pool, b.api)
			require.NoError(t, err)
			runs[i] = r
		})
	}
	wg.Wait()
	added := 0
	for _, r := range runs {
		added += r.Added
	}
	require.Equal(t, 2, added)
}

// TestLastRunBeforeAnyRunIsNil: the status page shows "never" rather than
// an error.
func TestLastRunBeforeAnyRunIsNil(t *testing.T) {
	t.Parallel()
	b := setup(t)
	last, err := projects.LastRun(context.Background(), b.pool)
	require.NoError(t, err)
	require.Nil(t, last)
}

// TestScheduledMirrorRuns: the periodic job's worker runs the mirror and
// records it as scheduled.
func TestScheduledMirrorRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	w := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{Schema: database.SchemaOf(b.pool)},
		projects.NewMirrorWorker(b.pool, b.api, nil))
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := w.Work(ctx, t, tx, projects.MirrorArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	last, err := projects.LastRun(ctx, b.pool)
	require.NoError(t, err)
	require.Equal(t, projects.TriggerSchedule, last.Trigger)
	require.Equal(t, 2, last.Added)
	require.Len(t, b.rows(t), 2)
}

// TestProjectsSchedule: PROJECTS_SCHEDULE is a cron expression, hourly
// when empty; a bad one is refused naming the setting; a scheduled run is
// unique per minute however many leaders insert it.
func TestProjectsSchedule(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 30, 8, 20, 0, 0, time.UTC)
	tests := []struct {
		name string
		spec string
		next time.Time
		bad  bool
	}{
		{name: "EmptyIsHourly", spec: "", next: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		{name: "EveryQuarterHour", spec: "*/15 * * * *", next: time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC)},
		{name: "TimeZoneGiven", spec: "CRON_TZ=Asia/Shanghai 0 2 * * *", next: time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC)},
		{name: "WordsAreRefused", spec: "hourly", bad: true},
		{name: "OutOfRangeIsRefused", spec: "61 * * * *", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := projects.Parse(tt.spec)
			pj, perr := projects.PeriodicJob(tt.spec)
			if tt.bad {
				require.ErrorContains(t, err, "PROJECTS_SCHEDULE")
				require.ErrorContains(t, perr, "PROJECTS_SCHEDULE")
				return
			}
			require.NoError(t, err)
			require.NoError(t, perr)
			require.NotNil(t, pj)
			require.Equal(t, tt.next, s.Next(from).UTC())
		})
	}
	require.Equal(t, time.Minute, projects.MirrorArgs{}.InsertOpts().UniqueOpts.ByPeriod)
	require.Equal(t, "projects_mirror", projects.MirrorArgs{}.Kind())
}
