//! The club engine's pure rules (domain.md section 4.3 to 4.6, decisions D1, D5, D6, D8, D9):
//! what one paid order does to a customer's membership, and when a membership expires. Dates
//! change nowhere else.
//!
//! - D6: an enrollment is in force at `t` exactly when it is active and `t < expires_at`; an order
//!   at or after `expires_at` first expires the stale row, then is judged as a new enrollment.
//! - The qualifying stage is the highest *active* stage whose minimum the order reaches (D8: an
//!   inactive stage or program admits nobody, and a member of an inactive stage is judged against
//!   the active stages only).
//! - Enroll: `enrolled_at = t`, `expires_at = t + duration`. Renew (same stage): both reset from
//!   `t`. Upgrade: keeps the current `enrolled_at`; expires at
//!   `max(enrolled_at + new duration, current expires_at)` (D1). A lower stage changes nothing.
//! - `expires_at` never moves earlier: a renewal that would not extend the membership (an order
//!   replayed out of order) changes nothing.
//! - Months are added on the winery's calendar (D5, [`crate::calendar::add_months`]).

use crate::calendar::add_months;
use crate::ids::StageId;
use crate::money::Money;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A stage as the engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageRule {
    pub id: StageId,
    /// Position on the ladder; higher is better.
    pub order: u32,
    pub duration_months: u32,
    pub min_purchase: Money,
    pub is_active: bool,
}

