//! Progress events, BuildKit's vocabulary: a vertex started, was cached, completed or
//! failed, and log chunks. The solver reports; only the CLI draws.

use std::time::Duration;

/// Which output stream a log chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One thing that happened during a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A vertex began to run (not sent for cache hits).
    Started { vertex: usize, name: String },
    /// A vertex's result came from the cache.
    Cached { vertex: usize, name: String },
    /// A vertex ran to success.
    Completed { vertex: usize, duration: Duration },
    /// A vertex failed.
    Failed {
        vertex: usize,
        duration: Duration,
        message: String,
    },
    /// Output of a running vertex.
    Log {
        vertex: usize,
        stream: LogStream,
        data: Vec<u8>,
    },
    /// A base image the store lacks is being pulled (before any vertex runs).
    PullStarted { reference: String },
    /// Bytes of one layer of a pull received so far (throttled; the last one has
    /// `done == total`).
    PullBytes {
        reference: String,
        digest: String,
        done: u64,
        total: u64,
    },
    /// A layer of a pull is unpacked and verified.
    PullUnpacked { reference: String, digest: String },
    /// A pull finished.
    PullDone {
        reference: String,
        duration: Duration,
    },
}

/// Receives progress events; implementations must be cheap and must not block.
pub trait Reporter: Send + Sync {
    /// Called for every event, from any thread.
    fn event(&self, event: Event);
}

/// A reporter that drops everything.
#[derive(Debug, Default)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn event(&self, _event: Event) {}
}
