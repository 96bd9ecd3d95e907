//! `COPY` of host files into a root: the host side is walked fd-relative from the source (it is
//! the build context, never followed through symlinks), the root side only through fds (see
//! [`super::resolve`]), both without recursion, so trees of any depth copy.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use super::chmod::Chmod;
use super::ops::{self, Existing};
use super::resolve;
use super::{RootDir, RootfsError};
use crate::tree::{
    DirEntry, DirStack, Stat, Visitor, entry_path, open_dir_at, open_file_at, stat_at, walk,
};

/// Options of [`RootDir::copy_in`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Owner `uid:gid` of everything copied and of the directories created (`--chown`); `0:0` when `None`.
    pub chown: Option<(u32, u32)>,
    /// Without `chown`, the copied entries keep their source's owner (`COPY --from`, as BuildKit)
    /// instead of getting `0:0`; the directories created are still `0:0`.
    pub keep_owner: bool,
    /// Mode of every copied file and directory (`--chmod`, applied to the source's mode),
    /// and of the folders created on the way ([`Chmod::created_dir_mode`]); the source's
    /// mode (0755 for created folders) when `None`.
    pub chmod: Option<Chmod>,
    /// Sockets and device nodes arrive as empty regular files with their permission bits,
    /// as BuildKit's transfer of a build context gives them; otherwise they are skipped.
    /// Fifos are skipped either way.
    pub special_as_files: bool,
}

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Regular files and symlinks copied.
    pub files: u64,
    /// Bytes of regular-file content copied.
    pub bytes: u64,
}

struct Copier<'a> {
    /// The host source, for errors.
    src: &'a Path,
    /// The in-root destination path, for errors.
    dest: &'a [u8],
    /// The in-root directories matching the source directories being walked.
    dirs: DirStack,
    /// Owner of the copied entries; `None`: each keeps its source's.
    owner: Option<(u32, u32)>,
    chmod: Option<&'a Chmod>,
    special_as_files: bool,
    exclude: &'a dyn Fn(&Path, bool) -> bool,
    data: DataCopier,
    /// The root, to link later names of a hard-linked source file to its first copy.
    root: BorrowedFd<'a>,
    /// Source files with several links, by device and inode: the in-root path of the
    /// first copy, so that the others become hard links to it (as BuildKit keeps them).
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: CopyStats,
}

/// Copies file contents with as few calls as the filesystems allow: `copy_file_range`
/// (reflinks where the filesystem can) until it says the pair cannot, then `sendfile`;
/// the size is known from the walk's stat, so no call is spent finding the end.
#[derive(Debug)]
struct DataCopier {
    /// `copy_file_range` works between these source and destination filesystems.
    ranges: bool,
}

