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
