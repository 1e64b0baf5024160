-- Reads of River's job table, for internal/queue only: it alone knows how
-- a push job's args are encoded ({"target", "kind", "ids"} under job kind
-- "push"), and its tests prove these queries read what its inserter writes.

-- name: QueuedIDs :many
-- QueuedIDs lists the records of one kind that wait in a push job not yet
-- started. Such a job reads the row when it runs, so a bulk run started
-- while an earlier one drains need not enqueue them again.
SELECT DISTINCT jsonb_array_elements_text(args -> 'ids')::text AS record_id
FROM river_job
WHERE kind = 'push' AND args ->> 'target' = @target::text AND args ->> 'kind' = @kind::text
  AND state IN ('available', 'scheduled', 'retryable', 'pending');

-- name: QueueDepth :many
-- QueueDepth counts push jobs not yet finished, by River state.
SELECT state::text AS state, count(*) AS jobs
FROM river_job
WHERE kind = 'push' AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
GROUP BY state;

-- name: QueueDepthByKind :many
-- QueueDepthByKind counts unfinished push jobs by target, kind, queue and
-- River state.
SELECT coalesce(args ->> 'target', '')::text AS target, coalesce(args ->> 'kind', '')::text AS kind,
    queue, state::text AS state, count(*) AS jobs
FROM river_job
WHERE kind = 'push' AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
GROUP BY 1, 2, 3, 4;

-- name: WaitingAmong :many
-- WaitingAmong returns which of the records named by ids (of any target or
-- kind: the caller matches the pairs) wait in a push job that no worker has
-- started. Such a job reads the rows when it runs, after any change already
-- committed, so the record need not be queued again. Only jobs that may
-- start at once count: a scheduled or retrying job could make an event
-- wait.
SELECT DISTINCT coalesce(j.args ->> 'target', '')::text AS target, coalesce(j.args ->> 'kind', '')::text AS kind, e.id::text AS record_id
FROM river_job j
CROSS JOIN LATERAL jsonb_array_elements_text(j.args -> 'ids') AS e(id)
JOIN unnest(@ids::text[]) AS w(id) ON w.id = e.id
WHERE j.kind = 'push' AND j.state = 'available';

-- name: PushLoad :many
-- PushLoad counts the push jobs each queue is working or about to work,
-- and the records they carry.
SELECT queue, count(*) AS jobs, coalesce(sum(jsonb_array_length(args -> 'ids')), 0)::bigint AS records
FROM river_job
WHERE kind = 'push' AND state IN ('available', 'running')
GROUP BY queue;