impl DataCopier {
    fn copy(&mut self, from: &fs::File, to: &fs::File, size: u64) -> io::Result<u64> {
        let mut done = 0u64;
        while done < size {
            let want = usize::try_from(size - done)
                .unwrap_or(usize::MAX)
                .min(1 << 30);
            let n = if self.ranges {
                match rustix::fs::copy_file_range(from, None, to, None, want) {
                    Ok(n) => n,
                    Err(Errno::XDEV | Errno::NOSYS | Errno::OPNOTSUPP | Errno::INVAL) => {
                        self.ranges = false;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            } else {
                rustix::fs::sendfile(to, from, None, want)?
            };
            if n == 0 {
                // The file shrank while being copied: keep what there was.
                break;
            }
            done += n as u64;
        }
        Ok(done)
    }
}

/// One entry of a source directory.
struct SourceEntry {
    name: Vec<u8>,
    stat: Stat,
}

pub(super) fn copy_in(
    root: &RootDir,
    (src, dest_name): (&Path, &[u8]),
    dest: &str,
    opts: &CopyOptions,
    exclude: &dyn Fn(&Path, bool) -> bool,
) -> Result<CopyStats, RootfsError> {
    let meta = fs::symlink_metadata(src).map_err(|e| source_err("stat", src, e))?;
    let dest_b = dest.as_bytes();
    let owner = opts.chown.unwrap_or((0, 0));
    if meta.is_dir() {
        let dir = resolve::mkdir_all(root.as_fd(), dest_b, parent_mode(opts), Some(owner))
            .map_err(|e| RootfsError::in_root("create directory", dest, e))?;
        let mut copier = Copier::new(root.as_fd(), src, dest_b, dir, opts, exclude)?;
        let top = open_dir_at(rustix::fs::CWD, src.as_os_str().as_bytes())
            .map_err(|e| source_err("open", src, e))?;
        walk(top, src, &mut copier)?;
        return Ok(copier.stats);
    }
    let into_dir = dest_b.ends_with(b"/") || resolve::open_dir(root.as_fd(), dest_b).is_ok();
    let (dir_path, name) = if into_dir {
        (dest_b.to_vec(), dest_name.to_vec())
    } else {
        resolve::split_parent(dest_b).map_err(|e| RootfsError::in_root("copy to", dest, e))?
    };
    let mut dir = resolve::mkdir_all(root.as_fd(), &dir_path, parent_mode(opts), Some(owner))
        .map_err(|e| RootfsError::in_root("create directory", &dir_path, e))?;
    let (dir_path, name) = if into_dir {
        (dir_path, name)
    } else {
        // A symlink at the destination is written through, resolved in the root, as
        // BuildKit resolves the destination path (`fs.RootPath`) before copying.
        let new_dirs = kiln_inroot::NewDirs {
            mode: parent_mode(opts),
            owner: Some(owner),
        };
        let found = kiln_inroot::locate(root.as_fd(), dest_b, Some(new_dirs))
            .map_err(|e| RootfsError::in_root("resolve", dest, e.into()))?;
        dir = found.dir;
        let parent = found.path.len().saturating_sub(found.name.len());
        let mut dir_path = b"/".to_vec();
        dir_path.extend_from_slice(&found.path[..parent]);
        (dir_path, found.name)
    };
    let (src_dir, src_name) = split_host(src)?;
    let entry = SourceEntry {
        stat: stat_at(src_dir.as_fd(), &src_name).map_err(|e| source_err("stat", src, e))?,
        name: src_name,
    };
    let mut copier = Copier::new(root.as_fd(), src, &dir_path, dir, opts, exclude)?;
    let src_path = || src.to_path_buf();
    let display = || join_display(&dir_path, &name);
    copier.copy_entry(src_dir.as_fd(), &entry, &name, &src_path, &display)?;
    Ok(copier.stats)
}

/// The mode of the folders a copy creates on the way to its destination: `--chmod`'s,
/// as current BuildKit gives them, else 0755.
fn parent_mode(opts: &CopyOptions) -> u32 {
    opts.chmod.as_ref().map_or(0o755, Chmod::created_dir_mode)
}

/// The host directory holding `src` (opened following symlinks: the caller's path is trusted)
/// and the name of `src` in it.
fn split_host(src: &Path) -> Result<(OwnedFd, Vec<u8>), RootfsError> {
    let name = src
        .file_name()
        .ok_or_else(|| source_err("copy", src, io::Error::from(io::ErrorKind::InvalidInput)))?;
    let parent = match src.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = rustix::fs::open(parent, flags, Mode::empty())
        .map_err(|e| source_err("open the directory of", src, e.into()))?;
    Ok((dir, name.as_bytes().to_vec()))
}

impl Visitor for Copier<'_> {
    type Item = SourceEntry;
    type Error = RootfsError;

    fn name<'b>(&self, entry: &'b SourceEntry) -> &'b [u8] {
        &entry.name
    }

    /// The entries of a source directory the filter keeps, sorted by name.
    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<SourceEntry>, RootfsError> {
        let mut kept = Vec::with_capacity(entries.len());
        let mut below = rel.to_vec();
        for entry in entries {
            let stat = stat_at(dir, &entry.name)
                .map_err(|e| source_err("stat", &entry_path(self.src, rel, &entry.name), e))?;
            below.truncate(rel.len());
            if !below.is_empty() {
                below.push(b'/');
            }
            below.extend_from_slice(&entry.name);
            if !(self.exclude)(Path::new(OsStr::from_bytes(&below)), stat.is_dir()) {
                kept.push(SourceEntry {
                    name: entry.name,
                    stat,
                });
            }
        }
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(kept)
    }

    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entry: &SourceEntry,
    ) -> Result<bool, RootfsError> {
        let src_path = || entry_path(self.src, rel, &entry.name);
        let display = || {
            let dir = join_display(self.dest, rel);
            join_display(&dir, &entry.name)
        };
        self.copy_entry(dir, entry, &entry.name, &src_path, &display)
    }

    /// Sets the metadata of a copied directory last, so that its mtime survives its children
    /// being created.
    fn leave(
        &mut self,
        _parent: BorrowedFd<'_>,
        _dir: BorrowedFd<'_>,
        rel: &[u8],
        entry: SourceEntry,
    ) -> Result<(), RootfsError> {
        let io_err =
            |e: io::Error| RootfsError::in_root("set metadata of", join_display(self.dest, rel), e);
        if let Some(dir) = self.dirs.pop().map_err(io_err)? {
            self.set_metadata(&fs::File::from(dir), &entry.stat)
                .map_err(io_err)?;
        }
        Ok(())
    }
}

