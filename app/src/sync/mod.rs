//! The CRM integration from the admin's side: the sync queue (`/admin/sync`) and the connection
//! with the demo's simulated orders (`/admin/connection`).

pub mod api;
mod connection;
mod page;

pub use connection::ConnectionPage;
pub use page::SyncPage;
