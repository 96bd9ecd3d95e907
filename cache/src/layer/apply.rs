//! [`apply_layer`]: an OCI layer tar stream unpacked into an empty snapshot directory; and
//! [`extract_tar`], the same writes for an archive `ADD` extracts (no whiteouts).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, XattrFlags};
use tar::{Entry, EntryType};

use super::parents::{Blocked, Parents, open_plain};
use super::whiteout::{EntryName, OVL_OPAQUE, OVL_PREFIX, WH_PREFIX, classify};
use super::{LayerError, LayerStats, lossy};
use crate::rootfs::RootDir;
use crate::rootfs::ops::{self, Existing};
use crate::rootfs::resolve;
use crate::tree::{DirEntry, Visitor, open_dir_at, stat, walk};

/// Size of the buffers the stream is read through and file contents written from.
const BUF: usize = 256 * 1024;

/// Unpacks the OCI layer tar stream `tar` (uncompressed) into `dest`, an empty snapshot directory
/// that will be used as an overlay layer, and reads the stream to its end (so that a digest
/// computed around `tar` covers all of it).
///
/// - `.wh.<name>` becomes an overlay whiteout (character device 0:0 `<name>`), `.wh..wh..opq`
///   sets `trusted.overlay.opaque=y` on its directory; other `.wh..wh.*` entries are ignored.
/// - Mode (set-id and sticky bits included), uid/gid, mtime (directories' after their
///   children), symlinks (owned with `lchown`, never followed), hard links, character and block
///   devices, fifos and `SCHILY.xattr.*` PAX records are restored; `trusted.overlay.*` xattrs
///   in the archive are ignored, so a layer cannot forge whiteouts or redirects.
/// - A later entry replaces an earlier one of the same path; a directory over a directory merges.
/// - Hostile paths are refused, never rewritten, and the apply stops at the first one (the caller
///   aborts the snapshot): an absolute entry path or one with a `..` component
///   ([`LayerError::UnsafePath`]); an entry below a symlink or a non-directory, whatever the
///   symlink points at ([`LayerError::BadParent`]: a layer made from a filesystem diff never has
///   one); a hard link whose target is absolute, has a `..`, passes through a symlink or is not
///   an earlier entry ([`LayerError::HardLink`]). Symlink entries themselves may point anywhere
///   (their target is data), and a later entry of the same path replaces a symlink.
/// - As defence in depth, every write is fd-relative: parents are opened one plain directory at
///   a time with `O_NOFOLLOW`, and the final component is never followed.
/// - File contents are streamed, never held whole in memory.
pub fn apply_layer(tar: &mut dyn Read, dest: &Path) -> Result<LayerStats, LayerError> {
    apply_tar(tar, dest, Flavor::Layer)
}

/// Extracts the plain tar stream `tar` into the directory `dest`, merging with what is
/// there, as `ADD` does with a local archive: the same refusals and fd-relative writes as
/// [`apply_layer`], but names are only names (`.wh.*` entries are files like any other),
/// and `chown` replaces the archive's owners.
pub(super) fn extract_tar(
    tar: &mut dyn Read,
    dest: &Path,
    chown: Option<(u32, u32)>,
) -> Result<LayerStats, LayerError> {
    apply_tar(tar, dest, Flavor::Archive { chown })
}

/// What a tar stream is to [`apply_tar`].
#[derive(Debug, Clone, Copy)]
enum Flavor {
    /// An OCI layer: whiteout names mean deletions.
    Layer,
    /// An archive `ADD` extracts: owners replaced when `chown` is set.
    Archive { chown: Option<(u32, u32)> },
}

fn apply_tar(tar: &mut dyn Read, dest: &Path, flavor: Flavor) -> Result<LayerStats, LayerError> {
    let root = RootDir::open(dest)?;
    let mut counted = CountingReader {
        inner: tar,
        bytes: 0,
    };
    let mut buffered = BufReader::with_capacity(BUF, &mut counted);
    let parents = Parents::new(&root).map_err(|source| LayerError::Apply {
        op: "open",
        path: "/".into(),
        source,
    })?;
    let mut applier = Applier {
        parents,
        out: Output {
            root: &root,
            flavor,
            dirs: HashMap::new(),
            entries: 0,
            buf: vec![0; BUF],
        },
    };
    {
        let mut archive = tar::Archive::new(&mut buffered);
        let entries = archive.entries().map_err(read_err)?;
        for entry in entries {
            let mut entry = entry.map_err(read_err)?;
            applier.apply(&mut entry)?;
        }
    }
    io::copy(&mut buffered, &mut io::sink()).map_err(read_err)?;
    drop(buffered);
    applier.out.set_dir_times(dest)?;
    Ok(LayerStats {
        entries: applier.out.entries,
        bytes: counted.bytes,
    })
}

