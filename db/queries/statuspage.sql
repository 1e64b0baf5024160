-- Reads for the status page (internal/statuspage); its counts, replays and
-- pushes go through internal/control.

-- name: StatusPageDeadLetters :many
-- StatusPageDeadLetters returns one page of dead letters (dead or blocked
-- records), newest failure first, of kind and with a reason containing
-- reason when those are given. The reason matches as in ResetForReplay
-- (case-insensitive substring of last_error), so that a page and the
-- replay it offers select the same records.
SELECT kind, record_id, status, last_error, attempts, first_failed_at, last_failed_at
FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(reason)::text IS NULL OR last_error ILIKE '%' || sqlc.narg(reason) || '%')
ORDER BY last_failed_at DESC NULLS LAST, kind, record_id
LIMIT @page_size OFFSET @page_offset;

-- name: StatusPageDeadLetterCount :one
-- StatusPageDeadLetterCount counts the dead letters StatusPageDeadLetters
-- pages through.
SELECT count(*) FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(reason)::text IS NULL OR last_error ILIKE '%' || sqlc.narg(reason) || '%');

-- name: StatusPageDeadReasons :many
-- StatusPageDeadReasons groups the dead letters (of kind, when given) by
-- reason, with the record's own "kinds/id: " prefix taken off so that
-- records failing the same rule share a reason; most common first.
SELECT regexp_replace(coalesce(last_error, ''), '^[a-z]+/[^ ]*: ', '')::text AS reason,
    count(*) AS records
FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
GROUP BY 1
ORDER BY records DESC, reason
LIMIT @max_rows;

-- name: StatusPageRecordRow :one
-- StatusPageRecordRow returns the local row of one record as JSON, and its
-- updated_at; no row when the record has none.
SELECT to_jsonb(t) AS row, t.updated_at FROM users t
WHERE @kind::text = 'user' AND t.channel_user_id = @record_id::text
UNION ALL
SELECT to_jsonb(t), t.updated_at FROM companies t
WHERE @kind::text = 'company' AND t.channel_company_id = @record_id::text
UNION ALL
SELECT to_jsonb(t), t.updated_at FROM tasks t
WHERE @kind::text = 'task' AND t.channel_task_id = @record_id::text
UNION ALL
SELECT to_jsonb(t), t.updated_at FROM applications t
WHERE @kind::text = 'application' AND t.channel_application_id = @record_id::text
UNION ALL
SELECT to_jsonb(t), t.updated_at FROM payments t
WHERE @kind::text = 'payment' AND t.channel_payment_id = @record_id::text;

-- name: StatusPageSyncState :one
-- StatusPageSyncState returns the sync state of one record.
SELECT * FROM sync_state WHERE kind = @kind AND record_id = @record_id;

-- name: StatusPageAttempts :many
-- StatusPageAttempts returns the newest failed attempts of one record,
-- newest first.
SELECT * FROM sync_attempt
WHERE kind = @kind AND record_id = @record_id
ORDER BY id DESC
LIMIT @max_rows;

-- name: StatusPageReplayLog :many
-- StatusPageReplayLog returns the newest replays and pushes asked for,
-- newest first.
SELECT * FROM replay_log ORDER BY id DESC LIMIT @max_rows;
