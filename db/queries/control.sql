-- The operator's controls (internal/control): bulk runs, replays, pushes,
-- dead letters and run summaries. A reason filter matches a substring of
-- the last error, case-insensitively and literally (no wildcards).

-- name: ResetForReplay :many
-- ResetForReplay moves dead and blocked records matching the filter back to
-- pending and returns them.
UPDATE sync_state SET
    status = 'pending', attempts = 0, blocked_on_kind = NULL, blocked_on_id = NULL,
    source_updated_at = NULL, updated_at = now()
WHERE status IN ('dead', 'blocked')
  AND target = ANY(@targets::text[])
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(record_id)::text IS NULL OR record_id = sqlc.narg(record_id))
  AND (sqlc.narg(reason)::text IS NULL OR strpos(lower(coalesce(last_error, '')), lower(sqlc.narg(reason))) > 0)
RETURNING target, kind, record_id;

-- name: ReplayCandidates :many
SELECT target, kind, record_id, status, last_error FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND target = ANY(@targets::text[])
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(record_id)::text IS NULL OR record_id = sqlc.narg(record_id))
  AND (sqlc.narg(reason)::text IS NULL OR strpos(lower(coalesce(last_error, '')), lower(sqlc.narg(reason))) > 0)
ORDER BY target, kind, record_id;

-- name: ResetRecords :exec
-- ResetRecords puts named dead or blocked records back to pending (push).
UPDATE sync_state SET status = 'pending', attempts = 0, blocked_on_kind = NULL,
    blocked_on_id = NULL, source_updated_at = NULL, updated_at = now()
WHERE target = @target AND kind = @kind AND record_id = ANY(@ids::text[]) AND status IN ('dead', 'blocked');

-- name: ForgetRecords :exec
-- ForgetRecords makes named records look changed (verify --fix): the next
-- push sends them again; with forget_remote, as records the target does
-- not hold (found first, then created).
UPDATE sync_state SET accepted_hash = NULL, source_updated_at = NULL,
    remote_ref = CASE WHEN @forget_remote::boolean THEN NULL ELSE remote_ref END,
    accepted_at = CASE WHEN @forget_remote::boolean THEN NULL ELSE accepted_at END,
    unsettled_until = CASE WHEN @forget_remote::boolean THEN now() ELSE unsettled_until END,
    status = CASE WHEN status IN ('dead', 'blocked') THEN 'pending' ELSE status END,
    updated_at = now()
WHERE target = @target AND kind = @kind AND record_id = ANY(@ids::text[]);

-- name: DeadLetters :many
SELECT target, kind, record_id, status, last_error, attempts, first_failed_at, last_failed_at
FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND target = ANY(@targets::text[])
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
ORDER BY last_failed_at DESC NULLS LAST, target, kind, record_id
LIMIT @max_rows;

-- name: StatesPage :many
-- StatesPage reads the sync state of one kind in keyset pages, for bulk
-- change detection.
SELECT record_id, status, accepted_hash, source_updated_at
FROM sync_state
WHERE target = @target AND kind = @kind AND (record_id > @after::text OR @after::text = '') AND record_id <= @upto::text
ORDER BY record_id;

-- name: ForgetAccepted :exec
-- ForgetAccepted makes every record of a kind look changed, so that the
-- next bulk run pushes it again (enqueue all --force).
UPDATE sync_state SET accepted_hash = NULL, source_updated_at = NULL, updated_at = now()
WHERE target = @target AND kind = @kind;

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
-- RunOutcomes counts, per target and kind, what happened to records since
-- a run started: accepted (created, updated), dead, blocked.
SELECT target, kind,
    count(*) FILTER (WHERE accepted_at >= @since::timestamptz AND status = 'synced') AS accepted,
    count(*) FILTER (WHERE accepted_at >= @since::timestamptz AND status = 'synced' AND last_verb = 'create') AS created,
    count(*) FILTER (WHERE accepted_at >= @since::timestamptz AND status = 'synced' AND last_verb = 'update') AS updated,
    count(*) FILTER (WHERE status = 'dead' AND last_failed_at >= @since::timestamptz) AS dead,
    count(*) FILTER (WHERE status = 'blocked' AND last_failed_at >= @since::timestamptz) AS blocked,
    count(*) FILTER (WHERE status = 'retrying') AS retrying
FROM sync_state
GROUP BY target, kind;

-- name: RunRetries :many
-- RunRetries counts failed attempts per target and kind since a run
-- started.
SELECT target, kind, count(*) AS retries FROM sync_attempt
WHERE outcome = 'failed' AND created_at >= @since::timestamptz
GROUP BY target, kind;

-- name: LogReplay :exec
INSERT INTO replay_log (actor, filter, count) VALUES (@actor, @filter, @count);

-- name: DeadLetterCounts :many
SELECT target, kind, status, count(*) AS records
FROM sync_state WHERE status IN ('dead', 'blocked', 'retrying')
GROUP BY target, kind, status;
