//! ONBUILD, as BuildKit's `initOnBuildTriggers`: `ONBUILD <instruction>` stores the
//! trigger's text in the stage's image config (`OnBuild`, no history entry); a later
//! `FROM` of that image, or of that stage, runs the triggers right after FROM, in order,
//! lowered like the stage's own instructions (so `ONBUILD COPY --from=build` pulls the
//! stage `build` into the graph). The child's image keeps none of them.

use super::state::StageState;
use crate::error::{Result, SolveError};
use kiln_cache::oci::RunConfig;
use kiln_parser::{Dockerfile, Instruction, InstructionKind, Span};

/// A trigger a stage runs after its FROM.
pub(super) struct Trigger {
    pub instr: Instruction,
    /// Where it comes from, for error messages: ``ONBUILD trigger `RUN make` of image `x` ``.
    origin: String,
}

impl Trigger {
    /// Names the trigger in a Dockerfile error found while lowering it.
    pub fn locate(&self, error: SolveError) -> SolveError {
        match error {
            SolveError::Dockerfile { message, span } => SolveError::Dockerfile {
                message: format!("{}: {message}", self.origin),
                span,
            },
            other => other,
        }
    }
}

/// Records `ONBUILD <trigger>` in the stage's image config.
pub(super) fn record(state: &mut StageState, trigger: &Instruction) {
    state
        .config
        .on_build
        .get_or_insert_with(Vec::new)
        .push(trigger.original.clone());
}

/// The triggers of the earlier stage `parent`, as its ONBUILD lines have them (errors
/// point at the trigger), for the stage `child` built on it.
pub(super) fn of_stage(dockerfile: &Dockerfile, parent: usize, child: usize) -> Vec<Trigger> {
    let from_line = dockerfile.stages[child].span.line;
    let parent_name = dockerfile.stages[parent]
        .name
        .clone()
        .unwrap_or_else(|| parent.to_string());
    dockerfile.stages[parent]
        .instructions
        .iter()
        .filter_map(|i| match &i.kind {
            InstructionKind::Onbuild(trigger) => Some(Trigger {
                instr: (**trigger).clone(),
                origin: format!(
                    "ONBUILD trigger of stage `{parent_name}`, run by the FROM on line {from_line}"
                ),
            }),
            _ => None,
        })
        .collect()
}

/// The triggers a base image's config stores, parsed now; as in BuildKit, they (and their
/// errors) are located at the `FROM` line `from`.
pub(super) fn of_image(config: &RunConfig, reference: &str, from: Span) -> Result<Vec<Trigger>> {
    let Some(texts) = &config.on_build else {
        return Ok(Vec::new());
    };
    texts
        .iter()
        .map(|text| {
            let origin = format!("ONBUILD trigger `{text}` of image `{reference}`");
            let instr = kiln_parser::parse_trigger(text).map_err(|e| {
                let message = e
                    .errors()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                SolveError::Dockerfile {
                    message: format!("{origin}: {message}"),
                    span: from,
                }
            })?;
            Ok(Trigger {
                instr: Instruction {
                    span: from,
                    ..instr
                },
                origin,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: Span = Span {
        offset: 0,
        len: 6,
        line: 1,
        column: 1,
    };

    #[test]
    fn image_triggers_are_located_at_from() {
        let config = RunConfig {
            on_build: Some(vec!["RUN make".into(), "ENV A=1".into()]),
            ..Default::default()
        };
        let triggers = of_image(&config, "base:1", FROM).unwrap();
        assert_eq!(triggers.len(), 2);
        assert_eq!(triggers[0].instr.original, "RUN make");
        assert_eq!(triggers[1].instr.span, FROM);
        let located = triggers[0].locate(SolveError::Dockerfile {
            message: "bad".into(),
            span: FROM,
        });
        assert_eq!(
            located.to_string(),
            "ONBUILD trigger `RUN make` of image `base:1`: bad"
        );
    }

    #[test]
    fn a_broken_image_trigger_names_itself() {
        let config = RunConfig {
            on_build: Some(vec!["FROM x".into()]),
            ..Default::default()
        };
        let Err(SolveError::Dockerfile { message, span }) = of_image(&config, "base:1", FROM)
        else {
            panic!("a FROM trigger must be refused");
        };
        assert_eq!(
            message,
            "ONBUILD trigger `FROM x` of image `base:1`: FROM isn't allowed as an ONBUILD trigger"
        );
        assert_eq!(span, FROM);
    }

    #[test]
    fn stage_triggers_keep_their_lines() {
        let dockerfile = kiln_parser::parse(
            "FROM a AS base\nONBUILD RUN x\nRUN y\nFROM base\n",
            "Dockerfile",
        )
        .unwrap();
        let triggers = of_stage(&dockerfile, 0, 1);
        assert_eq!(triggers.len(), 1);
        assert_eq!(triggers[0].instr.span.line, 2);
        assert_eq!(
            triggers[0].origin,
            "ONBUILD trigger of stage `base`, run by the FROM on line 4"
        );
    }
}
