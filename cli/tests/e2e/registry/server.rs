//! Registries on 127.0.0.1 for the tests: Debian's `docker-registry` with its own config
//! on a free port and temp storage (never the packaged service), and a tiny hostile one.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub use crate::harness::tool_available;

/// A `docker-registry` process on a loopback port, killed when dropped.
pub struct LocalRegistry {
    child: Child,
    pub host: String,
    _dir: tempfile::TempDir,
}

impl LocalRegistry {
    /// Where the registry's filesystem storage keeps the blob `digest`.
    pub fn blob_data(&self, digest: &str) -> std::path::PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self._dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Starts one, or `None` when the tools are missing outside CI.
    pub fn start() -> Option<Self> {
        if !tool_available("skopeo") {
            return None;
        }
        Self::start_with(tempfile::tempdir().unwrap(), "")
    }

    /// Starts one behind TLS (a certificate for 127.0.0.1 from a test CA) that wants
    /// basic auth as `user`/`password` (htpasswd, bcrypt); `None` when the tools are
    /// missing outside CI.
    pub fn start_secured(user: &str, password: &str) -> Option<Secured> {
        if !tool_available("openssl") || !tool_available("htpasswd") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let htpasswd = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .unwrap();
        assert!(htpasswd.status.success());
        std::fs::write(d.join("htpasswd"), htpasswd.stdout).unwrap();
        std::fs::write(d.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for args in [
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=kiln test CA",
                ],
            ]
            .concat(),
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.cnf",
                "-out",
                "server.crt",
            ]
            .to_vec(),
        ] {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let extra = format!(
            "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: kiln-test\n    path: {}\n",
            d.join("server.crt").display(),
            d.join("server.key").display(),
            d.join("htpasswd").display(),
        );
        let ca = d.join("ca.crt");
        Some(Secured {
            registry: Self::start_with(dir, &extra)?,
            ca,
        })
    }

    /// Starts one with `extra` appended to its config (after `http: addr`).
    fn start_with(dir: tempfile::TempDir, extra: &str) -> Option<Self> {
        if !tool_available("docker-registry") {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n{extra}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Self {
            child,
            host,
            _dir: dir,
        };
        // Wait until it answers (each try blocks on connect; no clock involved).
        while get(&registry.host, "/v2/").is_none() {
            assert!(registry.child_running(), "docker-registry exited at start");
            std::thread::yield_now();
        }
        Some(registry)
    }

    fn child_running(&self) -> bool {
        Command::new("kill")
            .args(["-0", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Copies the image `name` of the OCI layout `layout` to `repo:tag` here.
    pub fn push_layout(&self, layout: &Path, name: &str, target: &str, all: bool) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if all {
            cmd.arg("--all");
        }
        let out = cmd
            .arg(format!("oci:{}:{name}", layout.display()))
            .arg(format!("docker://{}/{target}", self.host))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A registry behind TLS and basic auth, and its CA certificate.
pub struct Secured {
    pub registry: LocalRegistry,
    pub ca: std::path::PathBuf,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status line of `GET path` on `host`, if it connects.
fn get(host: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(host).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line)
}

/// How the hostile registry serves its one layer.
#[derive(Clone, Copy)]
pub enum Hostile {
    /// As it is, with its true digest and size (for layers whose content is hostile).
    Faithful,
    /// The right size, other bytes.
    WrongDigest,
    /// Announces the full length, sends half, closes.
    Truncated,
    /// The manifest claims a 10 GB layer.
    Huge,
    /// Sends the layer's headers and half its bytes, then nothing, keeping the socket
    /// open.
    StallBlob,
    /// Reads the manifest request and never answers, keeping the socket open.
    StallManifest,
}

/// One OCI image manifest over `config` and one plain layer of `layer_size` bytes.
fn image_manifest(config: &[u8], layer_digest: &str, layer_size: u64) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{layer_size}}}]}}"#,
        kiln_cache::sha256_digest(config),
        config.len()
    )
    .into_bytes()
}

/// One HTTP request, as the test registries read it.
pub struct Request {
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The `Authorization` header (empty if none).
    pub authorization: String,
    /// The `Content-Type` header (empty if none).
    pub content_type: String,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

/// Reads one request: its line, the headers the test registries look at, and its body.
pub fn read_request(stream: &TcpStream) -> Request {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let mut words = line.split(' ');
    let mut request = Request {
        method: words.next().unwrap_or("").to_string(),
        target: words.next().unwrap_or("").to_string(),
        authorization: String::new(),
        content_type: String::new(),
        body: Vec::new(),
    };
    let mut length = 0;
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "authorization" => request.authorization = value,
                "content-type" => request.content_type = value,
                "content-length" => length = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        header.clear();
    }
    request.body.resize(length, 0);
    let _ = std::io::Read::read_exact(&mut reader, &mut request.body);
    request
}

/// Writes a response whose `Content-Length` is `announced` (the body may differ).
pub fn respond(stream: &mut TcpStream, status: &str, headers: &str, body: &[u8], announced: usize) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {announced}\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(body);
}

