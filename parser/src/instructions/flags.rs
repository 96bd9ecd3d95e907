//! Checking an instruction's builder flags against the ones it accepts, like
//! BuildKit's `BFlags`: value flags, boolean flags and repeatable flags.

use crate::diagnostic::Span;
use crate::node::Node;

use super::{InstructionError, suggest};

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    /// `--name=value`, at most once.
    Value,
    /// `--name`, `--name=true` or `--name=false`, at most once.
    Bool,
    /// `--name=value`, any number of times.
    Repeated,
}

/// One accepted flag of an instruction.
pub(crate) type FlagSpec = (&'static str, FlagKind);

/// The values of the flags given to one instruction.
#[derive(Debug, Default)]
pub(crate) struct FlagValues {
    values: Vec<(&'static str, String, Span)>,
}

impl FlagValues {
    /// The value of flag `name`, if it was given.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| v.clone())
    }

    /// A boolean flag: `None` when absent.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v == "true")
    }

    /// Every value of a repeated flag, with where it is.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, Span)> + 'a {
        self.values
            .iter()
            .filter(move |(n, _, _)| *n == name)
            .map(|(_, v, s)| (v.as_str(), *s))
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Checks `node`'s flags against `specs`. Flag names are case-sensitive, like
/// BuildKit's.
pub(crate) fn read_flags(node: &Node, specs: &[FlagSpec]) -> Result<FlagValues, InstructionError> {
    let mut values = FlagValues::default();
    for flag in &node.flags {
        let Some(&(name, kind)) = specs.iter().find(|(n, _)| *n == flag.name) else {
            let mut error =
                InstructionError::new(flag.span, format!("unknown flag: --{}", flag.name));
            let names: Vec<&str> = specs.iter().map(|(n, _)| *n).collect();
            if let Some(close) = suggest::closest(&flag.name, &names) {
                error.help = Some(format!("did you mean --{close}?"));
            }
            return Err(error);
        };
        if kind != FlagKind::Repeated && values.get(name).is_some() {
            return Err(InstructionError::new(
                flag.span,
                format!("duplicate flag specified: --{name}"),
            ));
        }
        let value = match (kind, &flag.value) {
            (FlagKind::Bool, None) => "true".to_owned(),
            (FlagKind::Bool, Some(v)) => match parse_bool(v) {
                Some(b) => b.to_string(),
                None => {
                    return Err(InstructionError::new(
                        flag.span,
                        format!("expecting boolean value for flag {name}, not: {v}"),
                    ));
                }
            },
            (_, Some(v)) => v.clone(),
            (_, None) => {
                return Err(InstructionError::new(
                    flag.span,
                    format!("missing a value on flag: --{name}"),
                ));
            }
        };
        values.values.push((name, value, flag.span));
    }
    Ok(values)
}
