package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// writePace is the time between two single-row writes of one series when
// the system is otherwise idle; loadedWritePace while a bulk run drains
// (faster, so that the writes fall inside the run).
const (
	writePace       = 20 * time.Millisecond
	loadedWritePace = 10 * time.Millisecond
)

// latencyResult is the distribution of commit-to-channel times of one
// series of single-row writes.
type latencyResult struct {
	Path      string  `json:"path"` // "sql" or "ingest"
	UnderLoad bool    `json:"under_load"`
	Available bool    `json:"available"`
	Note      string  `json:"note,omitempty"`
	Writes    int     `json:"writes"`
	Received  int     `json:"received"`
	P50MS     float64 `json:"p50_ms"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	// BulkDraining reports (under load) that the bulk run was still
	// draining when the last write of the series was received.
	BulkDraining bool `json:"bulk_draining,omitempty"`
	// DuringDrain counts (under load) the writes committed while the bulk
	// run was draining; the percentiles are over those only.
	DuringDrain int `json:"during_drain,omitempty"`
	BulkSize    int `json:"bulk_size,omitempty"`
}

// commit is one write: the record's id and when its commit was
// acknowledged.
type commit struct {
	id string
	at time.Time
}

// latency measures, over n single-row inserts of new users by SQL and n by
// the worker's ingest endpoint (two paced series at once), the time from
// each commit to the simulator receiving its push. Under load, a bulk run
// of the whole template's data set drains meanwhile.
func (b *bench) latency(ctx context.Context, tmpl string, n int, underLoad bool, bulkSize int) ([]latencyResult, error) {
	name, dbURL, err := b.createDB(ctx, tmpl)
	if err != nil {
		return nil, err
	}
	defer b.dropDB(name)
	s, err := b.startSim(0, true)
	if err != nil {
		return nil, err
	}
	defer s.p.stop(5 * time.Second)
	w, err := b.startWorker(ctx, dbURL, s, workerOpts{concurrency: 16})
	if err != nil {
		return nil, err
	}
	defer w.p.stop(30 * time.Second)
	var enq *proc
	if underLoad {
		enq, err = b.start("enqueue", []string{"all", "--wait", "--json"}, []string{"DATABASE_URL=" + dbURL, "LOG_LEVEL=warn"}, io.Discard)
		if err != nil {
			return nil, err
		}
		defer enq.stop(5 * time.Second)
		// Let the bulk run get going before the first write.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			st, err := simStats(ctx, s)
			if err == nil {
				if c, _ := writes(st); c > 500 {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	prefix, pace := "L", writePace
	if underLoad {
		prefix, pace = "M", loadedWritePace
	}
	var sqlCommits, ingCommits []commit
	var sqlErr, ingErr error
	ingNote := ""
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sqlCommits, sqlErr = sqlWrites(ctx, dbURL, prefix+"S", n, pace)
	}()
	go func() {
		defer wg.Done()
		ingCommits, ingNote, ingErr = ingestWrites(ctx, "http://"+w.addr, prefix+"I", n, pace)
	}()
	wg.Wait()
	if sqlErr != nil {
		return nil, sqlErr
	}
	if ingErr != nil {
		return nil, ingErr
	}

	// Wait for every write to reach the channel (or 60 s), then match.
	var reqs []channelsim.Request
	deadline := time.Now().Add(60 * time.Second)
	var firstSeen map[string]time.Time
	for {
		if err := getJSON(ctx, s.admin+"/requests", &reqs); err != nil {
			return nil, err
		}
		firstSeen = map[string]time.Time{}
		var last time.Time
		for _, r := range reqs {
			if r.Kind == "user" && r.Applied && len(r.ID) > 2 && r.ID[0] == prefix[0] {
				if _, ok := firstSeen[r.ID]; !ok {
					firstSeen[r.ID] = r.Time
					last = maxTime(last, r.Time)
				}
			}
		}
		if len(firstSeen) >= len(sqlCommits)+len(ingCommits) || time.Now().After(deadline) {
			_ = last
			break
		}
		time.Sleep(time.Second)
	}
	draining := underLoad && !enq.exited()
	allWrites := len(sqlCommits) + len(ingCommits)
	if underLoad && !draining {
		// Only the writes committed while the bulk run drained count.
		sqlCommits, ingCommits = before(sqlCommits, enq.exitedAt), before(ingCommits, enq.exitedAt)
	}
	sqlRes := summarize("sql", sqlCommits, firstSeen)
	ingRes := summarize("ingest", ingCommits, firstSeen)
	sqlRes.Writes, ingRes.Writes = n, n
	if underLoad {
		sqlRes.DuringDrain, ingRes.DuringDrain = len(sqlCommits), len(ingCommits)
		b.logger.Info("bench: writes during the bulk run", slog.Int("during", len(sqlCommits)+len(ingCommits)), slog.Int("of", allWrites))
	}
	if ingNote != "" {
		ingRes.Available = false
		ingRes.Note = ingNote
	}
	for _, r := range []*latencyResult{&sqlRes, &ingRes} {
		r.UnderLoad = underLoad
		if underLoad {
			r.BulkDraining = draining
			r.BulkSize = bulkSize
		}
	}
	b.logger.Info("bench: latency", slog.Bool("under_load", underLoad),
		slog.Float64("sql_p50_ms", sqlRes.P50MS), slog.Float64("sql_p99_ms", sqlRes.P99MS),
		slog.Float64("ingest_p50_ms", ingRes.P50MS), slog.Float64("ingest_p99_ms", ingRes.P99MS),
		slog.Bool("bulk_draining", draining))
	return []latencyResult{sqlRes, ingRes}, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// newUser returns the columns of a valid new user.
func newUser(r *rand.Rand, id string, i int) map[string]string {
	return map[string]string{
		"channel_user_id": id,
		"name":            "李娜",
		"id_card":         datagen.IDCard(r),
		"phone":           fmt.Sprintf("139%08d", i),
	}
}

// sqlWrites inserts n users, one autocommitted statement each, paced by
// pace, and notes when each commit was acknowledged.
func sqlWrites(ctx context.Context, dbURL, prefix string, n int, pace time.Duration) ([]commit, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	r := rand.New(rand.NewPCG(7, 11))
	out := make([]commit, 0, n)
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for i := range n {
		u := newUser(r, fmt.Sprintf("%s%07d", prefix, i+1), i)
		if _, err := conn.Exec(ctx, `INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ($1, $2, $3, $4)`,
			u["channel_user_id"], u["name"], u["id_card"], u["phone"]); err != nil {
			return out, fmt.Errorf("insert user: %w", err)
		}
		out = append(out, commit{id: u["channel_user_id"], at: time.Now()})
		<-tick.C
	}
	return out, nil
}

// ingestWrites posts n users to the worker's ingest endpoint. If the
// endpoint is not there (404 on the first write), it returns a note saying
// so instead of an error.
func ingestWrites(ctx context.Context, base, prefix string, n int, pace time.Duration) ([]commit, string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	r := rand.New(rand.NewPCG(13, 17))
	out := make([]commit, 0, n)
	tick := time.NewTicker(pace)
	defer tick.Stop()
	failed := 0
	lastFail := ""
	for i := range n {
		u := newUser(r, fmt.Sprintf("%s%07d", prefix, i+1), i+500000)
		body, _ := json.Marshal(u)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/users", bytes.NewReader(body))
		if err != nil {
			return nil, "", fmt.Errorf("ingest request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ingestToken)
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("ingest: %w", err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		at := time.Now()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			out = append(out, commit{id: u["channel_user_id"], at: at})
		case i == 0 && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusUnauthorized):
			return nil, fmt.Sprintf("ingest: not available (POST /v1/users answered HTTP %d)", resp.StatusCode), nil
		default:
			failed++
			lastFail = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
		}
		<-tick.C
	}
	if failed > 0 {
		return out, fmt.Sprintf("%d of %d ingest writes refused, last: %s", failed, n, lastFail), nil
	}
	return out, "", nil
}

// summarize computes the distribution of commit-to-received times.
func summarize(path string, commits []commit, seen map[string]time.Time) latencyResult {
	res := latencyResult{Path: path, Available: len(commits) > 0}
	var ds []float64
	for _, c := range commits {
		t, ok := seen[c.id]
		if !ok {
			continue
		}
		ds = append(ds, float64(t.Sub(c.at))/float64(time.Millisecond))
	}
	res.Received = len(ds)
	if len(ds) == 0 {
		return res
	}
	slices.Sort(ds)
	pct := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return math.Round(ds[max(0, min(i, len(ds)-1))]*10) / 10
	}
	res.P50MS, res.P95MS, res.P99MS, res.MaxMS = pct(0.50), pct(0.95), pct(0.99), pct(1)
	return res
}

// before returns the commits acknowledged before t.
func before(commits []commit, t time.Time) []commit {
	var out []commit
	for _, c := range commits {
		if c.at.Before(t) {
			out = append(out, c)
		}
	}
	return out
}
