// Command enqueue is the operator's command line: enqueue every changed
// record (the nightly bulk run), push named records now, replay dead
// letters, show where every target stands, and verify a target against the
// local tables. Every command covers the enabled targets (the channel
// always; the others when their settings are given, as to the worker), or
// the one named by --target. Beside them: a user's APIHub points balance
// and ledger (points balance, points logs), and a run of the projects
// mirror now (projects).
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
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/targets"
)

type common struct {
	cli.Database
	cli.Targets
	BatchSize int `name:"batch-size" env:"BATCH_SIZE" default:"100" help:"The most records one job pushes; fewer than 64 times this at once (a page of a bulk run) are spread over 64 smaller jobs."`
}

func (c *common) Validate() error {
	if err := c.Database.Validate(); err != nil {
		return err
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		return errors.New("BATCH_SIZE (--batch-size) must be between 1 and 1000")
	}
	return c.APIHub.Validate()
}

// open connects and returns a controller over the enabled targets (with
// their clients when withClients: to verify) and a closer.
func (c *common) open(ctx context.Context, withClients bool) (*control.Controller, func(), error) {
	pool, err := database.NewPool(ctx, c.DatabaseURL, database.PoolConfig{MaxConns: 4, ApplicationName: "chansync-enqueue"})
	if err != nil {
		return nil, nil, err
	}
	if err := database.CheckMigrations(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	var reg *target.Registry
	if withClients {
		reg, err = targets.Build(c.Targets.Settings(), target.Deps{Pool: pool})
	} else {
		reg, err = targets.Describe(c.Targets.Settings())
	}
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	rc, err := jobs.NewClient(pool, nil, jobs.Config{})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return control.New(control.Config{Pool: pool, Registry: reg, Client: rc, BatchSize: c.BatchSize}), pool.Close, nil
}

// selectKinds returns the kinds --target and --kind select (kinds may be
// repeated or comma-separated).
func selectKinds(reg *target.Registry, targetName string, kinds []string) ([]*target.Kind, error) {
	var names []string
	for _, s := range kinds {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				names = append(names, part)
			}
		}
	}
	if len(names) == 0 {
		out, err := reg.Select(targetName, "")
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		return out, nil
	}
	var out []*target.Kind
	for _, n := range names {
		ks, err := reg.Select(targetName, n)
		if err != nil {
			return nil, fmt.Errorf("--kind: %w", err)
		}
		out = append(out, ks...)
	}
	return out, nil
}

type allCmd struct {
	common
	Target string        `name:"target" help:"Only this target: channel, usercenter or points (default: every enabled one)."`
	Kind   []string      `name:"kind" help:"Only these kinds (repeat or comma-separate): user, company, task, application, payment; account, group, membership; grant."`
	Force  bool          `name:"force" help:"Push every record again, changed or not."`
	Wait   bool          `name:"wait" help:"Follow the run until the queue drains (a progress bar on a terminal, plain lines otherwise), then print a summary; exit 3 if anything went dead."`
	JSON   bool          `name:"json" help:"Print the summary as JSON (with --wait), or the scan as JSON."`
	Every  time.Duration `name:"every" default:"2s" help:"How often --wait reports progress when stdout is not a terminal."`
}

