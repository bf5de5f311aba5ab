//! Event-time parsing. Audit sources disagree on timestamp shape (RFC 3339 with `T` or a space,
//! 0–9+ fraction digits, `Z`, an offset or no zone at all, epoch seconds or milliseconds), so this
//! module accepts all of them and yields epoch milliseconds (UTC). It is on the hot path and
//! allocation-free.

/// Milliseconds in one second / minute / hour / day.
pub const SECOND_MS: i64 = 1_000;
/// One minute in ms.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// One hour in ms.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day in ms.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Parses an ISO 8601 / RFC 3339 timestamp into epoch milliseconds.
///
/// Accepted: `2023-07-10T11:57:22Z`, `2024-12-17T10:30:00.0000000Z`, `2022-03-22 14:21:53.225`
/// (no zone = UTC), `2023-01-31T18:58:27.000+02:00`. Returns `None` for anything else.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let year = digits(b, 0, 4)? as i64;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * DAY_MS;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let hh = digits(b, 11, 2)?;
    let mm = digits(b, 14, 2)?;
    if hh > 23 || mm > 59 {
        return None;
    }
    let mut i = 16;
    let mut ss = 0;
    if b.get(16) == Some(&b':') {
        ss = digits(b, 17, 2)?;
        if ss > 60 {
            return None;
        }
        i = 19;
    }
    ms += hh as i64 * HOUR_MS + mm as i64 * MINUTE_MS + ss as i64 * SECOND_MS;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        let mut frac = 0i64;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                frac = frac * 10 + (c - b'0') as i64;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            frac *= 10;
        }
        ms += frac;
    }
    match b.get(i) {
        None => Some(ms),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)? as i64;
            let om = match b.get(i + 3) {
                Some(b':') => digits(b, i + 4, 2)?,
                Some(_) => digits(b, i + 3, 2)?,
                None => 0,
            } as i64;
            let off = oh * HOUR_MS + om * MINUTE_MS;
            Some(if sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

/// Interprets a bare epoch number by magnitude: seconds below 1e11, milliseconds below 1e14,
/// microseconds below 1e17, nanoseconds above (each boundary is far outside plausible event times
/// of the neighbouring unit).
pub fn epoch_number_to_ms(v: f64) -> Option<i64> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let ms = if v < 1e11 {
        v * 1e3
    } else if v < 1e14 {
        v
    } else if v < 1e17 {
        v / 1e3
    } else {
        v / 1e6
    };
    (ms < i64::MAX as f64).then_some(ms as i64)
}

/// Earliest event time nhid accepts: 2000-01-01T00:00:00Z.
pub const MIN_EVENT_MS: i64 = 946_684_800_000;
/// Latest event time nhid accepts: 2100-01-01T00:00:00Z. Fixed bounds (not the wall clock) keep
/// replay deterministic; times outside them are treated as unparsable, so one absurd record
/// cannot push an identity's clock out of reach.
pub const MAX_EVENT_MS: i64 = 4_102_444_800_000;

/// True if `ms` is a plausible event time.
pub fn plausible_event_ms(ms: i64) -> bool {
    (MIN_EVENT_MS..MAX_EVENT_MS).contains(&ms)
}

/// Formats epoch milliseconds as RFC 3339 UTC with millisecond precision (for messages).
pub fn format_rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    // civil_from_days
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        y,
        m,
        d,
        rem / HOUR_MS,
        rem % HOUR_MS / MINUTE_MS,
        rem % MINUTE_MS / SECOND_MS,
        rem % SECOND_MS
    )
}

/// Renders a duration compactly: `45s`, `10m`, `3h20m`, `2d5h`.
pub fn format_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h{m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d{h}h"),
    }
}

/// Parses a human duration such as `30d`, `12h`, `15m`, `90s`, `500ms` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mul = match unit.trim() {
        "ms" => 1,
        "s" => SECOND_MS,
        "m" | "min" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vendor_shapes() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2023-07-10T11:57:22Z"),
            Some(1_688_990_242_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-12-17T10:30:00.1234567Z"),
            Some(1_734_431_400_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2022-03-22 14:21:53.225"),
            Some(1_647_958_913_225)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-07-10T13:57:22+02:00"),
            Some(1_688_990_242_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-07-10T06:57:22-0500"),
            Some(1_688_990_242_000)
        );
        assert_eq!(parse_rfc3339_ms("2020-02-29"), Some(1_582_934_400_000));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "2023-07-10X11:57:22Z",
            "2023-07-10T25:00:00Z",
            "2023-07-10T11:57:22Zjunk",
            "2023-07-10T11:57:22.Z",
        ] {
            assert_eq!(parse_rfc3339_ms(s), None, "{s}");
        }
    }

    #[test]
    fn round_trips_through_format() {
        for ms in [0, 1_688_990_242_123, 951_782_400_000, 4_102_444_799_999] {
            let s = format_rfc3339_ms(ms);
            assert_eq!(parse_rfc3339_ms(&s), Some(ms), "{s}");
        }
    }

    #[test]
    fn epoch_numbers_and_durations() {
        assert_eq!(
            epoch_number_to_ms(1_621_305_118_553.0),
            Some(1_621_305_118_553)
        );
        assert_eq!(epoch_number_to_ms(1_621_305_118.0), Some(1_621_305_118_000));
        assert_eq!(epoch_number_to_ms(-5.0), None);
        assert_eq!(
            epoch_number_to_ms(1_621_305_118_553_123.0),
            Some(1_621_305_118_553)
        );
        assert_eq!(
            epoch_number_to_ms(1_621_305_118_553_123_456.0),
            Some(1_621_305_118_553)
        );
        assert_eq!(epoch_number_to_ms(1e300), None);
        assert!(plausible_event_ms(1_621_305_118_553));
        assert!(!plausible_event_ms(0));
        assert!(!plausible_event_ms(i64::MAX));
        assert_eq!(parse_duration_ms("7d"), Some(7 * DAY_MS));
        assert_eq!(parse_duration_ms("12h"), Some(12 * HOUR_MS));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("7 days"), None);
    }
}
