// Package outbox relays the changes that the tables' triggers record in
// sync_outbox (one entry per changed source record) into push jobs for
// every enabled kind the change may affect (a user's change: the
// channel's user, the user centre's account). It is woken by LISTEN/NOTIFY and polls as a
// fallback; each pass takes the due entries and inserts their jobs in one
// transaction, so an entry is relayed exactly once even when the worker dies
// mid-relay or several workers relay at once.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
)

// Channel is the notification channel the triggers notify.
const Channel = "chansync_outbox"

// MarkEvery is how often a running relay records that it is alive
// (outbox_relay); Alive looks for a mark younger than three of these.
const MarkEvery = 2 * time.Second

// Alive reports whether some worker's relay has made a pass lately: if
// none has, changes in the outbox wait for the next full bulk run.
func Alive(ctx context.Context, db dbsqlc.DBTX) (bool, error) {
	alive, err := dbsqlc.New(db).RelayAlive(ctx, (3 * MarkEvery).Seconds())
	if err != nil {
		return false, fmt.Errorf("outbox relay liveness: %w", err)
	}
	return alive, nil
}

// InsertTxFunc enqueues pushes of refs inside tx.
type InsertTxFunc func(ctx context.Context, tx pgx.Tx, refs []target.Ref) error

// Config tunes a Relay. Zero values take the defaults.
type Config struct {
	// Debounce is how long a record must be quiet before its change is
	// relayed, so that a burst of updates becomes one push. Default 20ms.
	Debounce time.Duration
	// MaxDelay caps how long a record that keeps changing waits. Default
	// 250ms.
	MaxDelay time.Duration
	// PollInterval is how often the relay looks without a notification.
	// Default 1s.
	PollInterval time.Duration
	// MaxBatch is how many entries one pass takes. Default 1000.
	MaxBatch int32
	// RelayedFunc, if set, is told how many entries each pass relayed and
	// when the oldest was first changed (for metrics).
	RelayedFunc func(n int, oldest time.Time)
}

func (c Config) withDefaults() Config {
	if c.Debounce <= 0 {
		c.Debounce = 20 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 250 * time.Millisecond
	}
	if c.MaxDelay < c.Debounce {
		c.MaxDelay = c.Debounce
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	return c
}

// Relay moves outbox entries into push jobs.
type Relay struct {
	pool   *pgxpool.Pool
	reg    *target.Registry
	insert InsertTxFunc
	logger *slog.Logger
	cfg    Config
}

// New returns a Relay that maps changes to records through reg and
// enqueues their pushes with insert.
func New(pool *pgxpool.Pool, reg *target.Registry, insert InsertTxFunc, logger *slog.Logger, cfg Config) *Relay {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Relay{pool: pool, reg: reg, insert: insert, logger: logger, cfg: cfg.withDefaults()}
}

// RelayOnce relays the entries that are due now and returns how many.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.pass(ctx)
		total += n
		if err != nil || n < int(r.cfg.MaxBatch) {
			return total, err
		}
	}
}

func (r *Relay) pass(ctx context.Context) (int, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("relay outbox: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := dbsqlc.New(tx).TakeOutbox(ctx, dbsqlc.TakeOutboxParams{
		DebounceSeconds: r.cfg.Debounce.Seconds(),
		MaxDelaySeconds: r.cfg.MaxDelay.Seconds(),
		MaxRows:         r.cfg.MaxBatch,
	})
	if err != nil {
		return 0, fmt.Errorf("take outbox entries: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	bySource := map[string][]string{}
	var sources []string
	oldest := rows[0].FirstChangedAt
	for _, row := range rows {
		if _, ok := bySource[row.Kind]; !ok {
			sources = append(sources, row.Kind)
		}
		bySource[row.Kind] = append(bySource[row.Kind], row.RecordID)
		if row.FirstChangedAt.Before(oldest) {
			oldest = row.FirstChangedAt
		}
	}
	var refs []target.Ref
	for _, src := range sources {
		got, err := r.reg.Affected(ctx, tx, src, bySource[src])
		if err != nil {
			return 0, err
		}
		refs = append(refs, got...)
	}
	if err := r.insert(ctx, tx, refs); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("relay outbox: %w", err)
	}
	if r.cfg.RelayedFunc != nil {
		r.cfg.RelayedFunc(len(rows), oldest)
	}
	return len(rows), nil
}

// Run relays until ctx ends. It listens for notifications on a connection
// of its own and reconnects when that connection is lost; meanwhile it
// keeps polling.
func (r *Relay) Run(ctx context.Context) {
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	go r.markAlive(ctx)
	for {
		if _, err := r.RelayOnce(ctx); err != nil && ctx.Err() == nil {
			r.logger.WarnContext(ctx, "outbox relay", slog.String("error", err.Error()))
		}
		wait := r.cfg.PollInterval
		if next, err := dbsqlc.New(r.pool).NextOutboxDue(ctx, dbsqlc.NextOutboxDueParams{
			DebounceSeconds: r.cfg.Debounce.Seconds(),
			MaxDelaySeconds: r.cfg.MaxDelay.Seconds(),
		}); err == nil {
			if d := time.Duration(next * float64(time.Second)); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// markAlive records every MarkEvery that this relay runs (outbox_relay),
// for `enqueue all --wait`. It runs beside the relay's loop, and commits
// without waiting for the disk, so that the mark never delays an event.
func (r *Relay) markAlive(ctx context.Context) {
	t := time.NewTicker(MarkEvery)
	defer t.Stop()
	for {
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return err
			}
			return dbsqlc.New(tx).MarkRelayPass(ctx)
		})
		if err != nil && ctx.Err() == nil {
			r.logger.DebugContext(ctx, "mark outbox relay alive", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		r.logger.WarnContext(ctx, "outbox listener lost; reconnecting", slog.String("error", errString(err)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection ends in LISTEN state: close it rather than return it.
	defer func() {
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "connection closed"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return err.Error()
}
