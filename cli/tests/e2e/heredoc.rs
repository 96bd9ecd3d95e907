//! Heredocs in RUN and COPY. dockerd 20.10's BuildKit needs `# syntax=docker/dockerfile:1.4`
//! (a frontend image from the internet) for them, so these expectations follow the
//! Dockerfile reference ("Here-Documents") and current BuildKit's dockerfile2llb
//! (`dispatchRun`, `dispatchCopy`, the raw expansion of COPY's heredoc bodies).

use crate::harness::Kiln;

#[test]
fn run_heredocs_are_scripts_or_here_documents_for_the_shell() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "run",
        &[(
            "Dockerfile",
            // A bare `<<EOF` is the shell's script; with a shebang line it runs as the
            // file /dev/pipes/EOF; other heredocs go to the shell with the command line
            // (file descriptors, `<<-` and the shell's own expansion included).
            "FROM busybox:local\n\
             ARG WHO=arg\n\
             ENV WHERE=env\n\
             RUN <<EOF\n\
             echo one > /one\n\
             echo \"$WHO $WHERE\" >> /one\n\
             EOF\n\
             RUN <<-EOF\n\
             \t#!/bin/sh\n\
             \techo \"$0 $WHO\" > /script\n\
             \tEOF\n\
             RUN <<-A 3<<'B' sh -c 'cat > /stdin; cat <&3 > /fd3'\n\
             \ttabbed $WHO\n\
             \tA\n\
             three $WHO\n\
             B\n",
        )],
    );
    kiln.build("run:1", &dir).ok();
    let out = kiln.run_out("run:1", &["cat", "/one", "/script", "/stdin", "/fd3"]);
    assert_eq!(
        out,
        "one\narg env\n/dev/pipes/EOF arg\ntabbed arg\nthree $WHO\n"
    );
    // Nothing of /dev/pipes is left in the image's filesystem.
    let out = dir.join("out");
    let dest = format!("type=local,dest={}", out.display());
    kiln.cmd(&["build", "-o", &dest, &dir.display().to_string()])
        .ok();
    assert!(out.join("one").exists());
    assert!(!out.join("dev/pipes").exists());
}

#[test]
fn copy_heredocs_make_files_expanded_unless_quoted() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "copy",
        &[
            ("f", "from the context\n"),
            (
                "Dockerfile",
                "FROM busybox:local\n\
             ARG NAME=world\n\
             ENV GREETING=hello\n\
             COPY <<EOT /hello.txt\n\
             $GREETING \"$NAME\" ${UNSET} \\$NAME\n\
             EOT\n\
             COPY --chown=1:2 <<\"EOT\" <<-EOT2 /dir/sub/\n\
             literal $NAME\n\
             EOT\n\
             \ttabbed $NAME\n\
             \tEOT2\n\
             WORKDIR /w\n\
             COPY --chmod=755 <<EOF run.sh\n\
             #!/bin/sh\n\
             EOF\n\
             COPY f <<EOF /mix/\n\
             inline\n\
             EOF\n",
            ),
        ],
    );
    kiln.build("copy:1", &dir).ok();
    let out = kiln.run_out(
        "copy:1",
        &[
            "sh",
            "-c",
            "cd / && cat hello.txt dir/sub/EOT dir/sub/EOT2 mix/f mix/EOF && \
             stat -c '%n %a %u:%g' hello.txt dir dir/sub dir/sub/EOT dir/sub/EOT2 w/run.sh",
        ],
    );
    assert_eq!(
        out,
        "hello \"world\" ${UNSET} $NAME\n\
         literal $NAME\n\
         tabbed world\n\
         from the context\n\
         inline\n\
         hello.txt 644 0:0\n\
         dir 755 1:2\n\
         dir/sub 755 1:2\n\
         dir/sub/EOT 644 1:2\n\
         dir/sub/EOT2 644 1:2\n\
         w/run.sh 755 0:0\n"
    );
}

#[test]
fn a_heredoc_body_is_in_the_cache_key() {
    let kiln = Kiln::new();
    let dockerfile = |body: &str| {
        format!(
            "FROM busybox:local\nCOPY <<EOF /f\n{body}\nEOF\nRUN <<EOF\necho {body} > /g\nEOF\n"
        )
    };
    let dir = kiln.context("key", &[("Dockerfile", &dockerfile("one"))]);
    kiln.build("key:1", &dir).ok();
    let again = kiln.build("key:1", &dir).ok();
    assert_eq!(again.status_of("COPY <<EOF"), "CACHED");
    assert_eq!(again.status_of("RUN <<EOF"), "CACHED");
    std::fs::write(dir.join("Dockerfile"), dockerfile("two")).unwrap();
    let changed = kiln.build("key:1", &dir).ok();
    assert!(changed.status_of("COPY <<EOF").starts_with("DONE"));
    assert!(changed.status_of("RUN <<EOF").starts_with("DONE"));
    assert_eq!(kiln.run_out("key:1", &["cat", "/f", "/g"]), "two\ntwo\n");
}

#[test]
fn several_heredocs_need_a_folder_destination() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "dest",
        &[(
            "Dockerfile",
            "FROM busybox:local\nCOPY <<A <<B /file\na\nA\nb\nB\n",
        )],
    );
    let run = kiln.build("dest:1", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("Dockerfile:2:1"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the destination must be a directory and end with a /"),
        "{}",
        run.stderr
    );
}
