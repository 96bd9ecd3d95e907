//! Resolving `user[:group]` to numeric ids outside the sandbox (for `COPY --chown`),
//! with the same rules as the sandbox's USER handling.

use crate::error::SandboxError;
use crate::user::{parse_group, parse_passwd, resolve};

/// The uid and gid of a Docker `user[:group]` spec, names looked up in the given
/// `/etc/passwd` and `/etc/group` contents.
pub fn resolve_ids(spec: &str, passwd: &str, group: &str) -> Result<(u32, u32), String> {
    resolve(spec, &parse_passwd(passwd), &parse_group(group))
        .map(|user| (user.uid, user.gid))
        .map_err(|failure| SandboxError::from(failure).to_string())
}

#[cfg(test)]
mod tests {
    use super::resolve_ids;

    #[test]
    fn names_and_numbers_resolve() {
        let passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n";
        let group = "root:x:0:\nstaff:x:50:\n";
        assert_eq!(resolve_ids("app", passwd, group), Ok((1000, 1001)));
        assert_eq!(resolve_ids("app:staff", passwd, group), Ok((1000, 50)));
        assert_eq!(resolve_ids("42:43", passwd, group), Ok((42, 43)));
        assert!(resolve_ids("ghost", passwd, group).is_err_and(|e| e.contains("ghost")));
    }
}