/// The customer's current active enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub stage: StageId,
    pub enrolled_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the order does to the membership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClubAction {
    /// Nothing changes in the club (the order is still recorded).
    NoChange,
    /// A new active enrollment.
    Enroll {
        stage: StageId,
        enrolled_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// The same row, restarted from the order.
    Renew {
        stage: StageId,
        enrolled_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// The current row becomes `upgraded`; a new active row on the higher stage.
    Upgrade {
        from: StageId,
        to: StageId,
        enrolled_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
}

/// The engine's verdict on one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClubDecision {
    /// The current row had already run out (`expires_at <= t`) and must be expired first.
    pub expire_stale: bool,
    pub action: ClubAction,
}

/// Whether a membership is in force at `t` (D6).
pub fn in_force(membership: &Membership, t: DateTime<Utc>) -> bool {
    t < membership.expires_at
}

/// The highest active stage whose minimum `amount` reaches, if the program is active.
pub fn qualifying_stage(
    stages: &[StageRule],
    program_active: bool,
    amount: Money,
) -> Option<&StageRule> {
    if !program_active {
        return None;
    }
    stages
        .iter()
        .filter(|s| s.is_active && amount >= s.min_purchase)
        .max_by_key(|s| s.order)
}

/// Judges one paid order of `amount` placed at `t` against the customer's current membership.
pub fn apply_order(
    current: Option<&Membership>,
    stages: &[StageRule],
    program_active: bool,
    amount: Money,
    t: DateTime<Utc>,
    zone: Tz,
) -> ClubDecision {
    let expire_stale = current.is_some_and(|m| !in_force(m, t));
    let current = current.filter(|m| in_force(m, t));
    let qualifying = qualifying_stage(stages, program_active, amount);
    let action = match (current, qualifying) {
        (_, None) => ClubAction::NoChange,
        (None, Some(q)) => {
            let (enrolled_at, expires_at) = enrollment_dates(q.duration_months, t, zone);
            ClubAction::Enroll {
                stage: q.id,
                enrolled_at,
                expires_at,
            }
        }
        (Some(m), Some(q)) => {
            // The current stage's position; a stage that no longer exists ranks below everything.
            let current_order = stages
                .iter()
                .find(|s| s.id == m.stage)
                .map_or(0, |s| s.order);
            if q.id == m.stage {
                let expires_at = add_months(t, q.duration_months, zone);
                // A renewal always moves the expiry later; an order replayed out of order (older
                // than the current clock) changes nothing rather than shortening the membership.
                if expires_at > m.expires_at {
                    ClubAction::Renew {
                        stage: q.id,
                        enrolled_at: t,
                        expires_at,
                    }
                } else {
                    ClubAction::NoChange
                }
            } else if q.order > current_order {
                let by_duration = add_months(m.enrolled_at, q.duration_months, zone);
                ClubAction::Upgrade {
                    from: m.stage,
                    to: q.id,
                    enrolled_at: m.enrolled_at,
                    expires_at: by_duration.max(m.expires_at),
                }
            } else {
                ClubAction::NoChange
            }
        }
    };
    ClubDecision {
        expire_stale,
        action,
    }
}

/// The dates of an enrollment that starts at `t` in a stage of `duration_months`: from `t` to `t`
/// plus the duration on the winery's calendar (an order's enrollment, and an admin's manual one).
pub fn enrollment_dates(
    duration_months: u32,
    t: DateTime<Utc>,
    zone: Tz,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (t, add_months(t, duration_months, zone))
}

/// Whether the daily job expires this membership at `now` (D6: at or after `expires_at`).
pub fn is_due_for_expiry(membership: &Membership, now: DateTime<Utc>) -> bool {
    !in_force(membership, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_time_zone;
    use uuid::Uuid;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn ladder() -> Vec<StageRule> {
        let stage = |n: u128, order, months, dollars: i64| StageRule {
            id: StageId::new(Uuid::from_u128(n)),
            order,
            duration_months: months,
            min_purchase: Money::from_cents(dollars * 100),
            is_active: true,
        };
        vec![
            stage(1, 1, 3, 75),
            stage(2, 2, 6, 150),
            stage(3, 3, 12, 300),
        ]
    }

    fn id(n: u128) -> StageId {
        StageId::new(Uuid::from_u128(n))
    }

    fn decide(current: Option<&Membership>, dollars: i64, at: &str) -> ClubDecision {
        let utc_zone = parse_time_zone("UTC").expect("utc");
        apply_order(
            current,
            &ladder(),
            true,
            Money::from_cents(dollars * 100),
            utc(at),
            utc_zone,
        )
    }

    #[test]
    fn a_qualifying_order_enrolls_and_a_small_one_does_nothing() {
        let d = decide(None, 90, "2026-01-01T12:00:00Z");
        assert_eq!(
            d.action,
            ClubAction::Enroll {
                stage: id(1),
                enrolled_at: utc("2026-01-01T12:00:00Z"),
                expires_at: utc("2026-04-01T12:00:00Z"),
            }
        );
        assert_eq!(
            decide(None, 50, "2026-01-01T12:00:00Z").action,
            ClubAction::NoChange
        );
    }

    #[test]
    fn an_upgrade_keeps_the_start_and_never_shortens() {
        let bronze = Membership {
            stage: id(1),
            enrolled_at: utc("2026-01-01T12:00:00Z"),
            expires_at: utc("2026-04-01T12:00:00Z"),
        };
        let d = decide(Some(&bronze), 180, "2026-03-20T12:00:00Z");
        assert_eq!(
            d.action,
            ClubAction::Upgrade {
                from: id(1),
                to: id(2),
                enrolled_at: utc("2026-01-01T12:00:00Z"),
                expires_at: utc("2026-07-01T12:00:00Z"),
            }
        );
    }

    #[test]
    fn a_same_stage_order_renews_and_a_lower_one_changes_nothing() {
        let silver = Membership {
            stage: id(2),
            enrolled_at: utc("2026-01-01T12:00:00Z"),
            expires_at: utc("2026-07-01T12:00:00Z"),
        };
        assert_eq!(
            decide(Some(&silver), 120, "2026-06-01T12:00:00Z").action,
            ClubAction::NoChange
        );
        assert_eq!(
            decide(Some(&silver), 160, "2026-06-01T12:00:00Z").action,
            ClubAction::Renew {
                stage: id(2),
                enrolled_at: utc("2026-06-01T12:00:00Z"),
                expires_at: utc("2026-12-01T12:00:00Z"),
            }
        );
    }

    #[test]
    fn an_older_order_replayed_late_never_shortens_a_membership() {
        let bronze = Membership {
            stage: id(1),
            enrolled_at: utc("2026-03-15T12:00:00Z"),
            expires_at: utc("2026-06-15T12:00:00Z"),
        };
        assert_eq!(
            decide(Some(&bronze), 90, "2026-02-01T12:00:00Z").action,
            ClubAction::NoChange
        );
    }

    #[test]
    fn an_order_at_the_expiry_instant_starts_over() {
        let bronze = Membership {
            stage: id(1),
            enrolled_at: utc("2026-01-01T12:00:00Z"),
            expires_at: utc("2026-04-01T12:00:00Z"),
        };
        let d = decide(Some(&bronze), 180, "2026-04-01T12:00:00Z");
        assert!(d.expire_stale);
        assert!(matches!(d.action, ClubAction::Enroll { stage, .. } if stage == id(2)));
        assert!(!decide(Some(&bronze), 180, "2026-04-01T11:59:59Z").expire_stale);
    }

    #[test]
    fn inactive_stages_and_programs_admit_nobody() {
        let mut stages = ladder();
        stages[2].is_active = false;
        let zone = parse_time_zone("UTC").expect("utc");
        let d = apply_order(
            None,
            &stages,
            true,
            Money::from_cents(50_000),
            utc("2026-01-01T12:00:00Z"),
            zone,
        );
        assert!(matches!(d.action, ClubAction::Enroll { stage, .. } if stage == id(2)));
        let d = apply_order(
            None,
            &ladder(),
            false,
            Money::from_cents(50_000),
            utc("2026-01-01T12:00:00Z"),
            zone,
        );
        assert_eq!(d.action, ClubAction::NoChange);
    }
}
