//! sha256 digests in the OCI `sha256:<hex>` form, and a writer that hashes what passes.

use sha2::{Digest as _, Sha256};
use std::io::{self, Write};

/// The `sha256:<hex>` digest of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The hex part of a `sha256:<hex>` digest, if it is well formed.
pub fn digest_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

/// Wraps a writer, hashing and counting every byte written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Starts hashing in front of `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The digest and length of everything written, and the inner writer.
    pub fn finish(self) -> (String, u64, W) {
        let digest = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        (digest, self.len, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A random lowercase hex id of `bytes` random bytes, for snapshot and temp names.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // The kernel's RNG is always there on Linux; fall back to time and pid if not.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        buf = Sha256::digest(seed.to_le_bytes())[..bytes.min(32)].to_vec();
    }
    hex::encode(buf)
}

/// Wraps a reader, hashing every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: io::Read> HashingReader<R> {
    /// Starts hashing behind `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The digest and length of everything read, and the inner reader.
    pub fn finish(self) -> (String, u64, R) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.len,
            self.inner,
        )
    }
}

impl<R: io::Read> io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_writer_matches_one_shot_digest() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (digest, len, inner) = w.finish();
        assert_eq!(digest, sha256_digest(b"hello world"));
        assert_eq!(len, 11);
        assert_eq!(inner, b"hello world");
    }

    #[test]
    fn digest_hex_rejects_malformed_digests() {
        let d = sha256_digest(b"");
        assert!(digest_hex(&d).is_some());
        assert!(digest_hex("sha256:../../etc").is_none());
        assert!(digest_hex("md5:abc").is_none());
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id(8), random_id(8));
        assert_eq!(random_id(8).len(), 16);
    }
}
