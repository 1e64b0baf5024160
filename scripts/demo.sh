#!/usr/bin/env bash
# make demo: a sample data set of all five kinds reaches a simulated channel.
#
# Finds or starts a Postgres (scripts/ensure-postgres.sh), creates a fresh
# schema for the demo, migrates, loads a few hundred valid records and a
# handful of invalid ones, starts the channel simulator and a worker,
# enqueues everything, waits until the queue drains, prints the summary and
# the dead letters, then stops what it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/bin"
cd "$ROOT"

say() { printf '\n== %s\n' "$*"; }

base_url=$(scripts/ensure-postgres.sh)
schema="chansync_demo"
PGOPTIONS="-c client_min_messages=warning" psql "$base_url" -qX -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" >/dev/null
sep='?'; [[ "$base_url" == *\?* ]] && sep='&'
export DATABASE_URL="${base_url}${sep}search_path=${schema}"
export LOG_FORMAT=text
export LOG_LEVEL=${LOG_LEVEL:-info}

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

say "migrate (twice: the second run is a no-op)"
"$BIN/worker" migrate
"$BIN/worker" migrate

say "load a sample data set"
"$BIN/datagen" --records "${DEMO_RECORDS:-400}" --invalid --quiet

say "start the channel simulator"
export CHANNEL_APPKEY=demo-appkey CHANNEL_SECRET=demo-secret-$RANDOM$RANDOM
simlog=$(mktemp)
"$BIN/channelsim" --addr 127.0.0.1:0 --appkey "$CHANNEL_APPKEY" --secret "$CHANNEL_SECRET" >"$simlog" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
	CHANNEL_BASE_URL=$(grep -o 'http://[^ ]*' "$simlog" | head -n1 || true)
	[ -n "$CHANNEL_BASE_URL" ] && break
	sleep 0.1
done
[ -n "${CHANNEL_BASE_URL:-}" ] || { echo "simulator did not start:"; cat "$simlog"; exit 1; }
export CHANNEL_BASE_URL
echo "channel simulator at $CHANNEL_BASE_URL"

say "start a worker"
workerlog=$(mktemp)
WORKER_CONCURRENCY=8 "$BIN/worker" 2>"$workerlog" &
wpid=$!
pids+=($wpid)

say "enqueue all, and wait until the queue drains"
set +e
"$BIN/enqueue" all --wait --every 1s
rc=$?
set -e

say "what the worker reported"
kill -TERM "$wpid"; wait "$wpid" || true
grep -E 'worker (started|totals|stopped)|dead-lettered' "$workerlog" | head -n 40 || true

say "status"
"$BIN/enqueue" status

say "what the channel holds"
admin=${CHANNEL_BASE_URL%/api/v1}
curl -fsS "$admin/_sim/stats" 2>/dev/null | head -c 2000 || true
echo
echo
if [ "$rc" -eq 3 ]; then
	echo "demo finished: valid records are in the channel; the invalid ones are dead letters, as intended (fix a row, then: enqueue replay --all)."
	exit 0
fi
exit "$rc"
