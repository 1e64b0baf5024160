// Package schema holds chansync's own migrations (local tables, sync state,
// outbox) as goose SQL files, embedded so the worker binary carries them.
package schema

import "embed"

// FS holds the migration files, applied in order of their numeric prefix.
//
//go:embed *.sql
var FS embed.FS
