//! Pushing to a `docker-registry` on 127.0.0.1: round trips, pushes that upload
//! nothing twice, and cross-repository mounts.

use super::server::LocalRegistry;
use crate::harness::Kiln;

/// A build context whose image prints a line of its own.
fn context(kiln: &Kiln) -> String {
    let dir = kiln.context(
        "push",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo pushed-and-back > /said\nCMD [\"cat\", \"/said\"]\n",
        )],
    );
    dir.display().to_string()
}

/// The digest of docker's last push line, `TAG: digest: sha256:… size: N`.
fn pushed_digest(output: &str, tag: &str) -> String {
    let prefix = format!("{tag}: digest: ");
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no push line in {output}"));
    let (digest, size) = line.split_once(" size: ").expect("size");
    assert!(size.parse::<u64>().is_ok(), "{line}");
    digest.to_string()
}

/// Lines of `kiln push` output that end with `what`.
fn layers_that(stderr: &str, what: &str) -> usize {
    stderr.lines().filter(|l| l.ends_with(what)).count()
}

#[test]
fn build_push_rmi_pull_run_gives_the_same_digest_and_output() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let name = format!("{}/app/round:1", registry.host);
    let build = kiln
        .cmd(&["build", "--push", "-t", &name, &context(&kiln)])
        .ok();
    let digest = pushed_digest(&build.stderr, "1");
    let id = kiln.image_id(&name);
    let inspect = kiln.cmd(&["inspect", &name]).ok();
    let repo = name.trim_end_matches(":1");
    assert!(
        inspect.stdout.contains(&format!("\"{repo}@{digest}\"")),
        "RepoDigests names the pushed manifest: {}",
        inspect.stdout
    );
    kiln.cmd(&["rmi", &name]).ok();
    let pull = kiln.cmd(&["pull", &name]).ok();
    assert!(
        pull.stdout.starts_with(&format!("Digest: {digest}\n")),
        "{}",
        pull.stdout
    );
    assert_eq!(kiln.image_id(&name), id, "the image id stays the same");
    assert_eq!(kiln.run_out(&name, &[]), "pushed-and-back\n");
}

#[test]
fn second_push_uploads_no_layer() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let name = format!("{}/app/twice:1", registry.host);
    kiln.build(&name, std::path::Path::new(&context(&kiln)))
        .ok();
    let first = kiln.cmd(&["push", &name]).ok();
    assert!(
        layers_that(&first.stderr, ": Pushed") > 0,
        "{}",
        first.stderr
    );
    let second = kiln.cmd(&["push", &name]).ok();
    assert_eq!(
        layers_that(&second.stderr, ": Pushed"),
        0,
        "{}",
        second.stderr
    );
    assert_eq!(
        layers_that(&second.stderr, ": Layer already exists"),
        layers_that(&first.stderr, ": Pushed"),
        "{}",
        second.stderr
    );
    assert_eq!(
        pushed_digest(&first.stdout, "1"),
        pushed_digest(&second.stdout, "1")
    );
}

#[test]
fn pushing_to_another_repository_mounts_instead_of_uploading() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let first = format!("{}/team/one:1", registry.host);
    let second = format!("{}/team/two:1", registry.host);
    kiln.build(&first, std::path::Path::new(&context(&kiln)))
        .ok();
    let pushed = kiln.cmd(&["push", &first]).ok();
    let layers = layers_that(&pushed.stderr, ": Pushed");
    kiln.cmd(&["tag", &first, &second]).ok();
    let mounted = kiln.cmd(&["push", &second]).ok();
    assert_eq!(
        layers_that(&mounted.stderr, ": Pushed"),
        0,
        "{}",
        mounted.stderr
    );
    assert_eq!(
        layers_that(&mounted.stderr, ": Mounted from team/one"),
        layers,
        "{}",
        mounted.stderr
    );
    assert_eq!(
        pushed_digest(&pushed.stdout, "1"),
        pushed_digest(&mounted.stdout, "1")
    );
}
