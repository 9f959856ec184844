#!/usr/bin/env bash
# Project-local PostgreSQL for development and tests, from the machine's Debian binaries.
#
#   scripts/pg.sh start [NAME]   start (creating on first use) the cluster .dev/NAME (default: pg)
#                                and print its DATABASE_URL; reuses a running cluster
#   scripts/pg.sh stop  [NAME]   stop it
#   scripts/pg.sh url   [NAME]   print its DATABASE_URL
#
# The cluster listens on 127.0.0.1 only, on a free port chosen at creation and kept in
# .dev/NAME/port. As root, initdb and pg_ctl run as the `postgres` user. If PostgreSQL is not
# installed, Debian's package is installed first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
cmd=${1:-start}
name=${2:-pg}
dir="$ROOT/.dev/$name"

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bin" ]; then
        echo "PostgreSQL is not installed; installing Debian's package..." >&2
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        else
            sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        fi
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$bin"
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

url() {
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

case "$cmd" in
start)
    BIN=$(pg_bin)
    mkdir -p "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
        as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        free_port > "$dir/port"
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $(cat "$dir/port") -k $dir/data -c max_connections=200 -c fsync=off -c shared_buffers=1GB -c max_wal_size=4GB" \
            start >/dev/null
    fi
    url
    ;;
stop)
    BIN=$(pg_bin)
    if [ -f "$dir/data/PG_VERSION" ]; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    fi
    ;;
url)
    url
    ;;
*)
    echo "usage: scripts/pg.sh start|stop|url [NAME]" >&2
    exit 2
    ;;
esac