/// A registry on 127.0.0.1 serving `hostile/app:1`, whose layer misbehaves as asked.
/// Returns its host; the thread serves until the test process ends.
pub fn hostile_registry(mode: Hostile, layer: Vec<u8>, config: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let layer_digest = kiln_cache::sha256_digest(&layer);
    let layer_size = match mode {
        Hostile::Huge => 10_000_000_000,
        _ => layer.len() as u64,
    };
    let manifest = image_manifest(&config, &layer_digest, layer_size);
    let config_path = format!(
        "/v2/hostile/app/blobs/{}",
        kiln_cache::sha256_digest(&config)
    );
    let layer_path = format!("/v2/hostile/app/blobs/{layer_digest}");
    std::thread::spawn(move || {
        // Stalled connections, kept open until the test process ends.
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let path = read_request(&stream).target;
            let (kind, body, announced): (&str, Vec<u8>, usize) = if path == "/v2/" {
                ("application/json", b"{}".to_vec(), 2)
            } else if path == "/v2/hostile/app/manifests/1"
                && matches!(mode, Hostile::StallManifest)
            {
                held.push(stream);
                continue;
            } else if path == "/v2/hostile/app/manifests/1" {
                let n = manifest.len();
                (
                    "application/vnd.oci.image.manifest.v1+json",
                    manifest.clone(),
                    n,
                )
            } else if path == config_path {
                ("application/octet-stream", config.clone(), config.len())
            } else if path == layer_path {
                match mode {
                    Hostile::Faithful => ("application/octet-stream", layer.clone(), layer.len()),
                    Hostile::WrongDigest => (
                        "application/octet-stream",
                        vec![b'x'; layer.len()],
                        layer.len(),
                    ),
                    Hostile::Truncated | Hostile::Huge | Hostile::StallManifest => (
                        "application/octet-stream",
                        layer[..layer.len() / 2].to_vec(),
                        layer.len(),
                    ),
                    Hostile::StallBlob => {
                        let half = &layer[..layer.len() / 2];
                        respond(&mut stream, "200 OK", "", half, layer.len());
                        held.push(stream);
                        continue;
                    }
                }
            } else {
                respond(&mut stream, "404 Not Found", "", b"", 0);
                continue;
            };
            respond(
                &mut stream,
                "200 OK",
                &format!("Content-Type: {kind}\r\n"),
                &body,
                announced,
            );
        }
    });
    host
}

/// The token `token_registry` gives anonymous clients (pull of `public/app` only).
const ANONYMOUS_TOKEN: &str = "anonymous-token";
/// The token it gives `kiln`/`s3cret` (anything).
const USER_TOKEN: &str = "user-token";

/// A registry on 127.0.0.1 that wants bearer tokens from its own token endpoint
/// (`/token`, announced by its challenges), serving the same image as `public/app:1`
/// (for any token) and `private/app:1` (for the token of basic `kiln`/`s3cret` only).
/// Returns its host; the thread serves until the test process ends.
pub fn token_registry(layer: Vec<u8>, config: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let layer_digest = kiln_cache::sha256_digest(&layer);
    let manifest = image_manifest(&config, &layer_digest, layer.len() as u64);
    let config_digest = kiln_cache::sha256_digest(&config);
    let challenge =
        format!("WWW-Authenticate: Bearer realm=\"http://{host}/token\",service=\"kiln-test\"\r\n");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Request {
                target,
                authorization,
                ..
            } = read_request(&stream);
            if target.starts_with("/token?") {
                let token = match authorization.as_str() {
                    "" => ANONYMOUS_TOKEN,
                    "Basic a2lsbjpzM2NyZXQ=" => USER_TOKEN,
                    _ => {
                        respond(&mut stream, "401 Unauthorized", "", b"", 0);
                        continue;
                    }
                };
                let body = format!(r#"{{"token":"{token}"}}"#);
                respond(&mut stream, "200 OK", "", body.as_bytes(), body.len());
                continue;
            }
            let token = authorization.strip_prefix("Bearer ").unwrap_or("");
            let allowed = token == USER_TOKEN
                || (token == ANONYMOUS_TOKEN && target.starts_with("/v2/public/"));
            if !allowed {
                respond(&mut stream, "401 Unauthorized", &challenge, b"", 0);
                continue;
            }
            let tail = target.split_once("/app/").map_or("", |(_, tail)| tail);
            let (kind, body) = if target == "/v2/" {
                ("application/json", &b"{}"[..])
            } else if tail == "manifests/1" {
                ("application/vnd.oci.image.manifest.v1+json", &manifest[..])
            } else if tail == format!("blobs/{config_digest}") {
                ("application/octet-stream", &config[..])
            } else if tail == format!("blobs/{layer_digest}") {
                ("application/octet-stream", &layer[..])
            } else {
                respond(&mut stream, "404 Not Found", "", b"", 0);
                continue;
            };
            let headers = format!("Content-Type: {kind}\r\n");
            respond(&mut stream, "200 OK", &headers, body, body.len());
        }
    });
    host
}
