#!/usr/bin/env bash
# Sourced by the other scripts: the environment that keeps every cargo command on one build cache.
# cargo-leptos builds the server with these two variables in debug; plain `cargo test` and
# `cargo clippy` must use the same ones or they rebuild everything (toolchain notes, pitfall 5).
export RUSTFLAGS="--cfg erase_components"
export LEPTOS_OUTPUT_NAME=vinculum
# Queries are checked at compile time against the committed .sqlx/ metadata, so building needs no
# database. `make sqlx-prepare` refreshes it after a query or migration changes.
export SQLX_OFFLINE=true
# wasm-opt from npm's binaryen (never Debian's).
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
