//! The typed AST of whole Dockerfiles.

use super::{ok, span};
use crate::{
    ArgDecl, CommandForm, Copy, Directive, Dockerfile, Instruction, InstructionKind, KeyValue, Run,
    Stage,
};

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

fn arg(name: &str, default: Option<&str>) -> ArgDecl {
    ArgDecl {
        name: name.into(),
        default: default.map(Into::into),
        doc: None,
    }
}

/// The kinds of the instructions of the only stage.
fn kinds(source: &str) -> Vec<InstructionKind> {
    let mut d = ok(source);
    assert_eq!(d.stages.len(), 1, "{d:#?}");
    d.stages
        .remove(0)
        .instructions
        .into_iter()
        .map(|i| i.kind)
        .collect()
}

#[test]
fn skeleton_example_exact_ast() {
    let source = "FROM busybox:local\nENV GREETING=hello\nWORKDIR /app\nCOPY greet.sh .\n\
                  RUN chmod +x greet.sh && echo built > /app/stamp\nCMD [\"/app/greet.sh\"]\n";
    let expected = Dockerfile {
        directives: vec![],
        check: None,
        meta_args: vec![],
        warnings: vec![],
        stages: vec![Stage {
            name: None,
            base: "busybox:local".into(),
            platform: None,
            doc: None,
            span: span(0, 18, 1, 1),
            instructions: vec![
                Instruction {
                    span: span(19, 18, 2, 1),
                    original: "ENV GREETING=hello".into(),
                    kind: InstructionKind::Env(vec![kv("GREETING", "hello")]),
                },
                Instruction {
                    span: span(38, 12, 3, 1),
                    original: "WORKDIR /app".into(),
                    kind: InstructionKind::Workdir("/app".into()),
                },
                Instruction {
                    span: span(51, 15, 4, 1),
                    original: "COPY greet.sh .".into(),
                    kind: InstructionKind::Copy(Copy {
                        sources: vec!["greet.sh".into()],
                        dest: ".".into(),
                        from: None,
                        chown: None,
                        chmod: None,
                        link: false,
                        parents: false,
                        exclude: vec![],
                        inline: vec![],
                    }),
                },
                Instruction {
                    span: span(67, 48, 5, 1),
                    original: "RUN chmod +x greet.sh && echo built > /app/stamp".into(),
                    kind: InstructionKind::Run(Run {
                        command: CommandForm::Shell(
                            "chmod +x greet.sh && echo built > /app/stamp".into(),
                        ),
                        network: None,
                        mounts: vec![],
                        security: None,
                        heredocs: vec![],
                    }),
                },
                Instruction {
                    span: span(116, 21, 6, 1),
                    original: "CMD [\"/app/greet.sh\"]".into(),
                    kind: InstructionKind::Cmd(CommandForm::Exec(vec!["/app/greet.sh".into()])),
                },
            ],
        }],
    };
    assert_eq!(ok(source), expected);
}

