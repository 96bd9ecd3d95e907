//! `kiln run`: an image's snapshot chain as a read-only lower, a fresh writable layer
//! on top, and the image's ENTRYPOINT + CMD in the sandbox.
//!
//! ```text
//! containers-v1/<id>/
//! ├── fs/      the container's writable layer (overlay upper dir)
//! ├── work/    overlay's work dir
//! └── mnt/     where the root filesystem is mounted
//! ```

use crate::backend::overlay_sandbox;
use crate::error::{Result, SolveError};
use kiln_cache::Store;
use kiln_executor::{NetworkMode, Output, ProcessSpec, Sandbox};
use std::path::{Path, PathBuf};

/// What `kiln run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    /// Replaces the image's CMD when not empty.
    pub command: Vec<String>,
    /// `-e K=V` (or `-e K`, taken from kiln's own environment).
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub network: NetworkMode,
    /// `--rm`: delete the container's writable layer when it exits.
    pub remove: bool,
}

/// Runs a container to completion; returns its exit code.
pub async fn run_container(store: &Store, sandbox: &Sandbox, opts: &RunOptions) -> Result<i32> {
    let image = store.image(&opts.image)?;
    let top = store.image_snapshot(&image)?;
    let config = &image.config.config;
    let mut args: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    if opts.command.is_empty() {
        args.extend(config.cmd.clone().unwrap_or_default());
    } else {
        args.extend(opts.command.iter().cloned());
    }
    if args.is_empty() {
        return Err(SolveError::Input {
            what: format!("image `{}`", kiln_cache::familiar(&image.row.name)),
            message: "no command specified".into(),
        });
    }
    let id = kiln_cache::random_id(6);
    let dir = store.root().containers_dir().join(&id);
    for sub in ["fs", "work", "mnt"] {
        fs_err::create_dir_all(dir.join(sub))?;
    }
    store.record_container_image(&id, &image.row)?;
    let relative = |sub: &str| PathBuf::from(format!("../containers-v1/{id}/{sub}"));
    let mount = store.overlay_mount(top.as_deref(), &relative("fs"), &relative("work"))?;
    let process = ProcessSpec {
        args,
        env: merge_env(&config.env, &opts.env),
        cwd: opts
            .workdir
            .clone()
            .or_else(|| config.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into()),
        user: opts
            .user
            .clone()
            .or_else(|| config.user.clone())
            .unwrap_or_default(),
    };
    let spec = overlay_sandbox(
        mount,
        dir.join("mnt"),
        process,
        &id,
        kiln_executor::HostsFile::Container,
        opts.network,
    );
    let status = sandbox.run(&spec, Output::Inherit).await;
    if opts.remove {
        remove_container(&dir)?;
    }
    let status = status.map_err(|e| SolveError::Input {
        what: format!("image `{}`", kiln_cache::familiar(&image.row.name)),
        message: crate::run::error_chain(&e),
    })?;
    Ok(status.code)
}

/// Removes the container's folder, however deep a tree the container made in it.
fn remove_container(dir: &Path) -> Result<()> {
    kiln_cache::tree::remove_tree(dir)?;
    Ok(())
}

/// The image's Env with `-e` entries applied (`K` alone takes kiln's own value).
fn merge_env(image: &[String], overrides: &[String]) -> Vec<String> {
    let mut env = image.to_vec();
    for entry in overrides {
        let entry = match entry.split_once('=') {
            Some(_) => entry.clone(),
            None => match std::env::var(entry) {
                Ok(v) => format!("{entry}={v}"),
                Err(_) => continue,
            },
        };
        let key = entry
            .split_once('=')
            .map(|(k, _)| k.to_string())
            .unwrap_or_default();
        env.retain(|e| e.split_once('=').map(|(k, _)| k) != Some(key.as_str()));
        env.push(entry);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::merge_env;

    #[test]
    fn env_overrides_replace_image_values() {
        let image = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        let out = merge_env(&image, &["A=2".into(), "B=3".into()]);
        assert_eq!(out, ["PATH=/bin", "A=2", "B=3"]);
    }
}
