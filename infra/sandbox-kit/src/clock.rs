//! Clock helpers: the Unix time sandboxes stamp records with, and ISO-8601 dates as
//! platforms write and filter them.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    Timestamp::now().as_second()
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS+00:00` (UTC); empty outside the years
/// -9999 to 9999.
pub fn iso(unix: i64) -> String {
    Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

/// Parses a date (`2025-01-15`, midnight UTC) or a date-time with a UTC offset (`Z` or
/// `±HH:MM`; none means UTC) to Unix seconds, fractions dropped; `None` for anything
/// else, impossible dates included.
pub fn parse_iso(text: &str) -> Option<i64> {
    let timestamp = text.parse::<Timestamp>().ok().or_else(|| {
        let civil = text.parse::<DateTime>().ok()?;
        civil.to_zoned(TimeZone::UTC).ok().map(|zoned| zoned.timestamp())
    })?;
    Some(timestamp.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        assert_eq!(iso(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(parse_iso("2025-01-15T00:03:17Z"), Some(1_736_899_397));
        assert_eq!(parse_iso(&iso(1_736_899_397)), Some(1_736_899_397));
        assert_eq!(parse_iso("2025-01-15T02:03:17+02:00"), Some(1_736_899_397));
        assert_eq!(parse_iso("2025-01-15T00:03:17.250Z"), Some(1_736_899_397));
        assert_eq!(parse_iso("2025-01-15T00:03:17"), Some(1_736_899_397));
        assert_eq!(parse_iso("2025-01-15"), Some(1_736_899_200));
        assert_eq!(parse_iso("not a date"), None);
        assert_eq!(parse_iso("2025-13-01"), None);
        assert!((unix_now() - 1_736_899_397) > 0);
    }
}
