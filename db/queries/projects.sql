-- name: StartMirrorRun :one
-- StartMirrorRun records the start of a run of the projects mirror.
INSERT INTO projects_mirror_run (trigger) VALUES (@trigger) RETURNING *;

-- name: FinishMirrorRun :one
-- FinishMirrorRun records the end of a run: what it did, or its error.
UPDATE projects_mirror_run SET
    finished_at = now(),
    published = @published,
    added = @added,
    unpublished = @unpublished,
    republished = @republished,
    error = sqlc.narg(error)
WHERE id = @id
RETURNING *;

-- name: LastMirrorRun :one
-- LastMirrorRun returns the newest run of the projects mirror.
SELECT * FROM projects_mirror_run ORDER BY id DESC LIMIT 1;

-- name: LockProjectsMirror :exec
-- LockProjectsMirror makes runs of the mirror (the schedule, the command
-- line) wait for each other, until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('chansync.projects_mirror'));

-- name: MirrorProjects :one
-- MirrorProjects makes apihub_projects hold the published forms given (a
-- JSON array of {short_code, name, industry, icon, tags}, short codes
-- unique): it inserts the new ones (first_seen_at now), updates the others
-- (name, industry, icon, tags; last_seen_at now; unpublished_at cleared),
-- and sets unpublished_at on the published rows not given. It counts what
-- it did, against the rows as they were before.
WITH incoming AS (
    SELECT e ->> 'short_code' AS short_code, e ->> 'name' AS name,
           NULLIF(e ->> 'industry', '') AS industry, NULLIF(e ->> 'icon', '') AS icon,
           ARRAY(SELECT jsonb_array_elements_text(coalesce(e -> 'tags', '[]'::jsonb)))::text[] AS tags
    FROM jsonb_array_elements(@projects::jsonb) AS e
),
prev AS (
    SELECT a.short_code, a.name, a.industry, a.icon, a.tags, a.unpublished_at
    FROM apihub_projects a
    WHERE a.short_code IN (SELECT short_code FROM incoming)
),
upserted AS (
    INSERT INTO apihub_projects AS a (short_code, name, industry, icon, tags)
    SELECT short_code, name, industry, icon, tags FROM incoming
    ON CONFLICT (short_code) DO UPDATE SET
        name = excluded.name,
        industry = excluded.industry,
        icon = excluded.icon,
        tags = excluded.tags,
        last_seen_at = now(),
        unpublished_at = NULL
    RETURNING a.short_code
),
gone AS (
    UPDATE apihub_projects SET unpublished_at = now()
    WHERE unpublished_at IS NULL AND short_code NOT IN (SELECT short_code FROM incoming)
    RETURNING short_code
)
SELECT
    (SELECT count(*) FROM upserted)::int AS published,
    (SELECT count(*) FROM incoming i WHERE NOT EXISTS (SELECT 1 FROM prev p WHERE p.short_code = i.short_code))::int AS added,
    (SELECT count(*) FROM incoming i JOIN prev p USING (short_code)
        WHERE (i.name, i.industry, i.icon, i.tags) IS DISTINCT FROM (p.name, p.industry, p.icon, p.tags))::int AS updated,
    (SELECT count(*) FROM gone)::int AS unpublished,
    (SELECT count(*) FROM prev WHERE unpublished_at IS NOT NULL)::int AS republished;

-- name: ListProjects :many
-- ListProjects returns the mirrored forms, published or not, by short code.
SELECT * FROM apihub_projects ORDER BY short_code;
