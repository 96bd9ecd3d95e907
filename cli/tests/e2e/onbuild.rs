//! ONBUILD across builds: triggers stored in one image run when another build's FROM
//! uses it, as BuildKit runs them.

use crate::harness::Kiln;

fn config(kiln: &Kiln, image: &str) -> serde_json::Value {
    let out = kiln.cmd(&["inspect", image]).ok().stdout;
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    all[0]["Config"].clone()
}

/// The parent image, tagged `parent:1`, with `triggers` as its ONBUILD lines.
fn parent(kiln: &Kiln, triggers: &str) {
    let dockerfile = format!("FROM busybox:local\n{triggers}");
    let dir = kiln.context("parent", &[("Dockerfile", &dockerfile)]);
    kiln.build("parent:1", &dir).ok();
}

#[test]
fn onbuild_image_runs_its_triggers_in_a_later_build() {
    let kiln = Kiln::new();
    parent(
        &kiln,
        "ONBUILD ARG GREETING=hello\nONBUILD RUN echo \"$GREETING\" > /triggered\n\
         ONBUILD COPY a.txt /onbuild-a\n",
    );
    assert_eq!(
        config(&kiln, "parent:1")["OnBuild"],
        serde_json::json!([
            "ARG GREETING=hello",
            "RUN echo \"$GREETING\" > /triggered",
            "COPY a.txt /onbuild-a"
        ])
    );
    // The parent ran none of them.
    let run = kiln.cmd(&["run", "--rm", "parent:1", "ls", "/triggered"]);
    assert_ne!(run.code, 0, "{}", run.stdout);

    let child = kiln.context(
        "child",
        &[
            (
                "Dockerfile",
                "FROM parent:1\nRUN cat /triggered /onbuild-a > /both\n",
            ),
            ("a.txt", "from the child's context\n"),
        ],
    );
    let run = kiln.build("child:1", &child).ok();
    // BuildKit's progress: triggers right after FROM, each counted, marked ONBUILD.
    for line in [
        "[1/5] FROM docker.io/library/parent:1",
        "[2/5] ONBUILD RUN echo \"$GREETING\" > /triggered",
        "[3/5] ONBUILD COPY a.txt /onbuild-a",
        "[4/5] RUN cat /triggered /onbuild-a > /both",
    ] {
        assert!(
            run.stderr.contains(line),
            "missing {line:?}:\n{}",
            run.stderr
        );
    }
    assert_eq!(
        kiln.run_out("child:1", &["cat", "/both"]),
        "hello\nfrom the child's context\n"
    );
    // Triggers run once: the child's image has none.
    assert!(config(&kiln, "child:1").get("OnBuild").is_none());
    let history = kiln.cmd(&["history", "--no-trunc", "child:1"]).ok().stdout;
    for text in [
        "ARG GREETING=hello",
        "RUN |1 GREETING=hello /bin/sh -c echo \"$GREETING\" > /triggered # buildkit",
        "COPY a.txt /onbuild-a # buildkit",
    ] {
        assert!(history.contains(text), "missing {text:?}:\n{history}");
    }
    // A grandchild runs nothing of the parent's.
    let grandchild = kiln.context(
        "grandchild",
        &[("Dockerfile", "FROM child:1\nRUN echo ok\n")],
    );
    let run = kiln.build("grandchild:1", &grandchild).ok();
    assert!(!run.stderr.contains("ONBUILD"), "{}", run.stderr);
}

#[test]
fn onbuild_copy_from_pulls_the_named_stage_into_the_build() {
    let kiln = Kiln::new();
    parent(&kiln, "ONBUILD COPY --from=builder /out /app/out\n");
    let child = kiln.context(
        "child",
        &[(
            "Dockerfile",
            "FROM busybox:local AS builder\nRUN echo built > /out\n\
             FROM parent:1\nRUN cat /app/out\n",
        )],
    );
    kiln.build("child:1", &child).ok();
    assert_eq!(kiln.run_out("child:1", &["cat", "/app/out"]), "built\n");
}

#[test]
fn onbuild_failing_trigger_names_the_trigger_and_the_from_line() {
    let kiln = Kiln::new();
    parent(&kiln, "ONBUILD RUN exit 3\n");
    let child = kiln.context("child", &[("Dockerfile", "# the base\nFROM parent:1\n")]);
    let run = kiln.build("child:1", &child);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for needle in [
        "[2/2] ONBUILD RUN exit 3",
        "exit code: 3",
        "Dockerfile:2:1]",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?}:\n{}",
            run.stderr
        );
    }

    // Refused when lowered: the message names the trigger and its image.
    parent(&kiln, "ONBUILD RUN --network=host true\n");
    let run = kiln.build("child:1", &child);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for needle in [
        "ONBUILD trigger `RUN --network=host true` of image `parent:1`: `RUN --network=host` \
         needs the `network.host` entitlement",
        "Dockerfile:2:1]",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn onbuild_chained_or_from_triggers_are_refused() {
    let kiln = Kiln::new();
    for (trigger, message) in [
        (
            "ONBUILD ONBUILD RUN x",
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
        (
            "ONBUILD MAINTAINER me",
            "MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
    ] {
        let dockerfile = format!("FROM busybox:local\n{trigger}\n");
        let dir = kiln.context("refused", &[("Dockerfile", &dockerfile)]);
        let run = kiln.build("refused:1", &dir);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{}", run.stderr);
    }
}
