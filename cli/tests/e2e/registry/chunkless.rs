//! A registry on 127.0.0.1, kept in memory, that breaks the chunked upload protocol as
//! some registries and proxies do: a blob goes up only as one `PUT` with its bytes.
//! What was pushed can be pulled back. It can also hold back its answers to blob
//! `HEAD`s until it has several at once, which only a client that uploads blobs at
//! the same time gets past.

use super::server::{Request, read_request, respond};
use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};

/// How it answers a `PATCH` (a chunk of an upload).
#[derive(Clone, Copy, Debug)]
pub enum PatchAnswer {
    /// 405 Method Not Allowed.
    Refused,
    /// 204 No Content: a success, but not the 202 the spec wants.
    WrongStatus,
}

/// What the registry holds: blobs by digest, manifests (type, bytes) by
/// `repo/manifests/tag-or-digest`.
#[derive(Default)]
struct Held {
    blobs: HashMap<String, Vec<u8>>,
    manifests: HashMap<String, (String, Vec<u8>)>,
    uploads: usize,
}

/// Starts one that answers no blob `HEAD` before it holds `heads_together` of them
/// for different blobs (0 or 1: no waiting); returns its host. The thread serves until
/// the test process ends.
pub fn chunkless_registry(patch: PatchAnswer, heads_together: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Held::default();
        let mut waiting: Vec<(TcpStream, Request)> = Vec::new();
        let mut gate_open = heads_together <= 1;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let request = read_request(&stream);
            if !gate_open && request.method == "HEAD" && request.target.contains("/blobs/") {
                if !waiting.iter().any(|(_, r)| r.target == request.target) {
                    waiting.push((stream, request));
                }
                gate_open = waiting.len() >= heads_together;
                if gate_open {
                    for (mut stream, request) in waiting.drain(..) {
                        held.serve(&mut stream, request, patch);
                    }
                }
                continue;
            }
            held.serve(&mut stream, request, patch);
        }
    });
    host
}

impl Held {
    fn serve(&mut self, stream: &mut TcpStream, request: Request, patch: PatchAnswer) {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let digest = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("digest="))
            .map(|d| d.replace("%3A", ":"));
        let Some(rest) = path.strip_prefix("/v2/") else {
            return respond(stream, "404 Not Found", "", b"", 0);
        };
        if rest.is_empty() {
            return respond(stream, "200 OK", "", b"{}", 2);
        }
        if let Some((repo, _)) = rest.split_once("/blobs/uploads/") {
            return match (request.method.as_str(), digest) {
                ("POST", _) => {
                    self.uploads += 1;
                    let location =
                        format!("Location: /v2/{repo}/blobs/uploads/{}\r\n", self.uploads);
                    respond(stream, "202 Accepted", &location, b"", 0);
                }
                ("PATCH", _) => match patch {
                    PatchAnswer::Refused => respond(stream, "405 Method Not Allowed", "", b"", 0),
                    PatchAnswer::WrongStatus => respond(stream, "204 No Content", "", b"", 0),
                },
                ("PUT", Some(digest))
                    if !request.body.is_empty()
                        && kiln_cache::sha256_digest(&request.body) == digest =>
                {
                    let location = format!("Location: /v2/{repo}/blobs/{digest}\r\n");
                    self.blobs.insert(digest, request.body);
                    respond(stream, "201 Created", &location, b"", 0);
                }
                _ => respond(stream, "400 Bad Request", "", b"", 0),
            };
        }
        if let Some((_, digest)) = rest.split_once("/blobs/") {
            return match (request.method.as_str(), self.blobs.get(digest)) {
                ("HEAD", Some(blob)) => respond(stream, "200 OK", "", b"", blob.len()),
                ("GET", Some(blob)) => respond(stream, "200 OK", "", blob, blob.len()),
                _ => respond(stream, "404 Not Found", "", b"", 0),
            };
        }
        if let Some((repo, _)) = rest.split_once("/manifests/") {
            match request.method.as_str() {
                "PUT" => {
                    let digest = kiln_cache::sha256_digest(&request.body);
                    let headers = format!(
                        "Location: /v2/{repo}/manifests/{digest}\r\nDocker-Content-Digest: {digest}\r\n"
                    );
                    let manifest = (request.content_type, request.body);
                    self.manifests
                        .insert(format!("{repo}/manifests/{digest}"), manifest.clone());
                    self.manifests.insert(rest.to_string(), manifest);
                    return respond(stream, "201 Created", &headers, b"", 0);
                }
                "GET" => {
                    if let Some((kind, bytes)) = self.manifests.get(rest) {
                        let headers = format!("Content-Type: {kind}\r\n");
                        return respond(stream, "200 OK", &headers, bytes, bytes.len());
                    }
                }
                _ => {}
            }
        }
        respond(stream, "404 Not Found", "", b"", 0)
    }
}
