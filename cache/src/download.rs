//! [`download`]: a remote `http(s)://` file for `ADD`, streamed into a directory while
//! its sha256 is computed, as BuildKit's HTTP source does. The build's network policy
//! does not apply (BuildKit downloads in the daemon, not in a RUN sandbox); the proxy
//! variables (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`) do.
//!
//! Each build downloads again and keys the step on the content; `ETag`/`If-None-Match`
//! could later spare the transfer of an unchanged file.

use crate::digest::HashingWriter;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where it was written.
    pub path: PathBuf,
    /// Its content's `sha256:<hex>` digest.
    pub digest: String,
    /// `Last-Modified`, in Unix seconds, if the server sent a valid one.
    pub modified: Option<i64>,
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{url}: {what}")]
    Http {
        url: String,
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: the server answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("{url}: writing {}", path.display())]
    Write {
        url: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The last segment of the URL's path (BuildKit's `path.Base(u.Path)`), or
/// `__unnamed__` when it has none.
pub fn url_file_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => name.to_string(),
        _ => "__unnamed__".to_string(),
    }
}

/// Downloads `url` into `dir` as `name`, with mode 0600 (BuildKit's) and `Last-Modified`
/// as its mtime.
pub async fn download(url: &str, dir: &Path, name: &str) -> Result<Downloaded, DownloadError> {
    let http = |what| {
        move |source| DownloadError::Http {
            url: url.to_string(),
            what,
            source,
        }
    };
    // reqwest is built without a default crypto provider; a second install is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .build()
        .map_err(http("setting up the connection"))?;
    let mut response = client.get(url).send().await.map_err(http("requesting"))?;
    if !response.status().is_success() {
        return Err(DownloadError::Status {
            url: url.to_string(),
            status: response.status(),
        });
    }
    let modified = response
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date);
    let path = dir.join(name);
    let write = |source| DownloadError::Write {
        url: url.to_string(),
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(write)?;
    let mut out = HashingWriter::new(file);
    while let Some(chunk) = response.chunk().await.map_err(http("downloading"))? {
        out.write_all(&chunk).map_err(write)?;
    }
    let (digest, _, file) = out.finish();
    if let Some(secs) = modified.and_then(|s| u64::try_from(s).ok()) {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        file.set_modified(at).map_err(write)?;
    }
    Ok(Downloaded {
        path,
        digest,
        modified,
    })
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's preferred form) in Unix
/// seconds.
fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::format_description::parse_borrowed::<2>(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
    )
    .ok()?;
    let at = time::PrimitiveDateTime::parse(text.trim(), &format).ok()?;
    Some(at.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_url_path() {
        assert_eq!(url_file_name("http://h:1/a/b/c.tar.gz?x=1#f"), "c.tar.gz");
        assert_eq!(url_file_name("https://h/dir/"), "dir");
        assert_eq!(url_file_name("https://h"), "__unnamed__");
        assert_eq!(url_file_name("https://h/"), "__unnamed__");
    }

    #[test]
    fn http_dates_parse_to_unix_seconds() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
