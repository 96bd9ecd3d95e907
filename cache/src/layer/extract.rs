//! [`LocalArchive`]: a local file that `ADD` finds to be a tar archive (plain, gzip,
//! bzip2, xz or zstd, told by its first bytes, never by its name), extracted into a
//! directory with the layer applier's safe writes ([`super::apply::extract_tar`]).

use fs_err::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::apply::extract_tar;
use super::{LayerError, LayerStats};

/// Size of a tar header block.
const BLOCK: usize = 512;

/// How a local archive is compressed, told by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    Plain,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Packing {
    fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(b"BZh") {
            Self::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Self::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::Plain
        }
    }

    fn reader<'a>(self, data: impl BufRead + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::Plain => Box::new(data),
            Self::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(data)),
            Self::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(data)),
            Self::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(data)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(data)?),
        })
    }
}

/// The plain stream of the file at `path`, if it is a tar archive (compressed or not).
fn tar_stream(path: &Path) -> io::Result<Option<Box<dyn Read>>> {
    let mut data = BufReader::new(File::open(path)?);
    let packing = Packing::sniff(data.fill_buf()?);
    let mut head = Vec::with_capacity(BLOCK);
    // A stream that fails to decompress is not an archive: it is copied as it is.
    let readable = packing
        .reader(&mut data)
        .and_then(|r| r.take(BLOCK as u64).read_to_end(&mut head));
    if readable.is_err() || !is_tar_header(&head) {
        return Ok(None);
    }
    let data = BufReader::new(File::open(path)?);
    packing.reader(data).map(Some)
}

/// Whether `block` is a tar header: the ustar magic, or (an old-style header) a
/// checksum that matches, as Go's `archive/tar` accepts.
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < BLOCK || block.iter().all(|b| *b == 0) {
        return false;
    }
    if &block[257..262] == b"ustar" {
        return true;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0'))
        .and_then(|s| u64::from_str_radix(s, 8).ok());
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    stored == Some(sum)
}

/// A local file found to be a tar archive, ready to extract.
pub struct LocalArchive {
    tar: Box<dyn Read>,
}

impl LocalArchive {
    /// The file at `path`, if it is a tar archive; `None` if it is not one, for the caller
    /// to copy as a file.
    pub fn open(path: &Path) -> Result<Option<Self>, LayerError> {
        let open = |source| LayerError::Apply {
            op: "open",
            path: path.display().to_string(),
            source,
        };
        Ok(tar_stream(path).map_err(open)?.map(|tar| Self { tar }))
    }

    /// Extracts it into the directory `dest`, merging with what is there, with `chown`
    /// replacing the archive's owners. Refuses what [`super::apply_layer`] refuses (paths
    /// out of `dest`, writes through symlinks, hard links out).
    pub fn extract(
        mut self,
        dest: &Path,
        chown: Option<(u32, u32)>,
    ) -> Result<LayerStats, LayerError> {
        extract_tar(&mut self.tar, dest, chown)
    }
}
