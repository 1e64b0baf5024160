#!/usr/bin/env bash
# stop-postgres.sh: stop the private cluster ensure-postgres.sh started
# under .pgdata/, if any. Leaves every other server alone.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA="$ROOT/.pgdata"
[ -f "$DATA/.started-by-chansync" ] || exit 0
PG_CTL=$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n1)
if [ "$(id -u)" = 0 ]; then
	owner=$(stat -c %U "$DATA")
	runuser -u "$owner" -- "$PG_CTL" -D "$DATA" -m fast stop >&2 || true
else
	"$PG_CTL" -D "$DATA" -m fast stop >&2 || true
fi
rm -f "$DATA/.started-by-chansync"
