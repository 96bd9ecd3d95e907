//! What COPY takes from the context: symlink sources followed inside it (the cache key
//! following them too), special files as BuildKit's context transfer gives them, and
//! the `.dockerignore` walk the copy and the key share.

use crate::harness::Kiln;
use std::os::unix::fs::symlink;

#[test]
fn symlink_sources_are_followed_inside_the_context_and_their_targets_key_the_step() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "links",
        &[
            (
                "Dockerfile",
                "FROM busybox:local\nCOPY dirlink /tree/\nCOPY link.txt abs up /files/\n",
            ),
            ("a.txt", "one\n"),
            ("real/f", "f\n"),
        ],
    );
    symlink("a.txt", dir.join("link.txt")).unwrap();
    symlink("/a.txt", dir.join("abs")).unwrap();
    symlink("../../a.txt", dir.join("up")).unwrap();
    symlink("real", dir.join("dirlink")).unwrap();
    symlink("f", dir.join("real/inner")).unwrap();
    kiln.build("links:1", &dir).ok();
    let show = "cat /files/link.txt /files/abs /files/up /tree/f; \
                stat -c '%F %n' /files/* /tree/inner; readlink /tree/inner";
    assert_eq!(
        kiln.run_out("links:1", &["sh", "-c", show]),
        "one\none\none\nf\nregular file /files/abs\nregular file /files/link.txt\n\
         regular file /files/up\nsymbolic link /tree/inner\nf\n"
    );
    // The link's target is what the key hashes: changing it reruns the COPY.
    std::fs::write(dir.join("a.txt"), "two\n").unwrap();
    let again = kiln.build("links:1", &dir).ok();
    assert_eq!(again.status_of("[2/3]"), "CACHED", "{}", again.stderr);
    assert_ne!(again.status_of("[3/3]"), "CACHED", "{}", again.stderr);
    assert_eq!(
        kiln.run_out("links:1", &["cat", "/files/link.txt"]),
        "two\n"
    );
}

#[test]
fn a_link_out_of_the_context_resolves_inside_it_never_to_a_host_file() {
    let kiln = Kiln::new();
    let marker = kiln.work.path().join("host-secret");
    std::fs::write(&marker, "host secret").unwrap();
    let dir = kiln.context(
        "escape",
        &[("Dockerfile", "FROM busybox:local\nCOPY out /stolen\n")],
    );
    symlink(&marker, dir.join("out")).unwrap();
    let run = kiln.build("escape:1", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("COPY out /stolen") && run.stderr.contains("\"out\": not found"),
        "{}",
        run.stderr
    );
    // The same path inside the context is what the link names.
    let inside = dir.join(marker.strip_prefix("/").unwrap());
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "inside\n").unwrap();
    kiln.build("escape:1", &dir).ok();
    assert_eq!(kiln.run_out("escape:1", &["cat", "/stolen"]), "inside\n");
}

#[test]
fn excluded_folders_are_copied_only_for_what_an_exception_keeps_below_them() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "reinclude",
        &[
            (
                "Dockerfile",
                "FROM busybox:local\nCOPY . /ctx\nRUN cd /ctx && find . | sort > /list\n",
            ),
            (
                ".dockerignore",
                "foo*\n!*/bar2\nDockerfile\n.dockerignore\n",
            ),
            ("bar", "b"),
            ("foo/bar2", "k"),
            ("foo/other", "o"),
            ("foo2/x", "x"),
        ],
    );
    kiln.build("reinclude:1", &dir).ok();
    assert_eq!(
        kiln.run_out("reinclude:1", &["cat", "/list"]),
        ".\n./bar\n./foo\n./foo/bar2\n"
    );
}

#[test]
fn copy_from_follows_symlink_sources_inside_the_stage() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "from-links",
        &[(
            "Dockerfile",
            "FROM busybox:local AS s\n\
             RUN mkdir -p /data/sub /out && echo f > /data/f && ln -s f /data/sub/inner \
             && ln -s /data/f /out/link && ln -s ../data /out/dirlink\n\
             FROM busybox:local\n\
             COPY --from=s /out/link /x\n\
             COPY --from=s /out/dirlink /y/\n\
             COPY --from=s /out/l* /w/\n",
        )],
    );
    kiln.build("from-links:1", &dir).ok();
    let show = "cat /x /y/f /w/link; stat -c '%F %n' /x /y/f /y/sub/inner /w/link";
    assert_eq!(
        kiln.run_out("from-links:1", &["sh", "-c", show]),
        "f\nf\nf\nregular file /x\nregular file /y/f\nsymbolic link /y/sub/inner\n\
         regular file /w/link\n"
    );
}
