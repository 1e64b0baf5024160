#!/usr/bin/env bash
# ensure-postgres.sh: find or start a Postgres, print one DATABASE_URL.
#
# Prints, on stdout, a postgres:// URL of a database that exists and answers;
# everything else goes to stderr. In order:
#   1. $DATABASE_URL, if set (it must answer, or this fails naming it);
#   2. a server on 127.0.0.1:5432 (database $CHANSYNC_DB, default chansync,
#      created if missing);
#   3. the Debian cluster (pg_lsclusters), started with pg_ctlcluster;
#   4. a private cluster under the project's .pgdata/ on port
#      $CHANSYNC_PG_PORT (default 54329), initdb'd on first use (preloading
#      pg_stat_statements when it is installed, for make bench); Debian's
#      postgresql package is installed first if there are no binaries and we
#      are root.
# CHANSYNC_PG_SKIP_DEFAULT=1 skips steps 2 and 3 (to test step 4).
# scripts/stop-postgres.sh stops a private cluster this script started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DB=${CHANSYNC_DB:-chansync}
PORT=${CHANSYNC_PG_PORT:-54329}
DATA="$ROOT/.pgdata"

log() { echo "ensure-postgres: $*" >&2; }

pg_bin() {
	local name=$1
	if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
	local dir
	dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
	if [ -n "$dir" ] && [ -x "$dir/$name" ]; then echo "$dir/$name"; return; fi
	return 1
}

answers() { # url
	local psql
	psql=$(pg_bin psql) || return 1
	PGCONNECT_TIMEOUT=3 "$psql" "$1" -qtAX -c 'SELECT 1' >/dev/null 2>&1
}

ensure_db() { # host port user
	local host=$1 port=$2 user=$3 psql
	psql=$(pg_bin psql)
	local admin="postgres://$user@$host:$port/postgres?sslmode=disable"
	if ! "$psql" "$admin" -qtAX -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
		log "creating database $DB"
		"$psql" "$admin" -qX -c "CREATE DATABASE \"$DB\"" >/dev/null
	fi
	local n
	n=$("$psql" "$admin" -qtAX -c "SHOW max_connections")
	if [ "$n" -lt 100 ]; then log "warning: max_connections is $n; the tests want at least 100"; fi
	echo "postgres://$user@$host:$port/$DB?sslmode=disable"
}

# 1. DATABASE_URL
if [ -n "${DATABASE_URL:-}" ]; then
	if answers "$DATABASE_URL"; then echo "$DATABASE_URL"; exit 0; fi
	log "DATABASE_URL is set but its server does not answer (is it running? is the URL right?)"
	exit 1
fi

if [ "${CHANSYNC_PG_SKIP_DEFAULT:-}" != 1 ]; then
	# 2. a server on the default port
	if answers "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"; then
		ensure_db 127.0.0.1 5432 postgres
		exit 0
	fi
	# 3. the Debian cluster
	if command -v pg_lsclusters >/dev/null 2>&1; then
		read -r ver name port _ < <(pg_lsclusters -h 2>/dev/null | head -n1) || true
		if [ -n "${ver:-}" ]; then
			log "starting Debian cluster $ver/$name"
			pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2 2>&1 || true
			for _ in $(seq 1 30); do
				if answers "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; then
					ensure_db 127.0.0.1 "$port" postgres
					exit 0
				fi
				sleep 0.5
			done
			log "the Debian cluster did not answer on 127.0.0.1:$port (trust auth expected); trying a private cluster"
		fi
	fi
fi

# 4. a private cluster under the project
if ! pg_bin initdb >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "no Postgres binaries: installing Debian's postgresql package"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
	else
		log "no Postgres found and cannot install one: install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL"
		exit 1
	fi
fi
INITDB=$(pg_bin initdb)
PG_CTL=$(pg_bin pg_ctl)

# stats_preload prints the setting that preloads pg_stat_statements (make
# bench reads Postgres's top statements from it; it can only be loaded at
# server start) when the extension is installed: a preload of a missing
# library would keep the server from starting.
stats_preload() {
	local dir
	for dir in "$(dirname "$(readlink -f "$INITDB")")/../lib" "$(cfg=$(pg_bin pg_config) && "$cfg" --pkglibdir 2>/dev/null)"; do
		if [ -n "$dir" ] && [ -f "$dir/pg_stat_statements.so" ]; then
			echo "shared_preload_libraries = 'pg_stat_statements'"
			return
		fi
	done
	log "pg_stat_statements is not installed: make bench will not show Postgres's top statements"
}

as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
	owner=postgres
	if ! id "$owner" >/dev/null 2>&1; then
		owner=chansync-pg
		id "$owner" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$owner"
	fi
	as_owner() { runuser -u "$owner" -- "$@"; }
fi

url="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
if [ -f "$DATA/PG_VERSION" ] && answers "$url"; then
	ensure_db 127.0.0.1 "$PORT" postgres
	exit 0
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
	log "initdb a private cluster in $DATA"
	mkdir -p "$DATA"
	[ "$(id -u)" = 0 ] && chown "$owner" "$DATA"
	chmod 700 "$DATA"
	as_owner "$INITDB" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2 2>&1 ||
		as_owner "$INITDB" -D "$DATA" -U postgres --auth=trust -E UTF8 >&2
	cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
	stats_preload >>"$DATA/postgresql.conf"
fi
log "starting the private cluster on 127.0.0.1:$PORT"
as_owner "$PG_CTL" -D "$DATA" -l "$DATA/log" -w start >&2
touch "$DATA/.started-by-chansync"
ensure_db 127.0.0.1 "$PORT" postgres
