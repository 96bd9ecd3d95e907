//! Reading streams that may be gzip-compressed, recognised by their magic bytes.

use flate2::read::MultiGzDecoder;
use std::io::{BufRead, Read};

/// `reader`'s bytes, gunzipped when they start with gzip's magic number.
pub(crate) fn decompressed<'a>(
    mut reader: impl BufRead + 'a,
) -> std::io::Result<Box<dyn Read + 'a>> {
    if reader.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}
