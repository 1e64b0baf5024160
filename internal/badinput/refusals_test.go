package badinput_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
)

// refusal is bad input that Postgres itself refuses, so that chansync
// never sees it: the write fails with a clear error and nothing lands in
// the table or the outbox. The validators' rules for these (utf8, type)
// are exercised by internal/validate's unit and fuzz tests; the catalogue
// exercises what does reach the table instead (control characters, \u0007
// in jsonb, NaN money).
type refusal struct {
	name string
	kind rkind
	// sql is the statement; args, if any, are bound as parameters.
	sql  string
	args []any
	// code is the SQLSTATE; says a phrase of the message or detail.
	code, says string
}

var refusals = []refusal{
	{name: "invalid-utf8-bound-parameter", kind: kUser,
		sql:  `INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ('U-R-UTF8', $1, '110105199003071239', '13800138000')`,
		args: []any{"张\xff\xfe三"},
		code: "22021", says: `invalid byte sequence for encoding "UTF8": 0xff`},
	{name: "invalid-utf8-escape-literal", kind: kCompany,
		sql:  insertSQL(kCompany, "C-R-UTF8", "company_name", `E'\xc3\x28 公司'`),
		code: "22021", says: `invalid byte sequence for encoding "UTF8"`},
	{name: "nul-in-text", kind: kUser,
		sql:  `INSERT INTO users (channel_user_id, name, id_card, phone) VALUES ('U-R-NUL', $1, '110105199003071239', '13800138000')`,
		args: []any{"张\x00三"},
		code: "22021", says: "0x00"},
	{name: "nul-escape-in-jsonb", kind: kTask,
		sql:  insertSQL(kTask, "T-R-NUL", "salary", `'{"salary_type":"daily","amount":200,"settlement_type":"a\u0000b"}'`),
		code: "22P05", says: `\u0000 cannot be converted to text`},
	{name: "lone-surrogate-in-jsonb", kind: kUser,
		sql:  insertSQL(kUser, "U-R-SURROGATE", "live_certification", `'{"certified":true,"certification_method":"\ud800"}'`),
		code: "22P02", says: "surrogate"},
	{name: "jsonb-not-json", kind: kTask,
		sql:  insertSQL(kTask, "T-R-NOTJSON", "salary", `'{salary_type: daily}'`),
		code: "22P02", says: "invalid input syntax for type json"},
	{name: "money-not-numeric", kind: kPayment,
		sql:  insertSQL(kPayment, "P-R-MONEY", "amount", "'two hundred'"),
		code: "22P02", says: "invalid input syntax for type numeric"},
	{name: "recruit-count-beyond-integer", kind: kTask,
		sql:  insertSQL(kTask, "T-R-COUNT", "recruit_count", "3000000000"),
		code: "22003", says: "integer out of range"},
	{name: "impossible-timestamp", kind: kApplication,
		sql:  insertSQL(kApplication, "A-R-TIME", "applied_at", "'2026-02-30T09:00:00Z'"),
		code: "22008", says: "out of range"},
	{name: "required-column-null", kind: kUser,
		sql:  insertSQL(kUser, "U-R-NULL", "phone", "NULL"),
		code: "23502", says: `"phone"`},
	{name: "reference-to-missing-record", kind: kApplication,
		sql:  insertSQL(kApplication, "A-R-ORPHAN", "channel_user_id", "'U-NOBODY'"),
		code: "23503", says: "foreign key"},
	{name: "duplicate-id", kind: kUser,
		sql:  insertSQL(kUser, "U-OK"),
		code: "23505", says: "duplicate key"},
}

func TestDatabaseRefuses(t *testing.T) {
	t.Parallel()
	schema := dbtest.New(t)
	ctx := context.Background()
	for _, f := range fixtures {
		_, err := schema.Pool.Exec(ctx, f.insert)
		require.NoError(t, err)
	}
	var before int
	require.NoError(t, schema.Pool.QueryRow(ctx, `SELECT count(*) FROM sync_outbox`).Scan(&before))

	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := schema.Pool.Exec(ctx, r.sql, r.args...)
			require.Error(t, err, "Postgres accepted it")
			var pgErr *pgconn.PgError
			require.Truef(t, errors.As(err, &pgErr), "want a Postgres error, got %v", err)
			require.Equal(t, r.code, pgErr.Code, pgErr.Error())
			require.Contains(t, pgErr.Message+" "+pgErr.Detail, r.says)
		})
	}

	var rows, after int
	require.NoError(t, schema.Pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users) + (SELECT count(*) FROM companies) + (SELECT count(*) FROM tasks)
		+ (SELECT count(*) FROM applications) + (SELECT count(*) FROM payments)`).Scan(&rows))
	require.Equal(t, len(fixtures), rows, "no refused row landed")
	require.NoError(t, schema.Pool.QueryRow(ctx, `SELECT count(*) FROM sync_outbox`).Scan(&after))
	require.Equal(t, before, after, "no refused row reached the outbox")
}
