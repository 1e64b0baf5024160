// Command datagen loads a generated data set of all five kinds into the
// local tables, for the demo and the benchmarks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/chansync/chansync/internal/cli"
	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/datagen"
)

type cmd struct {
	cli.Database
	Records int    `name:"records" default:"300" help:"Total records across the five kinds."`
	Seed    uint64 `name:"seed" default:"1" help:"Seed, for a reproducible set."`
	Prefix  string `name:"prefix" default:"" help:"Put before every id."`
	Invalid bool   `name:"invalid" help:"Add a handful of invalid records and records that depend on them."`
	Grants  int    `name:"grants" default:"0" help:"Also add this many points grants, each to a random user."`
	Quiet   bool   `name:"quiet" help:"Leave no outbox entries: the rows wait for enqueue all instead of being pushed as events."`
}

func (c *cmd) Validate() error { return c.Database.Validate() }

func (c *cmd) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	pool, err := database.NewPool(ctx, c.DatabaseURL, database.PoolConfig{MaxConns: 2, ApplicationName: "chansync-datagen"})
	if err != nil {
		return err
	}
	defer pool.Close()
	start := time.Now()
	set := datagen.Generate(datagen.Options{Records: c.Records, Seed: c.Seed, Prefix: c.Prefix, Grants: c.Grants})
	var invalid, dependants []string
	if c.Invalid {
		invalid, dependants = set.AddInvalid(c.Prefix)
	}
	load := set.Load
	if c.Quiet {
		load = set.LoadQuiet
	}
	if err := load(ctx, pool); err != nil {
		return err
	}
	fmt.Printf("loaded %d companies, %d users, %d tasks, %d applications, %d payments, %d points grants (%d invalid, %d depending on invalid ones) in %s\n",
		len(set.Companies), len(set.Users), len(set.Tasks), len(set.Applications), len(set.Payments), len(set.Grants),
		len(invalid), len(dependants), time.Since(start).Round(time.Millisecond))
	return nil
}

func main() {
	var c cmd
	k := kong.Must(&c, kong.Name("datagen"), kong.Description("Load a generated data set into chansync's local tables."))
	kctx, err := k.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "datagen: %v\n", err)
		os.Exit(2)
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "datagen: %v\n", err)
		os.Exit(1)
	}
}
