-- Sync state: one row per record chansync has seen.

-- name: ClaimRecords :many
-- ClaimRecords takes a lease on each record that no other push holds and
-- returns the claimed records' state; records leased elsewhere are left out.
INSERT INTO sync_state (kind, record_id, lease_until)
SELECT @kind::text, unnest(@ids::text[]), now() + make_interval(secs => @lease_seconds::float8)
ON CONFLICT (kind, record_id) DO UPDATE
    SET lease_until = excluded.lease_until
    WHERE sync_state.lease_until IS NULL OR sync_state.lease_until < now()
RETURNING *;

-- name: RenewLeases :exec
UPDATE sync_state
SET lease_until = now() + make_interval(secs => @lease_seconds::float8)
WHERE kind = @kind AND record_id = ANY(@ids::text[]);

-- name: ReleaseLeases :exec
UPDATE sync_state SET lease_until = NULL
WHERE kind = @kind AND record_id = ANY(@ids::text[]);

-- name: SyncStates :many
-- SyncStates returns the state of the named records (kinds[i], ids[i]).
SELECT s.*
FROM sync_state s
JOIN (SELECT unnest(@kinds::text[]) AS kind, unnest(@ids::text[]) AS record_id) r
  ON s.kind = r.kind AND s.record_id = r.record_id;

-- name: RecordOutcome :batchexec
-- RecordOutcome writes the outcome of one push of one record and releases
-- its lease. outcome is one of accepted, unchanged, failed, dead, blocked,
-- waiting, missing. It is sent as a batch, one statement per record, each
-- naming the whole primary key: a lookup the planner cannot get wrong. (A
-- single UPDATE joined to unnested arrays was planned, while the table was
-- growing and its statistics lagged, as a scan of every state row of the
-- kind, which made a first bulk run slower the larger it was.)
UPDATE sync_state SET
    status = CASE @outcome::text
        WHEN 'accepted' THEN 'synced'
        WHEN 'unchanged' THEN 'synced'
        WHEN 'failed' THEN 'retrying'
        WHEN 'dead' THEN 'dead'
        WHEN 'blocked' THEN 'blocked'
        WHEN 'waiting' THEN 'pending'
        ELSE status END,
    accepted_hash = CASE WHEN @outcome = 'accepted' THEN sqlc.narg(hash)::bytea ELSE accepted_hash END,
    channel_ref = CASE WHEN @outcome = 'accepted' AND @channel_ref::text <> '' THEN @channel_ref ELSE channel_ref END,
    accepted_at = CASE WHEN @outcome = 'accepted' THEN now() ELSE accepted_at END,
    source_updated_at = CASE WHEN @outcome = 'missing' THEN source_updated_at ELSE sqlc.narg(source_updated_at)::timestamptz END,
    attempts = CASE
        WHEN @outcome IN ('accepted', 'unchanged') THEN 0
        WHEN @outcome IN ('failed', 'dead') THEN attempts + 1
        ELSE attempts END,
    last_error = CASE
        WHEN @outcome IN ('accepted', 'unchanged') THEN NULL
        WHEN @outcome = 'missing' THEN last_error
        ELSE NULLIF(@error::text, '') END,
    first_failed_at = CASE
        WHEN @outcome IN ('accepted', 'unchanged') THEN NULL
        WHEN @outcome IN ('failed', 'dead', 'blocked') THEN coalesce(first_failed_at, now())
        ELSE first_failed_at END,
    last_failed_at = CASE
        WHEN @outcome IN ('failed', 'dead', 'blocked') THEN now()
        ELSE last_failed_at END,
    blocked_on_kind = CASE
        WHEN @outcome IN ('blocked', 'waiting') THEN NULLIF(@blocked_on_kind::text, '')
        WHEN @outcome = 'missing' THEN blocked_on_kind
        ELSE NULL END,
    blocked_on_id = CASE
        WHEN @outcome IN ('blocked', 'waiting') THEN NULLIF(@blocked_on_id::text, '')
        WHEN @outcome = 'missing' THEN blocked_on_id
        ELSE NULL END,
    -- The payload is kept for operators only while it is not accepted: an
    -- accepted one is the row's own payload (accepted_hash proves it), and
    -- writing it for every record was most of a bulk run's WAL.
    last_payload = CASE
        WHEN @outcome IN ('accepted', 'unchanged') THEN NULL
        WHEN sqlc.narg(payload)::jsonb IS NOT NULL THEN sqlc.narg(payload)::jsonb
        ELSE last_payload END,
    last_verb = CASE WHEN @outcome = 'accepted' THEN NULLIF(@verb::text, '') ELSE last_verb END,
    lease_until = NULL,
    updated_at = now()
