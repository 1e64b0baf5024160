package database_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database"
	"github.com/chansync/chansync/internal/database/dbtest"
)

func TestMigrate(t *testing.T) {
	t.Parallel()

	t.Run("SecondRunIsNoOp", func(t *testing.T) {
		t.Parallel()
		s := dbtest.New(t)
		ctx := context.Background()
		res, err := database.Migrate(ctx, s.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		require.Empty(t, res.AppApplied)
		require.Empty(t, res.RiverApplied)
		require.NoError(t, database.CheckMigrations(ctx, s.Pool))
	})

	t.Run("TablesLiveInTheTestSchema", func(t *testing.T) {
		t.Parallel()
		s := dbtest.New(t)
		var n int
		err := s.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM information_schema.tables WHERE table_schema = $1
			 AND table_name IN ('users','companies','tasks','applications','payments','sync_state','river_job')`, s.Name).Scan(&n)
		require.NoError(t, err)
		require.Equal(t, 7, n)
		require.Equal(t, s.Name, database.SchemaOf(s.Pool))
	})

	t.Run("NumericAmountScansExactly", func(t *testing.T) {
		t.Parallel()
		s := dbtest.New(t)
		var amount string
		err := s.Pool.QueryRow(context.Background(), `SELECT 5000.10::numeric`).Scan(&amount)
		require.NoError(t, err)
		require.Equal(t, "5000.10", amount)
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://u:xxxxx@h:5432/db", database.Redact("postgres://u:secret@h:5432/db"))
	require.Equal(t, "postgres://u@h/db", database.Redact("postgres://u@h/db"))
}