func (c *allCmd) Run(ctx context.Context) error {
	ctl, closeFn, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeFn()
	kinds, err := selectKinds(ctl.Registry(), c.Target, c.Kind)
	if err != nil {
		return err
	}
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
	sum, err := follow(ctx, ctl, run, kinds, c.Every, c.JSON)
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
func follow(ctx context.Context, ctl *control.Controller, run control.Run, kinds []*target.Kind, every time.Duration, quiet bool) (control.Summary, error) {
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
	_, err := ctl.WaitIdle(ctx, min(every, 500*time.Millisecond), kinds, func() {
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
	fmt.Fprintln(tw, "target\tkind\tscanned\tenqueued\tunchanged\tdead (unchanged)\talready queued\t")
	var total int
	for _, s := range run.Scans {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", s.Target, s.Kind, s.Scanned, s.Enqueued, s.Unchanged, s.DeadUnchanged, s.AlreadyQueued)
		total += s.Enqueued
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "run %d: enqueued %d records\n", run.ID, total)
}

func printSummary(w io.Writer, sum control.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tkind\tpushed\tcreated\tupdated\tskipped (unchanged)\tretried\tblocked\tdead\t")
	row := func(tgt, name string, k control.KindSummary) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", tgt, name, k.Pushed, k.Created, k.Updated, k.Unchanged, k.Retried, k.Blocked, k.Dead)
	}
	for _, k := range sum.Kinds {
		row(k.Target, k.Kind, k)
	}
	row("", "total", sum.Total)
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
	Kind string   `arg:"" name:"kind" help:"user, company, task, application, payment (channel); account, group, membership (usercenter); grant (points)."`
	IDs  []string `arg:"" name:"id" help:"Our ids of the records to push (channel_*_id; a user's id for account and membership; external_order_id for grant)."`
}

func (c *pushCmd) Run(ctx context.Context) error {
	ctl, closeFn, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeFn()
	kind, err := ctl.Registry().Kind(c.Kind)
	if err != nil {
		return err
	}
	n, err := ctl.Push(ctx, kind, c.IDs)
	if err != nil {
		return err
	}
	if err := ctl.LogReplay(ctx, "enqueue push (user "+currentUser()+")", "push kind="+kind.Name+" ids="+strings.Join(c.IDs, ","), n); err != nil {
		return err
	}
	fmt.Printf("enqueued %d %s (%s)\n", n, kind.Plural, kind.Target)
	return nil
}

type replayCmd struct {
	common
	Target string `name:"target" help:"Only dead letters of this target: channel, usercenter or points."`
	Kind   string `name:"kind" help:"Only dead letters of this kind."`
	ID     string `name:"id" help:"Only this record (needs --kind)."`
	Reason string `name:"reason" help:"Only dead letters whose reason contains this text."`
	All    bool   `name:"all" help:"Every dead letter."`
	DryRun bool   `name:"dry-run" help:"List what would be replayed; change nothing."`
	Yes    bool   `name:"yes" short:"y" help:"Do not ask for confirmation on a terminal."`
}

func (c *replayCmd) filter() (control.ReplayFilter, error) {
	f := control.ReplayFilter{Target: c.Target, Kind: c.Kind, ID: c.ID, Reason: c.Reason, All: c.All}
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
	ctl, closeFn, err := c.open(ctx, false)
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
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", d.Target, d.Kind, d.ID, d.Status, mask.Text(d.Reason))
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
	JSON   bool   `name:"json" help:"Print JSON."`
	Target string `name:"target" help:"Only this target: channel, usercenter or points."`
	Kind   string `name:"kind" help:"Only this kind (and its dead letters)."`
	Dead   int32  `name:"dead" default:"20" help:"How many of the newest dead letters to list."`
}

func (c *statusCmd) Run(ctx context.Context) error {
	ctl, closeFn, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeFn()
	var names []string
	if c.Kind != "" {
		names = []string{c.Kind}
	}
	kinds, err := selectKinds(ctl.Registry(), c.Target, names)
	if err != nil {
		return err
	}
	st, err := ctl.Status(ctx, kinds, c.Dead)
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
	holds := make([]control.Hold, len(st.Holds))
	for i, h := range st.Holds {
		h.Detail = mask.Text(h.Detail)
		holds[i] = h
	}
	st.Holds = holds
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
	fmt.Fprintln(tw, "target\tkind\ttotal\tin sync\tpending\tretrying\tblocked\tdead\t")
	for _, k := range st.Kinds {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", k.Target, k.Kind, k.Total, k.InSync, k.Pending, k.Retrying, k.Blocked, k.Dead)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "queue: %d jobs waiting or running\n", sumQueue(st))
	if st.Unrelayed > 0 {
		fmt.Fprintf(w, "outbox: %d changes wait for the next full bulk run (no worker relays them: NO_EVENT_RELAY)\n", st.Unrelayed)
	}
	for _, h := range st.Holds {
		fmt.Fprintf(w, "HELD: %s: %s since %s (pushing paused in every worker; next probe %s)",
			h.Target, h.Reason, h.Since.UTC().Format(time.RFC3339), h.NextProbeAt.UTC().Format(time.RFC3339))
		if h.Detail != "" {
			fmt.Fprintf(w, ": %s", mask.Text(h.Detail))
		}
		fmt.Fprintln(w)
	}
	if len(st.DeadLetters) > 0 {
		fmt.Fprintln(w, "newest dead letters:")
		for _, d := range st.DeadLetters {
			fmt.Fprintf(w, "  %-10s %-11s %-14s %-7s %s\n", d.Target, d.Kind, d.ID, d.Status, d.Reason)
		}
	}
}

var cliSpec struct {
	All      allCmd      `cmd:"" help:"Enqueue every record whose request differs from the one its target last accepted."`
	Push     pushCmd     `cmd:"" help:"Enqueue the named records now."`
	Replay   replayCmd   `cmd:"" help:"Requeue dead-lettered records (after a fix)."`
	Status   statusCmd   `cmd:"" help:"Show, per target and kind, total, in sync, pending, retrying, blocked, dead; held targets; the newest dead letters."`
	Verify   verifyCmd   `cmd:"" help:"Compare what each target holds with the local tables; exit 1 on any difference; --fix enqueues the repairs."`
	Points   pointsCmd   `cmd:"" help:"A user's APIHub points: balance, ledger (needs APIHUB_BASE_URL and APIHUB_API_KEY)."`
	Projects projectsCmd `cmd:"" help:"Mirror APIHub's published project forms into apihub_projects now, and print what changed (needs APIHUB_BASE_URL and APIHUB_API_KEY)."`
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
		if errors.Is(err, errDifferences) {
			os.Exit(1)
		}
		os.Exit(1)
	}
}
