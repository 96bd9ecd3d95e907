//! A pull's progress as build events: bytes per layer (at most a few times a second
//! per layer, and always the last), then each unpacked layer.

use crate::progress::{Event, Reporter};
use kiln_cache::registry::{BlobProgress, PullProgress};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The least time between two byte counts of one layer.
const BYTES_INTERVAL: Duration = Duration::from_millis(250);

/// Turns the registry client's blob progress into [`Event`]s for one pull.
pub struct PullEvents<'a> {
    reporter: &'a dyn Reporter,
    reference: &'a str,
    /// When each layer's byte count was last reported.
    last: Mutex<HashMap<String, Instant>>,
}

impl<'a> PullEvents<'a> {
    /// Reports the pull of `reference` to `reporter`.
    pub fn new(reporter: &'a dyn Reporter, reference: &'a str) -> Self {
        Self {
            reporter,
            reference,
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl PullProgress for PullEvents<'_> {
    fn blob(&self, digest: &str, progress: BlobProgress) {
        let reference = self.reference.to_string();
        let digest = digest.to_string();
        match progress {
            BlobProgress::Downloading { done, total } => {
                let now = Instant::now();
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                let due = last
                    .get(&digest)
                    .is_none_or(|at| now.duration_since(*at) >= BYTES_INTERVAL);
                if done < total && !due {
                    return;
                }
                last.insert(digest.clone(), now);
                drop(last);
                self.reporter.event(Event::PullBytes {
                    reference,
                    digest,
                    done,
                    total,
                });
            }
            BlobProgress::Unpacked => self
                .reporter
                .event(Event::PullUnpacked { reference, digest }),
            BlobProgress::Exists | BlobProgress::Downloaded => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Event>>);

    impl Reporter for Recorder {
        fn event(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
    }

    #[test]
    fn byte_counts_are_throttled_but_the_last_always_comes() {
        let recorder = Recorder::default();
        let events = PullEvents::new(&recorder, "busybox");
        for done in 1..=1000 {
            events.blob("sha256:a", BlobProgress::Downloading { done, total: 1000 });
        }
        events.blob("sha256:a", BlobProgress::Downloaded);
        events.blob("sha256:a", BlobProgress::Unpacked);
        let seen = recorder.0.into_inner().unwrap();
        let bytes: Vec<u64> = seen
            .iter()
            .filter_map(|e| match e {
                Event::PullBytes { done, .. } => Some(*done),
                _ => None,
            })
            .collect();
        assert!(bytes.len() < 1000, "{} byte events", bytes.len());
        assert_eq!(bytes.first(), Some(&1));
        assert_eq!(bytes.last(), Some(&1000));
        assert!(
            matches!(seen.last(), Some(Event::PullUnpacked { digest, .. }) if digest == "sha256:a")
        );
    }
}
