package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/chansync/chansync/internal/cli"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/target/points/projects"
)

// pointsAPI is the APIHub points setting the points and projects commands
// need: APIHUB_BASE_URL and APIHUB_API_KEY.
type pointsAPI struct {
	cli.APIHub
}

// errNoPointsSettings names what the points commands need.
var errNoPointsSettings = errors.New("APIHUB_BASE_URL (--apihub-base-url) and APIHUB_API_KEY (--apihub-api-key) are required: they turn APIHub points on")

// Validate reports missing or malformed APIHub points settings.
func (p *pointsAPI) Validate() error {
	if p.APIHubBaseURL == "" || p.APIHubAPIKey == "" {
		return errNoPointsSettings
	}
	return p.APIHub.Validate()
}

// client returns the points client the settings describe, the one the
// worker uses.
func (p *pointsAPI) client() (*pointsapi.Client, error) {
	if p.APIHubBaseURL == "" || p.APIHubAPIKey == "" {
		return nil, errNoPointsSettings
	}
	t := cli.Targets{APIHub: p.APIHub}
	return points.NewAPI(t.Settings().Points, target.Deps{})
}

type pointsCmd struct {
	Balance pointsBalanceCmd `cmd:"" help:"Show a user's points balance on APIHub."`
	Logs    pointsLogsCmd    `cmd:"" help:"Show a user's points ledger on APIHub, newest first."`
}

type pointsBalanceCmd struct {
	pointsAPI
	User string `arg:"" name:"user" help:"The user's channel_user_id (APIHub's client_user_id)."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c *pointsBalanceCmd) Run(ctx context.Context) error { return c.run(ctx, os.Stdout) }

func (c *pointsBalanceCmd) run(ctx context.Context, w io.Writer) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	bal, err := api.Balance(ctx, c.User)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(w, bal)
	}
	_, err = fmt.Fprintf(w, "%s: balance %s (%d cents; APIHub user %d)\n", bal.ClientUserID, cents(bal.BalanceCents), bal.BalanceCents, bal.UserID)
	return err
}

type pointsLogsCmd struct {
	pointsAPI
	User string `arg:"" name:"user" help:"The user's channel_user_id (APIHub's client_user_id)."`
	JSON bool   `name:"json" help:"Print the entries as JSON."`
	Max  int    `name:"max" default:"20" help:"How many of the newest entries to show; 0 for the whole ledger."`
}

func (c *pointsLogsCmd) Validate() error {
	if c.Max < 0 {
		return fmt.Errorf("--max must not be negative, got %d", c.Max)
	}
	return c.pointsAPI.Validate()
}

func (c *pointsLogsCmd) Run(ctx context.Context) error { return c.run(ctx, os.Stdout) }

func (c *pointsLogsCmd) run(ctx context.Context, w io.Writer) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	bal, entries, err := points.Recent(ctx, api, c.User, c.Max)
	if err != nil {
		return err
	}
	if c.JSON {
		if entries == nil {
			entries = []pointsapi.LogEntry{}
		}
		return writeJSON(w, entries)
	}
	printLedger(w, c.User, bal, entries)
	return nil
}

// printLedger prints a ledger, newest first. Its reasons are printed as
// they are: they are the texts chansync (or the forms) wrote.
func printLedger(w io.Writer, user string, balance int64, entries []pointsapi.LogEntry) {
	fmt.Fprintf(w, "%s: balance %s (%d cents)\n", user, cents(balance), balance)
	if len(entries) == 0 {
		fmt.Fprintln(w, "no ledger entries")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tcreated at\tsource\ttype\tchange\tbalance after\tstatus\treason")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.CreatedAt, e.Source, e.RecordType,
			signed(e.ChangeCents), cents(e.BalanceAfter), e.Status, oneLine(e.Reason))
	}
	_ = tw.Flush()
}

// cents renders an amount of cents as units with two decimals, in integer
// arithmetic.
func cents(c int64) string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-(c+1))+1
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

func signed(c int64) string {
	if c > 0 {
		return "+" + cents(c)
	}
	return cents(c)
}

// oneLine keeps a ledger reason on its table row.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }), " ")
}

type projectsCmd struct {
	cli.Database
	pointsAPI
	JSON bool `name:"json" help:"Print the run as JSON."`
}

func (c *projectsCmd) Validate() error {
	if err := c.pointsAPI.Validate(); err != nil {
		return err
	}
	return c.Database.Validate()
}

func (c *projectsCmd) Run(ctx context.Context) error { return c.run(ctx, os.Stdout) }

func (c *projectsCmd) run(ctx context.Context, w io.Writer) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	pool, err := database.NewPool(ctx, c.DatabaseURL, database.PoolConfig{MaxConns: 2, ApplicationName: "chansync-enqueue"})
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := database.CheckMigrations(ctx, pool); err != nil {
		return err
	}
	run, err := projects.Mirror(ctx, pool, api)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(w, run)
	}
	_, err = fmt.Fprintf(w, "projects mirror run %d: %d published forms; %d added, %d updated, %d unpublished, %d published again",
		run.ID, run.Published, run.Added, run.Updated, run.Unpublished, run.Republished)
	if err == nil && run.Skipped > 0 {
		_, err = fmt.Fprintf(w, "; %d skipped (no short_code or name)", run.Skipped)
	}
	if err == nil {
		_, err = fmt.Fprintln(w)
	}
	return err
}
