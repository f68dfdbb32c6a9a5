//! Timestamps of access logs and Prometheus exports: reading the spellings
//! `fit` accepts into Unix seconds, and writing Unix seconds back as
//! RFC 3339 (UTC, milliseconds). A leaf of `fit`: the log and Prometheus
//! readers and the synthesizer all use it, and it uses none of them.
//!
//! Dates are proleptic Gregorian; conversions are exact to the millisecond
//! over any span `fit` accepts (366 days).

/// Seconds since the Unix epoch from: a number (seconds, or ms/µs/ns when
/// it is too large to be seconds), RFC 3339 / ISO 8601
/// (`2024-05-01T13:00:00.123Z`, `+02:00`, a space instead of `T`, no
/// offset = UTC), or nginx's `01/May/2024:13:00:00 +0000`.
pub fn parse_timestamp(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        return Some(if v > 1e17 {
            v / 1e9
        } else if v > 1e14 {
            v / 1e6
        } else if v > 1e11 {
            v / 1e3
        } else {
            v
        });
    }
    let b = s.as_bytes();
    let num = |a: usize, n: usize| -> Option<i64> { s.get(a..a + n)?.parse().ok() };
    let (y, mo, d, rest_at) = if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' {
        (num(0, 4)?, num(5, 2)?, num(8, 2)?, 11)
    } else if b.len() >= 20 && b[2] == b'/' && b[6] == b'/' && b[11] == b':' {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m = MONTHS.iter().position(|m| s.get(3..6) == Some(*m))? as i64 + 1;
        (num(7, 4)?, m, num(0, 2)?, 12)
    } else {
        return None;
    };
    let (h, mi, sec) = (num(rest_at, 2)?, num(rest_at + 3, 2)?, num(rest_at + 6, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = rest_at + 8;
    let mut frac = 0.0;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        let st = i + 1;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac = format!("0.{}", &s[st..i]).parse().ok()?;
    }
    let rest = s[i..].trim();
    let offset = if rest.is_empty() || rest == "Z" || rest == "z" {
        0
    } else {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits: String = rest[1..].chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() != 4 {
            return None;
        }
        let oh: i64 = digits[..2].parse().ok()?;
        let om: i64 = digits[2..].parse().ok()?;
        sign * (oh * 3600 + om * 60)
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339(t: f64) -> String {
    let ms = (t * 1000.0).round() as i64;
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days (H. Hinnant).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_supported_spelling() {
        let t = 1_714_568_400.0; // 2024-05-01T13:00:00Z
        assert_eq!(parse_timestamp("2024-05-01T13:00:00Z"), Some(t));
        assert_eq!(parse_timestamp("2024-05-01 15:00:00+02:00"), Some(t));
        assert_eq!(parse_timestamp("01/May/2024:13:00:00 +0000"), Some(t));
        assert_eq!(parse_timestamp("01/May/2024:08:00:00 -0500"), Some(t));
        assert_eq!(parse_timestamp("1714568400000"), Some(t));
        assert!((parse_timestamp("2024-05-01T13:00:00.250Z").unwrap() - t - 0.25).abs() < 1e-6);
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn rfc3339_round_trips_through_the_log_parser() {
        for t in [0.0, 1_714_568_400.25, 1_790_000_000.999, 951_782_400.0] {
            let s = rfc3339(t);
            let back = parse_timestamp(&s).unwrap();
            assert!((back - t).abs() < 1e-3, "{s}");
        }
        assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00.000Z");
    }
}
