//! Cache keys: sha256 over an op's definition, its inputs' roles and keys in slot
//! order and, for sources that are not vertices (context files), their content digest.

use crate::op::{Op, Role};
use sha2::{Digest, Sha256};

/// Version of the key derivation; bump it when the meaning of a key changes.
/// v2: inputs are (role, key) in slot order; `CopySource::From` became `Input(slot)`.
const KEY_VERSION: &str = "kiln-cache-key-v2";

/// The cache key of `op` given its inputs' roles and keys (in slot order) and the
/// content digest of its non-vertex sources.
pub fn cache_key(op: &Op, inputs: &[(Role, &str)], content: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(KEY_VERSION.as_bytes());
    // Serializing plain data (strings, vectors, unit enums) cannot fail.
    let def = serde_json::to_vec(op).unwrap_or_default();
    hasher.update((def.len() as u64).to_le_bytes());
    hasher.update(&def);
    for (role, key) in inputs {
        hasher.update(match role {
            Role::Parent => b"\0parent\0".as_slice(),
            Role::Source => b"\0source\0".as_slice(),
        });
        hasher.update(key.as_bytes());
    }
    if let Some(content) = content {
        hasher.update(b"\0content\0");
        hasher.update(content.as_bytes());
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{ExecOp, FileOp};
    use kiln_executor::NetworkMode;

    fn exec(cmd: &str) -> Op {
        exec_with_proxy(cmd, &[])
    }

    fn exec_with_proxy(cmd: &str, proxy: &[&str]) -> Op {
        Op::Exec(ExecOp {
            args: vec!["/bin/sh".into(), "-c".into(), cmd.into()],
            env: vec![],
            proxy_env: proxy.iter().map(|p| p.to_string()).collect(),
            cwd: "/".into(),
            user: String::new(),
            network: NetworkMode::Host,
            hostname: "buildkitsandbox".into(),
            pipes: Vec::new(),
            host_config: Default::default(),
        })
    }

    #[test]
    fn keys_depend_on_definition_inputs_and_content() {
        let p = [(Role::Parent, "p")];
        let a = cache_key(&exec("true"), &p, None);
        assert_eq!(a, cache_key(&exec("true"), &p, None));
        assert_ne!(a, cache_key(&exec("false"), &p, None));
        assert_ne!(a, cache_key(&exec("true"), &[(Role::Parent, "q")], None));
        assert_ne!(a, cache_key(&exec("true"), &[(Role::Source, "p")], None));
        let proxied = exec_with_proxy("true", &["HTTP_PROXY=http://proxy:3128"]);
        assert_eq!(a, cache_key(&proxied, &p, None), "proxies are not in keys");
        // `--add-host`, `--shm-size`, `--ulimit` are in the key, and absent when unset.
        let Op::Exec(mut sized) = exec("true") else {
            unreachable!()
        };
        assert!(
            !serde_json::to_string(&sized)
                .unwrap()
                .contains("host_config")
        );
        sized.host_config.shm_size = Some(1 << 20);
        assert_ne!(a, cache_key(&Op::Exec(sized), &p, None));
        let mkdir = Op::File(FileOp::Mkdir {
            path: "/app".into(),
            owner: None,
        });
        assert_ne!(
            cache_key(&mkdir, &p, Some("c1")),
            cache_key(&mkdir, &p, Some("c2"))
        );
    }
}
