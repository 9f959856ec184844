//! Typed identifiers. Each wraps a UUID so that a stage id can never be passed where a customer id
//! is expected; on the wire they are plain UUID strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID that is known to name this kind of row.
            pub const fn new(id: Uuid) -> Self {
                Self(id)
            }

            /// Parses an id from untrusted text (a form field or a URL segment).
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                Uuid::from_str(raw.trim()).map(Self).map_err(|_| InvalidId)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

/// Text that is not a well-formed identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid identifier")]
pub struct InvalidId;

typed_id!(
    /// A winery account (`clients.id`), the tenant of every other row.
    ClientId
);
typed_id!(
    /// A winery staff login (`admin_users.id`).
    AdminUserId
);
typed_id!(
    /// The winery's club program (`club_programs.id`).
    ProgramId
);
typed_id!(
    /// One rung of the club ladder (`club_stages.id`).
    StageId
);
typed_id!(
    /// An end customer of a winery (`customers.id`).
    CustomerId
);
typed_id!(
    /// A customer's membership in a stage (`club_enrollments.id`).
    EnrollmentId
);
typed_id!(
    /// An order mirrored from the CRM or imported (`orders.id`).
    OrderId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_surrounding_whitespace_and_reject_junk() {
        let id = StageId::parse(" 67e55044-10b1-426f-9247-bb680e5fe0c8 ").expect("valid uuid");
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert_eq!(StageId::parse("42"), Err(InvalidId));
        assert_eq!(StageId::parse(""), Err(InvalidId));
    }
}
