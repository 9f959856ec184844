//! Signing in and out of the standalone admin.

pub mod api;
mod page;

pub use page::LoginPage;
