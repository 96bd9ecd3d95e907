//! Deterministic tar headers for layer entries: POSIX ustar, plus a PAX extended header (sorted
//! records) only when something does not fit in ustar: long or non-ASCII paths and link
//! targets, ids or sizes beyond the octal fields, and xattrs (`SCHILY.xattr.<name>`).
//! uname/gname stay empty, ids are numeric, as in BuildKit's layers.

use std::io::{self, Write};

use tar::{EntryType, Header};

/// Largest value of a 7-digit octal field (uid, gid).
const MAX_OCTAL7: u64 = 0o7777777;
/// Largest value of an 11-digit octal field (size, mtime).
const MAX_OCTAL11: u64 = 0o77777777777;
const NAME_LEN: usize = 100;
const PREFIX_LEN: usize = 155;
const BLOCK: u64 = 512;

/// Extended attributes as (name, value) pairs.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// Everything a layer entry's header holds.
#[derive(Debug)]
pub(crate) struct EntryHeader<'a> {
    /// Path in the archive: no leading `/` or `./`; directories end with `/`.
    pub path: &'a [u8],
    pub kind: EntryType,
    /// Permission bits, set-id and sticky included.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch; negative values are written as 0.
    pub mtime: i64,
    pub size: u64,
    /// Symlink target or hard-link target path.
    pub link: Option<&'a [u8]>,
    /// Major and minor numbers of a device node.
    pub device: Option<(u32, u32)>,
    /// Extended attributes, sorted by name.
    pub xattrs: &'a [(Vec<u8>, Vec<u8>)],
}

/// Writes the (PAX and) ustar header of `h`; returns the number of bytes written.
pub(crate) fn write_header(out: &mut dyn Write, h: &EntryHeader<'_>) -> io::Result<u64> {
    let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut header = Header::new_ustar();
    header.set_entry_type(h.kind);
    set_path(&mut header, h.path, &mut pax)?;
    if let Some(link) = h.link {
        if link.len() <= NAME_LEN && link.is_ascii() {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        } else {
            pax.push((b"linkpath".to_vec(), link.to_vec()));
        }
    }
    header.set_mode(h.mode & 0o7777);
    header.set_uid(numeric(h.uid, MAX_OCTAL7, "uid", &mut pax));
    header.set_gid(numeric(h.gid, MAX_OCTAL7, "gid", &mut pax));
    let mtime = u64::try_from(h.mtime).unwrap_or(0);
    header.set_mtime(numeric(mtime, MAX_OCTAL11, "mtime", &mut pax));
    header.set_size(numeric(h.size, MAX_OCTAL11, "size", &mut pax));
    if let Some((major, minor)) = h.device {
        header.set_device_major(major)?;
        header.set_device_minor(minor)?;
    }
    for (name, value) in h.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(name);
        pax.push((key, value.clone()));
    }
    header.set_cksum();

    let mut written = 0;
    if !pax.is_empty() {
        written += write_pax(out, h.path, &mut pax)?;
    }
    out.write_all(header.as_bytes())?;
    Ok(written + BLOCK)
}

/// Writes the zero padding after `size` bytes of entry data; returns its length.
pub(crate) fn write_padding(out: &mut dyn Write, size: u64) -> io::Result<u64> {
    let pad = (BLOCK - size % BLOCK) % BLOCK;
    // pad < 512, so the cast cannot truncate.
    out.write_all(&[0u8; BLOCK as usize][..pad as usize])?;
    Ok(pad)
}

/// Writes the end-of-archive marker (two zero blocks); returns its length.
pub(crate) fn write_trailer(out: &mut dyn Write) -> io::Result<u64> {
    out.write_all(&[0u8; 2 * BLOCK as usize])?;
    Ok(2 * BLOCK)
}

/// A numeric field's value: `value` when it fits in octal, else 0 with a PAX record.
fn numeric(value: u64, max: u64, key: &str, pax: &mut Vec<(Vec<u8>, Vec<u8>)>) -> u64 {
    if value <= max {
        value
    } else {
        pax.push((key.as_bytes().to_vec(), value.to_string().into_bytes()));
        0
    }
}

/// Puts `path` in ustar's name (and prefix) fields, like Go's `archive/tar`; when it does not
/// fit, adds a PAX `path` record and stores a truncated name.
fn set_path(header: &mut Header, path: &[u8], pax: &mut Vec<(Vec<u8>, Vec<u8>)>) -> io::Result<()> {
    let ustar = header
        .as_ustar_mut()
        .ok_or_else(|| io::Error::other("not a ustar header"))?;
    if path.is_ascii() {
        if path.len() <= NAME_LEN {
            ustar.name[..path.len()].copy_from_slice(path);
            return Ok(());
        }
        if let Some((prefix, name)) = split_ustar_path(path) {
            ustar.prefix[..prefix.len()].copy_from_slice(prefix);
            ustar.name[..name.len()].copy_from_slice(name);
            return Ok(());
        }
    }
    let keep = path.len().min(NAME_LEN);
    ustar.name[..keep].copy_from_slice(&path[..keep]);
    pax.push((b"path".to_vec(), path.to_vec()));
    Ok(())
}

/// Splits a path at a `/` so that the prefix fits in 155 bytes and the rest, non-empty, in 100.
fn split_ustar_path(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut length = path.len();
    if length > PREFIX_LEN + 1 {
        length = PREFIX_LEN + 1;
    } else if path[length - 1] == b'/' {
        length -= 1;
    }
    let i = path[..length].iter().rposition(|b| *b == b'/')?;
    let (prefix, name) = (&path[..i], &path[i + 1..]);
    if i == 0 || name.is_empty() || name.len() > NAME_LEN || prefix.len() > PREFIX_LEN {
        return None;
    }
    Some((prefix, name))
}

/// Writes a PAX extended header (`x`) holding `records`, sorted by key for determinism.
fn write_pax(
    out: &mut dyn Write,
    path: &[u8],
    records: &mut [(Vec<u8>, Vec<u8>)],
) -> io::Result<u64> {
    records.sort();
    let mut data = Vec::new();
    for (key, value) in records.iter() {
        // "<len> <key>=<value>\n", where <len> counts itself.
        let rest = key.len() + value.len() + 3;
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        data.extend_from_slice(len.to_string().as_bytes());
        data.push(b' ');
        data.extend_from_slice(key);
        data.push(b'=');
        data.extend_from_slice(value);
        data.push(b'\n');
    }
    // Named like Go's archive/tar does, for tools that show it: `PaxHeaders.0/<base name>`.
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let base = trimmed.rsplit(|b| *b == b'/').next().unwrap_or(trimmed);
    let mut name = b"PaxHeaders.0/".to_vec();
    name.extend(base.iter().copied().filter(u8::is_ascii));
    name.truncate(NAME_LEN);

    let mut header = Header::new_ustar();
    header.set_entry_type(EntryType::XHeader);
    header.as_old_mut().name[..name.len()].copy_from_slice(&name);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(data.len() as u64);
    header.set_cksum();
    out.write_all(header.as_bytes())?;
    out.write_all(&data)?;
    let pad = write_padding(out, data.len() as u64)?;
    Ok(BLOCK + data.len() as u64 + pad)
}
