package badinput_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/control"
	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/ingest"
	"github.com/chansync/chansync/internal/jobs"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/points/pointssim/pointssimtest"
	"github.com/chansync/chansync/internal/targets"
	"github.com/chansync/chansync/internal/validate"
	"github.com/chansync/chansync/internal/worker"
	"github.com/chansync/chansync/internal/worker/workertest"
)

// The points API key and the ingest token in the grant catalogue.
const (
	pointsKey   = "sk-badinput-points-Wq3"
	ingestToken = "badinput-ingest-token-Rf82xK"
)

// grantCase is one kind of bad points grant, sent through ingest and
// written by SQL, as HR systems do both.
type grantCase struct {
	// name names the case.
	name string
	// id and user are the grant's external_order_id and channel_user_id;
	// amount is its amount_cents as a JSON literal, sent as typed (150.5,
	// 2^63).
	id, user, amount string
	// status is ingest's answer: 400, or 409 for a user that does not
	// exist. field and rule are what its errors (and, when the table takes
	// the row, the dead letter's reason) name; says is a phrase of the
	// message stating the rule.
	status            int
	field, rule, says string
	// sqlAmount is amount_cents as the SQL an HR system would write; empty
	// means amount as it is.
	sqlAmount string
	// refused is the SQLSTATE of Postgres refusing the row; empty when the
	// table takes it (its rules are the worker's, so that a bad row is
	// reported rather than refused) and the grant must be dead-lettered.
	refused string
	// fix, if set, is the SET clause of an UPDATE that repairs the row:
	// the grant is then credited once, with the fixed amount fixedCents.
	fix        string
	fixedCents int64
}

// grantUser is the (valid) user of every grant but the unknown user's.
const grantUser = "U-OK"

// grantCatalogue is every kind of bad grant. Each rule is checked where
// ingest refuses it (source.ValidateGrant, and the points kind's own rule
// for APIHub's largest amount) and where a push meets it.
var grantCatalogue = []grantCase{
	{name: "amount-zero", id: "G-AMOUNT-ZERO", user: grantUser, amount: "0",
		status: 400, field: "amount_cents", rule: validate.RulePositive, says: "must be greater than 0",
		fix: "amount_cents = 100", fixedCents: 100},
	{name: "amount-negative", id: "G-AMOUNT-NEGATIVE", user: grantUser, amount: "-500",
		status: 400, field: "amount_cents", rule: validate.RulePositive, says: "must be greater than 0",
		fix: "amount_cents = 500", fixedCents: 500},
	// A quoted fraction is refused by the bigint column; an unquoted one
	// is rounded by Postgres before chansync sees it (see
	// TestPostgresRoundsAnUnquotedFractionalAmount).
	{name: "amount-fractional", id: "G-AMOUNT-FRACTION", user: grantUser, amount: "150.5",
		status: 400, field: "amount_cents", rule: validate.RuleInteger, says: "must be a whole number of cents",
		sqlAmount: "'150.5'", refused: "22P02"},
	{name: "amount-beyond-bigint", id: "G-AMOUNT-BIGINT", user: grantUser, amount: "9223372036854775808",
		status: 400, field: "amount_cents", rule: validate.RuleRange, says: "must be at most 9223372036854775807",
		refused: "22003"},
	// A bigint, but more than APIHub takes (2^53-1, the largest integer
	// every JSON parser reads exactly).
	{name: "amount-beyond-apihub", id: "G-AMOUNT-APIHUB", user: grantUser, amount: "9007199254740992",
		status: 400, field: "amount_cents", rule: validate.RuleRange, says: "must be at most 9007199254740991",
		fix: "amount_cents = 9007199254740991", fixedCents: 9007199254740991},
	{name: "order-id-empty", id: "", user: grantUser, amount: "100",
		status: 400, field: "external_order_id", rule: validate.RuleRequired, says: "is required"},
	{name: "order-id-too-long", id: strings.Repeat("G", 65), user: grantUser, amount: "100",
		status: 400, field: "external_order_id", rule: validate.RuleFormat, says: "must be 1 to 64 of A-Z, a-z, 0-9, _ and -"},
	{name: "order-id-inner-space", id: "G 2026 11", user: grantUser, amount: "100",
		status: 400, field: "external_order_id", rule: validate.RuleFormat, says: "must be 1 to 64 of A-Z, a-z, 0-9, _ and -"},
	// A char(n) column in the HR system pads with spaces.
	{name: "order-id-trailing-space", id: "G-PADDED   ", user: grantUser, amount: "100",
		status: 400, field: "external_order_id", rule: validate.RuleFormat, says: "must be 1 to 64 of A-Z, a-z, 0-9, _ and -"},
	{name: "unknown-user", id: "G-NOBODY", user: "U-NOBODY", amount: "100",
		status: 409, field: "channel_user_id", rule: ingest.RuleExists, says: "user U-NOBODY does not exist",
		refused: "23503"},
}

