//! [`write_layer`]: an overlay upper directory as an OCI layer tar stream.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::FileType;
use tar::EntryType;

use super::header::{EntryHeader, Xattrs, write_header, write_padding, write_trailer};
use super::whiteout::is_overlay_whiteout;
use super::whiteout::{OVL_OPAQUE, OVL_PREFIX, OVL_UNSUPPORTED, WH_OPAQUE, WH_PREFIX};
use super::{LayerError, LayerOptions, LayerStats, lossy};
use crate::rootfs::ops::fd_path;
use crate::tree::{DirEntry, Stat, Visitor, entry_path, open_dir_at, open_file_at, stat_at, walk};

/// Size of the buffer file contents are streamed through.
const COPY_BUF: usize = 256 * 1024;
/// Largest xattr name list and value Linux allows (`XATTR_LIST_MAX`, `XATTR_SIZE_MAX`).
const XATTR_MAX: usize = 64 * 1024;

/// Writes the diff held in the overlay upper directory `upper` as an OCI layer tar stream to
/// `out` (uncompressed; the caller wraps `out` in compression and hashing).
///
/// The stream is deterministic for a given tree: a depth-first walk where each directory's
/// entries are sorted bytewise by their name in the archive (so parents come before children);
/// paths have no `./` prefix and directories end with `/`; ustar headers with PAX records when
/// needed (long paths, xattrs); numeric uid/gid with empty user and group names; mode, mtime
/// (whole seconds, clamped to [`LayerOptions::source_date_epoch`]), uid and gid from the file;
/// xattrs except `trusted.overlay.*` as `SCHILY.xattr.*`; a file whose inode was already written
/// becomes a hard-link entry; device nodes and fifos are kept, sockets skipped.
///
/// Overlay whiteouts (character devices 0:0) become empty regular files `.wh.<name>`; an opaque
/// directory is written as its directory entry immediately followed by `<dir>/.wh..wh..opq`.
/// Upper dirs made with overlay's `redirect_dir` or `metacopy` features are refused
/// ([`LayerError::Unsupported`]): they are not plain diffs.
pub fn write_layer(
    upper: &Path,
    out: &mut dyn Write,
    opts: &LayerOptions,
) -> Result<LayerStats, LayerError> {
    let top = open_dir_at(rustix::fs::CWD, upper.as_os_str().as_bytes())
        .map_err(|e| walk_err("open", upper, e))?;
    let mut w = LayerWriter {
        upper,
        out,
        epoch: opts.source_date_epoch,
        links: HashMap::new(),
        stats: LayerStats::default(),
        buf: vec![0; COPY_BUF],
        names: vec![0; XATTR_MAX],
        value: vec![0; XATTR_MAX],
    };
    walk(top, upper, &mut w)?;
    let n = write_trailer(w.out).map_err(|e| stream_err(b"", e))?;
    w.stats.bytes += n;
    Ok(w.stats)
}

struct LayerWriter<'a> {
    upper: &'a Path,
    out: &'a mut dyn Write,
    epoch: Option<i64>,
    /// (dev, ino) of multiply-linked inodes already written → their archive path.
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: LayerStats,
    buf: Vec<u8>,
    names: Vec<u8>,
    value: Vec<u8>,
}

/// One directory entry, by its name in the archive.
struct Child {
    tar_name: Vec<u8>,
    fs_name: Vec<u8>,
    stat: Stat,
    whiteout: bool,
}

impl Visitor for LayerWriter<'_> {
    type Item = Child;
    type Error = LayerError;

    fn name<'a>(&self, child: &'a Child) -> &'a [u8] {
        &child.fs_name
    }

    /// The entries of `dir`, sorted by their name in the archive.
    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<Child>, LayerError> {
        let mut children = Vec::with_capacity(entries.len());
        for entry in entries {
            let stat = stat_at(dir, &entry.name)
                .map_err(|e| walk_err("stat", &entry_path(self.upper, rel, &entry.name), e))?;
            let whiteout = is_overlay_whiteout(&stat);
            let mut tar_name = if whiteout {
                WH_PREFIX.to_vec()
            } else {
                Vec::new()
            };
            tar_name.extend_from_slice(&entry.name);
            children.push(Child {
                tar_name,
                fs_name: entry.name,
                stat,
                whiteout,
            });
        }
        children.sort_by(|a, b| a.tar_name.cmp(&b.tar_name));
        Ok(children)
    }

    /// Writes the entry `child` of `dir`, whose archive path is `rel`.
    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        child: &Child,
    ) -> Result<bool, LayerError> {
        let mut path = Vec::with_capacity(rel.len() + child.tar_name.len() + 2);
        path.extend_from_slice(rel);
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(&child.tar_name);
        let host = || entry_path(self.upper, rel, &child.fs_name);
        let st = &child.stat;
        let mtime = self.mtime(st);
        if child.whiteout {
            self.emit(&path, EntryType::Regular, 0, 0, 0, mtime, None, None, &[])?;
            return Ok(false);
        }
        let ft = st.file_type();
        if ft == FileType::Socket {
            return Ok(false);
        }
        let (xattrs, opaque) = self.xattrs(dir, &child.fs_name, &host)?;
        let (mode, uid, gid) = (st.permissions(), u64::from(st.uid), u64::from(st.gid));
        if ft == FileType::Directory {
            path.push(b'/');
            self.emit(
                &path,
                EntryType::Directory,
                mode,
                uid,
                gid,
                mtime,
                None,
                None,
                &xattrs,
            )?;
            if opaque {
                path.extend_from_slice(WH_OPAQUE);
                self.emit(&path, EntryType::Regular, 0, 0, 0, mtime, None, None, &[])?;
            }
            return Ok(true);
        }
        if st.nlink > 1 {
            if let Some(target) = self.links.get(&(st.dev, st.ino)) {
                let target = target.clone();
                let (k, l) = (EntryType::Link, Some(target.as_slice()));
                self.emit(&path, k, mode, uid, gid, mtime, l, None, &[])?;
                return Ok(false);
            }
            self.links.insert((st.dev, st.ino), path.clone());
        }
        match ft {
            FileType::RegularFile => {
                self.emit_file(dir, &child.fs_name, &host, &path, st, mtime, &xattrs)?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dir, child.fs_name.as_slice(), Vec::new())
                    .map_err(|e| walk_err("read link", &host(), e.into()))?;
                let l = Some(target.as_bytes());
                self.emit(
                    &path,
                    EntryType::Symlink,
                    mode,
                    uid,
                    gid,
                    mtime,
                    l,
                    None,
                    &xattrs,
                )?;
            }
            _ => {
                let device = matches!(ft, FileType::CharacterDevice | FileType::BlockDevice);
                let kind = match ft {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let dev = device.then(|| (rustix::fs::major(st.rdev), rustix::fs::minor(st.rdev)));
                self.emit(&path, kind, mode, uid, gid, mtime, None, dev, &xattrs)?;
            }
        }
        Ok(false)
    }
}

