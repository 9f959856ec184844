//! Vinculum's pure business rules and types. Nothing here performs I/O, and everything compiles to
//! wasm32 as well, so the admin UI validates with exactly the rules the server enforces.
//!
//! Values are parsed once at the edges (`parse` constructors) and are valid by construction
//! inside. Money is integer cents (decisions D26), percentages are integer hundredths.

pub mod analytics;
#[cfg(feature = "tz")]
pub mod calendar;
pub mod charts;
pub mod club;
pub mod comms;
pub mod email;
#[cfg(feature = "tz")]
pub mod engine;
pub mod ids;
pub mod imports;
pub mod loyalty;
pub mod members;
pub mod money;
pub mod orders;
pub mod percent;
pub mod portal;
pub mod sync;
pub mod text;

pub use email::EmailAddress;
pub use money::Money;
pub use percent::Percent;
