//! Heredocs (`RUN <<EOF`, `COPY <<EOF /dest`), lowered as BuildKit's dockerfile2llb
//! does in `dispatchRun` and `dispatchCopy` (dockerfile frontend 1.4 and later; the
//! Dockerfile reference's "Here-Documents").
//!
//! - `RUN <<EOF` (the heredoc is the whole command) runs the body as a script: with a
//!   shebang line as a file, `/dev/pipes/EOF`, mounted read-only (mode 0755); else the
//!   body itself is the shell's command. `<<-` strips the body's leading tabs.
//! - Any other RUN with heredocs (`RUN python3 <<EOF`, `RUN <<A 3<<B cmd`) hands the
//!   shell the command line followed by each body and its delimiter, so the shell reads
//!   the heredocs itself (file descriptors, `<<-`, quoting and expansion included).
//! - `COPY <<EOF /dest` makes a file named after the delimiter; an unquoted delimiter
//!   expands the build's ARG/ENV in the body (quotes are not special there), a quoted
//!   one keeps it as written.
//!
//! As in BuildKit, a RUN heredoc's body is never expanded at lowering: the shell does
//! it at run time, from the step's environment.

use super::instruction::invalid;
use super::state::StageState;
use crate::error::Result;
use crate::op::InlineFile;
use kiln_parser::ast::{InlineFile as ParsedFile, Run};
use kiln_parser::heredoc::{chomp, parse_heredoc_word};
use kiln_parser::{CommandForm, Span};

/// Where a RUN's heredoc script is mounted.
const PIPES: &str = "/dev/pipes";

/// The argv of a RUN with heredocs and the files it mounts in `/dev/pipes/`.
pub(super) fn run_argv(
    state: &StageState,
    run: &Run,
    span: Span,
) -> Result<(Vec<String>, Vec<InlineFile>)> {
    let (CommandForm::Shell(command), Some(first)) = (&run.command, run.heredocs.first()) else {
        return Err(invalid(
            "a RUN with a heredoc must use the shell form",
            span,
        ));
    };
    let whole = parse_heredoc_word(command.trim()).ok().flatten();
    if whole.is_none() {
        let mut script = command.clone();
        for doc in &run.heredocs {
            script.push('\n');
            script.push_str(&doc.content);
            script.push_str(&doc.name);
        }
        return Ok((state.argv(&CommandForm::Shell(script)), Vec::new()));
    }
    let body = if first.chomp {
        chomp(&first.content)
    } else {
        first.content.clone()
    };
    if !body.starts_with("#!") {
        return Ok((state.argv(&CommandForm::Shell(body)), Vec::new()));
    }
    let script = inline_file(&first.name, body, span)?;
    let path = format!("{PIPES}/{}", script.name);
    Ok((state.argv(&CommandForm::Shell(path)), vec![script]))
}

/// The files of `COPY <<EOF …`, bodies expanded unless the delimiter was quoted.
pub(super) fn copy_files(
    state: &StageState,
    files: &[ParsedFile],
    span: Span,
) -> Result<Vec<InlineFile>> {
    files
        .iter()
        .map(|file| {
            let content = if file.expand {
                state.expand_heredoc(&file.data, span)?
            } else {
                file.data.clone()
            };
            inline_file(&file.name, content, span)
        })
        .collect()
}

/// A heredoc's file, its name checked: it must name one file in one folder.
fn inline_file(name: &str, content: String, span: Span) -> Result<InlineFile> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(invalid(
            format!("heredoc delimiter `{name}` cannot be used as a file name"),
            span,
        ));
    }
    Ok(InlineFile {
        name: name.to_owned(),
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_parser::InstructionKind;

    /// The argv and `/dev/pipes/` files of the Dockerfile's one instruction, a RUN.
    fn lowered(dockerfile: &str) -> (Vec<String>, Vec<InlineFile>) {
        let parsed = kiln_parser::parse(dockerfile, "Dockerfile").unwrap();
        let InstructionKind::Run(run) = &parsed.stages[0].instructions[0].kind else {
            panic!("not a RUN");
        };
        let mut state = StageState::default();
        state.config.shell = Some(vec!["/bin/bash".into(), "-ec".into()]);
        run_argv(&state, run, Span::default()).unwrap()
    }

    #[test]
    fn a_bare_heredoc_is_the_shells_script() {
        let (argv, pipes) = lowered("FROM x\nRUN <<-EOF\n\techo $A\n\t\tb\n\tEOF\n");
        assert_eq!(argv, ["/bin/bash", "-ec", "echo $A\nb\n"]);
        assert!(pipes.is_empty());
    }

    #[test]
    fn a_shebang_script_runs_from_dev_pipes() {
        let (argv, pipes) = lowered("FROM x\nRUN <<'EOT'\n#!/usr/bin/env python3\nprint(1)\nEOT\n");
        assert_eq!(argv, ["/bin/bash", "-ec", "/dev/pipes/EOT"]);
        assert_eq!(pipes.len(), 1);
        assert_eq!(
            (pipes[0].name.as_str(), pipes[0].content.as_str()),
            ("EOT", "#!/usr/bin/env python3\nprint(1)\n")
        );
    }

    #[test]
    fn other_heredocs_go_to_the_shell_with_the_command_line() {
        let (argv, pipes) = lowered("FROM x\nRUN <<-A 3<<'B' cat - /dev/fd/3\n\ta\n\tA\nb\nB\n");
        assert_eq!(
            argv,
            [
                "/bin/bash",
                "-ec",
                "<<-A 3<<'B' cat - /dev/fd/3\n\ta\nA\nb\nB"
            ]
        );
        assert!(pipes.is_empty());
    }

    #[test]
    fn copy_bodies_expand_unless_quoted() {
        let parsed = kiln_parser::parse(
            "FROM x\nCOPY <<A <<'B' <<-C /d/\n$V \"$V\" \\$V $U\nA\n$V\nB\n\t$V\n\tC\n",
            "Dockerfile",
        )
        .unwrap();
        let InstructionKind::Copy(copy) = &parsed.stages[0].instructions[0].kind else {
            panic!("not a COPY");
        };
        let mut state = StageState::default();
        state.set_env("V", "v");
        let files = copy_files(&state, &copy.inline, Span::default()).unwrap();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.name.as_str(), f.content.as_str()))
            .collect();
        assert_eq!(
            files,
            [("A", "v \"v\" $V $U\n"), ("B", "$V\n"), ("C", "v\n")]
        );
    }

    #[test]
    fn a_delimiter_that_is_no_file_name_is_refused() {
        let error = inline_file("..", String::new(), Span::default()).unwrap_err();
        assert!(error.to_string().contains("`..`"), "{error}");
    }
}