#[test]
fn from_with_platform_name_and_meta_args() {
    let d = ok(
        "# syntax=docker/dockerfile:1\nARG BASE=alpine V\nFROM --platform=$BUILDPLATFORM ${BASE} AS Build\nFROM build\n",
    );
    assert_eq!(
        d.directives,
        [Directive {
            name: "syntax".into(),
            value: "docker/dockerfile:1".into(),
            span: span(0, 28, 1, 1)
        }]
    );
    assert_eq!(d.meta_args, [arg("BASE", Some("alpine")), arg("V", None)]);
    let first = &d.stages[0];
    assert_eq!(first.name.as_deref(), Some("build"));
    assert_eq!(first.base, "${BASE}");
    assert_eq!(first.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!((first.span.line, d.stages[1].span.line), (3, 4));
    assert_eq!(d.stages[1].name, None);
}

#[test]
fn run_shell_and_json_forms_with_network() {
    assert_eq!(
        kinds(
            "FROM a\nRUN --network=none [\"sh\", \"-c\", \"echo hi\"]\nRUN [\"broken\", \nrun echo [x]\n"
        ),
        [
            InstructionKind::Run(Run {
                command: CommandForm::Exec(vec!["sh".into(), "-c".into(), "echo hi".into()]),
                network: Some("none".into()),
                mounts: vec![],
                security: None,
                heredocs: vec![],
            }),
            // A broken JSON array is shell form.
            InstructionKind::Run(Run {
                command: CommandForm::Shell("[\"broken\",".into()),
                network: None,
                mounts: vec![],
                security: None,
                heredocs: vec![],
            }),
            InstructionKind::Run(Run {
                command: CommandForm::Shell("echo [x]".into()),
                network: None,
                mounts: vec![],
                security: None,
                heredocs: vec![],
            }),
        ]
    );
}

#[test]
fn cmd_entrypoint_user_expose() {
    assert_eq!(
        kinds(
            "FROM a\nCMD echo $HOME\nENTRYPOINT [\"/bin/app\", \"--flag\"]\nCMD []\nUSER app:app\nEXPOSE 80/tcp  443\n"
        ),
        [
            InstructionKind::Cmd(CommandForm::Shell("echo $HOME".into())),
            InstructionKind::Entrypoint(CommandForm::Exec(vec![
                "/bin/app".into(),
                "--flag".into()
            ])),
            InstructionKind::Cmd(CommandForm::Exec(vec![])),
            InstructionKind::User("app:app".into()),
            InstructionKind::Expose(vec!["80/tcp".into(), "443".into()]),
        ]
    );
}

#[test]
fn copy_flags_sources_and_json_form() {
    assert_eq!(
        kinds(
            "FROM a\nCOPY --from=build --chown=1:2 --chmod=0755 a b /dst/\nCOPY [\"x y\", \"/z\"]\n"
        ),
        [
            InstructionKind::Copy(Copy {
                sources: vec!["a".into(), "b".into()],
                dest: "/dst/".into(),
                from: Some("build".into()),
                chown: Some("1:2".into()),
                chmod: Some("0755".into()),
                link: false,
                parents: false,
                exclude: vec![],
                inline: vec![],
            }),
            InstructionKind::Copy(Copy {
                sources: vec!["x y".into()],
                dest: "/z".into(),
                from: None,
                chown: None,
                chmod: None,
                link: false,
                parents: false,
                exclude: vec![],
                inline: vec![],
            }),
        ]
    );
}

#[test]
fn env_label_both_forms_keep_raw_values() {
    let d = ok(
        "FROM a\nENV A=1 B=\"x y\" C=\\$D\nENV LEGACY some value \"q\"\nLABEL a.b=c \"d\"='e f'\n",
    );
    let got: Vec<_> = d.stages[0]
        .instructions
        .iter()
        .map(|i| i.kind.clone())
        .collect();
    assert_eq!(
        got,
        [
            InstructionKind::Env(vec![kv("A", "1"), kv("B", "\"x y\""), kv("C", "\\$D")]),
            InstructionKind::Env(vec![kv("LEGACY", "some value \"q\"")]),
            InstructionKind::Label(vec![kv("a.b", "c"), kv("\"d\"", "'e f'")]),
        ]
    );
    // The legacy form builds, with a warning.
    assert_eq!(d.warnings.len(), 1);
    assert_eq!(d.warnings[0].span.line, 3);
    assert!(
        d.warnings[0]
            .message
            .contains("legacy \"ENV key value\" format")
    );
}

#[test]
fn arg_with_and_without_default_in_a_stage() {
    assert_eq!(
        kinds("FROM a\nARG A B=2 C=\"x y\" D=\n"),
        [InstructionKind::Arg(vec![
            arg("A", None),
            arg("B", Some("2")),
            arg("C", Some("\"x y\"")),
            arg("D", Some("")),
        ])]
    );
}

#[test]
fn continuation_with_comments_gives_joined_original_and_multi_line_span() {
    let source = "FROM a\nRUN apt-get update && \\\n    # install the tools\n    apt-get install -y \\\n      make\nUSER me\n";
    let d = ok(source);
    let run = &d.stages[0].instructions[0];
    assert_eq!(
        run.original,
        "RUN apt-get update &&     apt-get install -y       make"
    );
    assert_eq!((run.span.line, run.span.column), (2, 1));
    assert_eq!(
        run.span.offset + run.span.len,
        source.find("make").unwrap_or(0) + 4
    );
    assert_eq!(d.stages[0].instructions[1].span.line, 6);
}

#[test]
fn escape_directive_with_backtick() {
    let d = ok(
        "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir C:\\ `\n    && echo done\nWORKDIR C:\\app\n",
    );
    assert_eq!(d.directives[0].value, "`");
    assert_eq!(
        d.stages[0].instructions[0].kind,
        InstructionKind::Run(Run {
            command: CommandForm::Shell("dir C:\\     && echo done".into()),
            network: None,
            mounts: vec![],
            security: None,
            heredocs: vec![],
        })
    );
    assert_eq!(
        d.stages[0].instructions[1].kind,
        InstructionKind::Workdir("C:\\app".into())
    );
}

#[test]
fn keywords_are_case_insensitive_and_flags_may_be_quoted() {
    let d = ok("from a as B\ncopy --chown=\"a b\" x y\n");
    assert_eq!(d.stages[0].name.as_deref(), Some("b"));
    let InstructionKind::Copy(copy) = &d.stages[0].instructions[0].kind else {
        panic!("not a copy: {d:#?}");
    };
    assert_eq!(copy.chown.as_deref(), Some("a b"));
}