impl LayerWriter<'_> {
    fn mtime(&self, stat: &Stat) -> i64 {
        match self.epoch {
            Some(epoch) => stat.mtime.0.min(epoch),
            None => stat.mtime.0,
        }
    }

    /// A header-only entry.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        path: &[u8],
        kind: EntryType,
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: i64,
        link: Option<&[u8]>,
        device: Option<(u32, u32)>,
        xattrs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), LayerError> {
        let h = EntryHeader {
            path,
            kind,
            mode,
            uid,
            gid,
            mtime,
            size: 0,
            link,
            device,
            xattrs,
        };
        let n = write_header(self.out, &h).map_err(|e| stream_err(path, e))?;
        self.stats.entries += 1;
        self.stats.bytes += n;
        Ok(())
    }

    /// A regular file, its content streamed from the file `name` of `dir`.
    #[allow(clippy::too_many_arguments)]
    fn emit_file(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        host: &dyn Fn() -> PathBuf,
        path: &[u8],
        st: &Stat,
        mtime: i64,
        xattrs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), LayerError> {
        // An empty file has nothing to read: not opening it keeps huge folders of them cheap.
        let mut file = match st.size {
            0 => None,
            _ => Some(open_file_at(dir, name).map_err(|e| walk_err("open", &host(), e))?),
        };
        let size = st.size;
        let h = EntryHeader {
            path,
            kind: EntryType::Regular,
            mode: st.permissions(),
            uid: u64::from(st.uid),
            gid: u64::from(st.gid),
            mtime,
            size,
            link: None,
            device: None,
            xattrs,
        };
        let mut n = write_header(self.out, &h).map_err(|e| stream_err(path, e))?;
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let got = match file.as_mut() {
                Some(file) => file
                    .read(&mut self.buf[..want])
                    .map_err(|e| walk_err("read", &host(), e))?,
                None => 0,
            };
            if got == 0 {
                // The header already promised `size` bytes: a shrinking file cannot be written.
                let e =
                    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being read");
                return Err(walk_err("read", &host(), e));
            }
            self.out
                .write_all(&self.buf[..got])
                .map_err(|e| stream_err(path, e))?;
            left -= got as u64;
        }
        n += size + write_padding(self.out, size).map_err(|e| stream_err(path, e))?;
        self.stats.entries += 1;
        self.stats.bytes += n;
        Ok(())
    }

    /// The xattrs of the entry `name` of `dir` to carry (sorted, `trusted.overlay.*` dropped)
    /// and whether it is an opaque directory.
    fn xattrs(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        host: &dyn Fn() -> PathBuf,
    ) -> Result<(Xattrs, bool), LayerError> {
        let at = fd_path(dir, name);
        let len = match rustix::fs::llistxattr(at.as_slice(), &mut self.names[..]) {
            Ok(len) => len,
            Err(rustix::io::Errno::OPNOTSUPP) => return Ok((Vec::new(), false)),
            Err(e) => return Err(walk_err("list xattrs of", &host(), e.into())),
        };
        let mut out = Vec::new();
        let mut opaque = false;
        let names = self.names[..len].to_vec();
        for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let vlen = rustix::fs::lgetxattr(at.as_slice(), name, &mut self.value[..])
                .map_err(|e| walk_err("read xattrs of", &host(), e.into()))?;
            let value = &self.value[..vlen];
            if OVL_UNSUPPORTED.contains(&name) {
                return Err(LayerError::Unsupported {
                    path: host().display().to_string(),
                    reason: format!(
                        "overlay xattr `{}`: mount snapshots with redirect_dir=off,metacopy=off",
                        lossy(name)
                    ),
                });
            }
            if name == OVL_OPAQUE {
                opaque = value == b"y";
            } else if !name.starts_with(OVL_PREFIX) {
                out.push((name.to_vec(), value.to_vec()));
            }
        }
        out.sort();
        Ok((out, opaque))
    }
}

fn walk_err(op: &'static str, path: &Path, source: io::Error) -> LayerError {
    LayerError::Walk {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn stream_err(path: &[u8], source: io::Error) -> LayerError {
    LayerError::WriteStream {
        path: lossy(path),
        source,
    }
}
