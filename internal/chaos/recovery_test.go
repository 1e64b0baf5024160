package chaos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// riverClientID returns the id of a worker's River client, from its
// "River client started" log line: the last entry of attempted_by of the
// jobs it runs.
func riverClientID(t *testing.T, p *proc) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if id, ok := p.logAttr("River client started", "client_id"); ok && id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s logged no River client id:\n%s", p.name, p.log.tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// held is what a killed worker was pushing when it died.
type held struct {
	// jobs are its push jobs left running in River.
	jobs []int64
	// kinds and ids name the channel records of those jobs that were not
	// accepted yet and that the channel must hold in the end (valid, with
	// valid parents).
	kinds, ids []string
	// refs are the same records as "kind/id".
	refs []string
	// leased counts those of them its pushes held a lease on.
	leased int
}

// heldBy finds, right after a worker with River client id clientID was
// killed, the jobs it left running and the records of theirs the channel
// has yet to accept.
func (b *bundle) heldBy(clientID string) held {
	b.t.Helper()
	expected := b.local(checks{})
	rows, err := b.pool.Query(context.Background(), `
		WITH jobs AS (
		    SELECT j.id, j.args ->> 'kind' AS kind, jsonb_array_elements_text(j.args -> 'ids') AS record_id
		    FROM river_job j
		    WHERE j.kind = 'push' AND j.state = 'running' AND j.args ->> 'target' = 'channel'
		      AND j.attempted_by[array_upper(j.attempted_by, 1)] = $1
		)
		SELECT jobs.id, jobs.kind, jobs.record_id,
		    coalesce(s.accepted_at IS NOT NULL, false),
		    coalesce(s.lease_until > now() AND split_part(s.lease_holder, '/', 1) = jobs.id::text, false)
		FROM jobs
		LEFT JOIN sync_state s ON s.target = 'channel' AND s.kind = jobs.kind AND s.record_id = jobs.record_id
		ORDER BY 1, 2, 3`, clientID)
	require.NoError(b.t, err)
	defer rows.Close()
	var h held
	for rows.Next() {
		var job int64
		var kind, id string
		var accepted, leased bool
		require.NoError(b.t, rows.Scan(&job, &kind, &id, &accepted, &leased))
		if len(h.jobs) == 0 || h.jobs[len(h.jobs)-1] != job {
			h.jobs = append(h.jobs, job)
		}
		if lr, ok := expected[kind][id]; accepted || !ok || !lr.expected {
			continue
		}
		h.kinds, h.ids, h.refs = append(h.kinds, kind), append(h.ids, id), append(h.refs, kind+"/"+id)
		if leased {
			h.leased++
		}
	}
	require.NoError(b.t, rows.Err())
	return h
}

// recovery is how a killed worker's records came through.
type recovery struct {
	// took is the time from the kill to the last of them accepted.
	took time.Duration
	// stillRunning counts the killed worker's jobs River had not rescued
	// yet by then.
	stillRunning int
	err          error
}

// watchRecovery waits, in the background, until every record of h is
// accepted, and reports how long after killedAt the last one was.
func (b *bundle) watchRecovery(h held, killedAt time.Time) <-chan recovery {
	out := make(chan recovery, 1)
	deadline := time.Now().Add(size(3*time.Minute, 10*time.Minute))
	go func() {
		ctx := context.Background()
		for {
			var waiting int
			var last *time.Time
			err := b.pool.QueryRow(ctx, `
				SELECT count(*) FILTER (WHERE s.accepted_at IS NULL), max(s.accepted_at)
				FROM unnest($1::text[], $2::text[]) AS r(kind, record_id)
				LEFT JOIN sync_state s ON s.target = 'channel' AND s.kind = r.kind AND s.record_id = r.record_id`,
				h.kinds, h.ids).Scan(&waiting, &last)
			switch {
			case err != nil:
				out <- recovery{err: fmt.Errorf("read the killed worker's records: %w", err)}
				return
			case waiting == 0 && last != nil:
				r := recovery{took: last.Sub(killedAt)}
				r.err = b.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id = ANY($1) AND state = 'running'`, h.jobs).Scan(&r.stillRunning)
				out <- r
				return
			case time.Now().After(deadline):
				out <- recovery{err: fmt.Errorf("%d of the killed worker's %d records were still not accepted %s after the kill", waiting, len(h.refs), time.Since(killedAt).Round(time.Second))}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return out
}
