//! `HEALTHCHECK NONE` and `HEALTHCHECK [--interval…] CMD …`.

use std::time::Duration;

use crate::ast::{HealthConfig, Healthcheck, InstructionKind};
use crate::node::Node;

use super::InstructionError;
use super::duration::parse_go_duration;
use super::flags::{FlagKind, read_flags};

/// The shortest non-zero interval (0 means the default).
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Types `HEALTHCHECK`.
pub(super) fn healthcheck(node: &Node) -> Result<InstructionKind, InstructionError> {
    let Some((kind, args)) = node.args.split_first() else {
        return Err(InstructionError::new(
            node.span,
            "HEALTHCHECK requires at least one argument",
        ));
    };
    let kind = kind.to_ascii_uppercase();
    if kind == "NONE" {
        read_flags(node, &[])?;
        if !args.is_empty() {
            return Err(InstructionError::new(
                node.rest_span,
                "HEALTHCHECK NONE takes no arguments",
            ));
        }
        return Ok(InstructionKind::Healthcheck(Healthcheck::None));
    }
    let flags = read_flags(
        node,
        &[
            ("interval", FlagKind::Value),
            ("timeout", FlagKind::Value),
            ("start-period", FlagKind::Value),
            ("start-interval", FlagKind::Value),
            ("retries", FlagKind::Value),
        ],
    )?;
    if kind != "CMD" {
        return Err(InstructionError::new(
            node.rest_span,
            format!("Unknown type {kind:?} in HEALTHCHECK (try CMD)"),
        ));
    }
    if args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            "Missing command after HEALTHCHECK CMD",
        ));
    }
    let test = if node.json {
        std::iter::once("CMD".to_owned())
            .chain(args.iter().cloned())
            .collect()
    } else {
        vec!["CMD-SHELL".to_owned(), args.join(" ")]
    };
    let flag_error = |name: &str, message: String| {
        let span = node
            .flags
            .iter()
            .find(|f| f.name == name)
            .map_or(node.span, |f| f.span);
        InstructionError::new(span, message)
    };
    let interval = |name: &str| -> Result<Option<Duration>, InstructionError> {
        let Some(value) = flags.get(name) else {
            return Ok(None);
        };
        let d = parse_go_duration(&value).map_err(|e| flag_error(name, e))?;
        if d != Duration::ZERO && d < MIN_INTERVAL {
            return Err(flag_error(
                name,
                format!("Interval {name:?} cannot be less than 1ms"),
            ));
        }
        Ok(Some(d))
    };
    let retries = match flags.get("retries") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            flag_error(
                "retries",
                format!(
                    "--retries must be a number from 0 to {}, not {v:?}",
                    i32::MAX
                ),
            )
        })?),
    };
    Ok(InstructionKind::Healthcheck(Healthcheck::Check(
        HealthConfig {
            test,
            interval: interval("interval")?,
            timeout: interval("timeout")?,
            start_period: interval("start-period")?,
            start_interval: interval("start-interval")?,
            retries,
        },
    )))
}
