//! The values `kiln cache prune` takes, parsed as Docker parses them:
//! `--filter until=DURATION|TIME` and `--keep-storage SIZE`.

use kiln_cache::gc::Until;

/// A prune flag value that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// `--filter KEY=VALUE` with a key other than `until`.
    #[error("unsupported filter `{0}` (supported: `until=DURATION`)")]
    UnknownFilter(String),
    /// An `until` value that is neither a duration nor a time.
    #[error(
        "invalid time `{0}`: expected a duration (`10m`, `24h`, `1h30m`), an RFC 3339 time (`2026-11-23T00:00:00Z`), a date (`2026-11-23`) or Unix seconds"
    )]
    InvalidUntil(String),
    /// A size that cannot be parsed.
    #[error("invalid size `{0}`: expected a number and a unit (`10GB`, `500MB`, `1.5GiB`)")]
    InvalidSize(String),
}

/// Parses a `--filter` argument: `until=VALUE` is the only key.
pub fn parse_filter(text: &str) -> Result<Until, FilterError> {
    match text.split_once('=') {
        Some((key, value)) if key.trim() == "until" => parse_until(value.trim()),
        _ => Err(FilterError::UnknownFilter(text.to_string())),
    }
}

/// Parses an `until` value: a Go duration (`10m`, `24h`, `1h30m`, `1.5h`), an
/// RFC 3339 time, a date (`2026-11-23`, UTC midnight) or Unix seconds. As in Docker,
/// `0` is the Unix epoch, not a zero duration.
pub fn parse_until(value: &str) -> Result<Until, FilterError> {
    let invalid = || FilterError::InvalidUntil(value.to_string());
    if value != "0"
        && let Ok(age) = kiln_parser::parse_go_duration(value)
    {
        return Ok(Until::Age(age.as_secs()));
    }
    if let Some(time) = kiln_cache::oci::parse_rfc3339(value) {
        return Ok(Until::Time(time));
    }
    if let Some(time) = kiln_cache::oci::parse_rfc3339(&format!("{value}T00:00:00Z")) {
        return Ok(Until::Time(time));
    }
    let (seconds, fraction) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(seconds) && digits(fraction) {
        return seconds.parse().map(Until::Time).map_err(|_| invalid());
    }
    Err(invalid())
}

/// Parses a size as Docker does: a number (fractions allowed) and an optional unit,
/// case-insensitive: `B`, decimal `kB`/`KB`, `MB`, `GB`, `TB`, `PB` (and `k`, `m`,
/// `g`, `t`, `p`), binary `KiB`, `MiB`, `GiB`, `TiB`. A bare number is bytes.
pub fn parse_size(text: &str) -> Result<u64, FilterError> {
    let invalid = || FilterError::InvalidSize(text.to_string());
    let trimmed = text.trim();
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    if number.is_empty() || number.matches('.').count() > 1 {
        return Err(invalid());
    }
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "p" | "pb" => 1e15,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(invalid()),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let age = |s: &str| parse_until(s).unwrap();
        assert_eq!(age("10m"), Until::Age(600));
        assert_eq!(age("24h"), Until::Age(86_400));
        assert_eq!(age("1h30m"), Until::Age(5_400));
        assert_eq!(age("1.5h"), Until::Age(5_400));
        assert_eq!(age("90s"), Until::Age(90));
        assert_eq!(age("1500ms"), Until::Age(1));
        for bad in ["", "h", "10x", "1.5.5", "-1h", "1..5h", "1h-", "24 h"] {
            assert!(parse_until(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn times_dates_and_unix_seconds() {
        let time = |s: &str| parse_until(s).unwrap();
        assert_eq!(time("2026-11-23T00:00:00Z"), Until::Time(1_795_392_000));
        assert_eq!(
            time("2026-11-23T01:00:00+01:00"),
            Until::Time(1_795_392_000)
        );
        assert_eq!(time("2026-11-23"), Until::Time(1_795_392_000));
        assert_eq!(time("1700000000"), Until::Time(1_700_000_000));
        assert_eq!(time("0"), Until::Time(0), "as in Docker, 0 is the epoch");
    }

    #[test]
    fn filters() {
        assert_eq!(parse_filter("until=1h"), Ok(Until::Age(3600)));
        assert!(matches!(
            parse_filter("label=x"),
            Err(FilterError::UnknownFilter(_))
        ));
        assert!(matches!(
            parse_filter("24h"),
            Err(FilterError::UnknownFilter(_))
        ));
    }

    #[test]
    fn sizes_decimal_and_binary() {
        let size = |s: &str| parse_size(s).unwrap();
        assert_eq!(size("512"), 512);
        assert_eq!(size("512B"), 512);
        assert_eq!(size("10GB"), 10_000_000_000);
        assert_eq!(size("10gb"), 10_000_000_000);
        assert_eq!(size("1.5kB"), 1_500);
        assert_eq!(size("2KB"), 2_000);
        assert_eq!(size("3MB"), 3_000_000);
        assert_eq!(size("1TB"), 1_000_000_000_000);
        assert_eq!(size("1KiB"), 1_024);
        assert_eq!(size("2MiB"), 2 * 1024 * 1024);
        assert_eq!(size("1GiB"), 1 << 30);
        assert_eq!(size("10 GB"), 10_000_000_000);
        for bad in ["", "GB", "10XB", "-1GB", "1.2.3MB", "1e3"] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
