-- +goose Up
-- channel_token shares one channel access token between every worker
-- process: one process fetches (holding an advisory lock) while the others
-- wait and then adopt its token, so the channel sees one token request per
-- refresh however many workers run. Tokens are short-lived credentials; the
-- app secret is never stored.
CREATE TABLE channel_token (
    id            integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    access_token  text NOT NULL,
    refresh_token text,
    expires_at    timestamptz NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    fetched_by    text NOT NULL
);

-- +goose Down
DROP TABLE channel_token;
