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
# The secret key first: seeding connects each winery to the sandbox CRM, sealing its secret.
export VINCULUM_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') VINCULUM_DEMO=true
./target/release/vinculum migrate
./target/release/vinculum demo seed
for project in js nojs live mjs mnojs ljs lnojs cjs cnojs ejs enojs djs dnojs pjs pnojs; do
    ./target/release/vinculum demo seed --slug "e2e-$project" --admin-email "$project@e2e.test" \
        --admin-password "e2e-password" --customers 30 >/dev/null
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR="127.0.0.1:$port"
# Planted secrets: none of them, nor any webhook secret, may appear in the server's log.
planted="planted-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
export VINCULUM_C7_APP_ID=vinculum-e2e VINCULUM_C7_APP_SECRET="$planted-c7" \
    VINCULUM_C7_INSTALL_USER=c7-e2e VINCULUM_C7_INSTALL_PASSWORD="$planted-install"
RUST_LOG="info,backend=debug,server=debug,app=debug,tower_http=debug,sqlx=warn" \
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

step "no secret in the server's log"
webhook_secrets=$(psql "$DATABASE_URL" -qtAc \
    "select distinct split_part(body->>'url', '/', 7) from sandbox_crm_objects where kind = 'web-hook'")
leaked=0
for secret in "$VINCULUM_SECRET_KEY" "$planted" $webhook_secrets; do
    if grep -qF -- "$secret" target/e2e-server.log; then
        echo "a secret (${secret:0:6}…) appears in target/e2e-server.log" >&2
        leaked=1
    fi
done
[ "$leaked" = 0 ] || exit 1
echo "checked $(wc -l < target/e2e-server.log) log lines for $(( $(wc -w <<< "$webhook_secrets") + 2 )) secrets: none found"
echo
echo "make test: all checks passed."
