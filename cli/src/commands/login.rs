//! `kiln login`: checks a registry's credentials against it (`GET /v2/`, answering a
//! bearer challenge with them), then stores them in docker's `config.json` (or its
//! credential helper), as `docker login` does. The password comes from stdin with
//! `--password-stdin`; it is never printed.

use crate::args::LoginArgs;
use crate::error::CliError;
use crate::output::{eprintln, println};
use kiln_cache::registry::{DockerConfig, Registries, RegistryConfig, docker_config_path};
use std::io::Read;

/// docker's config file, read.
pub fn docker_config() -> Result<DockerConfig, CliError> {
    let path = docker_config_path()
        .ok_or_else(|| CliError::user("neither DOCKER_CONFIG nor HOME is set"))?;
    Ok(DockerConfig::load(&path)?)
}

pub fn run(args: &LoginArgs) -> Result<u8, CliError> {
    let password = match (&args.password, args.password_stdin) {
        (Some(password), _) => {
            eprintln("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            password.clone()
        }
        (None, true) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::user(format!("cannot read the password from stdin: {e}")))?;
            text.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => {
            return Err(CliError::user(
                "kiln login needs the password on stdin (--password-stdin)",
            ));
        }
    };
    if password.is_empty() {
        return Err(CliError::user("the password is empty"));
    }
    let mut config = docker_config()?;
    let registries = Registries::new(RegistryConfig::load()?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(registries.check_login(&args.registry, &args.username, &password))?;
    config.login(&args.registry, &args.username, &password)?;
    println("Login Succeeded")?;
    Ok(0)
}
