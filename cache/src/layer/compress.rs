//! Parallel compression of layer blobs: the stream is cut into fixed-size chunks, each
//! compressed on its own thread as an independent gzip member or zstd frame, and these
//! are written in order. A gzip file may hold several members (RFC 1952 §2.2; Go's and
//! zlib's readers read them all), a zstd file several frames (RFC 8878 §3.1), and since
//! the cut points do not depend on the number of threads, the output is the same bytes
//! on every machine.

use flate2::write::GzEncoder;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes of input per gzip member or zstd frame; pinned, as are the zlib-rs backend and
/// the zstd library version, because it changes layer digests.
const CHUNK: usize = 1 << 20;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// The plain tar.
    Uncompressed,
    /// gzip (zlib-rs backend).
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// The OCI media type of a layer compressed this way.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Uncompressed => crate::oci::MEDIA_TYPE_LAYER_TAR,
            Self::Gzip => crate::oci::MEDIA_TYPE_LAYER_GZIP,
            Self::Zstd => crate::oci::MEDIA_TYPE_LAYER_ZSTD,
        }
    }

    /// The compression of a layer of this OCI (or Docker) media type, if it is a layer's.
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            crate::oci::MEDIA_TYPE_LAYER_TAR | crate::oci::MEDIA_TYPE_DOCKER_LAYER_TAR => {
                Some(Self::Uncompressed)
            }
            crate::oci::MEDIA_TYPE_LAYER_GZIP | crate::oci::MEDIA_TYPE_DOCKER_LAYER_GZIP => {
                Some(Self::Gzip)
            }
            crate::oci::MEDIA_TYPE_LAYER_ZSTD => Some(Self::Zstd),
            _ => None,
        }
    }

    /// Its name on the command line and in the index.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uncompressed => "uncompressed",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }

    /// The level used when none is asked for: gzip 6 and zstd 3, their libraries' defaults.
    pub fn default_level(self) -> i32 {
        match self {
            Self::Uncompressed => 0,
            Self::Gzip => 6,
            Self::Zstd => 3,
        }
    }

    /// The levels this compression accepts.
    pub fn levels(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Self::Uncompressed => 0..=0,
            Self::Gzip => 0..=9,
            Self::Zstd => 1..=22,
        }
    }

    /// Decompresses `blob`, a layer compressed this way.
    pub fn reader<'a>(self, blob: impl io::Read + 'a) -> io::Result<Box<dyn io::Read + 'a>> {
        Ok(match self {
            Self::Uncompressed => Box::new(blob),
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(blob)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::new(blob)?),
        })
    }

    /// The plain stream of an archive that is gzip'd, zstd'd or neither, told by its
    /// first bytes (the formats' magic numbers), not by its name.
    pub(crate) fn sniffed<'a>(
        mut archive: impl io::BufRead + 'a,
    ) -> io::Result<Box<dyn io::Read + 'a>> {
        let head = archive.fill_buf()?;
        let how = if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::Uncompressed
        };
        how.reader(archive)
    }
}

/// A writer that compresses what it is given across threads, into `inner`.
pub struct ParallelCompressor<W: Write> {
    /// `None` once finished.
    inner: Option<W>,
    buf: Vec<u8>,
    next_seq: u64,
    next_out: u64,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    done: Receiver<(u64, io::Result<Vec<u8>>)>,
    pending: BTreeMap<u64, Vec<u8>>,
    workers: Vec<JoinHandle<()>>,
}

