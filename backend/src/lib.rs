//! Vinculum's server-side core: database access under row-level security, the services that
//! server functions, webhooks, jobs and the command line call, and the job queue. It owns every
//! SQL statement; it never renders HTML and never speaks HTTP to browsers.

pub mod analytics;
pub mod auth;
pub mod club;
pub mod comms;
pub mod crm;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod embedded;
pub mod error;
pub mod exports;
pub mod health;
pub mod import;
pub mod install;
pub mod jobs;
pub mod loyalty;
pub mod members;
pub mod orders;
pub mod portal;
pub mod sandbox;
pub mod sync;
pub mod webhooks;

pub use error::{Error, Result};

/// The migrations in `../migrations`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
