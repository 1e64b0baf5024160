package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/target"
)

type verifyCmd struct {
	common
	Target string `name:"target" help:"Only this target: channel, usercenter or points."`
	Kind   string `name:"kind" help:"Only this kind."`
	JSON   bool   `name:"json" help:"Print the report as JSON."`
	Fix    bool   `name:"fix" help:"Enqueue the pushes that repair what is missing or different (extra records are reported only)."`
	Max    int    `name:"max" default:"50" help:"How many differences to list (all with --json)."`
}

func (c *verifyCmd) Validate() error {
	if err := c.common.Validate(); err != nil {
		return err
	}
	return c.Targets.Validate()
}

// errDifferences makes verify exit 1.
var errDifferences = errors.New("the targets differ from the local tables (see above)")

func (c *verifyCmd) Run(ctx context.Context) error {
	ctl, closeFn, err := c.open(ctx, true)
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
	rep, err := ctl.Verify(ctx, kinds, c.Fix)
	if err != nil {
		return err
	}
	if c.JSON {
		if err := writeJSON(os.Stdout, rep); err != nil {
			return err
		}
	} else {
		printVerify(os.Stdout, rep, c.Max)
	}
	if !rep.Clean() {
		return errDifferences
	}
	return nil
}

func printVerify(w io.Writer, rep control.VerifyReport, max int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tkind\tlocal\tmissing\textra\tdifferent\tduplicate\t")
	for _, k := range rep.Kinds {
		if k.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\t-\t-\t-\t(%s)\n", k.Target, k.Kind, k.Local, k.Skipped)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", k.Target, k.Kind, k.Local, k.Missing, k.Extra, k.Different, k.Duplicate)
	}
	_ = tw.Flush()
	for i, d := range rep.Differences {
		if i == max {
			fmt.Fprintf(w, "… and %d more (--json lists all)\n", len(rep.Differences)-max)
			break
		}
		line := fmt.Sprintf("  %-9s %s/%s", d.Problem, d.Ref.Target, d.Ref)
		if len(d.Fields) > 0 {
			line += ": " + strings.Join(d.Fields, ", ")
		}
		if d.Detail != "" {
			line += " (" + d.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	n := len(rep.Differences)
	switch {
	case rep.Clean():
		fmt.Fprintln(w, "no difference")
	case rep.Fixed > 0:
		fmt.Fprintf(w, "%s; enqueued %s\n", count(n, "difference"), count(rep.Fixed, "repair"))
	case repairable(rep) > 0:
		fmt.Fprintf(w, "%s (run with --fix to enqueue %s)\n", count(n, "difference"), count(repairable(rep), "repair"))
	default:
		fmt.Fprintf(w, "%s (extras and duplicates are reported only: chansync deletes nothing on a target)\n", count(n, "difference"))
	}
}

// repairable counts the differences --fix repairs: missing and different
// records.
func repairable(rep control.VerifyReport) int {
	n := 0
	for _, d := range rep.Differences {
		if d.Problem == target.Missing || d.Problem == target.Different {
			n++
		}
	}
	return n
}

// count renders n and noun, plural unless n is 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
