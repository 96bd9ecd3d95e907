//! The typed layer: [`Node`]s → typed instructions → [`Dockerfile`] stages.
//!
//! One file per group of instructions; this file dispatches on the keyword
//! and assembles stages. Errors are collected per instruction so one parse
//! reports every broken instruction.

mod command;
mod config;
mod files;
mod flags;
mod stage;
mod suggest;

use crate::ast::{Dockerfile, Instruction, InstructionKind, Stage};
use crate::diagnostic::{Diagnostic, LineIndex, ParseErrors, Severity, Span};
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

/// Valid keywords whose typing arrives with the full-syntax issue.
const NOT_YET: &[&str] = &[
    "ADD",
    "VOLUME",
    "SHELL",
    "HEALTHCHECK",
    "ONBUILD",
    "STOPSIGNAL",
    "MAINTAINER",
];

/// An error in one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstrError {
    pub(crate) span: Span,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

impl InstrError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
            help: None,
        }
    }
}

/// What converting one node gives.
enum Typed {
    From(Stage),
    Other(InstructionKind),
}

/// State shared by the converters of one file.
pub(crate) struct Context {
    /// The escape character in force.
    pub(crate) escape: char,
    /// Warnings found while typing (the parse still succeeds).
    pub(crate) warnings: Vec<InstrError>,
}

/// Types every node of `tree` and groups them into stages.
pub(crate) fn build(
    tree: SyntaxTree,
    index: &LineIndex<'_>,
    file: &str,
) -> Result<Dockerfile, ParseErrors> {
    let mut diagnostics = tree.diagnostics;
    let mut ctx = Context {
        escape: tree.escape,
        warnings: Vec::new(),
    };
    let mut dockerfile = Dockerfile {
        directives: tree.directives,
        meta_args: Vec::new(),
        stages: Vec::new(),
        warnings: Vec::new(),
    };
    let to_diagnostic = |severity, e: InstrError| Diagnostic {
        help: e.help,
        ..index.diagnostic(severity, file, e.span, e.message)
    };
    let mut reported_no_stage = false;
    for node in &tree.nodes {
        match convert(node, &mut ctx) {
            Err(e) => diagnostics.push(to_diagnostic(Severity::Error, e)),
            Ok(Typed::From(stage)) => dockerfile.stages.push(stage),
            Ok(Typed::Other(kind)) => {
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
                    let mut e = InstrError::new(node.span, "no build stage in current context");
                    e.help = Some("start the Dockerfile with a `FROM` instruction".into());
                    diagnostics.push(to_diagnostic(Severity::Error, e));
                }
            }
        }
    }
    if tree.nodes.is_empty() {
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
    diagnostics.sort_by_key(|d| (d.span.line, d.span.column));
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(ParseErrors { diagnostics });
    }
    dockerfile.warnings = diagnostics;
    Ok(dockerfile)
}

/// Types one node.
fn convert(node: &Node, ctx: &mut Context) -> Result<Typed, InstrError> {
    let upper = node.keyword.to_ascii_uppercase();
    let kind = match upper.as_str() {
        "FROM" => return stage::from(node).map(Typed::From),
        "RUN" => command::run(node)?,
        "CMD" => InstructionKind::Cmd(command::command_form(node)?),
        "ENTRYPOINT" => InstructionKind::Entrypoint(command::command_form(node)?),
        "COPY" => files::copy(node)?,
        "WORKDIR" => InstructionKind::Workdir(files::exactly_one(node, "WORKDIR")?),
        "USER" => InstructionKind::User(files::exactly_one(node, "USER")?),
        "ENV" => InstructionKind::Env(config::key_values(node, "ENV", ctx)?),
        "LABEL" => InstructionKind::Label(config::key_values(node, "LABEL", ctx)?),
        "ARG" => InstructionKind::Arg(config::args(node, ctx)?),
        "EXPOSE" => config::expose(node)?,
        other if NOT_YET.contains(&other) => {
            return Err(InstrError::new(
                node.keyword_span,
                format!("instruction {other} is not supported yet"),
            ));
        }
        _ => {
            let mut e = InstrError::new(
                node.keyword_span,
                format!("unknown instruction: {}", node.keyword),
            );
            e.help =
                suggest::closest(&node.keyword, KEYWORDS).map(|k| format!("did you mean {k}?"));
            return Err(e);
        }
    };
    Ok(Typed::Other(kind))
}
