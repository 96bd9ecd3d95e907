//! `HEALTHCHECK`.

use std::time::Duration;

/// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `NONE`: disable the base image's health check.
    None,
    /// `CMD …`.
    Check(HealthConfig),
}

/// A health check, as the image config stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// `["CMD", prog, args…]` (exec form) or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    /// `--interval` (`None`: the default).
    pub interval: Option<Duration>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--start-period`.
    pub start_period: Option<Duration>,
    /// `--start-interval`.
    pub start_interval: Option<Duration>,
    /// `--retries`.
    pub retries: Option<u32>,
}
