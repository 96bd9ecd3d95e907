//! Parallel gzip for layer blobs: the stream is cut into fixed-size chunks, each
//! compressed on its own thread as an independent gzip member, and the members are
//! written in order. A gzip file may hold several members (RFC 1952 §2.2; Go's and
//! zlib's readers read them all), and since the cut points do not depend on the
//! number of threads, the output is the same bytes on every machine.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes of input per gzip member.
const CHUNK: usize = 1 << 20;

/// gzip level of layer blobs; pinned, with the zlib-rs backend and [`CHUNK`], because
/// it changes layer digests.
const LAYER_LEVEL: u32 = 6;

/// A writer that gzips what it is given across threads, into `inner`.
pub struct ParallelGz<W: Write> {
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

impl<W: Write> ParallelGz<W> {
    /// The writer for layer blobs: the pinned level, on every core.
    pub fn for_layers(inner: W) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(inner, LAYER_LEVEL, threads)
    }

    /// Compresses at `level` on `threads` threads (at least one).
    pub fn new(inner: W, level: u32, threads: usize) -> Self {
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
                        if done.send((seq, compress(&data, level))).is_err() {
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
            .ok_or_else(|| io::Error::other("gzip writer already finished"))?
            .send((seq, data))
            .map_err(|_| io::Error::other("gzip worker stopped"))
    }

    /// Waits for one finished member and writes every member now in order.
    fn collect_one(&mut self) -> io::Result<()> {
        let (seq, member) = self
            .done
            .recv()
            .map_err(|_| io::Error::other("gzip worker stopped"))?;
        self.pending.insert(seq, member?);
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| io::Error::other("gzip writer already finished"))?;
        while let Some(member) = self.pending.remove(&self.next_out) {
            inner.write_all(&member)?;
            self.next_out += 1;
        }
        Ok(())
    }

    /// Compresses what is left, waits for every member and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() || self.next_seq == 0 {
            // An empty stream still becomes one (empty) gzip member.
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
            .ok_or_else(|| io::Error::other("gzip writer already finished"))
    }
}

fn compress(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        Compression::new(level),
    );
    encoder.write_all(data)?;
    encoder.finish()
}

impl<W: Write> Write for ParallelGz<W> {
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

impl<W: Write> Drop for ParallelGz<W> {
    fn drop(&mut self) {
        // Closing the job channel stops the workers; results nobody reads are dropped.
        self.jobs = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;
    use std::io::Read;

    fn gz(data: &[u8], threads: usize) -> Vec<u8> {
        let mut w = ParallelGz::new(Vec::new(), 6, threads);
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
        let one = gz(&data, 1);
        assert_eq!(one, gz(&data, 4));
        let mut back = Vec::new();
        MultiGzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn empty_input_is_a_valid_gzip_stream() {
        let out = gz(&[], 2);
        let mut back = Vec::new();
        MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}