WHERE kind = @kind AND record_id = @record_id;

-- name: InsertAttempts :exec
INSERT INTO sync_attempt (kind, record_id, outcome, error)
SELECT @kind::text, unnest(@ids::text[]), unnest(@outcomes::text[]), unnest(@errors::text[]);

-- name: BlockedOn :many
-- BlockedOn lists the records that wait for one of the given parents.
SELECT kind, record_id FROM sync_state
WHERE status = 'blocked' AND blocked_on_kind = @parent_kind::text AND blocked_on_id = ANY(@parent_ids::text[]);

-- name: ResetForReplay :many
-- ResetForReplay moves dead and blocked records matching the filter back to
-- pending and returns them.
UPDATE sync_state SET
    status = 'pending', attempts = 0, blocked_on_kind = NULL, blocked_on_id = NULL,
    source_updated_at = NULL, updated_at = now()
WHERE status IN ('dead', 'blocked')
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(record_id)::text IS NULL OR record_id = sqlc.narg(record_id))
  AND (sqlc.narg(reason)::text IS NULL OR last_error ILIKE '%' || sqlc.narg(reason) || '%')
RETURNING kind, record_id;

-- name: ReplayCandidates :many
SELECT kind, record_id, status, last_error FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(record_id)::text IS NULL OR record_id = sqlc.narg(record_id))
  AND (sqlc.narg(reason)::text IS NULL OR last_error ILIKE '%' || sqlc.narg(reason) || '%')
ORDER BY kind, record_id;

-- name: ResetRecords :exec
-- ResetRecords puts named records back to pending (used by push).
UPDATE sync_state SET status = 'pending', attempts = 0, blocked_on_kind = NULL,
    blocked_on_id = NULL, source_updated_at = NULL, updated_at = now()
WHERE kind = @kind AND record_id = ANY(@ids::text[]) AND status IN ('dead', 'blocked');

-- name: DeadLetters :many
SELECT kind, record_id, status, last_error, attempts, first_failed_at, last_failed_at
FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
ORDER BY last_failed_at DESC NULLS LAST, kind, record_id
LIMIT @max_rows;

-- name: StatusCounts :many
-- StatusCounts counts, per kind, the local records by sync status. A
-- record counts as in sync only if its row has not changed since the push.
SELECT 'company'::text AS kind, count(*) AS total,
    count(*) FILTER (WHERE s.status = 'synced' AND s.source_updated_at >= t.updated_at) AS in_sync,
    count(*) FILTER (WHERE s.status = 'retrying') AS retrying,
    count(*) FILTER (WHERE s.status = 'blocked') AS blocked,
    count(*) FILTER (WHERE s.status = 'dead') AS dead,
    coalesce(max(s.accepted_at), 'epoch'::timestamptz)::timestamptz AS last_accepted_at
FROM companies t LEFT JOIN sync_state s ON s.kind = 'company' AND s.record_id = t.channel_company_id
UNION ALL
SELECT 'user', count(*),
    count(*) FILTER (WHERE s.status = 'synced' AND s.source_updated_at >= t.updated_at),
    count(*) FILTER (WHERE s.status = 'retrying'),
    count(*) FILTER (WHERE s.status = 'blocked'),
    count(*) FILTER (WHERE s.status = 'dead'),
    coalesce(max(s.accepted_at), 'epoch'::timestamptz)::timestamptz
FROM users t LEFT JOIN sync_state s ON s.kind = 'user' AND s.record_id = t.channel_user_id
UNION ALL
SELECT 'task', count(*),
    count(*) FILTER (WHERE s.status = 'synced' AND s.source_updated_at >= t.updated_at),
    count(*) FILTER (WHERE s.status = 'retrying'),
    count(*) FILTER (WHERE s.status = 'blocked'),
    count(*) FILTER (WHERE s.status = 'dead'),
    coalesce(max(s.accepted_at), 'epoch'::timestamptz)::timestamptz
FROM tasks t LEFT JOIN sync_state s ON s.kind = 'task' AND s.record_id = t.channel_task_id
UNION ALL
SELECT 'application', count(*),
    count(*) FILTER (WHERE s.status = 'synced' AND s.source_updated_at >= t.updated_at),
    count(*) FILTER (WHERE s.status = 'retrying'),
    count(*) FILTER (WHERE s.status = 'blocked'),
    count(*) FILTER (WHERE s.status = 'dead'),
    coalesce(max(s.accepted_at), 'epoch'::timestamptz)::timestamptz
