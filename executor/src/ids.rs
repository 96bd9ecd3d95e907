//! Resolving `user[:group]` to numeric ids outside the sandbox (for WORKDIR's owner and
//! `COPY --chown`), with the same rules as the sandbox's USER handling.

use crate::error::SandboxError;
use crate::user::{parse_group, parse_passwd, resolve};

/// The uid and gid of a Docker `user[:group]` spec, names looked up in the given
/// `/etc/passwd` and `/etc/group` contents.
pub fn resolve_ids(spec: &str, passwd: &str, group: &str) -> Result<(u32, u32), String> {
    resolve(spec, &parse_passwd(passwd), &parse_group(group))
        .map(|user| (user.uid, user.gid))
        .map_err(|failure| SandboxError::from(failure).to_string())
}

/// The owner `COPY --chown=SPEC` gives, as BuildKit reads it: like [`resolve_ids`], except
/// that a bare number is its own group (`1000` is `1000:1000`, whatever passwd says) and an
/// empty group (`app:`, `1000:`) is gid 0.
pub fn resolve_chown(spec: &str, passwd: &str, group: &str) -> Result<(u32, u32), String> {
    match spec.split_once(':') {
        Some((user, "")) => resolve_ids(user, passwd, group).map(|(uid, _)| (uid, 0)),
        None if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) => {
            resolve_ids(&format!("{spec}:{spec}"), passwd, group)
        }
        _ => resolve_ids(spec, passwd, group),
    }
}

#[cfg(test)]
mod tests {
    use super::{resolve_chown, resolve_ids};

    #[test]
    fn names_and_numbers_resolve() {
        let passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n";
        let group = "root:x:0:\nstaff:x:50:\n";
        assert_eq!(resolve_ids("app", passwd, group), Ok((1000, 1001)));
        assert_eq!(resolve_ids("app:staff", passwd, group), Ok((1000, 50)));
        assert_eq!(resolve_ids("42:43", passwd, group), Ok((42, 43)));
        assert!(resolve_ids("ghost", passwd, group).is_err_and(|e| e.contains("ghost")));
    }

    #[test]
    fn chown_reads_a_bare_number_as_its_own_group_and_an_empty_group_as_root() {
        let passwd = "app:x:1001:1002::/home/app:/bin/sh\n";
        let group = "grp:x:1003:\n";
        assert_eq!(resolve_chown("1234", passwd, group), Ok((1234, 1234)));
        assert_eq!(resolve_chown("1001", passwd, group), Ok((1001, 1001)));
        assert_eq!(resolve_chown("app", passwd, group), Ok((1001, 1002)));
        assert_eq!(resolve_chown("1001:", passwd, group), Ok((1001, 0)));
        assert_eq!(resolve_chown("app:", passwd, group), Ok((1001, 0)));
        assert_eq!(resolve_chown(":grp", passwd, group), Ok((0, 1003)));
        assert_eq!(resolve_chown("app:55", passwd, group), Ok((1001, 55)));
        assert!(resolve_chown("4294967295", passwd, group).is_err());
    }
}
