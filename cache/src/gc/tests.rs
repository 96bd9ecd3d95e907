//! Prune and du on real state roots in temp dirs.

use super::*;
use crate::index::{CacheRecord, OnConflict};
use crate::oci::ImageConfig;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A shared store; drop it before pruning (prune locks the root exclusively).
    fn store(&self) -> Store {
        Store::open(self.dir.path(), LockMode::Shared).unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn snapshot_dir(&self, id: &str) -> PathBuf {
        self.path("snapshots-v1").join(id)
    }

    fn prune(&self, options: PruneOptions) -> PruneReport {
        prune(self.dir.path(), &options).unwrap()
    }

    /// Keys of the records left, sorted.
    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .store()
            .index()
            .all_records()
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect();
        keys.sort();
        keys
    }
}

/// Commits a step writing `bytes` bytes on `parent`, with a record `key` last used at
/// `used`; returns the snapshot id.
fn step(store: &Store, parent: Option<&str>, key: &str, bytes: usize, used: i64) -> String {
    let active = store.prepare(parent).unwrap();
    if bytes > 0 {
        std::fs::write(active.fs_dir().join(key), vec![b'x'; bytes]).unwrap();
    }
    let id = active.id().to_string();
    let record = CacheRecord {
        key: key.into(),
        snapshot: id.clone(),
        description: format!("RUN {key}"),
        created: used,
        last_used: used,
    };
    store
        .commit_step(active, &record, OnConflict::KeepFirst)
        .unwrap();
    id
}

fn tag(store: &Store, top: &str, name: &str) {
    let config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        ..Default::default()
    };
    store
        .write_image(config, Some(top), &[name.into()], 1, None)
        .unwrap();
}

fn removed_keys(report: &PruneReport) -> Vec<&str> {
    report.records.iter().map(|r| r.key.as_str()).collect()
}

#[test]
fn leftovers_of_killed_builds_are_reclaimed() {
    let f = Fixture::new();
    let store = f.store();
    let base = step(&store, None, "base", 10, 1);
    let active = store.prepare(Some(&base)).unwrap();
    std::fs::write(active.fs_dir().join("partial"), b"12345").unwrap();
    let active_id = active.id().to_string();
    // A committed snapshot whose dir vanished, with a record and a child.
    let gone = step(&store, Some(&base), "gone", 1, 1);
    let child = step(&store, Some(&gone), "child", 1, 1);
    std::fs::remove_dir_all(f.snapshot_dir(&gone)).unwrap();
    drop(store);
    std::fs::create_dir_all(f.snapshot_dir("new-0123").join("fs")).unwrap();
    std::fs::write(f.path("tmp-v1/blob-0123"), b"partial blob").unwrap();
    std::fs::create_dir_all(f.path("snapshots-v0/x")).unwrap();
    std::fs::write(f.path(".tmp-abc"), b"t").unwrap();
    std::fs::create_dir(f.path("notes")).unwrap();

    let report = f.prune(PruneOptions {
        until: Some(Until::Time(0)),
        ..Default::default()
    });

    assert!(
        removed_keys(&report).is_empty(),
        "the filter protects records"
    );
    for path in [
        f.snapshot_dir(&active_id),
        f.snapshot_dir("new-0123"),
        f.snapshot_dir(&child),
        f.path("tmp-v1/blob-0123"),
        f.path("snapshots-v0"),
        f.path(".tmp-abc"),
    ] {
        assert!(!path.exists(), "{} survived", path.display());
    }
    assert!(report.leftovers.contains(&f.snapshot_dir(&active_id)));
    assert!(
        f.path("notes").is_dir(),
        "unversioned folders are not kiln's"
    );
    assert!(f.snapshot_dir(&base).is_dir());
    assert_eq!(f.keys(), ["base"], "records of missing snapshots go too");
    let ids: Vec<String> = f
        .store()
        .index()
        .snapshots()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [base]);
    assert!(report.reclaimed >= 18, "5 + 12 + 1 bytes of leftovers");
}

