//! The admin's home (`/admin`): the club at a glance for a chosen period — figures that link to
//! the members they count, and five charts drawn as SVG on the server.

mod api;
mod at_risk;
mod charts;
mod page;

pub use at_risk::AtRiskPage;
pub use page::DashboardPage;