impl<W: Write> ParallelCompressor<W> {
    /// Compresses with `compression` at `level` on every core.
    pub fn on_every_core(inner: W, compression: Compression, level: i32) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(inner, compression, level, threads)
    }

    /// Compresses with `compression` at `level` on `threads` threads (at least one).
    /// [`Compression::Uncompressed`] copies the chunks as they are.
    pub fn new(inner: W, compression: Compression, level: i32, threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs_tx, jobs_rx) = sync_channel::<(u64, Vec<u8>)>(threads * 2);
        let (done_tx, done_rx) = sync_channel(threads * 2);
        let jobs_rx = std::sync::Arc::new(std::sync::Mutex::new(jobs_rx));
        let workers = (0..threads)
            .map(|_| {
                let (jobs, done) = (jobs_rx.clone(), done_tx.clone());
                std::thread::spawn(move || {
                    loop {
                        let job = jobs.lock().map(|rx| rx.recv());
                        let Ok(Ok((seq, data))) = job else { return };
                        if done
                            .send((seq, compress(&data, compression, level)))
                            .is_err()
                        {
                            return;
                        }
                    }
                })
            })
            .collect();
        Self {
            inner: Some(inner),
            buf: Vec::with_capacity(CHUNK),
            next_seq: 0,
            next_out: 0,
            jobs: Some(jobs_tx),
            done: done_rx,
            pending: BTreeMap::new(),
            workers,
        }
    }

    /// Hands the buffered chunk to the workers, writing finished members meanwhile.
    fn dispatch(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let seq = self.next_seq;
        self.next_seq += 1;
        // Keep the reorder window bounded: at most a few chunks in flight.
        while self.next_seq - self.next_out > 4 * self.workers.len() as u64 {
            self.collect_one()?;
        }
        self.jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("compressor already finished"))?
            .send((seq, data))
            .map_err(|_| io::Error::other("compression worker stopped"))
    }

    /// Waits for one finished member and writes every member now in order.
    fn collect_one(&mut self) -> io::Result<()> {
        let (seq, member) = self
            .done
            .recv()
            .map_err(|_| io::Error::other("compression worker stopped"))?;
        self.pending.insert(seq, member?);
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| io::Error::other("compressor already finished"))?;
        while let Some(member) = self.pending.remove(&self.next_out) {
            inner.write_all(&member)?;
            self.next_out += 1;
        }
        Ok(())
    }

    /// Compresses what is left, waits for every member and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() || self.next_seq == 0 {
            // An empty stream still becomes one (empty) member or frame.
            self.dispatch()?;
        }
        self.jobs = None;
        while self.next_out < self.next_seq {
            self.collect_one()?;
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        self.inner
            .take()
            .ok_or_else(|| io::Error::other("compressor already finished"))
    }
}

/// One chunk as a complete gzip member or zstd frame.
fn compress(data: &[u8], compression: Compression, level: i32) -> io::Result<Vec<u8>> {
    match compression {
        Compression::Uncompressed => Ok(data.to_vec()),
        Compression::Gzip => {
            let level = flate2::Compression::new(level.clamp(0, 9).unsigned_abs());
            let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 64), level);
            encoder.write_all(data)?;
            encoder.finish()
        }
        Compression::Zstd => zstd::bulk::compress(data, level),
    }
}

impl<W: Write> Write for ParallelCompressor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.dispatch()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ParallelCompressor<W> {
    fn drop(&mut self) {
        // Closing the job channel stops the workers; results nobody reads are dropped.
        self.jobs = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn compressed(data: &[u8], compression: Compression, threads: usize) -> Vec<u8> {
        let level = compression.default_level();
        let mut w = ParallelCompressor::new(Vec::new(), compression, level, threads);
        for piece in data.chunks(7919) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn round_trips_and_is_the_same_bytes_on_any_thread_count() {
        let data: Vec<u8> = (0..(3 * CHUNK + 12345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        for compression in [Compression::Gzip, Compression::Zstd] {
            let one = compressed(&data, compression, 1);
            assert_eq!(one, compressed(&data, compression, 4));
            assert!(one.len() < data.len() / 2);
            let mut back = Vec::new();
            compression
                .reader(&one[..])
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{compression:?}");
        }
    }

    #[test]
    fn media_types_map_back_to_their_compression() {
        for c in [
            Compression::Uncompressed,
            Compression::Gzip,
            Compression::Zstd,
        ] {
            assert_eq!(Compression::of_media_type(c.media_type()), Some(c));
        }
        assert_eq!(Compression::of_media_type("application/json"), None);
    }

    #[test]
    fn empty_input_is_a_valid_stream() {
        for compression in [Compression::Gzip, Compression::Zstd] {
            let out = compressed(&[], compression, 2);
            assert!(!out.is_empty());
            let mut back = Vec::new();
            compression
                .reader(&out[..])
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert!(back.is_empty());
        }
    }

    #[test]
    fn archives_are_told_by_their_magic_numbers() {
        let data = b"plain tar bytes".repeat(100);
        for compression in [
            Compression::Uncompressed,
            Compression::Gzip,
            Compression::Zstd,
        ] {
            let packed = match compression {
                Compression::Uncompressed => data.clone(),
                other => compressed(&data, other, 1),
            };
            let mut back = Vec::new();
            Compression::sniffed(&packed[..])
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{compression:?}");
        }
    }
}