#[test]
fn dangling_records_go_and_image_snapshots_survive_all() {
    let f = Fixture::new();
    let store = f.store();
    let base = step(&store, None, "base", 10, 1);
    let app = step(&store, Some(&base), "app", 20, 1);
    let old = step(&store, Some(&base), "old", 30, 1);
    tag(&store, &app, "app:1");
    let junk = store.content().write_blob(b"unreachable").unwrap();
    drop(store);

    let report = f.prune(PruneOptions::default());
    assert_eq!(removed_keys(&report), ["old"]);
    assert_eq!(report.records[0].size, 30);
    assert_eq!(report.records[0].description, "RUN old");
    assert!(!f.snapshot_dir(&old).exists());
    assert_eq!(f.keys(), ["app", "base"]);
    let store = f.store();
    assert!(
        !store.content().has_blob(&junk),
        "unreachable blobs are deleted"
    );
    let image = store.image("app:1").unwrap();
    for layer in &image.manifest.layers {
        // Built layers stay uncompressed, and prune keeps their tar blobs.
        assert_eq!(layer.media_type, crate::oci::MEDIA_TYPE_LAYER_TAR);
        assert!(store.content().has_blob(&layer.digest));
        assert!(
            store
                .index()
                .layer_diff_source(&layer.digest)
                .unwrap()
                .is_some()
        );
    }
    drop(store);

    let report = f.prune(PruneOptions {
        all: true,
        ..Default::default()
    });
    assert_eq!(removed_keys(&report), ["app", "base"]);
    assert!(f.keys().is_empty());
    let store = f.store();
    let image = store.image("app:1").unwrap();
    assert_eq!(store.image_snapshot(&image).unwrap(), Some(app.clone()));
    assert!(f.snapshot_dir(&app).join("fs/app").exists());
    assert!(f.snapshot_dir(&base).join("fs/base").exists());
}

#[test]
fn an_untagged_image_a_container_uses_survives_until_the_container_goes() {
    let f = Fixture::new();
    let store = f.store();
    let base = step(&store, None, "base", 10, 1);
    let app = step(&store, Some(&base), "app", 20, 1);
    tag(&store, &app, "app:1");
    let image = store.image("app:1").unwrap();
    let container = store.root().containers_dir().join("c1");
    std::fs::create_dir_all(&container).unwrap();
    store.record_container_image("c1", &image.row).unwrap();
    store.untag_image(&image.row.name).unwrap();
    assert!(store.index().images().unwrap().is_empty());
    drop(store);

    let report = f.prune(PruneOptions::default());
    assert!(removed_keys(&report).is_empty(), "not dangling: in use");
    assert!(f.snapshot_dir(&app).join("fs/app").exists());
    let store = f.store();
    let kept = store.image_by_manifest(&image.row.manifest_digest).unwrap();
    assert_eq!(store.image_snapshot(&kept).unwrap(), Some(app.clone()));
    drop(store);

    std::fs::remove_dir_all(&container).unwrap();
    let report = f.prune(PruneOptions::default());
    assert_eq!(removed_keys(&report), ["app", "base"]);
    assert!(!f.snapshot_dir(&app).exists());
    assert!(!f.store().content().has_blob(&image.row.manifest_digest));
}

#[test]
fn an_empty_last_step_of_an_image_is_not_dangling() {
    let f = Fixture::new();
    let store = f.store();
    let base = step(&store, None, "base", 10, 1);
    let top = step(&store, Some(&base), "noop", 0, 1);
    tag(&store, &top, "app:1");
    let usage = store.disk_usage().unwrap();
    assert!(usage.records.iter().all(|r| !r.reclaimable), "{usage:?}");
    drop(store);
    assert!(removed_keys(&f.prune(PruneOptions::default())).is_empty());
    assert!(f.snapshot_dir(&top).is_dir());
}

