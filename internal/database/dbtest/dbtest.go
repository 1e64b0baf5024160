// Package dbtest gives each test a Postgres schema of its own, migrated and
// dropped when the test ends, so that tests run in parallel against one
// database without seeing each other's rows.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/database"
)

// DefaultURL is used when neither TEST_DATABASE_URL nor DATABASE_URL is set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// schemaPrefix marks schemas made by this package; leftovers of earlier runs
// older than an hour are dropped on first use.
const schemaPrefix = "cstest_"

// BaseURL returns the database URL tests connect to: TEST_DATABASE_URL,
// else DATABASE_URL, else DefaultURL.
func BaseURL() string {
	for _, name := range []string{"TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return DefaultURL
}

// Schema is one test's schema.
type Schema struct {
	// Name is the schema's name.
	Name string
	// URL connects to the database with search_path set to the schema; pass
	// it to a worker process as DATABASE_URL.
	URL string
	// Pool is connected with search_path set to the schema.
	Pool *pgxpool.Pool
}

var cleanOnce sync.Once

// New creates a schema in the database of BaseURL, applies every migration
// in it, and drops it when the test ends. It fails the test if Postgres
// cannot be reached.
func New(tb testing.TB) *Schema {
	tb.Helper()
	return newSchema(tb, BaseURL(), true)
}

// NewAt is New in the database of base instead, such as a private
// cluster's that one test starts and stops; leftovers of earlier runs are
// not looked for there.
func NewAt(tb testing.TB, base string) *Schema {
	tb.Helper()
	return newSchema(tb, base, false)
}

func newSchema(tb testing.TB, base string, shared bool) *Schema {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("dbtest: connect to %s (set TEST_DATABASE_URL or DATABASE_URL, or run scripts/ensure-postgres.sh): %v", database.Redact(base), err)
	}
	defer admin.Close(context.Background())
	if shared {
		cleanOnce.Do(func() { dropLeftovers(ctx, admin) })
	}

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := schemaPrefix + time.Now().UTC().Format("0102150405") + "_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("dbtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		conn, err := pgx.Connect(cctx, base)
		if err != nil {
			tb.Logf("dbtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(cctx)
		if _, err := conn.Exec(cctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Logf("dbtest: drop schema %s: %v", name, err)
		}
	})

	u, err := WithSearchPath(base, name)
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	pool, err := database.NewPool(ctx, u, database.PoolConfig{MaxConns: 20, ApplicationName: "chansync-test"})
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	if _, err := database.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		tb.Fatalf("dbtest: migrate %s: %v", name, err)
	}
	return &Schema{Name: name, URL: u, Pool: pool}
}

// WithSearchPath returns databaseURL with its search_path set to schema.
func WithSearchPath(databaseURL, schema string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func dropLeftovers(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, schemaPrefix+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	cutoff := time.Now().UTC().Add(-time.Hour)
	for _, n := range names {
		// Names carry their creation time as MMDDhhmmss after the prefix.
		if len(n) < len(schemaPrefix)+10 {
			continue
		}
		ts, err := time.Parse("0102150405", n[len(schemaPrefix):len(schemaPrefix)+10])
		if err != nil {
			continue
		}
		ts = ts.AddDate(cutoff.Year(), 0, 0)
		if ts.Before(cutoff) || ts.After(time.Now().UTC().Add(24*time.Hour)) {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{n}.Sanitize()+" CASCADE")
		}
	}
}
