//! ISO-8601 dates without a date crate: BigCommerce filters take `2025-01-15` or
//! `2025-01-15T00:03:17Z` (or `+00:00`), and `date_modified` is written the same way.

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn iso(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Parses a date or date-time (UTC offset `Z` or `±HH:MM`) to Unix seconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    let number = |s: &str| s.parse::<i64>().ok();
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00:00Z"));
    let mut parts = date.split('-');
    let (year, month, day) = (number(parts.next()?)?, number(parts.next()?)?, number(parts.next()?)?);
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, "Z"),
    };
    let mut clock_parts = clock.split(':');
    let hours = number(clock_parts.next()?)?;
    let minutes = number(clock_parts.next().unwrap_or("0"))?;
    let seconds = number(clock_parts.next().unwrap_or("0").split('.').next()?)?;
    let offset_seconds = match offset {
        "Z" | "" => 0,
        signed => {
            let sign = if signed.starts_with('-') { -1 } else { 1 };
            let (h, m) = signed[1..].split_once(':').unwrap_or((&signed[1..], "0"));
            sign * (number(h)? * 3600 + number(m)? * 60)
        }
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hours * 3600 + minutes * 60 + seconds - offset_seconds)
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
        assert_eq!(parse_iso("2025-01-15"), Some(1_736_899_200));
        assert_eq!(parse_iso("not a date"), None);
        assert_eq!(parse_iso("2025-13-01"), None);
    }
}
