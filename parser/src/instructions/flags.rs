//! Checking an instruction's builder flags against the ones it accepts.

use crate::node::Node;

use super::{InstrError, suggest};

/// The values of the accepted flags of one instruction.
#[derive(Debug, Default)]
pub(crate) struct FlagValues {
    values: Vec<(&'static str, String)>,
}

impl FlagValues {
    /// The value of flag `name`, if it was given.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Checks `node`'s flags. `known` are the value flags this instruction takes;
/// `later` are real BuildKit flags kiln does not implement yet. Anything else
/// is an unknown flag. Flag names are case-sensitive, like BuildKit's.
pub(crate) fn read_flags(
    node: &Node,
    known: &[&'static str],
    later: &[&str],
) -> Result<FlagValues, InstrError> {
    let mut values = FlagValues::default();
    for flag in &node.flags {
        let Some(&name) = known.iter().find(|&&k| k == flag.name) else {
            if later.contains(&flag.name.as_str()) {
                return Err(InstrError::new(
                    flag.span,
                    format!("flag --{} is not supported yet", flag.name),
                ));
            }
            let mut error = InstrError::new(flag.span, format!("unknown flag: --{}", flag.name));
            let candidates: Vec<&str> = known.iter().chain(later).copied().collect();
            if let Some(close) = suggest::closest(&flag.name, &candidates) {
                error.help = Some(format!("did you mean --{close}?"));
            }
            return Err(error);
        };
        let Some(value) = &flag.value else {
            return Err(InstrError::new(
                flag.span,
                format!("missing a value on flag: --{name}"),
            ));
        };
        if values.get(name).is_some() {
            return Err(InstrError::new(
                flag.span,
                format!("duplicate flag specified: --{name}"),
            ));
        }
        values.values.push((name, value.clone()));
    }
    Ok(values)
}
