//! Hostile layer tars, shared by the `kiln load`, `kiln pull` and `kiln import` tests: each
//! tries to write or link outside the root, and must be refused saying which entry and why.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A tar entry: name, type and content (or link target).
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A tar of `entries`, names written as given (even `../x` or `/x`).
pub fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, link): (&str, _, &[u8], Option<&str>) = match entry {
            Entry::File(name, data) => (name, tar::EntryType::Regular, data, None),
            Entry::Symlink(name, target) => (name, tar::EntryType::Symlink, &[], Some(target)),
            Entry::HardLink(name, target) => (name, tar::EntryType::Link, &[], Some(target)),
        };
        let bytes = &mut header.as_old_mut().name;
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            let bytes = &mut header.as_old_mut().linkname;
            bytes[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_mode(0o755);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// One layer that must be refused, and what the error must say.
pub struct HostileLayer {
    /// A short name for the case (usable in a tag).
    pub name: &'static str,
    /// The layer tar.
    pub tar: Vec<u8>,
    /// The refusal, as kiln must print it.
    pub message: String,
}

/// A host directory (empty) and a host file (`untouched`) next to it, that no layer may
/// change, in `dir`.
pub struct Targets {
    pub outside: std::path::PathBuf,
    pub host_file: std::path::PathBuf,
}

impl Targets {
    pub fn new(dir: &Path) -> Self {
        let outside = dir.join("outside");
        let host_file = dir.join("host-file");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(&host_file, "untouched").unwrap();
        Self { outside, host_file }
    }

    /// Every way in: `..`, an absolute path, a write through a symlink (absolute, relative
    /// and escaping, or in-root), and hard links to outside (through `..`, absolute, through
    /// a symlink).
    pub fn layers(&self) -> Vec<HostileLayer> {
        let outside = self.outside.to_str().unwrap();
        let host_file = self.host_file.to_str().unwrap();
        let host_dir = self.host_file.parent().unwrap().to_str().unwrap();
        let up = "../../../../../../../..";
        let dotdot = format!("{up}{outside}/evil");
        let absolute = format!("{outside}/abs");
        let escaping = format!("{up}{outside}");
        let through = |link: &str, path: &str| {
            format!(
                "Refusing layer entry `{path}`: its parent `{link}` is a symlink (layers never write through symlinks)"
            )
        };
        let hard = |target: &str, why: &str| {
            format!("Refusing hard link `hard`: its target `{target}` {why}")
        };
        vec![
            HostileLayer {
                name: "dotdot",
                tar: tar_of(&[Entry::File(&dotdot, b"x")]),
                message: format!("Refusing layer entry `{dotdot}`: a `..` component"),
            },
            HostileLayer {
                name: "absolute",
                tar: tar_of(&[Entry::File(&absolute, b"x")]),
                message: format!("Refusing layer entry `{absolute}`: an absolute path"),
            },
            HostileLayer {
                name: "symlink-absolute",
                tar: tar_of(&[
                    Entry::Symlink("link", outside),
                    Entry::File("link/through", b"x"),
                ]),
                message: through("link", "link/through"),
            },
            HostileLayer {
                name: "symlink-escaping",
                tar: tar_of(&[Entry::Symlink("up", &escaping), Entry::File("up/x", b"x")]),
                message: through("up", "up/x"),
            },
            HostileLayer {
                name: "symlink-in-root",
                tar: tar_of(&[
                    Entry::File("etc/passwd", b"root"),
                    Entry::Symlink("a", "etc"),
                    Entry::File("a/passwd", b"x"),
                ]),
                message: through("a", "a/passwd"),
            },
            HostileLayer {
                name: "hardlink-dotdot",
                tar: tar_of(&[Entry::HardLink("hard", "../../../../etc/passwd")]),
                message: hard("../../../../etc/passwd", "points outside the archive root"),
            },
            HostileLayer {
                name: "hardlink-absolute",
                tar: tar_of(&[Entry::HardLink("hard", host_file)]),
                message: hard(host_file, "is an absolute path"),
            },
            HostileLayer {
                name: "hardlink-symlink",
                tar: tar_of(&[
                    Entry::Symlink("out", host_dir),
                    Entry::HardLink("hard", "out/host-file"),
                ]),
                message: hard("out/host-file", "passes through a symlink"),
            },
        ]
    }

    /// Nothing was written outside, nor linked to the host file.
    #[track_caller]
    pub fn assert_untouched(&self, case: &str) {
        let written = std::fs::read_dir(&self.outside).unwrap().count();
        assert_eq!(written, 0, "{case} wrote outside");
        assert_eq!(std::fs::read(&self.host_file).unwrap(), b"untouched");
        let links = std::fs::metadata(&self.host_file).unwrap().nlink();
        assert_eq!(links, 1, "{case} linked the host file");
    }
}
