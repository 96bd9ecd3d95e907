//! Docker's `USER`: reading `/etc/passwd` and `/etc/group` of the container and resolving
//! "name", "uid", "name:group", "uid:gid"… to ids, supplementary groups and a home directory,
//! following runc's `GetExecUser`.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};

use crate::protocol::{Failure, StepContext};

/// Largest passwd/group file read; a hostile image cannot make the sandbox read forever.
const MAX_DB_SIZE: u64 = 16 << 20;

/// Largest uid or gid a container may use, as in Docker and runc: `setresuid(-1)` means "leave
/// unchanged", so 4294967295 would keep root.
pub(crate) const MAX_ID: u32 = 2_147_483_647;

/// Parses a numeric id; `Ok(None)` when `s` is not a number (a name), an error when it is a
/// number outside `0..=MAX_ID`.
fn numeric_id(s: &str, kind: &'static str) -> Result<Option<u32>, Failure> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(id) if id <= MAX_ID => Ok(Some(id)),
        _ => Err(Failure::IdOutOfRange {
            kind: kind.to_string(),
            value: s.to_string(),
        }),
    }
}

/// Checks that an id read from a user database is in range.
fn check_id(id: u32, kind: &'static str) -> Result<u32, Failure> {
    if id <= MAX_ID {
        Ok(id)
    } else {
        Err(Failure::IdOutOfRange {
            kind: kind.to_string(),
            value: id.to_string(),
        })
    }
}

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The credentials the process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub home: String,
}

/// Parses `/etc/passwd`, skipping comments and malformed lines (as libc does).
pub(crate) fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].trim().parse().ok()?,
                gid: f[3].trim().parse().ok()?,
                home: f.get(5).copied().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// Parses `/etc/group`, skipping comments and malformed lines.
