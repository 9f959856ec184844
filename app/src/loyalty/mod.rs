//! Loyalty from the admin's side: settings, the rewards catalog, the redemption queue and the
//! ledger check (`/admin/loyalty`), and a member's points on the member page.

pub mod api;
mod member;
mod page;

pub use member::MemberPoints;
pub use page::LoyaltyPage;
