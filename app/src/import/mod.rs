//! Order import: upload a CSV of past orders, read the dry run, confirm, follow the progress.

pub mod api;
mod page;

pub use page::{ImportPage, ImportRunPage};
