-- Sync state: one row per record chansync has seen on a target. The engine
-- (internal/syncer) is the only writer of these queries.

-- name: ClaimRecords :many
-- ClaimRecords takes a lease for holder on each named record that no other
-- push holds (the holder's own leases are taken again), and returns the
-- claimed records' state; records leased elsewhere are left out. A record
-- whose previous lease was never released (its holder died mid-push) and
-- that the target has never accepted may have been created already: it is
-- marked unsettled until that lease's end plus settle_seconds, when a
-- request sent under it can no longer be in flight.
INSERT INTO sync_state (target, kind, record_id, lease_until, lease_holder)
SELECT @target::text, @kind::text, unnest(@ids::text[]), now() + make_interval(secs => @lease_seconds::float8), @holder::text
ON CONFLICT (target, kind, record_id) DO UPDATE
    SET lease_until = excluded.lease_until,
        lease_holder = excluded.lease_holder,
        unsettled_until = CASE
            WHEN sync_state.lease_until IS NOT NULL AND sync_state.lease_holder IS DISTINCT FROM excluded.lease_holder
                AND sync_state.remote_ref IS NULL AND sync_state.accepted_at IS NULL
            THEN greatest(sync_state.unsettled_until, sync_state.lease_until + make_interval(secs => @settle_seconds::float8))
            ELSE sync_state.unsettled_until END
    WHERE sync_state.lease_until IS NULL OR sync_state.lease_until < now() OR sync_state.lease_holder = excluded.lease_holder
RETURNING *;

-- name: RenewLeases :many
-- RenewLeases extends the leases holder still holds, and returns their
-- ids.
UPDATE sync_state
SET lease_until = now() + make_interval(secs => @lease_seconds::float8)
WHERE target = @target AND kind = @kind AND record_id = ANY(@ids::text[]) AND lease_holder = @holder::text AND lease_until IS NOT NULL
RETURNING record_id;

-- name: ReleaseLeases :exec
-- ReleaseLeases releases the leases holder holds.
UPDATE sync_state SET lease_until = NULL, lease_holder = NULL
WHERE target = @target AND kind = @kind AND record_id = ANY(@ids::text[]) AND lease_holder = @holder::text;

-- name: SyncStates :many
-- SyncStates returns the state of the named records (kinds[i], ids[i]) of
-- one target. Each pair is looked up on its own by primary key (the LIMIT
-- keeps the planner from flattening the lookup into a join): planned as a
-- join, the lookup read every state row of the target while a first bulk
-- run grew the table faster than statistics followed (10 ms a call).
SELECT s.*
FROM generate_subscripts(@ids::text[], 1) AS i
CROSS JOIN LATERAL (
  SELECT * FROM sync_state
  WHERE target = @target AND kind = (@kinds::text[])[i] AND record_id = (@ids::text[])[i]
  LIMIT 1
) s;

-- name: RecordOutcomes :one
-- RecordOutcomes writes the outcome of one push of each record named in
-- outcomes and releases their leases, in one statement, and returns how
-- many records it wrote (see chansync_record_outcomes).
SELECT chansync_record_outcomes(@target::text, @kind::text, @outcomes::jsonb)::int AS written;

-- name: InsertAttempts :exec
INSERT INTO sync_attempt (target, kind, record_id, outcome, error)
SELECT @target::text, @kind::text, unnest(@ids::text[]), unnest(@outcomes::text[]), unnest(@errors::text[]);

-- name: BlockedOn :many
-- BlockedOn lists the records of a target that wait for one of the given
-- parents.
SELECT kind, record_id FROM sync_state
WHERE target = @target AND status = 'blocked'
  AND blocked_on_kind = @parent_kind::text AND blocked_on_id = ANY(@parent_ids::text[]);

-- name: SweepLostLeases :many
-- SweepLostLeases frees the leases of one target that ran out more than
-- grace_seconds ago (their holder died, or lost the database, without
-- releasing them) and returns the records, to be pushed again. A record
-- the target never accepted is marked unsettled until a request sent under
-- the lost lease can no longer be in flight (settle_seconds). Rows locked
-- by a push claiming them are skipped.
WITH lost AS (
    SELECT l.target, l.kind, l.record_id
    FROM sync_state l
    WHERE l.target = @target AND l.lease_until < now() - make_interval(secs => @grace_seconds::float8)
    ORDER BY l.lease_until
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
)
UPDATE sync_state s SET
    lease_until = NULL,
    lease_holder = NULL,
    unsettled_until = CASE
        WHEN s.remote_ref IS NULL AND s.accepted_at IS NULL
        THEN greatest(s.unsettled_until, s.lease_until + make_interval(secs => @settle_seconds::float8))
        ELSE s.unsettled_until END,
    updated_at = now()
FROM lost
WHERE s.target = lost.target AND s.kind = lost.kind AND s.record_id = lost.record_id
RETURNING s.kind, s.record_id;

-- name: GetHold :one
-- GetHold returns the hold on a target, if any.
SELECT * FROM target_hold WHERE target = @target;

-- name: ListHolds :many
SELECT * FROM target_hold ORDER BY target;

-- name: PutHold :one
-- PutHold holds a target (or keeps holding it, with the newest reason),
-- probing again after probe_seconds, and returns the hold.
INSERT INTO target_hold (target, reason, detail, next_probe_at)
VALUES (@target, @reason, NULLIF(@detail::text, ''), now() + make_interval(secs => @probe_seconds::float8))
ON CONFLICT (target) DO UPDATE SET
    reason = excluded.reason,
    detail = excluded.detail,
    since = CASE WHEN target_hold.reason = excluded.reason THEN target_hold.since ELSE now() END,
    next_probe_at = excluded.next_probe_at,
    updated_at = now()
RETURNING *;

-- name: TakeHoldProbe :one
-- TakeHoldProbe lets one push probe a held target whose probe is due:
-- the caller that gets a row is the prober; the next probe is pushed back
-- by probe_seconds meanwhile.
UPDATE target_hold SET
    next_probe_at = now() + make_interval(secs => @probe_seconds::float8),
    probes = probes + 1,
    updated_at = now()
WHERE target = @target AND next_probe_at <= now()
RETURNING *;

-- name: LiftHold :execrows
-- LiftHold ends the hold on a target.
DELETE FROM target_hold WHERE target = @target;

-- name: ReopenHoldProbe :one
-- ReopenHoldProbe lets the next probe of a held target come after
-- after_seconds: the probe that ran learnt nothing of the hold (it sent
-- nothing, or met a failure that is not the hold's).
UPDATE target_hold SET
    next_probe_at = now() + make_interval(secs => @after_seconds::float8),
    updated_at = now()
WHERE target = @target
RETURNING *;
