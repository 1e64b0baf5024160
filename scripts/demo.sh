#!/usr/bin/env bash
# make demo: a sample data set reaches a simulated channel and the
# simulated APIHub user centre.
#
# Finds or starts a Postgres (scripts/ensure-postgres.sh), creates a fresh
# schema for the demo, migrates, loads a few hundred valid records and a
# handful of invalid ones, starts the channel simulator, the APIHub
# simulator and a worker, enqueues everything, waits until the queue
# drains, prints the summary, the dead letters and what each target holds,
# then stops what it started.
#
# make demo-up (scripts/demo.sh --up) does the same, then leaves the
# simulators, the worker and the status page running, prints the page's
# address and a login token, and stops everything on Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/bin"
cd "$ROOT"

up=false
[ "${1:-}" = "--up" ] && up=true

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

# start_sim VAR BIN ARGS...: starts a simulator, remembers it to be stopped
# on exit, and sets VAR to the base URL it prints. (It runs in this shell,
# not in a $(...) subshell, so that its pid reaches pids.)
start_sim() {
	local var=$1; shift
	local log
	log=$(mktemp)
	"$@" >"$log" 2>&1 &
	pids+=($!)
	local url=""
	for _ in $(seq 1 50); do
		url=$(grep -o 'http://[^ ]*' "$log" | head -n1 || true)
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { echo "simulator did not start:" >&2; cat "$log" >&2; exit 1; }
	printf -v "$var" '%s' "$url"
	export "${var?}"
}

say "migrate (twice: the second run is a no-op)"
"$BIN/worker" migrate
"$BIN/worker" migrate

say "load a sample data set"
"$BIN/datagen" --records "${DEMO_RECORDS:-400}" --grants "${DEMO_GRANTS:-20}" --invalid --quiet

say "start the simulators"
export CHANNEL_APPKEY=demo-appkey CHANNEL_SECRET=demo-secret-$RANDOM$RANDOM
start_sim CHANNEL_BASE_URL "$BIN/channelsim" --addr 127.0.0.1:0 --appkey "$CHANNEL_APPKEY" --secret "$CHANNEL_SECRET"
echo "channel simulator at $CHANNEL_BASE_URL"
export APIHUB_AK=demo-ak APIHUB_SK=demo-sk-$RANDOM$RANDOM APIHUB_API_KEY=sk-demo-$RANDOM$RANDOM
APIHUBSIM_POINTS_API_KEYS="$APIHUB_API_KEY" start_sim APIHUB_BASE_URL "$BIN/apihubsim" --addr 127.0.0.1:0 --uc-ak "$APIHUB_AK" --uc-sk "$APIHUB_SK"
echo "APIHub simulator (user centre, points) at $APIHUB_BASE_URL"

say "start a worker"
workerlog=$(mktemp)
export ADMIN_TOKEN=demo-admin-$RANDOM$RANDOM$RANDOM
export HTTP_ADDR=127.0.0.1:${DEMO_PORT:-8080}
WORKER_CONCURRENCY=8 "$BIN/worker" 2>"$workerlog" &
wpid=$!
pids+=($wpid)

say "enqueue all, and wait until the queue drains"
set +e
"$BIN/enqueue" all --wait --every 1s
rc=$?
set -e

say "status"
"$BIN/enqueue" status

say "what the channel holds"
admin=${CHANNEL_BASE_URL%/api/v1}
curl -fsS "$admin/_sim/stats" 2>/dev/null | head -c 1500 || true
echo

say "what the user centre holds"
curl -fsS "$APIHUB_BASE_URL/_sim/uc/summary" || true

say "what APIHub points holds (each grant credited once)"
curl -fsS "$APIHUB_BASE_URL/_sim/points/summary" || true
first=$(PGOPTIONS="-c search_path=$schema" psql "$base_url" -qAtX -c "SELECT channel_user_id FROM points_grants ORDER BY external_order_id LIMIT 1")
if [ -n "$first" ]; then
	echo
	echo "\$ enqueue points balance $first"
	"$BIN/enqueue" points balance "$first" || true
	echo "\$ enqueue points logs $first"
	"$BIN/enqueue" points logs "$first" --max 5 || true
fi

if $up; then
	say "running: the status page is at http://$HTTP_ADDR/ (token: $ADMIN_TOKEN)"
	echo "simulators: channel $CHANNEL_BASE_URL, APIHub $APIHUB_BASE_URL; worker log: $workerlog"
	echo "press Ctrl-C to stop everything"
	wait "$wpid" || true
	exit 0
fi

say "what the worker reported"
kill -TERM "$wpid"; wait "$wpid" || true
grep -E 'worker (started|totals|stopped)|dead-lettered' "$workerlog" | head -n 40 || true
echo
if [ "$rc" -eq 3 ]; then
	echo "demo finished: valid records are on every target; the invalid ones are dead letters, as intended (fix a row, then: enqueue replay --all)."
	exit 0
fi
exit "$rc"
