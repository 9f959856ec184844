#!/usr/bin/env bash
# `make dev`: installs what is missing, provisions PostgreSQL unless DATABASE_URL is set, migrates,
# seeds the demo winery, and serves the app at http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/env.sh

if [ -z "${DATABASE_URL:-}" ]; then
    base=$(scripts/pg.sh start dev)
    psql "$base" -qtAc "select 1 from pg_database where datname = 'vinculum'" | grep -q 1 \
        || psql "$base" -qc "create database vinculum"
    export DATABASE_URL="${base%/postgres}/vinculum"
fi
mkdir -p .dev
if [ -z "${VINCULUM_SECRET_KEY:-}" ]; then
    [ -f .dev/secret_key ] || python3 -c 'import secrets; print(secrets.token_hex(32))' > .dev/secret_key
    VINCULUM_SECRET_KEY=$(cat .dev/secret_key)
    export VINCULUM_SECRET_KEY
fi
export VINCULUM_DEMO=${VINCULUM_DEMO:-true}
export LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}

cargo leptos build
./target/debug/vinculum migrate
./target/debug/vinculum demo seed
echo
echo "Vinculum is starting at http://$LEPTOS_SITE_ADDR (sign in as demo@vinculum.test / vinculum-demo)."
exec ./target/debug/vinculum serve
