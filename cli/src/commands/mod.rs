//! One module per `kiln` command.

pub mod build;
pub mod cache;
pub mod check;
pub mod history;
pub mod images;
pub mod import;
pub mod inspect;
pub mod load;
pub mod login;
pub mod logout;
pub mod outputs;
pub mod pull;
pub mod push;
pub mod rmi;
pub mod run;
pub mod save;
mod stdin_context;
pub mod tag;

use crate::args::{
    CompressionArgs, CompressionKind, DevicesCgroup, Network, RegistryArgs, SandboxArgs,
};
use crate::error::CliError;
use kiln_cache::layer::Compression;
use kiln_cache::{ArchiveReport, ExportCompression};
use kiln_executor::{DevicePolicy, NetworkMode, Sandbox};
use kiln_parser::MAX_DOCKERFILE_SIZE;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The Dockerfile of a build: `-f FILE`, else `CONTEXT/Dockerfile`.
/// The Dockerfile `-f` names (`-`: stdin), else the context's `Dockerfile`, else its
/// `dockerfile`, as docker falls back to it.
pub fn dockerfile_path(file: Option<&Path>, context: &Path) -> PathBuf {
    if let Some(file) = file {
        return file.to_path_buf();
    }
    let upper = context.join("Dockerfile");
    let lower = context.join("dockerfile");
    if !upper.exists() && lower.exists() {
        lower
    } else {
        upper
    }
}

/// Whether the Dockerfile path is `-`, the standard input.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// How messages name a Dockerfile: its path, or `<stdin>`.
pub fn dockerfile_display(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// `SOURCE_DATE_EPOCH`: the time to write into images instead of the clock's.
pub fn source_date_epoch() -> Result<Option<i64>, CliError> {
    epoch_value(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

/// A `SOURCE_DATE_EPOCH` value: seconds, or nothing when empty or unset.
pub fn epoch_value(value: Option<&str>) -> Result<Option<i64>, CliError> {
    match value {
        Some(v) if !v.is_empty() => v.parse::<i64>().map(Some).map_err(|_| {
            CliError::user(format!(
                "SOURCE_DATE_EPOCH must be a number of seconds, not `{v}`"
            ))
        }),
        _ => Ok(None),
    }
}

/// Reads a Dockerfile as UTF-8 text, refusing one larger than
/// [`MAX_DOCKERFILE_SIZE`] (or endless, as `/dev/zero`) after reading just past it.
/// `-` reads the standard input.
pub fn read_dockerfile(path: &Path) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let limit = MAX_DOCKERFILE_SIZE + 1;
    let read = if is_stdin(path) {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        fs_err::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::user(e.to_string()))?;
    let display = dockerfile_display(path);
    if bytes.len() as u64 > MAX_DOCKERFILE_SIZE {
        return Err(CliError::user(format!(
            "Dockerfile `{display}` is too large (max {} MiB)",
            MAX_DOCKERFILE_SIZE >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| CliError::user(format!("`{display}` is not valid UTF-8")))
}

impl From<Network> for NetworkMode {
    fn from(n: Network) -> Self {
        match n {
            Network::Default => NetworkMode::Private,
            Network::Host => NetworkMode::Host,
            Network::None => NetworkMode::None,
        }
    }
}

/// The sandbox runner of `kiln build` and `kiln run`: this binary as the helper.
pub fn sandbox(args: &SandboxArgs) -> Result<Sandbox, CliError> {
    let devices = match args.devices_cgroup {
        DevicesCgroup::Auto => DevicePolicy::Auto,
        DevicesCgroup::V1 => DevicePolicy::V1,
        DevicesCgroup::V2 => DevicePolicy::V2,
        DevicesCgroup::Unrestricted => DevicePolicy::Unrestricted,
    };
    Ok(Sandbox::new(std::env::current_exe()?).with_devices(devices))
}

impl CompressionArgs {
    /// The compression asked for, its level checked.
    pub fn export_compression(&self) -> Result<ExportCompression, CliError> {
        let compression = match self.compression {
            CompressionKind::Gzip => Compression::Gzip,
            CompressionKind::Zstd => Compression::Zstd,
            CompressionKind::Uncompressed => Compression::Uncompressed,
        };
        let level = self
            .compression_level
            .unwrap_or_else(|| compression.default_level());
        let levels = compression.levels();
        if !levels.contains(&level) {
            return Err(CliError::user(format!(
                "`--compression-level {level}` is out of range for {}: {}-{}",
                compression.name(),
                levels.start(),
                levels.end()
            )));
        }
        Ok(ExportCompression {
            compression,
            level,
            force: self.force_compression,
        })
    }
}

/// Says on stderr what an archive cost: layers compressed now, and layers reused.
pub fn report_export(report: &ArchiveReport) {
    crate::output::eprintln(format_args!(
        "exporting layers: {} compressed, {} reused",
        report.compressed, report.reused
    ));
}

/// Docker-style human sizes: 1.23MB (decimal units).
pub fn human_size(bytes: u64) -> String {
    match decimal_units(bytes) {
        (_, "B") => format!("{bytes}B"),
        (value, unit) => {
            format!("{value:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
                + unit
        }
    }
}

/// `bytes` in decimal (1000-based) units: the value and its unit, `B` to `TB`.
pub fn decimal_units(bytes: u64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    (value, UNITS[unit])
}

/// Docker-style ages: "3 minutes ago".
pub fn human_age(unix_seconds: i64) -> String {
    let secs = (kiln_cache::root::unix_now() - unix_seconds).max(0);
    let (n, unit) = match secs {
        0..60 => (secs, "second"),
        60..3600 => (secs / 60, "minute"),
        3600..86400 => (secs / 3600, "hour"),
        _ => (secs / 86400, "day"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// The registries a command pulls from or pushes to: the config file's settings plus
/// `--insecure-registry` hosts.
pub fn registries(args: &RegistryArgs) -> Result<kiln_cache::registry::Registries, CliError> {
    let mut config = kiln_cache::registry::RegistryConfig::load()?;
    for host in &args.insecure_registries {
        config.allow_http(host);
    }
    Ok(kiln_cache::registry::Registries::new(config))
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_use_decimal_units() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1_234_000), "1.234MB");
        assert_eq!(human_size(2_000), "2kB");
    }
}
