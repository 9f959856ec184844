//! Orders as the club sees them: their lifecycle (decisions D4: an order counts once, when it is
//! paid; a cancellation or refund flags what it changed) and the amount compared with stage
//! minimums (D3).

use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Where an order stands, whatever words the CRM or an import file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Placed but not paid: stored, not yet counted.
    Pending,
    /// Paid (or later fulfilled): counts for the club once.
    Paid,
    /// Part of the money went back; the order still counted when it was paid.
    PartiallyRefunded,
    Refunded,
    Cancelled,
}

impl OrderStatus {
    /// Reads a status word from a CRM payload or an import file (case-insensitive).
    pub fn parse(raw: &str) -> Option<Self> {
        let word = raw.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Some(match word.as_str() {
            "pending" | "open" | "authorized" | "unpaid" | "draft" => Self::Pending,
            "paid" | "completed" | "complete" | "fulfilled" | "shipped" | "closed"
            | "submitted" => Self::Paid,
            "partially_refunded" | "partial_refund" => Self::PartiallyRefunded,
            "refunded" | "voided" | "void" => Self::Refunded,
            "cancelled" | "canceled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Whether the money was (at some point) received, so the order counts.
    pub fn counts(self) -> bool {
        matches!(self, Self::Paid | Self::PartiallyRefunded)
    }

    /// Whether the order was taken back, which flags what it changed in the club (D4).
    pub fn reverses(self) -> bool {
        matches!(self, Self::Refunded | Self::Cancelled)
    }

    /// The word stored in `orders.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Which amount a winery compares with stage minimums (D3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QualifyingBasis {
    /// Merchandise after discounts: excludes tax, shipping, tips and gift cards (the default).
    Subtotal,
    /// The order total.
    Total,
}

impl QualifyingBasis {
    /// Reads `clients.qualifying_amount_basis`.
    pub fn parse(raw: &str) -> Self {
        if raw == "total" {
            Self::Total
        } else {
            Self::Subtotal
        }
    }
}

/// An order's amounts, in the winery's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmounts {
    /// Merchandise before discounts.
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    pub shipping: Money,
    pub total: Money,
}

impl OrderAmounts {
    /// The amount compared with stage minimums. Each order is judged alone (OQ-23).
    pub fn qualifying(&self, basis: QualifyingBasis) -> Money {
        match basis {
            QualifyingBasis::Subtotal => {
                Money::from_cents((self.subtotal.cents() - self.discount.cents()).max(0))
            }
            QualifyingBasis::Total => self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amounts() -> OrderAmounts {
        OrderAmounts {
            subtotal: Money::from_cents(17_500),
            discount: Money::from_cents(2_250),
            tax: Money::from_cents(1_220),
            shipping: Money::from_cents(1_500),
            total: Money::from_cents(17_970),
        }
    }

    #[test]
    fn the_qualifying_amount_is_merchandise_after_discounts_by_default() {
        assert_eq!(
            amounts().qualifying(QualifyingBasis::Subtotal),
            Money::from_cents(15_250)
        );
        assert_eq!(
            amounts().qualifying(QualifyingBasis::Total),
            Money::from_cents(17_970)
        );
        let over = OrderAmounts {
            discount: Money::from_cents(99_999),
            ..amounts()
        };
        assert_eq!(over.qualifying(QualifyingBasis::Subtotal), Money::ZERO);
    }

    #[test]
    fn crm_status_words_map_to_the_lifecycle() {
        for (word, status) in [
            ("Paid", OrderStatus::Paid),
            ("COMPLETED", OrderStatus::Paid),
            ("fulfilled", OrderStatus::Paid),
            ("partially refunded", OrderStatus::PartiallyRefunded),
            ("Refunded", OrderStatus::Refunded),
            ("canceled", OrderStatus::Cancelled),
            ("pending", OrderStatus::Pending),
        ] {
            assert_eq!(OrderStatus::parse(word), Some(status), "{word}");
        }
        assert_eq!(OrderStatus::parse("lost in the mail"), None);
        assert!(OrderStatus::Paid.counts() && OrderStatus::PartiallyRefunded.counts());
        assert!(!OrderStatus::Pending.counts() && !OrderStatus::Cancelled.counts());
        assert!(OrderStatus::Refunded.reverses() && OrderStatus::Cancelled.reverses());
    }

    #[test]
    fn the_stored_word_parses_back() {
        for s in [
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::PartiallyRefunded,
            OrderStatus::Refunded,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }
}
