//! The typed Dockerfile AST: stages of typed instructions.
//!
//! Values are kept raw (unexpanded, quotes kept where the instruction keeps
//! them); variable expansion is the solver's job, with [`crate::shell`].

use crate::diagnostic::{Diagnostic, Span};
pub use crate::syntax::Directive;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Parser directives from the top of the file (`syntax`, `escape`, `check`).
    pub directives: Vec<Directive>,
    /// `ARG`s declared before the first `FROM` (usable in `FROM` lines).
    pub meta_args: Vec<ArgDecl>,
    /// The build stages, in order.
    pub stages: Vec<Stage>,
    /// Warnings found while parsing (the parse still succeeded).
    pub warnings: Vec<Diagnostic>,
}

/// One `FROM … [AS name]` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The `AS` name, lowercased like BuildKit does.
    pub name: Option<String>,
    /// The raw image reference (unexpanded; may contain `$VAR` from meta args).
    pub base: String,
    /// The `--platform` flag value, raw.
    pub platform: Option<String>,
    /// The `FROM` instruction.
    pub span: Span,
    /// The instructions after `FROM`, up to the next `FROM`.
    pub instructions: Vec<Instruction>,
}

/// One typed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The whole instruction, continuation lines included.
    pub span: Span,
    /// The instruction as BuildKit prints it: continuation lines joined and
    /// trimmed, e.g. `RUN chmod +x greet.sh && echo built > /app/stamp`.
    pub original: String,
    /// What the instruction does.
    pub kind: InstructionKind,
}

/// The instructions kiln builds (more arrive with the full syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    /// `RUN`.
    Run(Run),
    /// `COPY`.
    Copy(Copy),
    /// `ENV k=v …` or legacy `ENV k v`.
    Env(Vec<KeyValue>),
    /// `ARG name[=default] …` inside a stage.
    Arg(Vec<ArgDecl>),
    /// `WORKDIR path` (raw).
    Workdir(String),
    /// `CMD`.
    Cmd(CommandForm),
    /// `ENTRYPOINT`.
    Entrypoint(CommandForm),
    /// `USER user[:group]` (raw).
    User(String),
    /// `LABEL k=v …`.
    Label(Vec<KeyValue>),
    /// `EXPOSE port[/proto] …` (raw words).
    Expose(Vec<String>),
}

/// How a command is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// Shell form: the text is run by the stage's shell (`/bin/sh -c`).
    Shell(String),
    /// Exec (JSON) form: `["prog", "arg"]`, run without a shell.
    Exec(Vec<String>),
}

/// `RUN [--network=…] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The command.
    pub command: CommandForm,
    /// `--network`: `default`, `none` or `host`.
    pub network: Option<String>,
}

/// `COPY [--from=…] [--chown=…] [--chmod=…] src… dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// The sources, raw, in order (at least one).
    pub sources: Vec<String>,
    /// The destination, raw.
    pub dest: String,
    /// `--from`: a stage name or index, or an image.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
}

/// One `key=value` of ENV or LABEL, raw (unexpanded, quotes kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key as written.
    pub key: String,
    /// The value as written (quotes and escapes kept).
    pub value: String,
}

/// One `ARG name[=default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The argument name.
    pub name: String,
    /// The default, raw (unexpanded, quotes kept); `None` without `=`.
    pub default: Option<String>,
}
