//! ADD: local archives extracted (told by content), other files copied like COPY, and
//! remote URLs downloaded and keyed on their content.

use crate::harness::{Kiln, tool_available};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

fn sh(dir: &Path, script: &str) {
    let status = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

#[test]
fn add_extracts_local_archives_of_every_compression() {
    if !["tar", "gzip", "bzip2", "xz", "zstd"]
        .iter()
        .all(|t| tool_available(t))
    {
        return;
    }
    let kiln = Kiln::new();
    let dir = kiln.context(
        "add-archives",
        &[
            ("src/hello.txt", "hello\n"),
            ("notreally.tar.gz", "just text\n"),
            (
                "Dockerfile",
                "FROM busybox:local\n\
                 ADD plain.bin /t/plain/\n\
                 ADD gz.bin /t/gz\n\
                 ADD bz.bin xz.bin /t/many/\n\
                 ADD zst.bin /t/zst/\n\
                 ADD --chown=1:2 gz.bin /t/owned/\n\
                 ADD notreally.tar.gz /t/files/\n\
                 ADD --chmod=600 notreally.tar.gz /t/files/m\n",
            ),
        ],
    );
    sh(
        &dir,
        "tar cf plain.bin src && gzip -c plain.bin > gz.bin && bzip2 -c plain.bin > bz.bin \
         && xz -c plain.bin > xz.bin && zstd -q -c plain.bin > zst.bin",
    );
    kiln.build("add:1", &dir).ok();
    let out = kiln.run_out(
        "add:1",
        &[
            "sh",
            "-c",
            "cat /t/plain/src/hello.txt /t/gz/src/hello.txt /t/many/src/hello.txt \
             /t/zst/src/hello.txt /t/files/notreally.tar.gz; \
             stat -c '%u:%g %a' /t/owned/src/hello.txt /t/files/m",
        ],
    );
    assert_eq!(
        out,
        "hello\nhello\nhello\nhello\njust text\n1:2 644\n0:0 600\n"
    );
}

#[test]
fn add_refuses_a_hostile_archive() {
    if !tool_available("python3") {
        return;
    }
    let kiln = Kiln::new();
    let dir = kiln.context(
        "add-hostile",
        &[("Dockerfile", "FROM busybox:local\nADD evil.tar /x/\n")],
    );
    sh(
        &dir,
        "python3 -c \"import tarfile,io\nt=tarfile.open('evil.tar','w')\n\
         i=tarfile.TarInfo('../escaped');i.size=1\nt.addfile(i,io.BytesIO(b'x'))\nt.close()\"",
    );
    let build = kiln.build("evil:1", &dir);
    assert_ne!(build.code, 0);
    assert!(
        build.stderr.contains("../escaped") && build.stderr.contains("`..`"),
        "{}",
        build.stderr
    );
}

/// A one-file HTTP server on a free loopback port: every GET answers with the current
/// body and a fixed `Last-Modified`.
fn serve(body: Arc<Mutex<Vec<u8>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = body.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\
                 Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

#[test]
fn add_downloads_urls_keyed_on_their_content() {
    let body = Arc::new(Mutex::new(b"one\n".to_vec()));
    let port = serve(body.clone());
    let kiln = Kiln::new();
    let url = format!("http://127.0.0.1:{port}/dir/data.tar?x=1");
    let dockerfile = format!("FROM busybox:local\nADD {url} /got/\n");
    let dir = kiln.context("add-url", &[("Dockerfile", &dockerfile)]);
    let first = kiln.build("url:1", &dir).ok();
    assert!(
        first.status_of("ADD").starts_with("DONE"),
        "{}",
        first.stderr
    );
    let out = kiln.run_out(
        "url:1",
        &[
            "sh",
            "-c",
            "cat /got/data.tar; stat -c '%a %Y %u' /got/data.tar",
        ],
    );
    assert_eq!(out, "one\n600 784111777 0\n");
    let same = kiln.build("url:1", &dir).ok();
    assert_eq!(same.status_of("ADD"), "CACHED", "{}", same.stderr);
    *body.lock().unwrap() = b"two\n".to_vec();
    let changed = kiln.build("url:2", &dir).ok();
    assert!(
        changed.status_of("ADD").starts_with("DONE"),
        "{}",
        changed.stderr
    );
    assert_eq!(kiln.run_out("url:2", &["cat", "/got/data.tar"]), "two\n");

    let wrong = format!("sha256:{}", "0".repeat(64));
    let dockerfile = format!("FROM busybox:local\nADD --checksum={wrong} {url} /got/\n");
    let dir = kiln.context("add-url-sum", &[("Dockerfile", &dockerfile)]);
    let failed = kiln.build("url:3", &dir);
    assert_ne!(failed.code, 0);
    let actual = "sha256:27dd8ed44a83ff94d557f9fd0412ed5a8cbca69ea04922d88c01184a07300a5a";
    assert!(
        failed.stderr.contains(&wrong) && failed.stderr.contains(actual),
        "{}",
        failed.stderr
    );
}

#[test]
fn add_of_a_git_repository_says_not_supported_yet() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "add-git",
        &[(
            "Dockerfile",
            "FROM busybox:local\nADD https://example.com/repo.git#main /src\n",
        )],
    );
    let build = kiln.build("git:1", &dir);
    assert_ne!(build.code, 0);
    assert!(
        build
            .stderr
            .contains("ADD from a git repository is not supported yet")
            && build.stderr.contains("Dockerfile:2"),
        "{}",
        build.stderr
    );
}
