package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sizes of the profile's summaries.
const (
	pprofNodes      = 25
	topStatements   = 15
	statementLength = 120
)

// profileName is the worker's raw CPU profile, kept beside RESULTS.md.
const profileName = "worker.pprof"

// profileResult says where the CPU of one first sync goes: the worker's
// CPU profile (its top functions by own time) and Postgres's top
// statements by total execution time.
type profileResult struct {
	// Run describes the sync profiled.
	Run string `json:"run"`
	// PprofTop is the output of go tool pprof -top -nodecount=25.
	PprofTop string `json:"pprof_top,omitempty"`
	// PprofFile is the raw profile, relative to RESULTS.md.
	PprofFile string `json:"pprof_file,omitempty"`
	// PprofNote says why there is no profile, when there is none.
	PprofNote string `json:"pprof_note,omitempty"`
	// Statements are the top statements of the run's database.
	Statements []pgStatement `json:"pg_statements,omitempty"`
	// PGNote says why there are no statements, when there are none.
	PGNote string `json:"pg_note,omitempty"`
}

// pgStatement is one row of pg_stat_statements.
type pgStatement struct {
	// Query is the normalised text, whitespace collapsed, cut to 120
	// characters.
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMS float64 `json:"total_ms"`
	MeanMS  float64 `json:"mean_ms"`
	Rows    int64   `json:"rows"`
}

// statementWatch reads pg_stat_statements for one database.
type statementWatch struct {
	dbURL string
	// note says why the statements cannot be read, when they cannot.
	note string
}

// watchStatements makes pg_stat_statements ready in the database at dbURL
// and clears its figures for that database. When the extension cannot be
// created, or is not loaded (it needs shared_preload_libraries), the
// watch notes that it is not available instead.
func (b *bench) watchStatements(ctx context.Context, dbURL string) *statementWatch {
	w := &statementWatch{dbURL: dbURL}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		w.note = "not available: " + err.Error()
		return w
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`,
		`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			w.note = "not available: " + pgMessage(err) + " (a private cluster made by scripts/ensure-postgres.sh preloads it; the benchmark does not reconfigure a server it did not make)"
			return w
		}
	}
	return w
}

// pgMessage returns Postgres's own message of an error, or the error.
func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// top returns the database's statements with the most total execution
// time since the watch began, or why there are none.
func (w *statementWatch) top(ctx context.Context) ([]pgStatement, string) {
	if w.note != "" {
		return nil, w.note
	}
	conn, err := pgx.Connect(ctx, w.dbURL)
	if err != nil {
		return nil, "not read: " + err.Error()
	}
	defer conn.Close(ctx)
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return nil, "not read: " + pgMessage(err)
	}
	total, mean := "total_exec_time", "mean_exec_time"
	if version < 130000 {
		total, mean = "total_time", "mean_time"
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT query, calls, %[1]s, %[2]s, rows FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY %[1]s DESC LIMIT %[3]d`, total, mean, topStatements))
	if err != nil {
		return nil, "not read: " + pgMessage(err)
	}
	var out []pgStatement
	for rows.Next() {
		var s pgStatement
		if err := rows.Scan(&s.Query, &s.Calls, &s.TotalMS, &s.MeanMS, &s.Rows); err != nil {
			return nil, "not read: " + pgMessage(err)
		}
		s.Query = cutQuery(s.Query, statementLength)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "not read: " + pgMessage(err)
	}
	return out, ""
}

// cutQuery collapses the whitespace of a statement and cuts it to n
// characters, ending in "…" when cut.
func cutQuery(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return q
}

// summarizeProfile keeps the worker's CPU profile at path beside
// RESULTS.md and its top functions (go tool pprof -top) in p; what fails
// is noted in p, not returned: the run's figures stand without it.
func (b *bench) summarizeProfile(ctx context.Context, p *profileResult, path string) {
	if _, err := os.Stat(path); err != nil {
		p.PprofNote = "the worker wrote no profile: " + err.Error()
		return
	}
	if err := copyFile(path, filepath.Join(b.outDir, profileName)); err != nil {
		p.PprofNote = err.Error()
	} else {
		p.PprofFile = profileName
	}
	top, err := pprofTop(ctx, filepath.Join(b.bin, "worker"), path)
	if err != nil {
		p.PprofNote = strings.TrimSpace(p.PprofNote + " " + err.Error())
		return
	}
	p.PprofTop = top
}

// pprofTop runs go tool pprof -top on a profile of binary.
func pprofTop(ctx context.Context, binary, profile string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", pprofNodes), binary, profile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go tool pprof: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// copyFile copies the file src to dst, replacing dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy profile: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy profile: %w", err)
	}
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy profile: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy profile to %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy profile to %s: %w", dst, err)
	}
	return nil
}
