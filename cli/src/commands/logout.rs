//! `kiln logout`: removes a registry's credentials from docker's `config.json` (and its
//! credential helper).

use crate::args::LogoutArgs;
use crate::error::CliError;
use crate::output::println;

pub fn run(args: &LogoutArgs) -> Result<u8, CliError> {
    if super::login::docker_config()?.logout(&args.registry)? {
        println(format_args!(
            "Removing login credentials for {}",
            args.registry
        ))?;
    } else {
        println(format_args!("Not logged in to {}", args.registry))?;
    }
    Ok(0)
}
