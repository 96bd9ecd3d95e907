//! Go's `time.ParseDuration` syntax (`1m30s`, `0.5s`, `300ms`), for the
//! `HEALTHCHECK` duration flags (and the CLI's Docker-style duration flags).

use std::time::Duration;

/// Reads a duration: a sequence of decimal numbers with units (`ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`), or `0`. Negative durations are refused here.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.starts_with('-') {
        return Err(format!("{text:?} cannot be negative"));
    }
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(invalid());
    }
    let mut rest = body;
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let nanos_per_unit = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {text:?}")),
        };
        total += value * nanos_per_unit;
        rest = next;
    }
    // Go's durations are int64 nanoseconds.
    if !(total.is_finite() && total <= i64::MAX as f64) {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("50ns"), Ok(Duration::from_nanos(50)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_go_duration("1h2µs"),
            Ok(Duration::from_secs(3600) + Duration::from_micros(2))
        );
        for bad in ["", "5", "s", "1x", "1.2.3s", "-1s", "9999999999h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}
