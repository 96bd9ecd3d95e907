//! The last lines of a step's output, kept for its error message.

/// Keeps the last `max_bytes` of a byte stream.
#[derive(Debug, Default)]
pub struct Tail {
    buf: Vec<u8>,
    max_bytes: usize,
}

impl Tail {
    /// A tail keeping at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_bytes,
        }
    }

    /// Appends output.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if self.buf.len() > self.max_bytes {
            let cut = self.buf.len() - self.max_bytes;
            self.buf.drain(..cut);
        }
    }

    /// The last `n` lines, lossily decoded.
    pub fn last_lines(&self, n: usize) -> String {
        let text = String::from_utf8_lossy(&self.buf);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::Tail;

    #[test]
    fn keeps_the_last_lines_within_the_byte_limit() {
        let mut tail = Tail::new(16);
        tail.push(b"line1\nline2\n");
        tail.push(b"line3\nline4\n");
        assert_eq!(tail.last_lines(2), "line3\nline4");
        assert!(tail.last_lines(10).len() <= 16);
    }
}
