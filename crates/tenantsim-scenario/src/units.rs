//! Durations with units ("250us", "15ms", "30s", "5m", "1h", "1d"): the one
//! place they are parsed.

/// Parse a duration string into seconds. Allowed units: ns, us (or µs), ms,
/// s, m, h, d; parts may be combined ("1h30m", "4m20s"). A bare number is
/// refused: a unit is always required, so "30" can never silently mean
/// 30 ms in one file and 30 s in another.
pub fn parse_duration_secs(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("\"{s}\": a duration cannot be negative"));
    }
    let mut rest = t;
    let mut total = 0.0;
    let mut parts = 0;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(split);
        if num.is_empty() {
            return Err(format!(
                "\"{s}\" is not a duration: expected a number with a unit, e.g. \"250ms\""
            ));
        }
        let v: f64 = num
            .parse()
            .map_err(|_| format!("\"{s}\" is not a duration: \"{num}\" is not a number"))?;
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        // (multiplier, divisor): dividing by an exact power of ten keeps
        // "100ns" exactly 1e-7 where multiplying by 1e-9 would not.
        let (mult, div) = match unit {
            "ns" => (1.0, 1e9),
            "us" | "µs" => (1.0, 1e6),
            "ms" => (1.0, 1e3),
            "s" => (1.0, 1.0),
            "m" | "min" => (60.0, 1.0),
            "h" => (3600.0, 1.0),
            "d" => (86400.0, 1.0),
            "" => {
                return Err(format!(
                    "\"{s}\" has no unit: write e.g. \"{num}s\" or \"{num}ms\" (units: ns, us, ms, s, m, h, d)"
                ))
            }
            other => {
                return Err(format!(
                    "\"{s}\": unknown unit \"{other}\" (units: ns, us, ms, s, m, h, d)"
                ))
            }
        };
        total += v * mult / div;
        parts += 1;
        rest = next.trim_start();
    }
    if parts == 0 {
        return Err(format!(
            "\"{s}\" is not a duration: expected a number with a unit, e.g. \"250ms\""
        ));
    }
    if !total.is_finite() {
        return Err(format!("\"{s}\" is not a finite duration"));
    }
    if total > 366.0 * 86400.0 {
        return Err(format!("\"{s}\" is longer than a year of simulated time"));
    }
    Ok(total)
}

/// Format seconds the way a person writes them ("250ms", "1.5s", "2h").
pub fn format_duration(secs: f64) -> String {
    let (v, unit) = if secs == 0.0 {
        (0.0, "s")
    } else if secs < 1e-6 {
        (secs * 1e9, "ns")
    } else if secs < 1e-3 {
        (secs * 1e6, "us")
    } else if secs < 1.0 {
        (secs * 1e3, "ms")
    } else if secs < 120.0 {
        (secs, "s")
    } else if secs < 7200.0 {
        (secs / 60.0, "m")
    } else {
        (secs / 3600.0, "h")
    };
    let r = (v * 1000.0).round() / 1000.0;
    format!("{r}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration_secs("250us").unwrap(), 250e-6);
        assert_eq!(parse_duration_secs("15ms").unwrap(), 0.015);
        assert_eq!(parse_duration_secs("30s").unwrap(), 30.0);
        assert_eq!(parse_duration_secs("5m").unwrap(), 300.0);
        assert_eq!(parse_duration_secs("1h").unwrap(), 3600.0);
        assert_eq!(parse_duration_secs("1d").unwrap(), 86400.0);
        assert_eq!(parse_duration_secs("1.5 s").unwrap(), 1.5);
        assert_eq!(parse_duration_secs("100ns").unwrap(), 1e-7);
        assert_eq!(parse_duration_secs("4m20s").unwrap(), 260.0);
        assert_eq!(parse_duration_secs("1h 30m").unwrap(), 5400.0);
    }

    #[test]
    fn refuses_bad_durations_with_a_hint() {
        assert!(parse_duration_secs("30").unwrap_err().contains("no unit"));
        assert!(parse_duration_secs("3 weeks").unwrap_err().contains("unknown unit"));
        assert!(parse_duration_secs("-1s").unwrap_err().contains("negative"));
        assert!(parse_duration_secs("ms").is_err());
        assert!(parse_duration_secs("400d").is_err());
    }

    #[test]
    fn formats_readably() {
        assert_eq!(format_duration(0.25), "250ms");
        assert_eq!(format_duration(7200.0), "2h");
        assert_eq!(format_duration(90.0), "90s");
    }
}
