use super::*;

#[test]
fn remove_tree_counts_bytes_and_keeps_symlink_targets() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let outside = dir.path().join("outside");
    std::fs::write(&outside, b"keep me")?;
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("a/b"))?;
    std::fs::write(tree.join("a/b/f"), b"12345")?;
    std::os::unix::fs::symlink(&outside, tree.join("a/link"))?;
    std::os::unix::fs::symlink(dir.path(), tree.join("dirlink"))?;
    assert_eq!(remove_tree(&tree)?, 5);
    assert!(!tree.exists());
    assert_eq!(std::fs::read(&outside)?, b"keep me");
    assert_eq!(remove_tree(&tree)?, 0, "a missing path is nothing to do");
    Ok(())
}

#[test]
fn deep_tree_remove_does_not_overflow() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree)?;
    testing::make_chain(&tree, testing::DEEP, b"leaf")?;
    let removed = testing::on_small_stack(|| remove_tree(&tree))?;
    assert_eq!(removed, 4);
    assert!(!tree.exists());
    Ok(())
}

#[test]
fn deep_tree_size_does_not_overflow() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    testing::make_chain(dir.path(), testing::DEEP, b"leaf")?;
    let size = testing::on_small_stack(|| tree_size(dir.path()))?;
    assert_eq!(size, (4, testing::DEEP as u64 + 1));
    remove_tree(&dir.path().join("d"))?;
    Ok(())
}

/// A visitor that counts, at the deepest point, the fds open on the tree.
struct FdCounter {
    top: std::path::PathBuf,
    most: usize,
}

impl Visitor for FdCounter {
    type Item = DirEntry;
    type Error = WalkError;

    fn name<'a>(&self, item: &'a DirEntry) -> &'a [u8] {
        &item.name
    }

    fn list(
        &mut self,
        _dir: std::os::fd::BorrowedFd<'_>,
        _rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<DirEntry>, WalkError> {
        let open = std::fs::read_dir("/proc/self/fd")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|target| target.starts_with(&self.top))
            .count();
        self.most = self.most.max(open);
        Ok(entries)
    }

    fn visit(
        &mut self,
        _dir: std::os::fd::BorrowedFd<'_>,
        _rel: &[u8],
        item: &DirEntry,
    ) -> Result<bool, WalkError> {
        Ok(item.name == b"d")
    }
}

#[test]
fn deep_tree_walk_keeps_its_fd_budget() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    testing::make_chain(dir.path(), 200, b"")?;
    let mut counter = FdCounter {
        top: dir.path().to_path_buf(),
        most: 0,
    };
    let top = open_dir_at(rustix::fs::CWD, dir.path().as_os_str().as_encoded_bytes())?;
    walk(top, dir.path(), &mut counter)?;
    assert!(
        (FD_BUDGET..=FD_BUDGET + 1).contains(&counter.most),
        "{} fds open",
        counter.most
    );
    remove_tree(&dir.path().join("d"))?;
    Ok(())
}

#[test]
fn deep_tree_walk_fails_when_a_closed_level_moves() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree)?;
    testing::make_chain(&tree, FD_BUDGET + 4, b"")?;
    // Entering the deepest level, move the top level's child away: climbing back through `..`
    // would then reach the new parent, which is not the directory the walk came from.
    struct Mover {
        tree: std::path::PathBuf,
        moved: bool,
    }
    impl Visitor for Mover {
        type Item = DirEntry;
        type Error = WalkError;
        fn name<'a>(&self, item: &'a DirEntry) -> &'a [u8] {
            &item.name
        }
        fn list(
            &mut self,
            _dir: std::os::fd::BorrowedFd<'_>,
            rel: &[u8],
            entries: Vec<DirEntry>,
        ) -> Result<Vec<DirEntry>, WalkError> {
            if !self.moved && rel.len() == 2 * (FD_BUDGET + 4) - 1 {
                let elsewhere = self.tree.with_file_name("elsewhere");
                std::fs::create_dir(&elsewhere).map_err(|e| self.fail(e))?;
                std::fs::rename(self.tree.join("d/d"), elsewhere.join("d"))
                    .map_err(|e| self.fail(e))?;
                self.moved = true;
            }
            Ok(entries)
        }
        fn visit(
            &mut self,
            _dir: std::os::fd::BorrowedFd<'_>,
            _rel: &[u8],
            item: &DirEntry,
        ) -> Result<bool, WalkError> {
            Ok(item.name == b"d")
        }
    }
    impl Mover {
        fn fail(&self, source: std::io::Error) -> WalkError {
            WalkError {
                op: "move",
                path: self.tree.clone(),
                source,
            }
        }
    }
    let top = open_dir_at(rustix::fs::CWD, tree.as_os_str().as_encoded_bytes())?;
    let mut mover = Mover {
        tree: tree.clone(),
        moved: false,
    };
    let err = walk(top, &tree, &mut mover)
        .err()
        .ok_or("the walk went on")?;
    assert!(mover.moved);
    assert!(
        err.to_string().contains("go back up from"),
        "{err}: {:?}",
        err.source
    );
    Ok(())
}
