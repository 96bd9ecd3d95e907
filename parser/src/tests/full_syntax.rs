//! The instructions, flags, heredocs and warnings of the full syntax.

use std::time::Duration;

use super::{errors, ok};
use crate::{
    Add, CommandForm, HealthConfig, Healthcheck, InlineFile, InstructionKind, MountKind, Severity,
};

/// The kinds of the instructions of the only stage.
fn kinds(source: &str) -> Vec<InstructionKind> {
    let d = ok(source);
    d.stages
        .into_iter()
        .flat_map(|s| s.instructions)
        .map(|i| i.kind)
        .collect()
}

/// The messages of a successful parse's warnings.
fn warnings(source: &str) -> Vec<String> {
    ok(source).warnings.into_iter().map(|w| w.message).collect()
}

#[test]
fn every_other_instruction_is_typed() {
    let got = kinds(
        "FROM a\nVOLUME /a /b\nVOLUME [\"/c\"]\nSHELL [\"/bin/bash\", \"-c\"]\nSTOPSIGNAL SIGTERM\n\
         HEALTHCHECK NONE\nHEALTHCHECK --interval=1m30s --retries=3 CMD curl -f x\n\
         ADD --checksum=sha256:abc --keep-git-dir --link https://x/y.tgz /dst/\n",
    );
    let expected = vec![
        InstructionKind::Volume(vec!["/a".into(), "/b".into()]),
        InstructionKind::Volume(vec!["/c".into()]),
        InstructionKind::Shell(vec!["/bin/bash".into(), "-c".into()]),
        InstructionKind::Stopsignal("SIGTERM".into()),
        InstructionKind::Healthcheck(Healthcheck::None),
        InstructionKind::Healthcheck(Healthcheck::Check(HealthConfig {
            test: vec!["CMD-SHELL".into(), "curl -f x".into()],
            interval: Some(Duration::from_secs(90)),
            timeout: None,
            start_period: None,
            start_interval: None,
            retries: Some(3),
        })),
        InstructionKind::Add(Add {
            sources: vec!["https://x/y.tgz".into()],
            inline: vec![],
            dest: "/dst/".into(),
            chown: None,
            chmod: None,
            link: true,
            exclude: vec![],
            checksum: Some("sha256:abc".into()),
            keep_git_dir: Some(true),
            unpack: None,
        }),
    ];
    assert_eq!(got, expected);
}

#[test]
fn onbuild_types_its_trigger() {
    let got = kinds("FROM a\nONBUILD COPY --from=x a b\n");
    let InstructionKind::Onbuild(trigger) = &got[0] else {
        panic!("{got:?}");
    };
    assert_eq!(trigger.original, "COPY --from=x a b");
    assert!(matches!(&trigger.kind, InstructionKind::Copy(c) if c.from.as_deref() == Some("x")));
    assert_eq!(
        errors("FROM a\nONBUILD ONBUILD RUN x\nONBUILD MAINTAINER me\nONBUILD\n"),
        vec![
            (
                2,
                9,
                "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_owned()
            ),
            (
                3,
                9,
                "MAINTAINER isn't allowed as an ONBUILD trigger".to_owned()
            ),
            (4, 1, "ONBUILD requires at least one argument".to_owned()),
        ]
    );
}

#[test]
fn image_triggers_parse_alone() {
    let trigger = crate::parse_trigger("COPY --from=build /out /app").unwrap();
    assert_eq!(trigger.original, "COPY --from=build /out /app");
    assert!(
        matches!(&trigger.kind, InstructionKind::Copy(c) if c.from.as_deref() == Some("build"))
    );
    let message = |text: &str| {
        let e = crate::parse_trigger(text).unwrap_err();
        e.errors().map(|d| d.message.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        message("RUN a\nRUN b"),
        ["onbuild trigger should be a single expression"]
    );
    assert_eq!(
        message(""),
        ["onbuild trigger should be a single expression"]
    );
    assert_eq!(
        message("FROM x"),
        ["FROM isn't allowed as an ONBUILD trigger"]
    );
    assert_eq!(
        message("ONBUILD RUN x"),
        ["Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"]
    );
    assert_eq!(message("COPPY a b"), ["unknown instruction: COPPY"]);
}

#[test]
fn copy_and_run_flags() {
    let got = kinds(
        "FROM a\nCOPY --link --parents --exclude=*.md --exclude=x ./ /app/\n\
         RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=t --security=insecure make\n",
    );
    let InstructionKind::Copy(copy) = &got[0] else {
        panic!("{got:?}");
    };
    assert!(copy.link && copy.parents);
    assert_eq!(copy.exclude, ["*.md", "x"]);
    let InstructionKind::Run(run) = &got[1] else {
        panic!("{got:?}");
    };
    let kinds: Vec<MountKind> = run.mounts.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MountKind::Cache, MountKind::Secret]);
    assert_eq!(run.security, Some(crate::Security::Insecure));
    assert_eq!(
        errors("FROM a\nCOPY --link=maybe a b\nRUN --security=root x\nADD --from=x a b\n"),
        vec![
            (
                2,
                6,
                "expecting boolean value for flag link, not: maybe".to_owned()
            ),
            (3, 5, "unsupported security mode: \"root\"".to_owned()),
            (4, 5, "unknown flag: --from".to_owned()),
        ]
    );
}

