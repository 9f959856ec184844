//! The `vinculum` server's library half: configuration, telemetry, the router and the background
//! loops. `main.rs` wires them into the binary; the tests build the same router.

pub mod auth;
pub mod comms;
pub mod config;
pub mod exports;
pub mod health;
pub mod integrations;
pub mod jobs;
pub mod startup;
pub mod telemetry;
