//! Structured logs with `tracing`: human-readable by default, JSON when `VINCULUM_LOG_FORMAT=json`.
//! The level comes from `RUST_LOG` (default `info`). Bodies, tokens and secrets are never logged.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber (once per process).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("VINCULUM_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    drop(result);
}