#[test]
fn heredocs_reach_the_ast() {
    let source = "FROM a\nRUN <<EOF bash\necho $HOME\nEOF\nCOPY <<-'CONF' /etc/app.conf\n\tkey=1\nCONF\nRUN echo done\n";
    let d = ok(source);
    let instructions = &d.stages[0].instructions;
    let InstructionKind::Run(run) = &instructions[0].kind else {
        panic!("{instructions:?}");
    };
    assert_eq!(run.command, CommandForm::Shell("<<EOF bash".into()));
    assert_eq!(run.heredocs[0].content, "echo $HOME\n");
    assert_eq!(instructions[0].span.line, 2);
    let InstructionKind::Copy(copy) = &instructions[1].kind else {
        panic!("{instructions:?}");
    };
    assert_eq!(
        copy.inline,
        [InlineFile {
            name: "CONF".into(),
            data: "key=1\n".into(),
            expand: false,
        }]
    );
    assert_eq!(instructions[2].span.line, 8);
    assert_eq!(
        errors("FROM a\nRUN <<EOF\nnever ends\n"),
        vec![(2, 1, "unterminated heredoc".to_owned())]
    );
}

#[test]
fn warnings_do_not_fail_the_build() {
    assert_eq!(
        warnings("FROM a\nMAINTAINER me\nENV A 1\nCMD ['a', 'b']\nRUN a \\\n\n  b\n"),
        [
            "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
            "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
            "CMD looks like a JSON array but is not valid JSON, so it runs in a shell",
            "Empty continuation line found in: RUN a   b",
        ]
    );
    let d = ok("FROM a\nCMD [ -f x ]\n");
    assert!(d.warnings.iter().all(|w| w.severity == Severity::Warning));
    assert!(d.warnings.is_empty());
}

#[test]
fn argument_validation() {
    assert_eq!(
        errors(
            "FROM a\nEXPOSE 80/tcp 8000-7000\nSHELL /bin/sh -c\nHEALTHCHECK --interval=50ns CMD x\nSTOPSIGNAL\n"
        ),
        vec![
            (
                2,
                8,
                "invalid range specified for containerPort: 8000-7000".to_owned()
            ),
            (
                3,
                7,
                "SHELL requires the arguments to be in JSON form".to_owned()
            ),
            (
                4,
                13,
                "Interval \"interval\" cannot be less than 1ms".to_owned()
            ),
            (5, 1, "STOPSIGNAL requires exactly one argument".to_owned()),
        ]
    );
    // Words with variables are checked after expansion, by the solver.
    assert!(
        matches!(&kinds("FROM a\nEXPOSE $PORT\n")[0], InstructionKind::Expose(p) if p == &["$PORT"])
    );
}

#[test]
fn directives_and_doc_comments() {
    let d = ok(
        "# check=skip=all;error=true\n# base is the runtime\nFROM a AS base\n# V the version\nARG V=1\n",
    );
    assert_eq!(d.check.as_ref().map(|c| c.error), Some(true));
    assert_eq!(d.stages[0].doc.as_deref(), Some("is the runtime"));
    let InstructionKind::Arg(args) = &d.stages[0].instructions[0].kind else {
        panic!("{d:?}");
    };
    assert_eq!(args[0].doc.as_deref(), Some("the version"));
    assert_eq!(
        errors("# check=colour=red\nFROM a\n"),
        vec![(
            1,
            1,
            "invalid check directive: unknown key \"colour\" (use skip, error or experimental)"
                .to_owned()
        )]
    );
}

#[test]
fn over_long_lines_are_errors() {
    let source = format!("FROM a\nLABEL x={}\nRUN y\n", "a".repeat(70_000));
    assert_eq!(
        errors(&source),
        vec![(
            2,
            1,
            "dockerfile line greater than max allowed size of 65535".to_owned()
        )]
    );
}