impl<'a> Copier<'a> {
    fn new(
        root: BorrowedFd<'a>,
        src: &'a Path,
        dest: &'a [u8],
        dest_dir: OwnedFd,
        opts: &'a CopyOptions,
        exclude: &'a dyn Fn(&Path, bool) -> bool,
    ) -> Result<Self, RootfsError> {
        let dirs =
            DirStack::new(dest_dir).map_err(|e| RootfsError::in_root("open directory", dest, e))?;
        Ok(Copier {
            src,
            dest,
            dirs,
            owner: match (opts.chown, opts.keep_owner) {
                (None, true) => None,
                (chown, _) => Some(chown.unwrap_or((0, 0))),
            },
            chmod: opts.chmod.as_ref(),
            special_as_files: opts.special_as_files,
            exclude,
            data: DataCopier { ranges: true },
            root,
            links: HashMap::new(),
            stats: CopyStats::default(),
        })
    }

    /// Copies the source entry `entry` of the host directory `src_dir` to `name` in the current
    /// in-root directory; a directory is created (or kept) and entered, and `true` returned.
    fn copy_entry(
        &mut self,
        src_dir: BorrowedFd<'_>,
        entry: &SourceEntry,
        name: &[u8],
        src_path: &dyn Fn() -> PathBuf,
        display: &dyn Fn() -> Vec<u8>,
    ) -> Result<bool, RootfsError> {
        let io_err = |op: &'static str| move |e: io::Error| RootfsError::in_root(op, display(), e);
        let dir = self.dirs.current();
        match entry.stat.file_type() {
            FileType::Directory => {
                let existing = ops::remove_existing(dir, name, true).map_err(io_err("replace"))?;
                if existing != Existing::Dir {
                    rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
                        .map_err(|e| io_err("create directory")(e.into()))?;
                }
                ops::copy_xattrs(src_dir, &entry.name, dir, name)
                    .map_err(io_err("copy extended attributes to"))?;
                let sub = open_dir_at(dir, name).map_err(io_err("open directory"))?;
                self.dirs.push(sub).map_err(io_err("open directory"))?;
                return Ok(true);
            }
            FileType::RegularFile if self.link_again(entry, dir, name, display)? => {
                self.stats.files += 1;
            }
            FileType::RegularFile => {
                let to = self.create_file(dir, name, display)?;
                let from = open_file_at(src_dir, &entry.name)
                    .map_err(|e| source_err("open", &src_path(), e))?;
                let n = self
                    .data
                    .copy(&from, &to, entry.stat.size)
                    .map_err(io_err("write"))?;
                self.set_metadata(&to, &entry.stat)
                    .map_err(io_err("set metadata of"))?;
                ops::copy_file_xattrs(&from, &to).map_err(io_err("copy extended attributes to"))?;
                if entry.stat.nlink > 1 {
                    self.links
                        .insert((entry.stat.dev, entry.stat.ino), display());
                }
                self.stats.files += 1;
                self.stats.bytes += n;
            }
            FileType::Symlink => {
                self.replace_non_dir(dir, name, display)?;
                let target = rustix::fs::readlinkat(src_dir, entry.name.as_slice(), Vec::new())
                    .map_err(|e| source_err("read link", &src_path(), e.into()))?;
                rustix::fs::symlinkat(target.as_bytes(), dir, name)
                    .map_err(|e| io_err("create symlink")(e.into()))?;
                let (uid, gid) = self.owner_of(&entry.stat);
                resolve::chown_at(dir, name, uid, gid).map_err(io_err("chown"))?;
                let (secs, nsec) = entry.stat.mtime;
                ops::set_times_at(dir, name, secs, nsec).map_err(io_err("set times of"))?;
                ops::copy_xattrs(src_dir, &entry.name, dir, name)
                    .map_err(io_err("copy extended attributes to"))?;
                self.stats.files += 1;
            }
            FileType::Socket | FileType::CharacterDevice | FileType::BlockDevice
                if self.special_as_files =>
            {
                let to = self.create_file(dir, name, display)?;
                self.set_metadata(&to, &entry.stat)
                    .map_err(io_err("set metadata of"))?;
                self.stats.files += 1;
            }
            // Fifos are skipped, as BuildKit's context transfer skips them; so are the
            // other special files when `special_as_files` is off.
            _ => {}
        }
        Ok(false)
    }

