//! `--filter until=…` of `kiln cache prune`, as data (the CLI parses the flag).

/// `--filter until=…`: only records last used before this time are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Last used more than this many seconds ago (`until=24h`).
    Age(u64),
    /// Last used before this Unix time (`until=2026-11-23T00:00:00Z`).
    Time(i64),
}

impl Until {
    /// The Unix time before which records count as old, seen from `now`.
    pub fn cutoff(self, now: i64) -> i64 {
        match self {
            Self::Age(seconds) => now.saturating_sub(i64::try_from(seconds).unwrap_or(i64::MAX)),
            Self::Time(time) => time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Until;

    #[test]
    fn cutoffs() {
        assert_eq!(Until::Age(60).cutoff(1000), 940);
        assert_eq!(Until::Time(5).cutoff(1000), 5);
    }
}
