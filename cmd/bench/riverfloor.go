package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/chansync/chansync/internal/database"
)

// noopArgs is the job of the River floor: it does nothing.
type noopArgs struct {
	// N numbers the job.
	N int `json:"n"`
}

// Kind names the job kind.
func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// floorResult is River's own cost.
type floorResult struct {
	Jobs        int     `json:"jobs"`
	Concurrency int     `json:"concurrency"`
	InsertS     float64 `json:"insert_s"`
	WorkS       float64 `json:"work_s"`
	JobsPerSec  float64 `json:"jobs_per_s"`
}

// riverFloor inserts n no-op jobs into a fresh database (migrated like
// chansync's, so River's tables are the same) and times a River client
// with chansync's fetch settings working them with conc workers.
func (b *bench) riverFloor(ctx context.Context, n, conc int) (floorResult, error) {
	res := floorResult{Jobs: n, Concurrency: conc}
	name, url, err := b.createDB(ctx, "")
	if err != nil {
		return res, err
	}
	defer b.dropDB(name)
	if _, _, _, err := b.run("worker", []string{"migrate"}, []string{"DATABASE_URL=" + url, "LOG_LEVEL=warn"}); err != nil {
		return res, err
	}
	pool, err := database.NewPool(ctx, url, database.PoolConfig{MaxConns: int32(min(max(8, conc/2+6), 40)), ApplicationName: "chansync-bench-floor"})
	if err != nil {
		return res, err
	}
	defer pool.Close()
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:            slog.New(slog.DiscardHandler),
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 200 * time.Millisecond,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: conc}},
		Workers:           workers,
	})
	if err != nil {
		return res, fmt.Errorf("river client: %w", err)
	}
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: i}}
	}
	start := time.Now()
	for len(params) > 0 {
		k := min(len(params), 1000)
		if _, err := client.InsertManyFast(ctx, params[:k]); err != nil {
			return res, fmt.Errorf("insert jobs: %w", err)
		}
		params = params[k:]
	}
	res.InsertS = time.Since(start).Seconds()
	start = time.Now()
	if err := client.Start(ctx); err != nil {
		return res, fmt.Errorf("start river: %w", err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var done int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done); err != nil {
			return res, fmt.Errorf("count completed jobs: %w", err)
		}
		if done >= n {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("river floor: %d of %d jobs done after 10 min", done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.WorkS = time.Since(start).Seconds()
	res.JobsPerSec = float64(n) / res.WorkS
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopCancel()
	_ = client.Stop(stopCtx)
	return res, nil
}
