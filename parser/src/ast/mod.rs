//! The typed Dockerfile AST: stages of typed instructions.
//!
//! Values are kept raw (unexpanded, quotes kept where the instruction keeps
//! them); variable expansion is the solver's job, with [`crate::shell`].

mod files;
mod health;
mod run;

pub use files::{Add, Copy, InlineFile};
pub use health::{HealthConfig, Healthcheck};
pub use run::{Mount, MountKind, Run, Security, Sharing};

use crate::diagnostic::{Diagnostic, Span};
pub use crate::directives::{CheckDirective, Directive};

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Parser directives from the top of the file (`syntax`, `escape`, `check`).
    pub directives: Vec<Directive>,
    /// The `# check=` directive, read.
    pub check: Option<CheckDirective>,
    /// `ARG`s declared before the first `FROM` (usable in `FROM` lines).
    pub meta_args: Vec<ArgDecl>,
    /// The build stages, in order.
    pub stages: Vec<Stage>,
    /// Warnings found while parsing (the parse still succeeded).
    pub warnings: Vec<Diagnostic>,
}

impl Dockerfile {
    /// The escape character (`# escape=`): `` ` `` when the file says so, else `\`. It
    /// applies to variable expansion as well as to line continuations.
    pub fn escape(&self) -> char {
        match self.directives.iter().rfind(|d| d.name == "escape") {
            Some(d) if d.value == "`" => '`',
            _ => '\\',
        }
    }
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
    /// The doc comment of the stage name: the rest of the first comment line
    /// above `FROM` that starts with the name and a space.
    pub doc: Option<String>,
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

/// Every Dockerfile instruction but `FROM` (which starts a [`Stage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    /// `RUN`.
    Run(Run),
    /// `COPY`.
    Copy(Copy),
    /// `ADD`.
    Add(Add),
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
    /// `EXPOSE port[/proto] …` (raw words; literal ones are validated, see
    /// [`crate::parse_port_spec`]).
    Expose(Vec<String>),
    /// `VOLUME path …` or `VOLUME ["path", …]` (raw).
    Volume(Vec<String>),
    /// `SHELL ["exe", "arg", …]` (JSON form only).
    Shell(Vec<String>),
    /// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD …`.
    Healthcheck(Healthcheck),
    /// `ONBUILD <instruction>`: the trigger, typed (never `FROM`,
    /// `ONBUILD` or `MAINTAINER`).
    Onbuild(Box<Instruction>),
    /// `STOPSIGNAL signal` (raw).
    Stopsignal(String),
    /// `MAINTAINER name` (deprecated; raw).
    Maintainer(String),
}

/// How a command is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// Shell form: the text is run by the stage's shell (`/bin/sh -c`).
    Shell(String),
    /// Exec (JSON) form: `["prog", "arg"]`, run without a shell.
    Exec(Vec<String>),
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
    /// The doc comment: the rest of the first comment line above the `ARG`
    /// that starts with the name and a space.
    pub doc: Option<String>,
}
