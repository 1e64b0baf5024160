-- Reads for the status page (internal/statuspage); its counts, replays and
-- pushes go through internal/control. A reason filter matches a substring
-- of the last error, case-insensitively and literally, as in
-- ResetForReplay, so that a page and the replay it offers select the same
-- records.

-- name: StatusPageDeadLetters :many
-- StatusPageDeadLetters returns one page of dead letters (dead or blocked
-- records) of the given targets, newest failure first, of kind and with a
-- reason containing reason when those are given.
SELECT target, kind, record_id, status, last_error, attempts, first_failed_at, last_failed_at
FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND target = ANY(@targets::text[])
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(reason)::text IS NULL OR strpos(lower(coalesce(last_error, '')), lower(sqlc.narg(reason))) > 0)
ORDER BY last_failed_at DESC NULLS LAST, target, kind, record_id
LIMIT @page_size OFFSET @page_offset;

-- name: StatusPageDeadLetterCount :one
-- StatusPageDeadLetterCount counts the dead letters StatusPageDeadLetters
-- pages through.
SELECT count(*) FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND target = ANY(@targets::text[])
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(reason)::text IS NULL OR strpos(lower(coalesce(last_error, '')), lower(sqlc.narg(reason))) > 0);

-- name: StatusPageDeadReasons :many
-- StatusPageDeadReasons groups the dead letters (of the targets, and of
-- kind when given) by reason, with the record's own "kinds/id: " prefix
-- taken off so that records failing the same rule share a reason; most
-- common first.
SELECT target, regexp_replace(coalesce(last_error, ''), '^[a-z_]+/[^ ]*: ', '')::text AS reason,
    count(*) AS records
FROM sync_state
WHERE status IN ('dead', 'blocked')
  AND target = ANY(@targets::text[])
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
GROUP BY 1, 2
ORDER BY records DESC, target, reason
LIMIT @max_rows;

-- name: StatusPageSyncState :one
-- StatusPageSyncState returns the sync state of one record.
SELECT * FROM sync_state WHERE target = @target AND kind = @kind AND record_id = @record_id;

-- name: StatusPageAttempts :many
-- StatusPageAttempts returns the newest failed attempts of one record,
-- newest first.
SELECT * FROM sync_attempt
WHERE target = @target AND kind = @kind AND record_id = @record_id
ORDER BY id DESC
LIMIT @max_rows;

-- name: StatusPageReplayLog :many
-- StatusPageReplayLog returns the newest replays and pushes asked for,
-- newest first.
SELECT * FROM replay_log ORDER BY id DESC LIMIT @max_rows;
