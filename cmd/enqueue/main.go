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
	"os/user"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/chansync/chansync/internal/cli"
	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/mask"
	"github.com/chansync/chansync/internal/record"
)

type common struct {
	cli.Database
	BatchSize int `name:"batch-size" env:"BATCH_SIZE" default:"100" help:"The most records one job pushes; fewer than 64 times this at once (a page of a bulk run) are spread over 64 smaller jobs."`
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
	Wait  bool          `name:"wait" help:"Follow the run until the queue drains (a progress bar on a terminal, plain lines otherwise), then print a summary; exit 3 if anything went dead."`
	JSON  bool          `name:"json" help:"Print the summary as JSON (with --wait), or the scan as JSON."`
	Every time.Duration `name:"every" default:"2s" help:"How often --wait reports progress when stdout is not a terminal."`
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
	run, err := ctl.EnqueueAll(ctx, control.AllOptions{Kinds: kinds, Force: c.Force})
	if err != nil {
		return err
	}
	if !c.Wait {
		if c.JSON {
			return writeJSON(os.Stdout, run)
		}
		printScan(os.Stdout, run)
		return nil
	}
	if !c.JSON {
		printScan(os.Stdout, run)
	}
	sum, err := follow(ctx, ctl, run, c.Every, c.JSON)
	if err != nil {
		return err
	}
	if c.JSON {
		if err := writeJSON(os.Stdout, sum); err != nil {
			return err
		}
	} else {
		printSummary(os.Stdout, sum)
	}
	if sum.Total.Dead+sum.Total.Blocked > 0 {
		return errDeadLetters
	}
	return nil
}

// follow waits for the run's queue to drain, showing progress: a bar on a
// terminal, a plain line every `every` otherwise (none with quiet).
func follow(ctx context.Context, ctl *control.Controller, run control.Run, every time.Duration, quiet bool) (control.Summary, error) {
	var total int64
	for _, s := range run.Scans {
		total += int64(s.Enqueued)
	}
	tty := term.IsTerminal(int(os.Stdout.Fd())) && !quiet
	var bar *progressbar.ProgressBar
	if tty {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetDescription("syncing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rec"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
			progressbar.OptionSetWriter(os.Stdout),
		)
	}
	// Each poll of WaitIdle is cheap; the run's summary counts every state
	// row, so it is read only when a bar or a line will show it.
	show := every
	if bar != nil {
		show = time.Second
	}
	start := time.Now()
	var lastShown time.Time
	var sum control.Summary
	_, err := ctl.WaitIdle(ctx, min(every, 500*time.Millisecond), func() {
		if quiet || time.Since(lastShown) < show {
			return
		}
		lastShown = time.Now()
		s, err := ctl.RunSummary(ctx, run)
		if err != nil {
			return
		}
		sum = s
		done := min(s.Done(), total)
		if bar != nil {
			bar.Describe(fmt.Sprintf("syncing (failed %d, dead %d)", s.Total.Retried, s.Total.Dead+s.Total.Blocked))
			_ = bar.Set64(done)
			return
		}
		rate := float64(done) / max(time.Since(start).Seconds(), 0.001)
		eta := "?"
		if rate > 0 && total > done {
			eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
		} else if total <= done {
			eta = "0s"
		}
		fmt.Printf("progress: %d/%d done, %d failed attempts, %d dead, %.0f rec/s, ETA %s\n",
			done, total, s.Total.Retried, s.Total.Dead+s.Total.Blocked, rate, eta)
	})
	if err != nil {
		return sum, err
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Println()
	}
	if err := ctl.FinishRun(ctx, run); err != nil {
		return sum, err
	}
	sum, err = ctl.RunSummary(ctx, run)
	sum.Finished = true
	return sum, err
}

func printScan(w io.Writer, run control.Run) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tscanned\tenqueued\tunchanged\tdead (unchanged)\talready queued\t")
	var total int
	for _, s := range run.Scans {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", s.Kind, s.Scanned, s.Enqueued, s.Unchanged, s.DeadUnchanged, s.AlreadyQueued)
		total += s.Enqueued
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "run %d: enqueued %d records\n", run.ID, total)
}

func printSummary(w io.Writer, sum control.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tpushed\tcreated\tupdated\tskipped (unchanged)\tretried\tblocked\tdead\t")
	row := func(name string, k control.KindSummary) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, k.Pushed, k.Created, k.Updated, k.Unchanged, k.Retried, k.Blocked, k.Dead)
	}
	for _, k := range sum.Kinds {
		row(string(k.Kind), k)
	}
	row("total", sum.Total)
	_ = tw.Flush()
	fmt.Fprintf(w, "run %d took %s\n", sum.RunID, sum.Elapsed.Round(time.Millisecond))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
	if err := ctl.LogReplay(ctx, "enqueue push (user "+currentUser()+")", "push kind="+string(kind)+" ids="+strings.Join(c.IDs, ","), n); err != nil {
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
	Yes    bool   `name:"yes" short:"y" help:"Do not ask for confirmation on a terminal."`
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
	list, err := ctl.ReplayCandidates(ctx, f)
	if err != nil {
		return err
	}
	if c.DryRun {
		printCandidates(os.Stdout, list)
		fmt.Printf("would replay %d records (%s)\n", len(list), f)
		return nil
	}
	if len(list) == 0 {
		fmt.Printf("nothing to replay (%s)\n", f)
		return nil
	}
	if !c.Yes && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Printf("replay %d dead letters (%s)? [y/N] ", len(list), f)
		var answer string
		_, _ = fmt.Scanln(&answer)
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Println("nothing replayed")
			return nil
		}
	}
	n, err := ctl.Replay(ctx, f)
	if err != nil {
		return err
	}
	if err := ctl.LogReplay(ctx, "enqueue replay (user "+currentUser()+")", f.String(), n); err != nil {
		return err
	}
	fmt.Printf("replayed %d records\n", n)
	return nil
}

// printCandidates lists the dead letters a replay would requeue, one a
// line, reasons masked (a reason can carry the channel's message, and that
// the personal data it was about).
func printCandidates(w io.Writer, list []control.DeadLetter) {
	for _, d := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Kind, d.ID, d.Status, mask.Text(d.Reason))
	}
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
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
	return writeStatus(os.Stdout, st, c.JSON)
}

// writeStatus prints st as a table or as JSON, the dead letters' reasons
// masked: a reason can carry the channel's message, and that the personal
// data it was about.
func writeStatus(w io.Writer, st control.Status, asJSON bool) error {
	dead := make([]control.DeadLetter, len(st.DeadLetters))
	for i, d := range st.DeadLetters {
		d.Reason = mask.Text(d.Reason)
		dead[i] = d
	}
	st.DeadLetters = dead
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(w, st)
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