struct CountingReader<'a> {
    inner: &'a mut dyn Read,
    bytes: u64,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Metadata of one entry, PAX records applied.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

struct Applier<'a> {
    /// The parent directories of the last entry.
    parents: Parents,
    out: Output<'a>,
}

/// What entries are written into.
struct Output<'a> {
    root: &'a RootDir,
    flavor: Flavor,
    /// Directories created or merged, by device and inode, with their mtime, set once
    /// everything is written.
    dirs: HashMap<(u64, u64), (i64, i64)>,
    entries: u64,
    buf: Vec<u8>,
}

impl Applier<'_> {
    fn apply(&mut self, entry: &mut Entry<'_, impl Read>) -> Result<(), LayerError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        self.out.entries += 1;
        let raw = entry.path_bytes().into_owned();
        let display = lossy(&raw);
        let comps = clean_path(&raw).map_err(|e| unsafe_path(&raw, e.entry_reason()))?;
        let mut meta = read_meta(entry, &display)?;
        let whiteouts = match self.out.flavor {
            Flavor::Layer => true,
            Flavor::Archive { chown } => {
                if let Some((uid, gid)) = chown {
                    (meta.uid, meta.gid) = (uid, gid);
                }
                false
            }
        };
        let ctx = |op: &'static str| {
            let path = &display;
            move |source: io::Error| LayerError::Apply {
                op,
                path: path.clone(),
                source,
            }
        };
        let Some((&name, parents)) = comps.split_last() else {
            if !kind.is_dir() {
                return Err(unsafe_path(&raw, "a non-directory entry for the root"));
            }
            if !whiteouts {
                // An archive's `./` does not change the destination, as in BuildKit.
                return Ok(());
            }
            let fd = resolve::open_in_root(
                self.out.root.as_fd(),
                b".",
                OFlags::RDONLY | OFlags::DIRECTORY,
            )
            .map_err(ctx("open"))?;
            self.out
                .record_dir(fd, &meta)
                .map_err(ctx("set metadata of"))?;
            return Ok(());
        };
        if whiteouts && parents.iter().any(|c| c.starts_with(WH_PREFIX)) {
            return Err(unsafe_path(
                &raw,
                "a whiteout name in the middle of the path",
            ));
        }
        let dir = match self.parents.enter(parents) {
            Ok(dir) => dir,
            Err(Blocked::NotDir { depth, symlink }) => {
                return Err(LayerError::BadParent {
                    path: display,
                    parent: lossy(&resolve::join(&parents[..=depth])),
                    symlink,
                });
            }
            Err(Blocked::Io(e)) => return Err(ctx("create parent directories of")(e)),
        };
        let removed = self.out.write(entry, dir, name, &comps, &meta, &display)?;
        if removed {
            self.parents
                .reset(self.out.root)
                .map_err(ctx("open the root after"))?;
        }
        Ok(())
    }
}

