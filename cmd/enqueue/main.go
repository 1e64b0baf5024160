// Command enqueue is the operator's command line: enqueue every changed
// record (the nightly bulk run), push named records now, replay dead
// letters, and show the sync status.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/chansync/chansync/internal/cli"
	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/record"
)

type common struct {
	cli.Database
	BatchSize int `name:"batch-size" env:"BATCH_SIZE" default:"100" help:"How many records one job pushes."`
}

func (c *common) Validate() error {
	if err := c.Database.Validate(); err != nil {
		return err
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		return errors.New("BATCH_SIZE (--batch-size) must be between 1 and 1000")
	}
	return nil
}

// open connects and returns a controller and a closer.
func (c *common) open(ctx context.Context) (*control.Controller, func(), error) {
	pool, err := database.NewPool(ctx, c.DatabaseURL, database.PoolConfig{MaxConns: 4, ApplicationName: "chansync-enqueue"})
	if err != nil {
		return nil, nil, err
	}
	if err := database.CheckMigrations(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	rc, err := jobs.NewClient(pool, nil, jobs.Config{})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return control.New(pool, &jobs.Inserter{Client: rc, BatchSize: c.BatchSize}), pool.Close, nil
}

func parseKinds(kinds []string) ([]record.Kind, error) {
	var out []record.Kind
	for _, s := range kinds {
		for _, part := range strings.Split(s, ",") {
			k, err := record.ParseKind(part)
			if err != nil {
				return nil, fmt.Errorf("--kind: %w", err)
			}
			out = append(out, k)
		}
	}
	return out, nil
}

type allCmd struct {
	common
	Kind  []string      `name:"kind" help:"Only these kinds (repeat or comma-separate): user, company, task, application, payment."`
	Force bool          `name:"force" help:"Push every record again, changed or not."`
	Wait  bool          `name:"wait" help:"Follow the run until the queue drains, then print a summary; exit 3 if anything is dead."`
	Every time.Duration `name:"every" default:"2s" help:"How often --wait reports progress."`
}

func (c *allCmd) Validate() error {
	if err := c.common.Validate(); err != nil {
		return err
	}
	_, err := parseKinds(c.Kind)
	return err
}

func (c *allCmd) Run(ctx context.Context) error {
	kinds, _ := parseKinds(c.Kind)
	ctl, closeFn, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	start := time.Now()
	scans, err := ctl.EnqueueAll(ctx, control.AllOptions{Kinds: kinds, Force: c.Force})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tscanned\tenqueued\tunchanged\tdead (unchanged)\t")
	var total int
	for _, s := range scans {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", s.Kind, s.Scanned, s.Enqueued, s.Unchanged, s.DeadUnchanged)
		total += s.Enqueued
	}
	_ = tw.Flush()
	fmt.Printf("enqueued %d records in %s\n", total, time.Since(start).Round(time.Millisecond))
	if !c.Wait {
		return nil
	}
	st, err := ctl.WaitIdle(ctx, c.Every, func(st control.Status) {
		var inSync, total, dead, retrying int64
		for _, k := range st.Kinds {
			inSync += k.InSync
			total += k.Total
			dead += k.Dead + k.Blocked
			retrying += k.Retrying
		}
		fmt.Printf("progress: %d/%d in sync, %d retrying, %d dead, %d jobs queued, %s\n",
			inSync, total, retrying, dead, sumQueue(st), time.Since(start).Round(time.Second))
	})
	if err != nil {
		return err
	}
	printStatus(os.Stdout, st)
	fmt.Printf("done in %s\n", time.Since(start).Round(time.Millisecond))
	for _, k := range st.Kinds {
		if k.Dead+k.Blocked > 0 {
			return errDeadLetters
		}
	}
	return nil
}

var errDeadLetters = errors.New("some records are dead-lettered (see above); fix them and run `enqueue replay`")

func sumQueue(st control.Status) int64 {
	var n int64
	for _, v := range st.Queue {
		n += v
	}
	return n
}

type pushCmd struct {
	common
	Kind string   `arg:"" name:"kind" help:"user, company, task, application or payment."`
	IDs  []string `arg:"" name:"id" help:"channel_*_id values of the records to push."`
}

func (c *pushCmd) Validate() error {
	if err := c.common.Validate(); err != nil {
		return err
	}
	_, err := record.ParseKind(c.Kind)
	return err
}

func (c *pushCmd) Run(ctx context.Context) error {
	kind, _ := record.ParseKind(c.Kind)
	ctl, closeFn, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	n, err := ctl.Push(ctx, kind, c.IDs)
	if err != nil {
		return err
	}
	fmt.Printf("enqueued %d %s\n", n, kind.Plural())
	return nil
}

type replayCmd struct {
	common
	Kind   string `name:"kind" help:"Only dead letters of this kind."`
	ID     string `name:"id" help:"Only this record (needs --kind)."`
	Reason string `name:"reason" help:"Only dead letters whose reason contains this text."`
	All    bool   `name:"all" help:"Every dead letter."`
	DryRun bool   `name:"dry-run" help:"List what would be replayed; change nothing."`
}

func (c *replayCmd) filter() (control.ReplayFilter, error) {
	f := control.ReplayFilter{ID: c.ID, Reason: c.Reason, All: c.All}
	if c.Kind != "" {
		k, err := record.ParseKind(c.Kind)
		if err != nil {
			return f, fmt.Errorf("--kind: %w", err)
		}
		f.Kind = k
	}
	return f, f.Validate()
}

func (c *replayCmd) Validate() error {
	if err := c.common.Validate(); err != nil {
		return err
	}
	_, err := c.filter()
	return err
}

func (c *replayCmd) Run(ctx context.Context) error {
	f, _ := c.filter()
	ctl, closeFn, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	if c.DryRun {
		list, err := ctl.ReplayCandidates(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range list {
			fmt.Printf("%s\t%s\t%s\t%s\n", d.Kind, d.ID, d.Status, d.Reason)
		}
		fmt.Printf("would replay %d records\n", len(list))
		return nil
	}
	n, err := ctl.Replay(ctx, f)
	if err != nil {
		return err
	}
	fmt.Printf("replayed %d records\n", n)
	return nil
}

type statusCmd struct {
	common
	JSON bool   `name:"json" help:"Print JSON."`
	Kind string `name:"kind" help:"Only dead letters of this kind."`
	Dead int32  `name:"dead" default:"20" help:"How many of the newest dead letters to list."`
}

func (c *statusCmd) Run(ctx context.Context) error {
	var kind record.Kind
	if c.Kind != "" {
		k, err := record.ParseKind(c.Kind)
		if err != nil {
			return fmt.Errorf("--kind: %w", err)
		}
		kind = k
	}
	ctl, closeFn, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	st, err := ctl.Status(ctx, kind, c.Dead)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(os.Stdout, st)
	return nil
}

func printStatus(w io.Writer, st control.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\ttotal\tin sync\tpending\tretrying\tblocked\tdead\t")
	for _, k := range st.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", k.Kind, k.Total, k.InSync, k.Pending, k.Retrying, k.Blocked, k.Dead)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "queue: %d jobs waiting or running\n", sumQueue(st))
	if len(st.DeadLetters) > 0 {
		fmt.Fprintln(w, "newest dead letters:")
		for _, d := range st.DeadLetters {
			fmt.Fprintf(w, "  %-11s %-14s %-7s %s\n", d.Kind, d.ID, d.Status, d.Reason)
		}
	}
}

var cliSpec struct {
	All    allCmd    `cmd:"" help:"Enqueue every record whose payload differs from the one the channel last accepted."`
	Push   pushCmd   `cmd:"" help:"Enqueue the named records now."`
	Replay replayCmd `cmd:"" help:"Requeue dead-lettered records (after a fix)."`
	Status statusCmd `cmd:"" help:"Show, per kind, total, in sync, pending, retrying, dead, and the newest dead letters."`
}

func main() {
	parser := kong.Must(&cliSpec,
		kong.Name("enqueue"),
		kong.Description("chansync's operator command line."),
	)
	kctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "enqueue: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "enqueue: %v\n", err)
		if errors.Is(err, errDeadLetters) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}