// pointsBundle is a worker with the channel and points on, its ingest API
// served, and the outbox relay on: rows written by SQL are pushed as their
// triggers record them, as in production.
type pointsBundle struct {
	pool *pgxpool.Pool
	sim  *pointssimtest.Server
	ctl  *control.Controller
	reg  *target.Registry
	// ingest is the ingest API's base URL.
	ingest string
}

func setupPoints(t *testing.T) *pointsBundle {
	t.Helper()
	schema := dbtest.New(t)
	ch := channelsimtest.Start(t, channelsim.Config{AppKey: appKey, Secret: secret, Seed: 7})
	b := &pointsBundle{
		pool: schema.Pool,
		// A pool that pays for APIHub's largest amount.
		sim: pointssimtest.Start(t, pointssim.Config{APIKeys: []string{pointsKey}, RecordRequests: true, PoolCents: 1 << 62}),
	}
	settings := targets.Settings{
		Channel: channel.Settings{BaseURL: ch.URL(), AppKey: appKey, Secret: secret},
		Points:  points.Settings{BaseURL: b.sim.BaseURL(), APIKey: pointsKey},
	}
	w := workertest.Start(t, worker.Config{
		DatabaseURL: schema.URL,
		Targets:     settings,
		Jobs: jobs.Config{
			Concurrency:       4,
			EventConcurrency:  4,
			FetchPollInterval: 50 * time.Millisecond,
			WaitSnooze:        100 * time.Millisecond,
		},
		BatchSize:       25,
		HTTPAddr:        "127.0.0.1:0",
		IngestToken:     ingestToken,
		ShutdownTimeout: 10 * time.Second,
		Logger:          slog.New(slog.DiscardHandler),
	})
	b.ingest = "http://" + w.HTTPAddr()
	rc, err := jobs.NewClient(schema.Pool, nil, jobs.Config{})
	require.NoError(t, err)
	b.reg, err = targets.Describe(settings)
	require.NoError(t, err)
	b.ctl = control.New(control.Config{Pool: schema.Pool, Registry: b.reg, Client: rc, BatchSize: 25})
	_, err = schema.Pool.Exec(context.Background(), insertSQL(kUser, grantUser))
	require.NoError(t, err)
	return b
}

// post sends body as is to POST /v1/points_grants and returns the status
// and the decoded error body (zero on success).
func (b *pointsBundle) post(t *testing.T, body string) (int, ingest.ErrorBody) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.ingest+"/v1/points_grants", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var eb ingest.ErrorBody
	if resp.StatusCode >= 400 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoErrorf(t, dec.Decode(&eb), "error body: %s", raw)
	}
	return resp.StatusCode, eb
}

func (b *pointsBundle) grantState(t *testing.T, id string) (dbsqlc.SyncState, bool) {
	t.Helper()
	st, err := dbsqlc.New(b.pool).SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: "points", Kinds: []string{"grant"}, Ids: []string{id}})
	require.NoError(t, err)
	if len(st) == 0 {
		return dbsqlc.SyncState{}, false
	}
	return st[0], true
}

// waitGrant waits (a minute at most) until a grant's sync status is want.
func (b *pointsBundle) waitGrant(t *testing.T, id string, want syncstatus.Status) dbsqlc.SyncState {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, ok := b.grantState(t, id)
		if ok && st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("grant %q is not %s after a minute: found %v, %s (%s)", id, want, ok, st.Status, deref(st.LastError))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// drain waits until no push job is waiting or running.
func (b *pointsBundle) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := b.ctl.WaitIdle(ctx, 50*time.Millisecond, nil, nil)
	require.NoError(t, err)
}

// grantRow renders a case as the row an HR system would insert.
func grantRow(c grantCase) string {
	amount := c.amount
	if c.sqlAmount != "" {
		amount = c.sqlAmount
	}
	return "INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason) VALUES (" +
		quote(c.id) + ", " + quote(c.user) + ", " + amount + ", '年终奖励')"
}