impl Output<'_> {
    /// Writes `entry` as `name` in `dir` (`comps` is its whole path); returns whether something
    /// that was there was removed.
    fn write(
        &mut self,
        entry: &mut Entry<'_, impl Read>,
        dir: BorrowedFd<'_>,
        name: &[u8],
        comps: &[&[u8]],
        meta: &Meta,
        display: &str,
    ) -> Result<bool, LayerError> {
        let kind = entry.header().entry_type();
        let raw = entry.path_bytes().into_owned();
        let ctx = |op: &'static str| {
            move |source: io::Error| LayerError::Apply {
                op,
                path: display.to_owned(),
                source,
            }
        };
        let removed = |e: Existing| e == Existing::Removed;
        let name_kind = match self.flavor {
            Flavor::Layer => classify(name),
            Flavor::Archive { .. } => EntryName::Plain,
        };
        match name_kind {
            EntryName::Meta => return Ok(false),
            EntryName::Opaque => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(dir, ".", flags, Mode::empty())
                    .map_err(|e| ctx("open")(e.into()))?;
                rustix::fs::fsetxattr(&fd, OVL_OPAQUE, b"y", XattrFlags::empty())
                    .map_err(|e| ctx("mark opaque")(e.into()))?;
                return Ok(false);
            }
            EntryName::Whiteout(target) => {
                if target.is_empty() || target == b"." || target == b".." {
                    return Err(unsafe_path(&raw, "a whiteout of no name"));
                }
                let existing = ops::remove_existing(dir, target, false).map_err(ctx("replace"))?;
                let dev = rustix::fs::makedev(0, 0);
                rustix::fs::mknodat(dir, target, FileType::CharacterDevice, Mode::empty(), dev)
                    .map_err(|e| ctx("create whiteout for")(e.into()))?;
                return Ok(removed(existing));
            }
            EntryName::Plain => {}
        }
        let existing = match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let existing = ops::remove_existing(dir, name, false).map_err(ctx("replace"))?;
                let mut file = ops::create_file(dir, name).map_err(ctx("create"))?;
                copy_data(entry, &mut file, &mut self.buf).map_err(ctx("write"))?;
                set_fd_meta(&file, meta, true).map_err(ctx("set metadata of"))?;
                existing
            }
            EntryType::Directory => {
                let existing = ops::remove_existing(dir, name, true).map_err(ctx("replace"))?;
                if existing != Existing::Dir {
                    rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
                        .map_err(|e| ctx("create directory")(e.into()))?;
                }
                let fd = open_dir_at(dir, name).map_err(ctx("open"))?;
                self.record_dir(fd, meta).map_err(ctx("set metadata of"))?;
                existing
            }
            EntryType::Symlink => {
                let target = link_name(entry, &raw)?;
                let existing = ops::remove_existing(dir, name, false).map_err(ctx("replace"))?;
                rustix::fs::symlinkat(target.as_slice(), dir, name)
                    .map_err(|e| ctx("create symlink")(e.into()))?;
                set_at_meta(dir, name, meta, false).map_err(ctx("set metadata of"))?;
                existing
            }
            EntryType::Link => {
                let target = link_name(entry, &raw)?;
                let refused = |reason| LayerError::HardLink {
                    path: display.to_string(),
                    target: lossy(&target),
                    reason,
                };
                let tcomps = clean_path(&target).map_err(|e| refused(e.link_reason()))?;
                let Some((&tname, tparents)) = tcomps.split_last() else {
                    return Err(unsafe_path(&target, "a hard link to the root"));
                };
                if tcomps == comps {
                    return Ok(false);
                }
                let absent = "is not inside the archive root (or not before the link)";
                let tdir = open_plain(self.root, tparents).map_err(|e| match e {
                    Blocked::NotDir { symlink: true, .. } => refused("passes through a symlink"),
                    Blocked::NotDir { symlink: false, .. } => refused(absent),
                    Blocked::Io(e) if e.kind() == io::ErrorKind::NotFound => refused(absent),
                    Blocked::Io(e) => ctx("find hard link target of")(e),
                })?;
                let existing = ops::remove_existing(dir, name, false).map_err(ctx("replace"))?;
                // Without `AT_SYMLINK_FOLLOW`: a symlink target is linked itself, not followed.
                rustix::fs::linkat(&tdir, tname, dir, name, AtFlags::empty()).map_err(
                    |e| match e {
                        rustix::io::Errno::NOENT => refused(absent),
                        e => ctx("create hard link")(e.into()),
                    },
                )?;
                existing
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (ft, dev) = match kind {
                    EntryType::Fifo => (FileType::Fifo, rustix::fs::makedev(0, 0)),
                    _ => {
                        let header = entry.header();
                        let major = header.device_major().ok().flatten().unwrap_or(0);
                        let minor = header.device_minor().ok().flatten().unwrap_or(0);
                        let ft = if kind == EntryType::Char {
                            FileType::CharacterDevice
                        } else {
                            FileType::BlockDevice
                        };
                        (ft, rustix::fs::makedev(major, minor))
                    }
                };
                let existing = ops::remove_existing(dir, name, false).map_err(ctx("replace"))?;
                rustix::fs::mknodat(dir, name, ft, Mode::empty(), dev)
                    .map_err(|e| ctx("create device node")(e.into()))?;
                set_at_meta(dir, name, meta, true).map_err(ctx("set metadata of"))?;
                existing
            }
            other => {
                return Err(LayerError::Unsupported {
                    path: display.to_owned(),
                    reason: format!("tar entry type {:?}", other.as_byte() as char),
                });
            }
        };
        Ok(removed(existing))
    }

    /// Sets the metadata of the directory `fd` (its times wait for [`Output::set_dir_times`]).
    fn record_dir(&mut self, fd: OwnedFd, meta: &Meta) -> io::Result<()> {
        let file = File::from(fd);
        set_fd_meta(&file, meta, false)?;
        let st = stat::fstat(file.as_fd())?;
        self.dirs.insert((st.dev, st.ino), meta.mtime);
        Ok(())
    }

    /// Sets directory mtimes last, since creating their children changed them: one walk of the
    /// tree finds the recorded directories by device and inode.
    fn set_dir_times(&self, dest: &Path) -> Result<(), LayerError> {
        let fail = |op: &'static str| {
            move |source: io::Error| LayerError::Apply {
                op,
                path: "/".into(),
                source,
            }
        };
        // Through the root's fd: `dest` may be a magic link (`/proc/self/fd/N`).
        let top = open_dir_at(self.root.as_fd(), b".").map_err(fail("open"))?;
        let root = rustix::io::fcntl_dupfd_cloexec(&top, 0).map_err(|e| fail("open")(e.into()))?;
        let root_id = stat::fstat(root.as_fd()).map_err(fail("stat"))?;
        if self.dirs.keys().any(|id| *id != (root_id.dev, root_id.ino)) {
            walk(top, dest, &mut DirTimes { out: self })?;
        }
        self.date(root.as_fd()).map_err(fail("set times of"))
    }

    /// Sets the recorded mtime of the directory `dir`, if it has one.
    fn date(&self, dir: BorrowedFd<'_>) -> io::Result<()> {
        let st = stat::fstat(dir)?;
        if let Some((secs, nsec)) = self.dirs.get(&(st.dev, st.ino)) {
            rustix::fs::futimens(dir, &ops::timestamps(*secs, *nsec))?;
        }
        Ok(())
    }
}