    /// Makes `name` in `dir` a hard link to the copy of an earlier name of the same
    /// source file, if this copy made one; whether it did.
    fn link_again(
        &self,
        entry: &SourceEntry,
        dir: BorrowedFd<'_>,
        name: &[u8],
        display: &dyn Fn() -> Vec<u8>,
    ) -> Result<bool, RootfsError> {
        let Some(first) = self.links.get(&(entry.stat.dev, entry.stat.ino)) else {
            return Ok(false);
        };
        let io_err = |op: &'static str| move |e: io::Error| RootfsError::in_root(op, display(), e);
        let (first_dir, first_name) = kiln_inroot::split_parent(first)
            .ok_or_else(|| io_err("link")(io::Error::from(io::ErrorKind::InvalidInput)))?;
        let first_dir =
            kiln_inroot::open_dir(self.root, first_dir).map_err(|e| io_err("link")(e.into()))?;
        self.replace_non_dir(dir, name, display)?;
        rustix::fs::linkat(
            &first_dir,
            first_name,
            dir,
            name,
            rustix::fs::AtFlags::empty(),
        )
        .map_err(|e| io_err("link")(e.into()))?;
        Ok(true)
    }

    /// Creates the regular file `name` in `dir`, replacing a non-directory there.
    fn create_file(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        display: &dyn Fn() -> Vec<u8>,
    ) -> Result<fs::File, RootfsError> {
        // Create first: an existing entry is the rare case, so it costs the stat.
        match ops::create_file(dir, name) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.replace_non_dir(dir, name, display)?;
                ops::create_file(dir, name)
            }
            created => created,
        }
        .map_err(|e| RootfsError::in_root("create", display(), e))
    }

    fn replace_non_dir(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        display: &dyn Fn() -> Vec<u8>,
    ) -> Result<(), RootfsError> {
        match ops::remove_existing(dir, name, true) {
            Ok(Existing::Dir) => Err(RootfsError::IsADirectory {
                path: String::from_utf8_lossy(&display()).into_owned(),
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(RootfsError::in_root("replace", display(), e)),
        }
    }

    fn owner_of(&self, stat: &Stat) -> (u32, u32) {
        self.owner.unwrap_or((stat.uid, stat.gid))
    }

    /// Owner, mode (after chown, which clears set-id bits) and mtime of a created entry, via its fd.
    fn set_metadata(&self, file: &fs::File, stat: &Stat) -> io::Result<()> {
        let (uid, gid) = self.owner_of(stat);
        rustix::fs::fchown(
            file,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )?;
        let mode = match self.chmod {
            Some(chmod) => chmod.apply(stat.mode, stat.is_dir()),
            None => stat.mode & 0o7777,
        };
        rustix::fs::fchmod(file, Mode::from_raw_mode(mode))?;
        let (secs, nsec) = stat.mtime;
        rustix::fs::futimens(file, &ops::timestamps(secs, nsec))?;
        Ok(())
    }
}

fn source_err(op: &'static str, path: &Path, source: io::Error) -> RootfsError {
    RootfsError::Source {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn join_display(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = dir.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

#[cfg(test)]
mod tests {
    use super::DataCopier;
    use std::io::{Read, Write};

    /// Copies 300 kB from `src_dir` to `dst_dir`, checks the bytes, and says whether
    /// `copy_file_range` was still in use at the end.
    fn copy_between(src_dir: &std::path::Path, dst_dir: &std::path::Path) -> bool {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let src = src_dir.join("src");
        std::fs::File::create(&src)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let from = std::fs::File::open(&src).unwrap();
        let to = std::fs::File::create(dst_dir.join("dst")).unwrap();
        let mut copier = DataCopier { ranges: true };
        assert_eq!(
            copier.copy(&from, &to, data.len() as u64).unwrap(),
            data.len() as u64
        );
        let mut back = Vec::new();
        std::fs::File::open(dst_dir.join("dst"))
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        copier.ranges
    }

    #[test]
    fn data_copies_within_a_filesystem_with_copy_file_range() {
        let dir = tempfile::tempdir().unwrap();
        assert!(copy_between(dir.path(), dir.path()));
    }

    #[test]
    fn data_copies_across_filesystems_by_falling_back_once() {
        let shm = std::path::Path::new("/dev/shm");
        if !shm.is_dir() {
            return;
        }
        let src = tempfile::tempdir_in(shm).unwrap();
        let dst = tempfile::tempdir().unwrap();
        // tmpfs to the temp dir's filesystem: copy_file_range says EXDEV (or works, when
        // the temp dir is a tmpfs too); the bytes arrive either way.
        copy_between(src.path(), dst.path());
    }
}
