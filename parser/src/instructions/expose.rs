//! `EXPOSE port[-port][/proto] …` and the port specs it takes.

use crate::ast::InstructionKind;
use crate::node::Node;

use super::InstructionError;
use super::flags::read_flags;

/// One `EXPOSE` word, read: a port or range and a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// The first port.
    pub start: u16,
    /// The last port (`start` for a single port).
    pub end: u16,
    /// `tcp` (the default), `udp` or `sctp`.
    pub proto: &'static str,
}

/// Reads `port[-port][/proto]` (after variable expansion); the solver calls
/// this for words that held variables.
pub fn parse_port_spec(word: &str) -> Result<PortSpec, String> {
    let (ports, proto) = match word.split_once('/') {
        Some((ports, proto)) => (ports, proto),
        None => (word, "tcp"),
    };
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => "tcp",
        "udp" => "udp",
        "sctp" => "sctp",
        _ => return Err(format!("invalid proto: {proto}")),
    };
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("invalid containerPort: {ports}"))
    };
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if end < start {
        return Err(format!(
            "invalid range specified for containerPort: {ports}"
        ));
    }
    Ok(PortSpec { start, end, proto })
}

/// Types `EXPOSE`; words without variables are validated now.
pub(super) fn expose(node: &Node) -> Result<InstructionKind, InstructionError> {
    read_flags(node, &[])?;
    if node.args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            "EXPOSE requires at least one argument",
        ));
    }
    for word in node.args.iter().filter(|w| !w.contains('$')) {
        parse_port_spec(word).map_err(|e| {
            InstructionError::new(node.rest_span, e).with_help(
                "write a port, a range or either with a protocol: `80`, `8000-8010`, `53/udp`",
            )
        })?;
    }
    Ok(InstructionKind::Expose(node.args.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs() {
        assert_eq!(
            parse_port_spec("8000-8010/UDP"),
            Ok(PortSpec {
                start: 8000,
                end: 8010,
                proto: "udp"
            })
        );
        assert_eq!(parse_port_spec("80").map(|p| p.proto), Ok("tcp"));
        assert_eq!(parse_port_spec("80/xyz"), Err("invalid proto: xyz".into()));
        assert_eq!(
            parse_port_spec("99999"),
            Err("invalid containerPort: 99999".into())
        );
        assert_eq!(
            parse_port_spec("90-80"),
            Err("invalid range specified for containerPort: 90-80".into())
        );
    }
}
