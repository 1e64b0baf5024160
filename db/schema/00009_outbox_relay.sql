-- +goose Up
-- outbox_relay records when a worker's outbox relay last made a pass, so
-- that `enqueue all --wait` knows whether the changes in the outbox are on
-- their way (a relay runs) or wait for the next full bulk run (every worker
-- runs with NO_EVENT_RELAY). One row.
CREATE TABLE outbox_relay (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_pass_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE outbox_relay;
