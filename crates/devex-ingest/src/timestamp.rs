//! Timestamps as the contract reads them: RFC 3339 / ISO 8601 with an offset or
//! `Z`; without an offset in the configured time zone (never the machine's);
//! a bare date is midnight in that zone. Stored as microseconds since the
//! epoch, UTC.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Formats with an explicit offset (`%#z` accepts `Z`, `+01`, `+0100`, `+01:00`).
const WITH_OFFSET: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"];
/// Formats read in the configured zone.
const NAIVE: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];

/// Parse one timestamp to microseconds since the epoch (UTC).
///
/// ```
/// use devex_ingest::timestamp::parse_micros;
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

/// `YYYY-MM` of a UTC instant: the lake's partition value.
pub fn month_of(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_else(|| "0000-00".into())
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
    fn month_is_utc() {
        assert_eq!(month_of(utc("2026-03-31T23:30:00-01:00")), "2026-04");
    }
}
