# Two commands do everything (see README): `make dev` and `make test`.
.PHONY: dev test fmt lint sqlx-prepare e2e-install stop-db

dev:
	scripts/dev.sh

test:
	scripts/test.sh

fmt:
	cargo fmt --all

lint:
	. scripts/env.sh && cargo clippy -p domain -p backend -p app -p server --all-targets -- -D warnings \
	  && cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

# Refresh the committed compile-time query metadata (.sqlx/) after changing a query or migration.
sqlx-prepare:
	command -v cargo-sqlx >/dev/null || cargo install sqlx-cli@0.8.6 --no-default-features --features postgres,rustls --locked
	base=$$(scripts/pg.sh start dev) && psql "$$base" -qc "drop database if exists vinculum_prepare with (force)" -c "create database vinculum_prepare" \
	  && DATABASE_URL=$${base%/postgres}/vinculum_prepare sqlx migrate run \
	  && RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=vinculum DATABASE_URL=$${base%/postgres}/vinculum_prepare cargo sqlx prepare --workspace -- --all-targets

stop-db:
	scripts/pg.sh stop dev; scripts/pg.sh stop test
