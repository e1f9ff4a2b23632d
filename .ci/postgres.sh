#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the search tests (Debian's `postgresql` package,
# installed if missing), listening only on a Unix socket in a fresh directory, so that it
# cannot collide with another server. Prints that directory and the URL to export as
# CNN_TEST_POSTGRES. `.ci/postgres.sh stop DIR` stops it and removes its cluster.
set -euo pipefail
port="${CNN_PG_PORT:-55432}"
if [[ "${1:-}" == stop ]]; then
    dir="$2"
    bin="$(cat "$dir/bin")"
    as_owner() { if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
    as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast stop" >/dev/null || true
    rm -rf "$dir"
    exit 0
fi
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -q >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
dir="$(mktemp -d /tmp/cnn-pg.XXXXXX)"
echo "$bin" > "$dir/bin"
as_owner() { if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[[ $(id -u) -eq 0 ]] && chown postgres "$dir"
as_owner "'$bin/initdb' -D '$dir/data' -A trust -U postgres" >/dev/null
as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k '$dir' -c listen_addresses= -c fsync=off\" start" >/dev/null
echo "$dir postgres://postgres@localhost:$port/postgres?host=$dir"
