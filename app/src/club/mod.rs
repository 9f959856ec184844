//! The club program and its stage builder.

pub mod api;
mod page;
mod stage_form;

pub use page::ClubPage;
