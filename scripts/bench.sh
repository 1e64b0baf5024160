#!/usr/bin/env bash
# make bench: chansync's benchmark. Finds or starts a Postgres
# (scripts/ensure-postgres.sh), builds cmd/bench, and runs it against the
# binaries in bin/ (make bench builds them first). It creates and drops its
# own databases on that server and writes bench/RESULTS.md and
# bench/results.json. Extra flags go through BENCH_ARGS or the arguments,
# e.g. BENCH_ARGS=--quick make bench, or scripts/bench.sh --sizes 10000.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
url=$(scripts/ensure-postgres.sh)
mkdir -p bin
go build -o bin/bench ./cmd/bench
# shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
exec bin/bench --database-url "$url" --bin "$ROOT/bin" --out "$ROOT/bench/RESULTS.md" ${BENCH_ARGS:-} "$@"