#[test]
fn ancestors_of_kept_records_stay() {
    let f = Fixture::new();
    let store = f.store();
    let now = crate::root::unix_now();
    let a = step(&store, None, "a", 10, 1);
    let b = step(&store, Some(&a), "b", 10, now);
    drop(store);
    let report = f.prune(PruneOptions {
        until: Some(Until::Age(3600)),
        ..Default::default()
    });
    assert_eq!(removed_keys(&report), ["a"], "only the old record");
    assert!(f.snapshot_dir(&a).is_dir(), "b still needs its parent");
    assert!(f.snapshot_dir(&b).is_dir());
    assert_eq!(f.keys(), ["b"]);
}

#[test]
fn keep_storage_removes_least_recently_used_first() {
    let f = Fixture::new();
    let store = f.store();
    let oldest = step(&store, None, "oldest", 100, 1);
    step(&store, None, "middle", 200, 2);
    step(&store, None, "newest", 300, 3);
    assert_eq!(store.disk_usage().unwrap().total, 600);
    drop(store);
    let report = f.prune(PruneOptions {
        keep_storage: Some(350),
        ..Default::default()
    });
    assert_eq!(removed_keys(&report), ["oldest", "middle"]);
    assert_eq!(report.reclaimed, 300);
    assert!(!f.snapshot_dir(&oldest).exists());
    assert_eq!(f.keys(), ["newest"]);
    let report = f.prune(PruneOptions {
        keep_storage: Some(300),
        ..Default::default()
    });
    assert!(report.records.is_empty(), "already small enough");
}

#[test]
fn du_splits_shared_private_and_reclaimable() {
    let f = Fixture::new();
    let store = f.store();
    let base = step(&store, None, "base", 10, 1);
    let app = step(&store, Some(&base), "app", 20, 1);
    step(&store, Some(&base), "old", 30, 1);
    tag(&store, &app, "app:1");
    let usage = store.disk_usage().unwrap();
    let rows: Vec<(&str, bool, u64)> = usage
        .records
        .iter()
        .map(|r| (r.description.as_str(), r.reclaimable, r.size))
        .collect();
    assert_eq!(
        rows,
        [
            ("RUN old", true, 30),
            ("RUN app", false, 20),
            ("RUN base", false, 10)
        ]
    );
    assert_eq!(
        (usage.shared, usage.private, usage.reclaimable, usage.total),
        (30, 30, 30, 60)
    );
}

#[test]
fn deep_tree_gc_prune_does_not_overflow() -> std::result::Result<(), Box<dyn std::error::Error>> {
    use crate::tree::testing::{DEEP, make_chain, on_small_stack};
    let f = Fixture::new();
    let root = f.dir.path().to_path_buf();
    let (committed, killed) = on_small_stack(move || {
        let store = Store::open(&root, LockMode::Shared)?;
        let active = store.prepare(None)?;
        make_chain(&active.fs_dir(), DEEP, b"leaf")?;
        let id = active.id().to_string();
        let record = CacheRecord {
            key: "deep".into(),
            snapshot: id.clone(),
            description: "RUN deep".into(),
            created: 1,
            last_used: 1,
        };
        let row = store.commit_step(active, &record, OnConflict::KeepFirst)?;
        assert_eq!((row.size, row.empty), (4, false));
        // A build killed while its RUN had made a deep tree.
        let killed = store.prepare(Some(&id))?;
        make_chain(&killed.fs_dir(), DEEP, b"")?;
        let killed_id = killed.id().to_string();
        drop(store);
        let report = prune(&root, &PruneOptions::default())?;
        assert_eq!(removed_keys(&report), ["deep"]);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((id, killed_id))
    })
    .map_err(|e| e.to_string())?;
    assert!(!f.snapshot_dir(&committed).exists());
    assert!(!f.snapshot_dir(&killed).exists());
    Ok(())
}
