//! [`write_layer`]: an overlay upper directory as an OCI layer tar stream.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use tar::EntryType;

use super::header::{EntryHeader, Xattrs, write_header, write_padding, write_trailer};
use super::whiteout::is_overlay_whiteout;
use super::whiteout::{OVL_OPAQUE, OVL_PREFIX, OVL_UNSUPPORTED, WH_OPAQUE, WH_PREFIX};
use super::{LayerError, LayerOptions, LayerStats, lossy};

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
    let mut w = LayerWriter {
        out,
        epoch: opts.source_date_epoch,
        links: HashMap::new(),
        stats: LayerStats::default(),
        buf: vec![0; COPY_BUF],
        names: vec![0; XATTR_MAX],
        value: vec![0; XATTR_MAX],
    };
    w.walk(upper, &[])?;
    let n = write_trailer(w.out).map_err(|e| stream_err(b"", e))?;
    w.stats.bytes += n;
    Ok(w.stats)
}

struct LayerWriter<'a> {
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
    fs_name: OsString,
    meta: Metadata,
    whiteout: bool,
}

impl LayerWriter<'_> {
    /// Writes the entries of host directory `dir`, whose archive path is `prefix` (empty or ending in `/`).
    fn walk(&mut self, dir: &Path, prefix: &[u8]) -> Result<(), LayerError> {
        let mut children = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| walk_err("read directory", dir, e))? {
            let entry = entry.map_err(|e| walk_err("read directory", dir, e))?;
            let fs_name = entry.file_name();
            let path = dir.join(&fs_name);
            let meta = fs::symlink_metadata(&path).map_err(|e| walk_err("stat", &path, e))?;
            let whiteout = is_overlay_whiteout(&meta);
            let mut tar_name = if whiteout {
                WH_PREFIX.to_vec()
            } else {
                Vec::new()
            };
            tar_name.extend_from_slice(fs_name.as_bytes());
            children.push(Child {
                tar_name,
                fs_name,
                meta,
                whiteout,
            });
        }
        children.sort_by(|a, b| a.tar_name.cmp(&b.tar_name));
        for child in children {
            let mut path = prefix.to_vec();
            path.extend_from_slice(&child.tar_name);
            let host = dir.join(&child.fs_name);
            self.write_child(&host, path, &child)?;
        }
        Ok(())
    }

    fn write_child(
        &mut self,
        host: &Path,
        mut path: Vec<u8>,
        child: &Child,
    ) -> Result<(), LayerError> {
        let meta = &child.meta;
        let mtime = self.mtime(meta);
        if child.whiteout {
            return self.emit(&path, EntryType::Regular, 0, 0, 0, mtime, None, None, &[]);
        }
        let ft = meta.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        let (xattrs, opaque) = self.xattrs(host)?;
        let (mode, uid, gid) = (
            meta.mode() & 0o7777,
            u64::from(meta.uid()),
            u64::from(meta.gid()),
        );
        if ft.is_dir() {
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
                let mut marker = path.clone();
                marker.extend_from_slice(WH_OPAQUE);
                self.emit(&marker, EntryType::Regular, 0, 0, 0, mtime, None, None, &[])?;
            }
            return self.walk(host, &path);
        }
        if meta.nlink() > 1 {
            if let Some(target) = self.links.get(&(meta.dev(), meta.ino())) {
                let target = target.clone();
                let (k, l) = (EntryType::Link, Some(target.as_slice()));
                return self.emit(&path, k, mode, uid, gid, mtime, l, None, &[]);
            }
            self.links.insert((meta.dev(), meta.ino()), path.clone());
        }
        if ft.is_file() {
            self.emit_file(host, &path, meta, mtime, &xattrs)
        } else if ft.is_symlink() {
            let target = fs::read_link(host).map_err(|e| walk_err("read link", host, e))?;
            let l = Some(target.as_os_str().as_bytes());
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
            )
        } else {
            let kind = if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            };
            let rdev = meta.rdev();
            let dev = (ft.is_char_device() || ft.is_block_device())
                .then(|| (rustix::fs::major(rdev), rustix::fs::minor(rdev)));
            self.emit(&path, kind, mode, uid, gid, mtime, None, dev, &xattrs)
        }
    }

    fn mtime(&self, meta: &Metadata) -> i64 {
        match self.epoch {
            Some(epoch) => meta.mtime().min(epoch),
            None => meta.mtime(),
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

    /// A regular file, its content streamed from the host file.
    fn emit_file(
        &mut self,
        host: &Path,
        path: &[u8],
        meta: &Metadata,
        mtime: i64,
        xattrs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), LayerError> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(host)
            .map_err(|e| walk_err("open", host, e))?;
        let size = meta.len();
        let h = EntryHeader {
            path,
            kind: EntryType::Regular,
            mode: meta.mode() & 0o7777,
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
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
            let got = file
                .read(&mut self.buf[..want])
                .map_err(|e| walk_err("read", host, e))?;
            if got == 0 {
                // The header already promised `size` bytes: a shrinking file cannot be written.
                let e =
                    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being read");
                return Err(walk_err("read", host, e));
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

    /// The xattrs to carry (sorted, `trusted.overlay.*` dropped) and whether the dir is opaque.
    fn xattrs(&mut self, host: &Path) -> Result<(Xattrs, bool), LayerError> {
        let len = match rustix::fs::llistxattr(host, &mut self.names[..]) {
            Ok(len) => len,
            Err(rustix::io::Errno::OPNOTSUPP) => return Ok((Vec::new(), false)),
            Err(e) => return Err(walk_err("list xattrs of", host, e.into())),
        };
        let mut out = Vec::new();
        let mut opaque = false;
        let names = self.names[..len].to_vec();
        for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let vlen = rustix::fs::lgetxattr(host, name, &mut self.value[..])
                .map_err(|e| walk_err("read xattrs of", host, e.into()))?;
            let value = &self.value[..vlen];
            if OVL_UNSUPPORTED.contains(&name) {
                return Err(LayerError::Unsupported {
                    path: host.display().to_string(),
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
