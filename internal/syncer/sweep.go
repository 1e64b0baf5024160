package syncer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
)

// InsertTxFunc enqueues pushes of refs inside tx.
type InsertTxFunc func(ctx context.Context, tx pgx.Tx, refs []target.Ref) error

// sweepGrace is how long past its end a lease must be before it is swept:
// a live push renews its leases long before they end, so a lease this late
// belongs to a push that died.
const sweepGrace = 2 * time.Second

// SweepLostLeases finds the leases whose holder died (or lost the
// database) without releasing them, frees them, and enqueues their records
// again through insert, in one transaction per target: so the records of
// a killed worker are pushed by the others as soon as their leases run
// out, without waiting for the queue to rescue the dead worker's jobs. A
// record the target never accepted is marked unsettled, to be looked up
// before it is created again. It returns how many records it enqueued.
func (e *Engine) SweepLostLeases(ctx context.Context, insert InsertTxFunc) (int, error) {
	total := 0
	for _, t := range e.reg.Targets() {
		rt := e.targets[t.Name]
		err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			rows, err := e.q.WithTx(tx).SweepLostLeases(ctx, dbsqlc.SweepLostLeasesParams{
				Target: string(t.Name), GraceSeconds: sweepGrace.Seconds(),
				SettleSeconds: rt.InFlightBound.Seconds(), MaxRows: 1000,
			})
			if err != nil || len(rows) == 0 {
				return err
			}
			refs := make([]target.Ref, len(rows))
			for i, r := range rows {
				refs[i] = target.Ref{Target: t.Name, Kind: r.Kind, ID: r.RecordID}
			}
			if err := insert(ctx, tx, refs); err != nil {
				return err
			}
			total += len(refs)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("sweep lost leases of %s: %w", t.Name, err)
		}
	}
	return total, nil
}
