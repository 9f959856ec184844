#!/usr/bin/env bash
# `make test`: the format and lint gates, every Rust test (unit tests, and integration tests with a
# fresh database per test), then the Playwright suite against the release build of the real server
# binary and a real PostgreSQL, in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh --browser
source scripts/env.sh
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

step "format"
cargo fmt --all --check

step "clippy (server side, then the wasm side)"
cargo clippy -p domain -p backend -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "PostgreSQL"
PG_NAME=${PG_NAME:-test}
base=$(scripts/pg.sh start "$PG_NAME")
export DATABASE_URL="$base"

step "Rust tests"
cargo test -p domain -p backend -p app -p server

step "release build"
cargo leptos build --release

step "end-to-end tests (Playwright, Debian chromium, release build)"
e2e_db=vinculum_e2e
psql "$base" -qc "drop database if exists $e2e_db with (force)" -c "create database $e2e_db"
export DATABASE_URL="${base%/postgres}/$e2e_db"
./target/release/vinculum migrate
./target/release/vinculum demo seed
for project in js nojs live mjs mnojs ljs lnojs; do
    ./target/release/vinculum demo seed --slug "e2e-$project" --admin-email "$project@e2e.test" \
        --admin-password "e2e-password" --customers 30 >/dev/null
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR="127.0.0.1:$port"
export VINCULUM_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') VINCULUM_DEMO=true
./target/release/vinculum serve > target/e2e-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test) || {
    echo "The server's log is in target/e2e-server.log" >&2
    exit 1
}
echo
echo "make test: all checks passed."
