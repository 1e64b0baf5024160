-- The status page's sessions (see db/schema/00006_page_sessions.sql).

-- name: PageSessionCreate :exec
INSERT INTO page_session (token_hash, csrf_token, created_at, last_seen_at, expires_at)
VALUES (@token_hash, @csrf_token, @now, @now, @expires_at);

-- name: PageSessionGet :one
-- PageSessionGet returns the live session with the token hash: not past
-- its absolute expiry, and seen after idle_since.
SELECT * FROM page_session
WHERE token_hash = @token_hash AND expires_at > @now AND last_seen_at > @idle_since;

-- name: PageSessionTouch :exec
-- PageSessionTouch records a request of the session at now, unless one
-- was recorded after touched_since (coalescing the writes).
UPDATE page_session SET last_seen_at = @now
WHERE token_hash = @token_hash AND last_seen_at <= @touched_since;

-- name: PageSessionDelete :exec
DELETE FROM page_session WHERE token_hash = @token_hash;

-- name: PageSessionDeleteExpired :execrows
-- PageSessionDeleteExpired deletes the sessions past their absolute
-- expiry or idle since idle_since.
DELETE FROM page_session WHERE expires_at <= @now OR last_seen_at <= @idle_since;
