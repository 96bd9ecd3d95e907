//! Random trees round-trip: apply(write(T)) describes like T, and writing it again gives the
//! very same bytes.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use proptest::prelude::*;

use super::super::LayerOptions;
use super::{apply_bytes, describe_tree, layer_bytes, set_mtime};

#[derive(Debug, Clone)]
enum Node {
    File(Vec<u8>, u32),
    Dir(u32),
    Link(String),
}

fn node() -> impl Strategy<Value = Node> {
    prop_oneof![
        (
            proptest::collection::vec(any::<u8>(), 0..2000),
            0o400u32..0o7777
        )
            .prop_map(|(c, m)| Node::File(c, m)),
        (0o700u32..0o7777).prop_map(Node::Dir),
        "[a-z./]{0,12}".prop_map(Node::Link),
    ]
}

fn tree() -> impl Strategy<Value = Vec<(Vec<String>, Node, i64)>> {
    let comp = "[a-c.\u{e9}]{1,3}|[x-z]{90,120}";
    proptest::collection::vec(
        (
            proptest::collection::vec(comp, 1..4),
            node(),
            0i64..2_000_000_000,
        ),
        0..24,
    )
}

fn build(root: &Path, spec: &[(Vec<String>, Node, i64)]) {
    let mut made = Vec::new();
    for (comps, node, mtime) in spec {
        if comps
            .iter()
            .any(|c| c == "." || c == ".." || c.starts_with(".wh."))
        {
            continue;
        }
        let path = comps.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        let Some(parent) = path.parent() else {
            continue;
        };
        if fs::create_dir_all(parent).is_err() || fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        let ok = match node {
            Node::File(content, mode) => fs::write(&path, content)
                .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(*mode))),
            Node::Dir(mode) => fs::create_dir(&path)
                .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(*mode))),
            Node::Link(target) => symlink(target, &path),
        };
        if ok.is_ok() {
            made.push((path, *mtime));
        }
    }
    made.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (p, t) in made {
        set_mtime(&p, t);
    }
    // Directories created implicitly got today's time; pin every directory.
    let mut all = Vec::new();
    super::collect(root, &mut all);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in all {
        if fs::symlink_metadata(&p)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            set_mtime(&p, 1_234_567_890);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_trees_round_trip(spec in tree()) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        fs::create_dir(&src).expect("mkdir");
        fs::create_dir(&dst).expect("mkdir");
        build(&src, &spec);
        let data = layer_bytes(&src, &LayerOptions::default());
        apply_bytes(&data, &dst);
        prop_assert_eq!(describe_tree(&src), describe_tree(&dst));
        prop_assert_eq!(data, layer_bytes(&dst, &LayerOptions::default()));
    }
}