FROM applications t LEFT JOIN sync_state s ON s.kind = 'application' AND s.record_id = t.channel_application_id
UNION ALL
SELECT 'payment', count(*),
    count(*) FILTER (WHERE s.status = 'synced' AND s.source_updated_at >= t.updated_at),
    count(*) FILTER (WHERE s.status = 'retrying'),
    count(*) FILTER (WHERE s.status = 'blocked'),
    count(*) FILTER (WHERE s.status = 'dead'),
    coalesce(max(s.accepted_at), 'epoch'::timestamptz)::timestamptz
FROM payments t LEFT JOIN sync_state s ON s.kind = 'payment' AND s.record_id = t.channel_payment_id;

-- name: StatesPage :many
-- StatesPage reads the sync state of one kind in keyset pages, for bulk
-- change detection.
SELECT record_id, status, accepted_hash, source_updated_at
FROM sync_state
WHERE kind = @kind AND record_id > @after::text AND record_id <= @upto::text
ORDER BY record_id;

-- name: ForgetAccepted :exec
-- ForgetAccepted makes every record of a kind look changed, so that the
-- next bulk run pushes it again (enqueue all --force).
UPDATE sync_state SET accepted_hash = NULL, source_updated_at = NULL, updated_at = now()
WHERE kind = @kind;

-- name: QueueDepth :many
-- QueueDepth counts push jobs not yet finished, by River state.
SELECT state::text AS state, count(*) AS jobs
FROM river_job
WHERE kind LIKE 'push\_%' AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
GROUP BY state;

-- name: StartBulkRun :one
INSERT INTO bulk_run (trigger, force, kinds) VALUES (@trigger, @force, @kinds::text[])
RETURNING id, started_at;

-- name: FinishBulkScan :exec
UPDATE bulk_run SET enqueued_at = now(), scanned = @scanned, enqueued = @enqueued,
    unchanged = @unchanged, scan = @scan
WHERE id = @id;

-- name: FinishBulkRun :exec
UPDATE bulk_run SET finished_at = now() WHERE id = @id AND finished_at IS NULL;

-- name: GetBulkRun :one
SELECT * FROM bulk_run WHERE id = @id;

-- name: LastBulkRun :one
SELECT * FROM bulk_run ORDER BY id DESC LIMIT 1;

-- name: RunOutcomes :many
-- RunOutcomes counts, per kind, what happened to records since a run
-- started: accepted (created, updated), dead, blocked.
SELECT kind,
    count(*) FILTER (WHERE accepted_at >= @since::timestamptz AND status = 'synced') AS accepted,
    count(*) FILTER (WHERE accepted_at >= @since::timestamptz AND status = 'synced' AND last_verb = 'create') AS created,
    count(*) FILTER (WHERE accepted_at >= @since::timestamptz AND status = 'synced' AND last_verb = 'update') AS updated,
    count(*) FILTER (WHERE status = 'dead' AND last_failed_at >= @since::timestamptz) AS dead,
    count(*) FILTER (WHERE status = 'blocked' AND last_failed_at >= @since::timestamptz) AS blocked,
    count(*) FILTER (WHERE status = 'retrying') AS retrying
FROM sync_state
GROUP BY kind;

-- name: RunRetries :many
-- RunRetries counts failed attempts per kind since a run started.
SELECT kind, count(*) AS retries FROM sync_attempt
WHERE outcome = 'failed' AND created_at >= @since::timestamptz
GROUP BY kind;

-- name: LogReplay :exec
INSERT INTO replay_log (actor, filter, count) VALUES (@actor, @filter, @count);

-- name: QueueDepthByKind :many
-- QueueDepthByKind counts unfinished jobs by job kind and River state.
SELECT kind, state::text AS state, count(*) AS jobs
FROM river_job
WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
GROUP BY kind, state;

-- name: DeadLetterCounts :many
SELECT kind, status, count(*) AS records
FROM sync_state WHERE status IN ('dead', 'blocked', 'retrying')
GROUP BY kind, status;

-- name: QueuedIDs :many
-- QueuedIDs lists the records of a job kind that wait in a push job not yet
-- started. Such a job reads the row when it runs, so a bulk run started
-- while an earlier one drains need not enqueue them again.
SELECT DISTINCT jsonb_array_elements_text(args -> 'ids')::text AS record_id
FROM river_job
WHERE kind = @job_kind AND state IN ('available', 'scheduled', 'retryable', 'pending');
