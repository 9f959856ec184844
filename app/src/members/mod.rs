//! The member views: the list, one member's timeline with manual changes, and the memberships
//! flagged for review.

pub mod api;
mod detail;
mod flagged;
mod list;

pub use detail::MemberPage;
pub use flagged::FlaggedPage;
pub use list::MembersPage;
