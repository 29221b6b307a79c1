//! Timestamps as the contract reads them: RFC 3339 / ISO 8601 with an offset or
//! `Z`; without an offset in the configured time zone (never the machine's);
//! a bare date is midnight in that zone. Stored as microseconds since the
//! epoch, UTC.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Formats with an explicit offset (`%#z` accepts `Z`, `+01`, `+0100`, `+01:00`).
const WITH_OFFSET: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"];
/// Formats read in the configured zone.
const NAIVE: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];

/// How devex writes an instant for people and JSON: RFC 3339 in UTC, whole seconds.
pub const RFC3339_UTC: &str = "%Y-%m-%dT%H:%M:%SZ";

/// 1900-01-01T00:00:00Z: no timestamp in the lake is earlier.
pub const MIN_MICROS: i64 = -2_208_988_800_000_000;
/// 2200-01-01T00:00:00Z: no timestamp in the lake is later.
pub const MAX_MICROS: i64 = 7_258_118_400_000_000;
/// 1970-01-01T00:00:00Z: no event time is earlier.
pub const EVENT_MIN_MICROS: i64 = 0;
/// How far past the clock an event time may be (one day, for skewed clocks and zones).
pub const EVENT_FUTURE_MICROS: i64 = 86_400_000_000;

/// Why a parsed timestamp cannot be stored, if it cannot: an event time (the
/// column a table's rows are dated by) must lie between 1970-01-01 and a day
/// past `now_micros`; any other timestamp between 1900 and 2200.
///
/// ```
/// use devex_model::timestamp::{out_of_range, parse_micros};
/// let now = parse_micros("2026-11-23T12:00:00Z", chrono_tz::UTC).unwrap();
/// let t = |s| parse_micros(s, chrono_tz::UTC).unwrap();
/// assert_eq!(out_of_range(t("2026-11-24T00:00:00Z"), true, now), None);
/// assert!(out_of_range(t("2099-01-01T00:00:00Z"), true, now).unwrap().contains("later than"));
/// assert!(out_of_range(t("1969-12-31T00:00:00Z"), true, now).unwrap().contains("before 1970"));
/// assert_eq!(out_of_range(t("2099-01-01T00:00:00Z"), false, now), None);
/// assert!(out_of_range(t("2300-01-01T00:00:00Z"), false, now).is_some());
/// ```
pub fn out_of_range(micros: i64, event_time: bool, now_micros: i64) -> Option<String> {
    if !(MIN_MICROS..MAX_MICROS).contains(&micros) {
        return Some("outside the years 1900..2199".into());
    }
    if event_time && micros < EVENT_MIN_MICROS {
        return Some("an event time before 1970-01-01".into());
    }
    let limit = now_micros.saturating_add(EVENT_FUTURE_MICROS);
    if event_time && micros > limit {
        let at = DateTime::<Utc>::from_timestamp_micros(limit).unwrap_or_default();
        return Some(format!("an event time later than now + 1 day ({})", at.format(RFC3339_UTC)));
    }
    None
}

/// Parse one timestamp to microseconds since the epoch (UTC).
///
/// ```
/// use devex_model::timestamp::parse_micros;
/// let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
/// let a = parse_micros("2026-03-04T10:15:00+01:00", tz).unwrap();
/// let b = parse_micros("2026-03-04T09:15:00Z", tz).unwrap();
/// let c = parse_micros("2026-03-04 10:15:00", tz).unwrap(); // Berlin, UTC+1 in March
/// assert_eq!(a, b);
/// assert_eq!(a, c);
/// ```
pub fn parse_micros(value: &str, tz: Tz) -> Result<i64, String> {
    let v = value.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Ok(dt.with_timezone(&Utc).timestamp_micros());
    }
    for f in WITH_OFFSET {
        if let Ok(dt) = DateTime::parse_from_str(v, f) {
            return Ok(dt.with_timezone(&Utc).timestamp_micros());
        }
    }
    let naive = NAIVE
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .or_else(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)));
    let Some(naive) = naive else {
        return Err("not an RFC 3339 / ISO 8601 timestamp or date".into());
    };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Ok(dt.with_timezone(&Utc).timestamp_micros()),
        // A wall-clock time that occurs twice (clocks going back): the earlier instant.
        LocalResult::Ambiguous(earliest, _) => Ok(earliest.with_timezone(&Utc).timestamp_micros()),
        LocalResult::None => Err(format!("local time does not exist in {tz} (clock change)")),
    }
}

/// `YYYY-MM` of a UTC instant: the lake's partition value. (Called for every
/// row of an import: the digits are written directly, not through a format
/// string parsed each time.)
pub fn month_of(micros: i64) -> String {
    let Some(d) = DateTime::<Utc>::from_timestamp_micros(micros) else { return "0000-00".into() };
    let (year, month) = (d.year(), d.month());
    if !(0..=9999).contains(&year) {
        return format!("{year:04}-{month:02}");
    }
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let y = year as u32;
    [digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), '-', digit(month / 10), digit(month)]
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn offsets_normalise_to_the_same_instant() {
        let tz: Tz = "UTC".parse().unwrap();
        let want = utc("2026-03-04T09:15:00Z");
        for v in [
            "2026-03-04T10:15:00+01:00",
            "2026-03-04T09:15:00Z",
            "2026-03-04T04:15:00-05:00",
            "2026-03-04 10:15:00+01:00",
            "2026-03-04T10:15:00+0100",
            "2026-03-04T09:15:00.000Z",
            "2026-03-04T09:15:00",
        ] {
            assert_eq!(parse_micros(v, tz), Ok(want), "{v}");
        }
    }

    #[test]
    fn naive_values_use_the_configured_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(parse_micros("2026-07-01", tz), Ok(utc("2026-07-01T04:00:00Z")));
        assert_eq!(parse_micros("2026-01-01T12:00", tz), Ok(utc("2026-01-01T17:00:00Z")));
        // 02:30 on the spring-forward day does not exist in New York.
        assert!(parse_micros("2026-03-08T02:30:00", tz).is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        let tz: Tz = "UTC".parse().unwrap();
        for v in ["yesterday", "2026-13-01", "2026-02-30T00:00:00Z", "12345"] {
            assert!(parse_micros(v, tz).is_err(), "{v}");
        }
    }

    #[test]
    fn range_constants_are_the_dates_they_name() {
        assert_eq!(MIN_MICROS, utc("1900-01-01T00:00:00Z"));
        assert_eq!(MAX_MICROS, utc("2200-01-01T00:00:00Z"));
    }

    #[test]
    fn month_is_utc() {
        assert_eq!(month_of(utc("2026-03-31T23:30:00-01:00")), "2026-04");
        assert_eq!(month_of(utc("1900-01-01T00:00:00Z")), "1900-01");
        assert_eq!(month_of(utc("2199-12-31T23:59:59Z")), "2199-12");
        assert_eq!(month_of(utc("0999-10-05T00:00:00Z")), "0999-10");
        assert_eq!(month_of(i64::MAX), "0000-00");
    }
}
