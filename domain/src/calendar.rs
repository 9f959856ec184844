//! Calendar arithmetic on the winery's local calendar (decisions D5): "t + N months" is computed
//! at the same local wall time, clamped to the last day of the month, and stored in UTC.
//! Server-only (feature `tz`), because the time-zone database is large.

use chrono::{DateTime, LocalResult, Months, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;
use thiserror::Error;

/// The default zone of a new winery (D5).
pub const DEFAULT_TIME_ZONE: &str = "America/Los_Angeles";

/// A name that is not in the IANA time-zone database.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("is not a known IANA time zone (for example America/Los_Angeles)")]
pub struct UnknownTimeZone;

/// Parses an IANA zone name such as `Pacific/Auckland`.
pub fn parse_time_zone(raw: &str) -> Result<Tz, UnknownTimeZone> {
    Tz::from_str(raw.trim()).map_err(|_| UnknownTimeZone)
}

/// Resolves a local wall time to an instant. A time that falls in a DST gap moves forward by the
/// gap (02:30 on a spring-forward night becomes 03:30); an ambiguous one takes the earlier instant.
pub fn resolve_local(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall time with the offset in force just before the gap (gaps are at most
            // a few hours), which lands it the length of the gap later on the new clock.
            let before = local - chrono::Duration::hours(6);
            let offset = zone
                .from_local_datetime(&before)
                .earliest()
                .map_or(0, |t| t.offset().fix().local_minus_utc());
            Utc.from_utc_datetime(&(local - chrono::Duration::seconds(i64::from(offset))))
        }
    }
}

/// An instant as a winery reads it: `Apr 1, 2026 05:00 PDT`.
pub fn local_label(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%b %-d, %Y %H:%M %Z")
        .to_string()
}

/// `t + months` on `zone`'s calendar, at the same local wall time, clamped to the month's end.
pub fn add_months(t: DateTime<Utc>, months: u32, zone: Tz) -> DateTime<Utc> {
    let local = t.with_timezone(&zone).naive_local();
    let shifted = local
        .checked_add_months(Months::new(months))
        .unwrap_or(local);
    resolve_local(zone, shifted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        let zone = parse_time_zone("UTC").expect("utc");
        assert_eq!(
            add_months(utc("2026-01-31T12:00:00Z"), 1, zone),
            utc("2026-02-28T12:00:00Z")
        );
        assert_eq!(
            add_months(utc("2028-01-31T12:00:00Z"), 1, zone),
            utc("2028-02-29T12:00:00Z")
        );
        assert_eq!(
            add_months(utc("2026-01-01T12:00:00Z"), 12, zone),
            utc("2027-01-01T12:00:00Z")
        );
    }

    #[test]
    fn months_keep_the_local_wall_time_across_a_dst_change() {
        let zone = parse_time_zone("America/Los_Angeles").expect("la");
        // 2026-01-15 10:00 PST (UTC-8) + 3 months = 2026-04-15 10:00 PDT (UTC-7).
        assert_eq!(
            add_months(utc("2026-01-15T18:00:00Z"), 3, zone),
            utc("2026-04-15T17:00:00Z")
        );
    }

    #[test]
    fn the_local_calendar_decides_the_month_end() {
        let zone = parse_time_zone("Pacific/Auckland").expect("auckland");
        // 2026-01-31 09:00 NZDT is 2026-01-30T20:00Z; one month later is 2026-02-28 09:00 NZDT.
        assert_eq!(
            add_months(utc("2026-01-30T20:00:00Z"), 1, zone),
            utc("2026-02-27T20:00:00Z")
        );
    }

    #[test]
    fn a_wall_time_in_a_dst_gap_moves_forward() {
        let zone = parse_time_zone("America/Los_Angeles").expect("la");
        let gap = NaiveDate::from_ymd_opt(2026, 3, 8)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .expect("date");
        assert_eq!(resolve_local(zone, gap), utc("2026-03-08T10:30:00Z"));
    }

    #[test]
    fn labels_use_the_wineries_clock() {
        let zone = parse_time_zone("America/Los_Angeles").expect("la");
        assert_eq!(
            local_label(utc("2026-04-01T12:00:00Z"), zone),
            "Apr 1, 2026 05:00 PDT"
        );
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert_eq!(parse_time_zone("Mars/Olympus"), Err(UnknownTimeZone));
        assert!(parse_time_zone(" Europe/Paris ").is_ok());
    }
}
