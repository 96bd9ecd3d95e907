//! Registry authentication: a registry behind TLS (a test CA named in kiln's config) and
//! htpasswd basic auth, before and after `kiln login`, and after `kiln logout`; with
//! credentials in `config.json` or in a credential helper; and a registry that wants
//! bearer tokens from its token endpoint, fetched anonymously, then with credentials.

use super::server::{LocalRegistry, Secured};
use crate::harness::{Kiln, Run};
use std::path::PathBuf;

/// `kiln login` failed as the registry at `host` refused the password.
fn assert_login_refused(run: &Run, host: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("login failed for `kiln` on {host}: unauthorized")),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("Login Succeeded"), "{}", run.stdout);
}

/// `run` failed as the registry at `host` refused it (docker-registry says
/// "unauthorized", oci-client "Not authorized").
fn assert_not_authorized(run: &Run, host: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    let text = run.stderr.to_lowercase();
    assert!(
        text.contains(host) && text.contains("authorized"),
        "{}",
        run.stderr
    );
}

/// A TLS + basic auth registry, a kiln with busybox tagged for it, and the environment
/// (kiln config naming the CA, `DOCKER_CONFIG` in the work dir) every command gets.
struct Setup {
    secured: Secured,
    kiln: Kiln,
    name: String,
    env: Vec<(String, String)>,
}

impl Setup {
    fn new() -> Option<Self> {
        let secured = LocalRegistry::start_secured("kiln", "s3cret")?;
        let host = &secured.registry.host;
        let kiln = Kiln::new();
        let config = kiln.work.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[registry.\"{host}\"]\nca = [\"{}\"]\n",
                secured.ca.display()
            ),
        )
        .unwrap();
        let name = format!("{host}/tools/busybox:1");
        kiln.cmd(&["tag", "busybox:local", &name]).ok();
        let env = vec![
            ("KILN_CONFIG".into(), config.display().to_string()),
            (
                "DOCKER_CONFIG".into(),
                kiln.work.path().join("docker").display().to_string(),
            ),
        ];
        Some(Self {
            secured,
            kiln,
            name,
            env,
        })
    }

    fn host(&self) -> &str {
        &self.secured.registry.host
    }

    fn docker_config(&self) -> PathBuf {
        self.kiln.work.path().join("docker/config.json")
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn login_with(&self, password: &str) -> Run {
        self.kiln.cmd_input(
            &["login", "-u", "kiln", "--password-stdin", self.host()],
            &self.env(),
            format!("{password}\n"),
        )
    }

    fn login(&self) {
        assert_eq!(self.login_with("s3cret").ok().stdout, "Login Succeeded\n");
    }

    /// Pushes, then pulls into an empty store and runs the image.
    fn push_pull_run(&self) {
        self.kiln.cmd_env(&["push", &self.name], &self.env()).ok();
        let puller = Kiln::empty();
        puller.cmd_env(&["pull", &self.name], &self.env()).ok();
        assert_eq!(puller.run_out(&self.name, &["echo", "authed"]), "authed\n");
    }

    fn logout_then_pull_fails(&self) {
        let logout = self
            .kiln
            .cmd_env(&["logout", self.host()], &self.env())
            .ok();
        assert_eq!(
            logout.stdout,
            format!("Removing login credentials for {}\n", self.host())
        );
        let again = Kiln::empty().cmd_env(&["pull", &self.name], &self.env());
        assert_not_authorized(&again, self.host());
        assert!(!again.stderr.contains("s3cret"));
    }
}

#[test]
fn tls_basic_auth_registry_works_after_login_only() {
    let Some(setup) = Setup::new() else {
        return;
    };
    let refused = setup.kiln.cmd_env(&["push", &setup.name], &setup.env());
    assert_not_authorized(&refused, setup.host());
    setup.login();
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(setup.docker_config()).unwrap()).unwrap();
    // base64("kiln:s3cret")
    assert_eq!(file["auths"][setup.host()]["auth"], "a2lsbjpzM2NyZXQ=");
    setup.push_pull_run();
    setup.logout_then_pull_fails();
}

#[test]
fn login_with_a_wrong_password_is_refused_and_changes_nothing() {
    let Some(setup) = Setup::new() else {
        return;
    };
    let before = r#"{"auths":{"other.example":{"auth":"YTpi"}}}"#;
    std::fs::create_dir_all(setup.docker_config().parent().unwrap()).unwrap();
    std::fs::write(setup.docker_config(), before).unwrap();
    let refused = setup.login_with("wrong");
    assert_login_refused(&refused, setup.host());
    assert!(!refused.stderr.contains("wrong"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(setup.docker_config()).unwrap(),
        before
    );
    setup.login();
    setup.push_pull_run();
}

/// A `docker-credential-kilntest` that keeps one server's credentials in a file.
const HELPER: &str = r#"#!/bin/sh
store="$(dirname "$0")/stored.json"
case "$1" in
store) cat > "$store" ;;
get) if [ -f "$store" ]; then cat "$store"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) if [ -f "$store" ]; then rm "$store"; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
"#;

#[test]
fn credentials_go_through_the_creds_store_helper() {
    let Some(mut setup) = Setup::new() else {
        return;
    };
    let bin = setup.kiln.work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-kilntest");
    std::fs::write(&helper, HELPER).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(setup.docker_config().parent().unwrap()).unwrap();
    std::fs::write(setup.docker_config(), r#"{"credsStore":"kilntest"}"#).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    setup.env.push(("PATH".into(), path));

    setup.login();
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bin.join("stored.json")).unwrap()).unwrap();
    assert_eq!(stored["ServerURL"], setup.host());
    assert_eq!(stored["Secret"], "s3cret");
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(setup.docker_config()).unwrap()).unwrap();
    assert_eq!(file["auths"][setup.host()], serde_json::json!({}));
    setup.push_pull_run();
    setup.logout_then_pull_fails();
    assert!(!bin.join("stored.json").exists());
}

#[test]
fn bearer_tokens_anonymous_then_with_credentials() {
    let (layer, config) = super::layer_and_config();
    let host = super::server::token_registry(layer, config);
    let kiln = Kiln::empty();
    let docker = kiln.work.path().join("docker").display().to_string();
    let env = [("DOCKER_CONFIG", docker.as_str())];
    kiln.cmd_env(&["pull", &format!("{host}/public/app:1")], &env)
        .ok();
    let private = format!("{host}/private/app:1");
    let refused = kiln.cmd_env(&["pull", &private], &env);
    assert_not_authorized(&refused, &host);
    let login = |password: &str| {
        kiln.cmd_input(
            &["login", "-u", "kiln", "--password-stdin", &host],
            &env,
            password,
        )
    };
    assert_login_refused(&login("wrong"), &host);
    assert!(!kiln.work.path().join("docker/config.json").exists());
    assert_eq!(login("s3cret").ok().stdout, "Login Succeeded\n");
    kiln.cmd_env(&["pull", &private], &env).ok();
}

#[test]
fn an_identity_token_in_docker_config_is_refused_by_name() {
    let (layer, config) = super::layer_and_config();
    let host = super::server::token_registry(layer, config);
    let kiln = Kiln::empty();
    let docker = kiln.work.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"a2lsbjo=","identitytoken":"refresh"}}}}}}"#),
    )
    .unwrap();
    let docker = docker.display().to_string();
    let run = kiln.cmd_env(
        &["pull", &format!("{host}/public/app:1")],
        &[("DOCKER_CONFIG", docker.as_str())],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("`identitytoken`") && run.stderr.contains("not support"),
        "{}",
        run.stderr
    );
}
