// Package database connects to Postgres and applies chansync's migrations
// (its own, with goose, and River's, with rivermigrate).
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/chansync/chansync/db/schema"
)

// GooseTable is the table in which goose records chansync's own migrations.
const GooseTable = "chansync_schema_version"

// PoolConfig tunes a connection pool.
type PoolConfig struct {
	// MaxConns caps the pool; zero keeps pgx's default.
	MaxConns int32
	// ApplicationName is reported to Postgres (pg_stat_activity), unless
	// the URL sets application_name itself.
	ApplicationName string
}

// customPlans makes every connection plan each statement for its own
// parameters (plan_cache_mode = force_custom_plan) instead of settling, after
// five runs, on a generic plan. The state tables grow fast during a first
// bulk run: a generic plan chosen while they were nearly empty (a sequential
// scan) stays cached while they grow, and a lookup of a few rows by primary
// key then reads every row. A custom plan sees the table's current size
// (Postgres scales its row estimate by the pages on disk) and uses the
// index; planning these short statements costs microseconds.
const customPlans = "force_custom_plan"

// NewPool parses databaseURL, applies cfg and connects. The URL may carry a
// search_path parameter to put chansync's tables in a schema of their own.
// Errors never contain the URL's password.
func NewPool(ctx context.Context, databaseURL string, cfg PoolConfig) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", errors.New(redactParseError(err)))
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	// An application_name given in the URL wins: operators (and tests) use
	// it to tell one process's connections from another's.
	if cfg.ApplicationName != "" && pcfg.ConnConfig.RuntimeParams["application_name"] == "" {
		pcfg.ConnConfig.RuntimeParams["application_name"] = cfg.ApplicationName
	}
	if pcfg.ConnConfig.RuntimeParams["plan_cache_mode"] == "" {
		pcfg.ConnConfig.RuntimeParams["plan_cache_mode"] = customPlans
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database at %s: %w", Redact(databaseURL), err)
	}
	return pool, nil
}

// redactParseError keeps pgx's reason but drops anything after the first
// colon-separated URL echo, so that a password never reaches a log.
func redactParseError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "postgres"); i >= 0 {
		return "cannot parse database URL (want postgres://user:password@host:port/dbname)"
	}
	return msg
}

// Redact returns databaseURL with its password replaced ((*url.URL).Redacted),
// fit for a log line; a URL that does not parse is not shown at all.
func Redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "(database URL)"
	}
	return u.Redacted()
}

// SchemaOf returns the schema named first in the pool's search_path runtime
// parameter, or "" when the pool uses the server's default.
func SchemaOf(pool *pgxpool.Pool) string {
	sp := pool.Config().ConnConfig.RuntimeParams["search_path"]
	first, _, _ := strings.Cut(sp, ",")
	return strings.Trim(strings.TrimSpace(first), `"`)
}

// MigrateResult tells what Migrate applied.
type MigrateResult struct {
	// AppApplied lists chansync's migrations applied by this call.
	AppApplied []string
	// RiverApplied lists River's migration versions applied by this call.
	RiverApplied []int
}

// Migrate applies chansync's migrations and River's, in the pool's schema.
// It is safe to run twice, and from several processes at once: goose holds
// a session lock while it works.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (MigrateResult, error) {
	var res MigrateResult
	provider, db, err := newGoose(pool)
	if err != nil {
		return res, err
	}
	defer db.Close()
	applied, err := provider.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("apply chansync migrations: %w", err)
	}
	for _, r := range applied {
		res.AppApplied = append(res.AppApplied, r.Source.Path)
		logger.InfoContext(ctx, "applied migration", slog.String("migration", r.Source.Path))
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: SchemaOf(pool), Logger: logger})
	if err != nil {
		return res, fmt.Errorf("river migrator: %w", err)
	}
	rres, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return res, fmt.Errorf("apply river migrations: %w", err)
	}
	for _, v := range rres.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}
	return res, nil
}

// CheckMigrations returns an error naming what is missing when chansync's or
// River's migrations are not all applied.
func CheckMigrations(ctx context.Context, pool *pgxpool.Pool) error {
	provider, db, err := newGoose(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := provider.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check chansync migrations: %w", err)
	}
	if pending {
		return errors.New("chansync migrations pending: run `worker migrate`")
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: SchemaOf(pool)})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	vres, err := migrator.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check river migrations: %w", err)
	}
	if !vres.OK {
		return fmt.Errorf("river migrations pending: %s: run `worker migrate`", strings.Join(vres.Messages, "; "))
	}
	return nil
}

func newGoose(pool *pgxpool.Pool) (*goose.Provider, interface{ Close() error }, error) {
	db := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, schema.FS,
		goose.WithTableName(GooseTable),
		goose.WithSessionLocker(locker),
	)
	if err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return provider, db, nil
}