/// The walk that dates the directories an apply recorded.
struct DirTimes<'a, 'b> {
    out: &'a Output<'b>,
}

impl Visitor for DirTimes<'_, '_> {
    type Item = DirEntry;
    type Error = LayerError;

    fn name<'a>(&self, entry: &'a DirEntry) -> &'a [u8] {
        &entry.name
    }

    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<DirEntry>, LayerError> {
        let mut dirs = Vec::new();
        for entry in entries {
            let kind = entry
                .file_type(dir)
                .map_err(|e| apply_err("stat", rel, &entry.name, e))?;
            if kind == FileType::Directory {
                dirs.push(entry);
            }
        }
        Ok(dirs)
    }

    fn visit(&mut self, _: BorrowedFd<'_>, _: &[u8], _: &DirEntry) -> Result<bool, LayerError> {
        Ok(true)
    }

    fn leave(
        &mut self,
        _parent: BorrowedFd<'_>,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        _entry: DirEntry,
    ) -> Result<(), LayerError> {
        self.out
            .date(dir)
            .map_err(|e| apply_err("set times of", rel, b"", e))?;
        Ok(())
    }
}

/// An apply error about the entry `name` of the directory `rel`.
fn apply_err(op: &'static str, rel: &[u8], name: &[u8], source: io::Error) -> LayerError {
    let mut path = rel.to_vec();
    if !name.is_empty() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    LayerError::Apply {
        op,
        path: lossy(&path),
        source,
    }
}

/// Why [`clean_path`] refused a path.
#[derive(Debug, Clone, Copy)]
enum Unclean {
    Absolute,
    DotDot,
}

impl Unclean {
    /// Why an entry with such a path is refused.
    fn entry_reason(self) -> &'static str {
        match self {
            Unclean::Absolute => "an absolute path",
            Unclean::DotDot => "a `..` component",
        }
    }

    /// Why a hard link with such a target is refused.
    fn link_reason(self) -> &'static str {
        match self {
            Unclean::Absolute => "is an absolute path",
            Unclean::DotDot => "points outside the archive root",
        }
    }
}

/// Path components of an entry or hard-link target: `.` and empty components dropped, a
/// leading `/` or a `..` refused.
fn clean_path(raw: &[u8]) -> Result<Vec<&[u8]>, Unclean> {
    if raw.starts_with(b"/") {
        return Err(Unclean::Absolute);
    }
    let comps = resolve::components(raw);
    if comps.contains(&&b".."[..]) {
        return Err(Unclean::DotDot);
    }
    Ok(comps)
}

