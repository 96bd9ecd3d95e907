//! Registry authentication: a registry behind TLS (a test CA named in kiln's config) and
//! htpasswd basic auth, before and after `kiln login`, and after `kiln logout`.

use super::server::LocalRegistry;
use crate::harness::Kiln;

#[test]
fn tls_basic_auth_registry_works_after_login_only() {
    let Some(secured) = LocalRegistry::start_secured("kiln", "s3cret") else {
        return;
    };
    let host = secured.registry.host.clone();
    let kiln = Kiln::new();
    let work = kiln.work.path();
    let config = work.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[registry.\"{host}\"]\nca = [\"{}\"]\n",
            secured.ca.display()
        ),
    )
    .unwrap();
    let (config, docker) = (config.display().to_string(), work.join("docker"));
    let docker_str = docker.display().to_string();
    let env = [
        ("KILN_CONFIG", config.as_str()),
        ("DOCKER_CONFIG", docker_str.as_str()),
    ];
    let name = format!("{host}/tools/busybox:1");
    kiln.cmd(&["tag", "busybox:local", &name]).ok();

    let refused = kiln.cmd_env(&["push", &name], &env);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&host) && refused.stderr.to_lowercase().contains("unauthorized"),
        "{}",
        refused.stderr
    );

    let login = kiln.cmd_input(
        &["login", "-u", "kiln", "--password-stdin", &host],
        &env,
        "s3cret\n",
    );
    assert_eq!(login.ok().stdout, "Login Succeeded\n");
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(docker.join("config.json")).unwrap()).unwrap();
    // base64("kiln:s3cret")
    assert_eq!(file["auths"][&host]["auth"], "a2lsbjpzM2NyZXQ=");

    kiln.cmd_env(&["push", &name], &env).ok();
    let puller = Kiln::empty();
    puller.cmd_env(&["pull", &name], &env).ok();
    assert_eq!(puller.run_out(&name, &["echo", "authed"]), "authed\n");

    let logout = kiln.cmd_env(&["logout", &host], &env).ok();
    assert_eq!(
        logout.stdout,
        format!("Removing login credentials for {host}\n")
    );
    let again = Kiln::empty().cmd_env(&["pull", &name], &env);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(!again.stderr.contains("s3cret"));
}
