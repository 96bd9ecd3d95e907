//! `kiln import`: a rootfs tarball (plain or compressed) becomes a one-layer image,
//! unpacked as it is read. Like a built layer, it is not stored as a tar: the image's
//! diff id is that of kiln's own layer tar of the snapshot, and nothing is compressed
//! until the image leaves the machine.

use crate::error::{CacheError, Result};
use crate::index::ImageRow;
use crate::oci::{History, ImageConfig, host_architecture, rfc3339};
use crate::store::Store;
use fs_err as fs;
use std::io::BufReader;
use std::path::Path;

impl Store {
    /// Imports the rootfs tarball at `path` as a one-layer image tagged `name`, created
    /// at `created` (Unix seconds; `None`: now).
    pub fn import_rootfs(&self, path: &Path, name: &str, created: Option<i64>) -> Result<ImageRow> {
        let name = crate::reference::tag_reference(name)?;
        let mut plain = crate::layer::Compression::sniffed(BufReader::new(fs::File::open(path)?))?;
        let active = self.prepare(None)?;
        match crate::layer::apply_layer(&mut plain, &active.fs_dir()) {
            Err(e) => return Err(self.abort_after(active, e.into())),
            Ok(stats) if stats.entries == 0 => {
                let empty = CacheError::EmptyArchive {
                    path: path.to_path_buf(),
                };
                return Err(self.abort_after(active, empty));
            }
            Ok(_) => {}
        }
        let snapshot = active.id().to_string();
        self.commit(active)?;
        let now = created.unwrap_or_else(crate::root::unix_now);
        let config = ImageConfig {
            created: Some(rfc3339(now)),
            architecture: host_architecture().into(),
            os: "linux".into(),
            history: vec![History {
                created: Some(rfc3339(now)),
                created_by: Some(format!("kiln import {}", path.display())),
                comment: Some("Imported from a rootfs tarball".into()),
                empty_layer: false,
            }],
            ..Default::default()
        };
        self.write_image(config, Some(&snapshot), &[name], now, None)
    }
}
