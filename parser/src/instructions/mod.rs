//! The typed layer: [`Node`]s → typed instructions → [`Dockerfile`] stages,
//! like BuildKit's `instructions` package: each converter reads the node's
//! argument nodes and flags.
//!
//! One file per group of instructions; this file dispatches on the keyword
//! and assembles stages. Errors are collected per instruction so one parse
//! reports every broken instruction.

mod command;
mod config;
mod duration;
mod expose;
mod files;
mod flags;
mod healthcheck;
mod mount;
mod stage;
mod suggest;

pub use duration::parse_go_duration;
pub use expose::{PortSpec, parse_port_spec};

use crate::ast::{Dockerfile, Instruction, InstructionKind, Stage};
use crate::diagnostic::{
    Diagnostic, LineIndex, MAX_ERRORS, ParseErrors, Severity, Span, count_errors, limit_errors,
};
use crate::directives::parse_check;
use crate::node::Node;
use crate::syntax::SyntaxTree;

/// Every Dockerfile keyword, for "did you mean" suggestions.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// An error (or warning) in one instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InstructionError {
    /// Where the problem is.
    pub span: Span,
    /// What is wrong, e.g. `COPY requires at least two arguments, …`.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl InstructionError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// What converting one node gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// `FROM`: a new, empty stage.
    Stage(Stage),
    /// Any other instruction.
    Instruction(InstructionKind),
}

/// State shared by the converters of one file.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Warnings found while typing (the parse still succeeds).
    pub warnings: Vec<InstructionError>,
}

/// Types every node of `tree` and groups them into stages.
pub(crate) fn build(
    tree: SyntaxTree,
    index: &LineIndex<'_>,
    file: &str,
) -> Result<Dockerfile, ParseErrors> {
    let mut diagnostics = tree.diagnostics;
    let mut ctx = Context::default();
    let check = tree
        .directives
        .iter()
        .find(|d| d.name == "check")
        .and_then(|d| parse_check(&d.value).ok());
    let mut dockerfile = Dockerfile {
        directives: tree.directives,
        check,
        meta_args: Vec::new(),
        stages: Vec::new(),
        warnings: Vec::new(),
    };
    let to_diagnostic = |severity, e: InstructionError| Diagnostic {
        help: e.help,
        ..index.diagnostic(severity, file, e.span, e.message)
    };
    let mut reported_no_stage = false;
    // Lines of the line layer's errors, in order (it sorted them).
    let syntax_errors: Vec<usize> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.span.line)
        .collect();
    let mut errors = 0;
    for node in &tree.nodes {
        // Past MAX_ERRORS errors before this node, nothing after it would be reported.
        if errors + syntax_errors.partition_point(|&line| line < node.span.line) > MAX_ERRORS {
            break;
        }
        let reported = diagnostics.len();
        match convert(node, &mut ctx) {
            Err(e) => diagnostics.push(to_diagnostic(Severity::Error, e)),
            Ok(Converted::Stage(stage)) => dockerfile.stages.push(stage),
            Ok(Converted::Instruction(kind)) => {
                if let Some(stage) = dockerfile.stages.last_mut() {
                    stage.instructions.push(Instruction {
                        span: node.span,
                        original: node.original.clone(),
                        kind,
                    });
                } else if let InstructionKind::Arg(args) = kind {
                    dockerfile.meta_args.extend(args);
                } else if !reported_no_stage {
                    reported_no_stage = true;
                    let e = InstructionError::new(node.span, "no build stage in current context")
                        .with_help("start the Dockerfile with a `FROM` instruction");
                    diagnostics.push(to_diagnostic(Severity::Error, e));
                }
            }
        }
        errors += count_errors(&diagnostics[reported..]);
    }
    // A line layer that stopped early may not have reached the instructions.
    if tree.nodes.is_empty() && syntax_errors.len() <= MAX_ERRORS {
        let span = index.span(0, 0);
        diagnostics.push(index.diagnostic(
            Severity::Error,
            file,
            span,
            "file with no instructions",
        ));
    }
    diagnostics.extend(
        ctx.warnings
            .into_iter()
            .map(|w| to_diagnostic(Severity::Warning, w)),
    );
    limit_errors(&mut diagnostics);
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(ParseErrors { diagnostics });
    }
    dockerfile.warnings = diagnostics;
    Ok(dockerfile)
}

/// Types one node (BuildKit's `instructions.ParseInstruction`): checks its
/// flags and argument nodes. Warnings go to `ctx`.
pub fn convert(node: &Node, ctx: &mut Context) -> Result<Converted, InstructionError> {
    if node.keyword.eq_ignore_ascii_case("FROM") {
        return stage::from(node).map(Converted::Stage);
    }
    convert_instruction(node, ctx).map(Converted::Instruction)
}