pub(crate) fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].trim().parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|m| !m.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves a Docker `USER` value against the container's user and group databases.
///
/// Numeric ids need not exist in the databases; names must. Without an explicit group the
/// primary group comes from passwd and the supplementary groups are those that list the user.
/// The primary group is always the first supplementary group too, as containerd and runc
/// ≥ 1.1.5 set them since CVE-2023-25173 (a process cannot drop it with `setgroups`), so
/// `id` as root shows `groups=0(root),10(wheel)` where the group file lists root in wheel.
pub(crate) fn resolve(
    spec: &str,
    passwd: &[PasswdEntry],
    groups: &[GroupEntry],
) -> Result<ExecUser, Failure> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_arg = if user_arg.is_empty() { "0" } else { user_arg };
    let numeric_uid = numeric_id(user_arg, "uid")?;

    let mut user = ExecUser {
        uid: 0,
        gid: 0,
        sgids: Vec::new(),
        home: "/".to_string(),
    };
    let matched = passwd
        .iter()
        .find(|p| p.name == user_arg || numeric_uid == Some(p.uid));
    match (matched, numeric_uid) {
        (Some(p), _) => {
            user.uid = p.uid;
            user.gid = p.gid;
            if !p.home.is_empty() {
                user.home.clone_from(&p.home);
            }
        }
        (None, Some(uid)) => user.uid = uid,
        (None, None) => {
            return Err(Failure::UnknownUser {
                user: user_arg.to_string(),
            });
        }
    }

    match group_arg.filter(|g| !g.is_empty()) {
        Some(group_arg) => {
            let numeric_gid = numeric_id(group_arg, "gid")?;
            let found = groups
                .iter()
                .find(|g| g.name == group_arg || numeric_gid == Some(g.gid));
            user.gid = match (found, numeric_gid) {
                (Some(g), _) => g.gid,
                (None, Some(gid)) => gid,
                (None, None) => {
                    return Err(Failure::UnknownGroup {
                        group: group_arg.to_string(),
                    });
                }
            };
        }
        None => {
            if let Some(p) = matched {
                user.sgids = groups
                    .iter()
                    .filter(|g| g.members.contains(&p.name))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    if !user.sgids.contains(&user.gid) {
        user.sgids.insert(0, user.gid);
    }
    check_id(user.uid, "uid")?;
    check_id(user.gid, "gid")?;
    for gid in &user.sgids {
        check_id(*gid, "gid")?;
    }
    Ok(user)
}

/// Reads a user database of the current root (call after `pivot_root`). A missing file, or one
/// that is not a regular file, reads as empty.
pub(crate) fn read_db(path: &str) -> Result<String, Failure> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e).step(|| format!("open {path}")),
    };
    let meta = file.metadata().step(|| format!("stat {path}"))?;
    if meta.file_type().is_fifo() || !meta.is_file() {
        return Ok(String::new());
    }
    let mut bytes = Vec::new();
    file.take(MAX_DB_SIZE)
        .read_to_end(&mut bytes)
        .step(|| format!("read {path}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Resolves `spec` against `/etc/passwd` and `/etc/group` of the current root.
pub(crate) fn lookup(spec: &str) -> Result<ExecUser, Failure> {
    let passwd = parse_passwd(&read_db("/etc/passwd")?);
    let groups = parse_group(&read_db("/etc/group")?);
    resolve(spec, &passwd, &groups)
}

/// Switches to `user`: supplementary groups, then gid, then uid.
pub(crate) fn switch_to(user: &ExecUser) -> Result<(), Failure> {
    let sgids: Vec<Gid> = user.sgids.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&sgids).step(|| "setgroups")?;
    let gid = Gid::from_raw(user.gid);
    setresgid(gid, gid, gid).step(|| format!("setgid {}", user.gid))?;
    let uid = Uid::from_raw(user.uid);
    setresuid(uid, uid, uid).step(|| format!("setuid {}", user.uid))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        # comment\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        broken line\n\
        app:x:1000:1001:App:/home/app:/bin/sh\n\
        nohome:x:1002:1002::\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:app,other\nstaff:x:50:app\napp:x:1001:\nweird:x:notanumber:app\nwww:x:33:\n";

    fn resolve_str(spec: &str) -> Result<ExecUser, Failure> {
        resolve(spec, &parse_passwd(PASSWD), &parse_group(GROUP))
    }

    #[test]
    fn parses_passwd_and_skips_garbage() {
        let p = parse_passwd(PASSWD);
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[2],
            PasswdEntry {
                name: "app".into(),
                uid: 1000,
                gid: 1001,
                home: "/home/app".into()
            }
        );
        assert_eq!(p[3].home, "");
    }

    #[test]
    fn parses_group_members() {
        let g = parse_group(GROUP);
        assert_eq!(g.len(), 5);
        assert_eq!(g[1].members, vec!["app".to_string(), "other".to_string()]);
        assert!(g[0].members.is_empty());
    }

    #[test]
    fn empty_user_is_root_with_root_home() -> Result<(), Failure> {
        let u = resolve_str("")?;
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        Ok(())
    }

    #[test]
    fn name_gives_passwd_ids_and_supplementary_groups() -> Result<(), Failure> {
        let u = resolve_str("app")?;
        assert_eq!(
            u,
            ExecUser {
                uid: 1000,
                gid: 1001,
                sgids: vec![1001, 10, 50],
                home: "/home/app".into()
            }
        );
        Ok(())
    }

    #[test]
    fn numeric_uid_of_a_known_user_uses_its_entry() -> Result<(), Failure> {
        let u = resolve_str("1000")?;
        assert_eq!((u.uid, u.gid, u.sgids.len()), (1000, 1001, 3));
        Ok(())
    }

    #[test]
    fn unknown_numeric_ids_are_fine() -> Result<(), Failure> {
        let u = resolve_str("4242:4343")?;
        assert_eq!(
            u,
            ExecUser {
                uid: 4242,
                gid: 4343,
                sgids: vec![4343],
                home: "/".into()
            }
        );
        Ok(())
    }

    #[test]
    fn explicit_group_by_name_drops_supplementary_groups() -> Result<(), Failure> {
        let u = resolve_str("app:www")?;
        assert_eq!((u.uid, u.gid, u.sgids), (1000, 33, vec![33]));
        Ok(())
    }

    #[test]
    fn root_gets_its_primary_group_and_the_groups_listing_it() -> Result<(), Failure> {
        let groups = parse_group("root:x:0:\nwheel:x:10:root\n");
        let u = resolve("", &parse_passwd(PASSWD), &groups)?;
        assert_eq!((u.uid, u.gid, u.sgids), (0, 0, vec![0, 10]));
        Ok(())
    }

    #[test]
    fn unknown_names_are_docker_errors() {
        assert_eq!(
            resolve_str("nobody"),
            Err(Failure::UnknownUser {
                user: "nobody".into()
            })
        );
        assert_eq!(
            resolve_str("app:nogroup"),
            Err(Failure::UnknownGroup {
                group: "nogroup".into()
            })
        );
        let msg = crate::SandboxError::from(Failure::UnknownUser {
            user: "nobody".into(),
        })
        .to_string();
        assert_eq!(
            msg,
            "unable to find user nobody: no matching entries in passwd file"
        );
    }

    #[test]
    fn missing_databases_allow_numeric_ids_only() {
        assert!(resolve("1000:1000", &[], &[]).is_ok());
        assert!(resolve("root", &[], &[]).is_err());
        let u = resolve("", &[], &[]);
        assert_eq!(u.map(|u| u.home), Ok("/".to_string()));
    }

    #[test]
    fn uid_that_means_root_is_refused() {
        for spec in [
            "4294967295",
            "2147483648",
            "0:4294967295",
            "99999999999999999999",
        ] {
            assert!(
                matches!(resolve_str(spec), Err(Failure::IdOutOfRange { .. })),
                "{spec}"
            );
        }
        assert!(resolve_str("2147483647:2147483647").is_ok());
        let msg = crate::SandboxError::from(Failure::IdOutOfRange {
            kind: "uid".into(),
            value: "4294967295".into(),
        })
        .to_string();
        assert_eq!(
            msg,
            "uids and gids must be in range 0-2147483647 (uid 4294967295)"
        );
    }

    #[test]
    fn passwd_entry_with_an_out_of_range_uid_is_refused() {
        let passwd = parse_passwd("evil:x:4294967295:0::/:/bin/sh\n");
        assert!(matches!(
            resolve("evil", &passwd, &[]),
            Err(Failure::IdOutOfRange { .. })
        ));
        let groups = parse_group("evilg:x:4294967295:app\n");
        let passwd = parse_passwd("app:x:1000:1000::/:/bin/sh\n");
        assert!(matches!(
            resolve("app", &passwd, &groups),
            Err(Failure::IdOutOfRange { .. })
        ));
        assert!(matches!(
            resolve("app:evilg", &passwd, &groups),
            Err(Failure::IdOutOfRange { .. })
        ));
    }

    #[test]
    fn entry_without_home_gets_slash() -> Result<(), Failure> {
        assert_eq!(resolve_str("nohome")?.home, "/");
        Ok(())
    }
}
