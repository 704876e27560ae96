#!/usr/bin/env bash
# pg-test-up.sh starts a throwaway PostgreSQL cluster for the pgstore tests
# and prints the line that enables them:
#
#   eval "$(scripts/pg-test-up.sh)"    # sets WEBAAS_TEST_POSTGRES
#
# Only that export line goes to stdout; progress goes to stderr. It installs
# PostgreSQL with apt when no server binaries are present (CI machines are
# fresh), runs the server as an unprivileged user when started as root (the
# server refuses to run as root), needs no stdin, and is safe to run again:
# a cluster already running in the data directory is reused.
#
# Settings (environment): PGTEST_DIR (data directory, default
# /tmp/webaas-pgtest), PGTEST_PORT (default 54329), PGTEST_USER (the server's
# OS user when run as root, default postgres).
set -euo pipefail

dir=${PGTEST_DIR:-/tmp/webaas-pgtest}
port=${PGTEST_PORT:-54329}
db_user=webaas
db_pass=webaas-test
db_name=webaas

log() { echo "pg-test-up: $*" >&2; }

find_bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bindir=$(find_bindir)
if [[ -z $bindir || ! -x $bindir/initdb ]]; then
	log "no PostgreSQL server found; installing it with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q </dev/null >&2
	apt-get install -y -q postgresql </dev/null >&2
	bindir=$(find_bindir)
fi
[[ -x $bindir/initdb ]] || { log "initdb not found under /usr/lib/postgresql"; exit 1; }

# as runs a command as the server's OS user: PostgreSQL will not run as root.
if [[ $(id -u) -eq 0 ]]; then
	os_user=${PGTEST_USER:-postgres}
	if ! id "$os_user" >/dev/null 2>&1; then
		useradd --system --create-home "$os_user"
	fi
	as() { runuser -u "$os_user" -- "$@"; }
else
	os_user=$(id -un)
	as() { "$@"; }
fi

mkdir -p "$dir"
chown "$os_user" "$dir"
chmod 700 "$dir"
cd /tmp # the server user may not be able to read the caller's directory

# A cluster from another major version (a machine that moved on) is of no
# use: it is throwaway, so start over.
major=$(basename "$(dirname "$bindir")")
if [[ -f $dir/PG_VERSION && $(cat "$dir/PG_VERSION") != "$major" ]]; then
	log "discarding the PostgreSQL $(cat "$dir/PG_VERSION") cluster in $dir"
	as "$bindir/pg_ctl" -D "$dir" -m immediate stop >&2 2>/dev/null || true
	find "$dir" -mindepth 1 -delete
fi

if [[ ! -f $dir/PG_VERSION ]]; then
	log "initdb in $dir"
	pwfile=$(mktemp)
	echo "$db_pass" >"$pwfile"
	chown "$os_user" "$pwfile"
	# The superuser is named after $db_user; local socket connections trust
	# the OS user, TCP connections need the password.
	as "$bindir/initdb" -D "$dir" -U "$db_user" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >&2
	rm -f "$pwfile"
fi

if as "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
	log "server already running in $dir"
else
	log "starting server on 127.0.0.1:$port"
	as "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" >&2
fi

if ! as psql -h "$dir" -p "$port" -U "$db_user" -d postgres -Atqc \
	"SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
	as psql -h "$dir" -p "$port" -U "$db_user" -d postgres -qc "CREATE DATABASE $db_name" >&2
fi

echo "export WEBAAS_TEST_POSTGRES=postgres://$db_user:$db_pass@127.0.0.1:$port/$db_name?sslmode=disable"
