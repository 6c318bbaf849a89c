#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the test suite and prints its URL.
# Usage: eval "$(bash .ci/postgres.sh start DIR PORT)"; bash .ci/postgres.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data dir}; port=${3:-55432}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      run "$bindir/initdb" -D "$dir" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
    fi
    run "$bindir/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c unix_socket_directories='' -c max_connections=200" start >/dev/null
    echo "export DATABASE_URL_PG=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    run "$bindir/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