func TestGrantCatalogueIsDistinct(t *testing.T) {
	t.Parallel()
	names, ids := map[string]bool{}, map[string]bool{}
	for _, c := range grantCatalogue {
		require.Falsef(t, names[c.name], "case %s twice", c.name)
		require.Falsef(t, ids[c.id], "order id %q twice", c.id)
		names[c.name], ids[c.id] = true, true
		require.Contains(t, []int{http.StatusBadRequest, http.StatusConflict}, c.status, c.name)
		require.Equalf(t, c.fix == "", c.fixedCents == 0, "%s: fix and fixedCents go together", c.name)
		require.Falsef(t, c.fix != "" && c.refused != "", "%s: a refused row has nothing to fix", c.name)
	}
}

// TestGrantBadInput: each bad grant of the catalogue is refused by ingest
// with 400 (409 for an unknown user) naming the field and the rule, and
// nothing is written; written by SQL, it is refused by Postgres, or taken
// by the table and then dead-lettered with a reason naming the field and
// the rule, and never sent to APIHub. A valid grant beside them is
// credited once; a bad amount fixed in the row is credited once.
func TestGrantBadInput(t *testing.T) {
	t.Parallel()
	b := setupPoints(t)
	ctx := context.Background()

	// Ingest first: the SQL cases write the same order ids.
	t.Run("Ingest", func(t *testing.T) {
		for _, c := range grantCatalogue {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				body := `{"external_order_id": ` + mustJSON(t, c.id) + `, "channel_user_id": ` + mustJSON(t, c.user) +
					`, "amount_cents": ` + c.amount + `, "reason": "年终奖励"}`
				status, eb := b.post(t, body)
				t.Logf("%d: %s", status, eb.Error)
				require.Equalf(t, c.status, status, "%+v", eb)
				require.Truef(t, slices.ContainsFunc(eb.Errors, func(e ingest.FieldError) bool {
					return e.Field == c.field && e.Rule == c.rule && strings.Contains(e.Message, c.says)
				}), "want %s: %s (%q), got %+v", c.field, c.rule, c.says, eb.Errors)
				require.Contains(t, eb.Error, c.field+": ", "the summary names the field")
				var n int
				require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM points_grants WHERE external_order_id = $1`, c.id).Scan(&n))
				require.Zero(t, n, "nothing written")
			})
		}
	})

	t.Run("SQL", func(t *testing.T) {
		_, err := b.pool.Exec(ctx, `INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason) VALUES ('G-VALID', $1, 2500, '年终奖励')`, grantUser)
		require.NoError(t, err)
		var taken []grantCase
		for _, c := range grantCatalogue {
			_, err := b.pool.Exec(ctx, grantRow(c))
			if c.refused != "" {
				var pgErr *pgconn.PgError
				require.Truef(t, errors.As(err, &pgErr), "%s: Postgres takes %s: %v", c.name, grantRow(c), err)
				require.Equalf(t, c.refused, pgErr.Code, "%s: %s", c.name, pgErr.Message)
				continue
			}
			require.NoErrorf(t, err, "%s: %s", c.name, grantRow(c))
			taken = append(taken, c)
		}
		require.Equal(t, syncstatus.Synced, b.waitGrant(t, "G-VALID", syncstatus.Synced).Status)

		k, err := b.reg.Kind("grant")
		require.NoError(t, err)
		for _, c := range taken {
			t.Run(c.name, func(t *testing.T) {
				st := b.waitGrant(t, c.id, syncstatus.Dead)
				require.NotNil(t, st.LastError)
				reason := *st.LastError
				t.Logf("dead: %s", reason)
				require.Containsf(t, reason, c.field+": ", "the reason names the field")
				require.Containsf(t, reason, c.says, "the reason states the rule")
				built, err := k.Load(ctx, b.pool, []string{c.id})
				require.NoError(t, err)
				require.Truef(t, built[c.id].Errs.Has(c.field, c.rule), "want %s: %s, got %v", c.field, c.rule, built[c.id].Errs)
				require.Equal(t, built[c.id].Reason(), reason, "the stored reason is the validator's")
			})
		}

		// The nightly run changes nothing.
		_, err = b.ctl.EnqueueAll(ctx, control.AllOptions{})
		require.NoError(t, err)
		b.drain(t)
		for _, c := range taken {
			st, ok := b.grantState(t, c.id)
			require.True(t, ok)
			require.Equalf(t, syncstatus.Dead, st.Status, "%s after the bulk run", c.name)
		}

		t.Run("NeverSent", func(t *testing.T) {
			for _, r := range b.sim.Requests() {
				if r.Endpoint == pointssim.EndpointRecharge {
					require.Equalf(t, "G-VALID", r.ExternalOrderID, "only the valid grant was sent: %+v", r)
				}
			}
			ids := []string{"G-VALID"}
			for _, c := range taken {
				if c.id != "" {
					ids = append(ids, c.id)
				}
			}
			credits := b.sim.CreditCountsOf(ids...)
			want := map[string]int{}
			for _, id := range ids {
				want[id] = 0
			}
			want["G-VALID"] = 1
			require.Equal(t, want, credits)
			balance, ok := b.sim.Balance(grantUser)
			require.True(t, ok)
			require.EqualValues(t, 2500, balance)
		})

		// Fix the bad amounts: each fixed grant is credited once (its
		// row's change is pushed like any other).
		for _, c := range taken {
			if c.fix == "" {
				continue
			}
			_, err := b.pool.Exec(ctx, "UPDATE points_grants SET "+c.fix+" WHERE external_order_id = "+quote(c.id))
			require.NoErrorf(t, err, "fix %s", c.name)
		}
		t.Run("FixedAndCreditedOnce", func(t *testing.T) {
			want := int64(2500)
			for _, c := range taken {
				if c.fix == "" {
					continue
				}
				b.waitGrant(t, c.id, syncstatus.Synced)
				require.Equalf(t, map[string]int{c.id: 1}, b.sim.CreditCountsOf(c.id), "%s credited once", c.name)
				want += c.fixedCents
			}
			b.drain(t)
			balance, _ := b.sim.Balance(grantUser)
			require.Equal(t, want, balance)
			for _, c := range taken {
				if c.fix == "" {
					st, _ := b.grantState(t, c.id)
					require.Equalf(t, syncstatus.Dead, st.Status, "%s is still dead", c.name)
				}
			}
			require.Empty(t, b.sim.Duplicates(nil).ByReason)
		})
	})
}

// TestPostgresRoundsAnUnquotedFractionalAmount pins down what an HR system
// writing a fractional amount as a number literal gets: Postgres rounds it
// to a whole number of cents (150.5 becomes 151) before chansync reads the
// row, so the rounded grant is valid and credited. Only ingest (400,
// "integer") or a quoted literal (refused, 22P02) catches the fraction.
func TestPostgresRoundsAnUnquotedFractionalAmount(t *testing.T) {
	t.Parallel()
	b := setupPoints(t)
	_, err := b.pool.Exec(context.Background(), grantRow(grantCase{id: "G-ROUNDED", user: grantUser, amount: "150.5"}))
	require.NoError(t, err)
	var stored int64
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT amount_cents FROM points_grants WHERE external_order_id = 'G-ROUNDED'`).Scan(&stored))
	require.EqualValues(t, 151, stored, "Postgres rounds half away from zero")
	b.waitGrant(t, "G-ROUNDED", syncstatus.Synced)
	balance, ok := b.sim.Balance(grantUser)
	require.True(t, ok)
	require.EqualValues(t, 151, balance)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// TestBulkRunReachesAGrantWithAnEmptyOrderID: a grant whose order id is
// "" that reaches the table without an outbox entry (the trigger off, a
// bulk load, a worker run with NO_EVENT_RELAY) is found by the nightly
// bulk run and dead-lettered, like every other bad row, and no record
// stays pending. (Keyset pages once started after "" with `id > @after`,
// and never read such a row.)
func TestBulkRunReachesAGrantWithAnEmptyOrderID(t *testing.T) {
	t.Parallel()
	b := setupPoints(t)
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `ALTER TABLE points_grants DISABLE TRIGGER points_grants_outbox`)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, grantRow(grantCase{id: "", user: grantUser, amount: "100"}))
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, grantRow(grantCase{id: "G-BESIDE", user: grantUser, amount: "0"}))
	require.NoError(t, err)
	run, err := b.ctl.EnqueueAll(ctx, control.AllOptions{})
	require.NoError(t, err)
	t.Logf("bulk run: %+v", run)
	b.drain(t)
	b.waitGrant(t, "G-BESIDE", syncstatus.Dead)
	b.waitGrant(t, "", syncstatus.Dead)
	k, err := b.reg.Kind("grant")
	require.NoError(t, err)
	counts, err := b.ctl.Counts(ctx, k)
	require.NoError(t, err)
	require.Zero(t, counts.Pending, "no grant stays pending")
}