fn read_meta(entry: &mut Entry<'_, impl Read>, display: &str) -> Result<Meta, LayerError> {
    let bad = |source: io::Error| LayerError::Apply {
        op: "read header of",
        path: display.to_owned(),
        source,
    };
    let header = entry.header();
    let old = header.as_old();
    let mode = numeric(&old.mode, header.mode().map(u64::from)).map_err(bad)? as u32 & 0o7777;
    let id =
        |v: u64| u32::try_from(v).map_err(|_| bad(io::Error::other("uid or gid out of range")));
    let uid = id(numeric(&old.uid, header.uid()).map_err(bad)?)?;
    let gid = id(numeric(&old.gid, header.gid()).map_err(bad)?)?;
    let mtime = numeric(&old.mtime, header.mtime()).map_err(bad)?;
    let mtime = i64::try_from(mtime).unwrap_or(i64::MAX);
    let mut meta = Meta {
        mode,
        uid,
        gid,
        mtime: (mtime, 0),
        xattrs: Vec::new(),
    };
    if let Some(records) = entry.pax_extensions().map_err(bad)? {
        for record in records {
            let record = record.map_err(bad)?;
            let key = record.key_bytes();
            if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                if !name.starts_with(OVL_PREFIX) {
                    meta.xattrs
                        .push((name.to_vec(), record.value_bytes().to_vec()));
                }
            } else if key == b"mtime"
                && let Some(t) = parse_pax_time(record.value_bytes())
            {
                meta.mtime = t;
            }
        }
    }
    Ok(meta)
}

/// A parsed numeric header field, where an empty field (all NULs or spaces) reads as 0, as in
/// Go's `archive/tar`.
fn numeric(raw: &[u8], parsed: io::Result<u64>) -> io::Result<u64> {
    if raw.iter().all(|b| *b == 0 || *b == b' ') {
        return Ok(0);
    }
    parsed
}

/// Parses a PAX time (`1700000000.5`, `-1.25`) into seconds and nanoseconds.
fn parse_pax_time(value: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(value).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = int.parse().ok()?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nsec: i64 = digits.parse().ok()?;
    if int.starts_with('-') && nsec > 0 {
        return Some((secs - 1, 1_000_000_000 - nsec));
    }
    Some((secs, nsec))
}

fn link_name(entry: &Entry<'_, impl Read>, raw: &[u8]) -> Result<Vec<u8>, LayerError> {
    match entry.link_name_bytes() {
        Some(target) if !target.is_empty() => Ok(target.into_owned()),
        _ => Err(unsafe_path(raw, "a link without a target")),
    }
}

fn copy_data(entry: &mut impl Read, file: &mut File, buf: &mut [u8]) -> io::Result<()> {
    loop {
        let n = match entry.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        file.write_all(&buf[..n])?;
    }
}

/// Owner, then mode (chown clears set-id bits), xattrs and optionally times, through an open fd.
fn set_fd_meta(file: &File, meta: &Meta, times: bool) -> io::Result<()> {
    rustix::fs::fchown(
        file,
        Some(rustix::fs::Uid::from_raw(meta.uid)),
        Some(rustix::fs::Gid::from_raw(meta.gid)),
    )?;
    rustix::fs::fchmod(file, Mode::from_raw_mode(meta.mode))?;
    for (key, value) in &meta.xattrs {
        rustix::fs::fsetxattr(file, key.as_slice(), value.as_slice(), XattrFlags::empty())?;
    }
    if times {
        rustix::fs::futimens(file, &ops::timestamps(meta.mtime.0, meta.mtime.1))?;
    }
    Ok(())
}

/// The same for an entry that cannot be opened (symlink, device, fifo), by name in `dir`.
fn set_at_meta(dir: BorrowedFd<'_>, name: &[u8], meta: &Meta, chmod: bool) -> io::Result<()> {
    resolve::chown_at(dir, name, meta.uid, meta.gid)?;
    if chmod {
        ops::chmod_at(dir, name, meta.mode)?;
    }
    for (key, value) in &meta.xattrs {
        ops::set_xattr_at(dir, name, key, value)?;
    }
    ops::set_times_at(dir, name, meta.mtime.0, meta.mtime.1)
}

fn unsafe_path(path: &[u8], reason: &'static str) -> LayerError {
    LayerError::UnsafePath {
        path: lossy(path),
        reason,
    }
}

fn read_err(source: io::Error) -> LayerError {
    LayerError::ReadStream { source }
}