/// Types any node but `FROM`.
fn convert_instruction(
    node: &Node,
    ctx: &mut Context,
) -> Result<InstructionKind, InstructionError> {
    let upper = node.keyword.to_ascii_uppercase();
    Ok(match upper.as_str() {
        "RUN" => command::run(node)?,
        "CMD" => InstructionKind::Cmd(command::command_form(node, "CMD", ctx)?),
        "ENTRYPOINT" => {
            InstructionKind::Entrypoint(command::command_form(node, "ENTRYPOINT", ctx)?)
        }
        "SHELL" => command::shell(node)?,
        "COPY" => files::copy(node)?,
        "ADD" => files::add(node)?,
        "VOLUME" => files::volume(node)?,
        "WORKDIR" => InstructionKind::Workdir(config::exactly_one(node, "WORKDIR")?),
        "USER" => InstructionKind::User(config::exactly_one(node, "USER")?),
        "STOPSIGNAL" => InstructionKind::Stopsignal(config::exactly_one(node, "STOPSIGNAL")?),
        "MAINTAINER" => config::maintainer(node, ctx)?,
        "ENV" => InstructionKind::Env(config::key_values(node, "ENV", ctx)?),
        "LABEL" => InstructionKind::Label(config::key_values(node, "LABEL", ctx)?),
        "ARG" => InstructionKind::Arg(config::args(node)?),
        "EXPOSE" => expose::expose(node)?,
        "HEALTHCHECK" => healthcheck::healthcheck(node)?,
        "ONBUILD" => onbuild(node, ctx)?,
        _ => {
            let mut e = InstructionError::new(
                node.keyword_span,
                format!("unknown instruction: {}", node.keyword),
            );
            e.help =
                suggest::closest(&node.keyword, KEYWORDS).map(|k| format!("did you mean {k}?"));
            return Err(e);
        }
    })
}

/// `ONBUILD <trigger>`: the trigger is typed now, run in a child build.
fn onbuild(node: &Node, ctx: &mut Context) -> Result<InstructionKind, InstructionError> {
    flags::read_flags(node, &[])?;
    let Some(trigger) = node.next.as_deref() else {
        return Err(InstructionError::new(
            node.span,
            "ONBUILD requires at least one argument",
        ));
    };
    convert_trigger(trigger, ctx).map(|t| InstructionKind::Onbuild(Box::new(t)))
}

/// Types an ONBUILD trigger: any instruction but `ONBUILD`, `MAINTAINER` and `FROM`.
fn convert_trigger(trigger: &Node, ctx: &mut Context) -> Result<Instruction, InstructionError> {
    let keyword = trigger.keyword.to_ascii_uppercase();
    match keyword.as_str() {
        "ONBUILD" => {
            return Err(InstructionError::new(
                trigger.keyword_span,
                "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
            ));
        }
        "MAINTAINER" | "FROM" => {
            return Err(InstructionError::new(
                trigger.keyword_span,
                format!("{keyword} isn't allowed as an ONBUILD trigger"),
            ));
        }
        _ => {}
    }
    Ok(Instruction {
        span: trigger.span,
        original: trigger.original.clone(),
        kind: convert_instruction(trigger, ctx)?,
    })
}

/// Types the text of one ONBUILD trigger read from an image config (`RUN make`), parsed
/// on its own as BuildKit does when a child build runs it. `file` names it in diagnostics.
pub(crate) fn trigger(
    tree: SyntaxTree,
    index: &LineIndex<'_>,
    file: &str,
) -> Result<Instruction, ParseErrors> {
    let fail = |span, message: String| ParseErrors {
        diagnostics: vec![index.diagnostic(Severity::Error, file, span, message)],
    };
    if count_errors(&tree.diagnostics) > 0 {
        return Err(ParseErrors {
            diagnostics: tree.diagnostics,
        });
    }
    let [node] = tree.nodes.as_slice() else {
        let span = index.span(0, usize::MAX);
        return Err(fail(
            span,
            "onbuild trigger should be a single expression".into(),
        ));
    };
    convert_trigger(node, &mut Context::default()).map_err(|e| fail(e.span, e.message))
}

/// The doc comment of `name`: the rest of the first comment line that starts
/// with `name` and a space.
pub(crate) fn doc_comment(comments: &[String], name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    comments.iter().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')
            .map(str::to_owned)
    })
}
