#!/usr/bin/env bash
# Installs, idempotently, what building and testing Vinculum needs beyond the Rust toolchain and
# node/npm (see README, "What gets installed"). Each step is skipped when already satisfied, so a
# second run installs nothing. Usage: scripts/tools.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

CARGO_LEPTOS_VERSION=0.3.10

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on two cores, once)"
    cargo install cargo-leptos@"$CARGO_LEPTOS_VERSION" --locked
fi

# cargo-leptos runs the wasm-bindgen CLI found on PATH; it must equal the crate version in
# Cargo.lock exactly. Its own lockfile pins a yanked crate, so it is installed without --locked.
WB_VER=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VER" ]; then
    say "installing wasm-bindgen-cli $WB_VER (about 3 minutes, once)"
    cargo install wasm-bindgen-cli --version "$WB_VER"
fi

# Playwright and binaryen's wasm-opt come from npm. No browser is downloaded: the tests drive
# Debian's chromium. Debian's own binaryen is never used (it builds a page that does not hydrate).
if [ ! -f end2end/node_modules/.package-lock.json ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the end-to-end test packages (npm ci)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null; then
    say "installing Debian's chromium for the browser tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
