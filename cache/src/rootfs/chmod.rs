//! [`Chmod`]: `COPY --chmod`'s value, octal (`0755`) or symbolic (`u+x,go-w`, `a=r`,
//! `g=u-w`).
//!
//! Symbolic modes follow BuildKit, which applies them with `tonistiigi/dchapes-mode`, a Go
//! port of BSD's `setmode(3)` with no umask: each clause is `[ugoa]*` then one or more
//! `op perms` (`+`, `-`, `=`; `rwxXst` or a copy of `u`, `g` or `o`). As in BSD, `X` means
//! anything only with `+` (`a=rX` is `a=r`); `s` is ignored for `o` alone, and so is `t`.
//! The mode is applied to each copied entry's own mode (`X`: if it is a directory or
//! already executable by anyone); folders a copy creates on the way get 0755.

use serde::{Serialize, Serializer};

const SET_UID: u32 = 0o4000;
const SET_GID: u32 = 0o2000;
const STICKY: u32 = 0o1000;
/// `setmode`'s `STANDARD_BITS`: set-id bits and all permissions, not the sticky bit.
const STANDARD: u32 = SET_UID | SET_GID | 0o777;
const USER: u32 = SET_UID | 0o700;
const GROUP: u32 = SET_GID | 0o070;
const OTHER: u32 = 0o007;

/// An invalid `--chmod` value; the messages are BuildKit's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChmodError {
    /// Looks numeric but is not an octal number up to 07777.
    #[error("invalid chmod parameter: '{text}'. it should be octal string and between 0 and 07777")]
    NotOctal {
        /// The value as given.
        text: String,
    },
    /// Not a symbolic mode chmod(1) understands.
    #[error("invalid chmod parameter: '{text}': invalid syntax")]
    Syntax {
        /// The value as given.
        text: String,
    },
}

/// `--chmod`: an absolute mode, or symbolic changes to each entry's mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chmod {
    /// An octal mode (set-id and sticky bits kept, as current BuildKit keeps them).
    Octal(u32),
    /// A symbolic mode: its text (what cache keys hash) and its commands.
    Symbolic {
        /// The value as written.
        text: String,
        cmds: Vec<Cmd>,
    },
}

/// One step of a symbolic mode, as `setmode`'s `BITCMD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Set these bits.
    Set(u32),
    /// Clear these bits.
    Clear(u32),
    /// Set these bits if the entry is a directory or was executable by anyone.
    SetIfExecutable(u32),
    /// Copy the permissions of one class (`u`, `g` or `o`) to the classes `to`.
    Copy {
        from: u8,
        to: Classes,
        set: bool,
        clear: bool,
    },
}

/// The classes a copy command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    user: bool,
    group: bool,
    other: bool,
}

impl Chmod {
    /// Parses `--chmod`'s value as BuildKit's `dispatchCopy` does: an octal number up to
    /// 07777, else a symbolic mode.
    pub fn parse(text: &str) -> Result<Self, ChmodError> {
        let not_octal = || ChmodError::NotOctal { text: text.into() };
        if !text.is_empty() && text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return match u32::from_str_radix(text, 8) {
                Ok(mode) if mode <= 0o7777 => Ok(Self::Octal(mode)),
                _ => Err(not_octal()),
            };
        }
        if text.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(not_octal());
        }
        let cmds = parse_symbolic(text.as_bytes())
            .ok_or_else(|| ChmodError::Syntax { text: text.into() })?;
        Ok(Self::Symbolic {
            text: text.into(),
            cmds,
        })
    }

    /// The mode (`0o7777` bits) a copied entry whose own mode is `mode` gets.
    pub fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        match self {
            Self::Octal(m) => *m,
            Self::Symbolic { cmds, .. } => apply(cmds, mode & 0o7777, is_dir),
        }
    }

    /// The mode of the folders a copy creates on the way to its destination: an octal
    /// `--chmod`'s mode, else 0755 (BuildKit's `MkdirAll` gets only an octal mode).
    pub fn created_dir_mode(&self) -> u32 {
        match self {
            Self::Octal(m) => *m,
            Self::Symbolic { .. } => 0o755,
        }
    }
}

/// An octal mode hashes as the number (as before symbolic modes existed), a symbolic one
/// as its text.
impl Serialize for Chmod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Octal(m) => serializer.serialize_u32(*m),
            Self::Symbolic { text, .. } => serializer.serialize_str(text),
        }
    }
}

/// `setmode`'s parser with a zero umask; `None` on a syntax error.
fn parse_symbolic(mut s: &[u8]) -> Option<Vec<Cmd>> {
    let mut cmds = Vec::new();
    let mut equal_done = false;
    loop {
        let mut who = 0;
        loop {
            match s.first()? {
                b'a' => who |= STANDARD,
                b'u' => who |= USER,
                b'g' => who |= GROUP,
                b'o' => who |= OTHER,
                _ => break,
            }
            s = &s[1..];
        }
        // One or more `op perms` for these classes.
        loop {
            let (&op, rest) = s.split_first()?;
            s = rest;
            match op {
                b'+' | b'-' => {}
                b'=' => equal_done = false,
                _ => return None,
            }
            who &= !STICKY;
            let (mut perm, mut perm_x) = (0, 0);
            loop {
                let b = s.first().copied().unwrap_or(0);
                match b {
                    b'r' => perm |= 0o444,
                    b'w' => perm |= 0o222,
                    b'x' => perm |= 0o111,
                    b'X' if op == b'+' => perm_x = 0o111,
                    b'X' => {}
                    b's' if who == 0 || who & !OTHER != 0 => perm |= SET_UID | SET_GID,
                    b't' if who == 0 || who & !OTHER != 0 => {
                        who |= STICKY;
                        perm |= STICKY;
                    }
                    b's' | b't' => {}
                    b'u' | b'g' | b'o' => {
                        if perm != 0 {
                            add(&mut cmds, op, who, perm);
                            perm = 0;
                        }
                        if op == b'=' {
                            equal_done = true;
                        }
                        if perm_x != 0 {
                            add(&mut cmds, b'X', who, perm_x);
                            perm_x = 0;
                        }
                        cmds.push(copy_cmd(b, who, op));
                    }
                    _ => {
                        if perm != 0 || (op == b'=' && !equal_done) {
                            if op == b'=' {
                                equal_done = true;
                            }
                            add(&mut cmds, op, who, perm);
                        }
                        if perm_x != 0 {
                            add(&mut cmds, b'X', who, perm_x);
                        }
                        break;
                    }
                }
                s = &s[1..];
            }
            match s.first() {
                None => return Some(compress(cmds)),
                Some(b',') => {
                    s = &s[1..];
                    break;
                }
                Some(_) => {}
            }
        }
    }
}

/// `setmode`'s `addcmd` for `+`, `-`, `=` and `X` (`who` 0 means all, as the umask is 0).
fn add(cmds: &mut Vec<Cmd>, op: u8, who: u32, perm: u32) {
    let bits = if who != 0 { who & perm } else { perm };
    match op {
        b'=' => {
            cmds.push(Cmd::Clear(if who != 0 { who } else { STANDARD }));
            cmds.push(Cmd::Set(bits));
        }
        b'+' => cmds.push(Cmd::Set(bits)),
        b'-' => cmds.push(Cmd::Clear(bits)),
        _ => cmds.push(Cmd::SetIfExecutable(bits)),
    }
}

/// `setmode`'s `addcmd` for a copy of class `from` (`u`, `g`, `o`) with `op`.
fn copy_cmd(from: u8, who: u32, op: u8) -> Cmd {
    let to = if who != 0 {
        Classes {
            user: who & 0o400 != 0,
            group: who & 0o040 != 0,
            other: who & 0o004 != 0,
        }
    } else {
        Classes {
            user: true,
            group: true,
            other: true,
        }
    };
    Cmd::Copy {
        from,
        to,
        set: op != b'-',
        clear: op != b'+',
    }
}

/// `setmode`'s `compress`: each run of set, clear and `X` commands becomes at most one
/// clear, one set and one `X`, in that order.
fn compress(cmds: Vec<Cmd>) -> Vec<Cmd> {
    let mut out = Vec::with_capacity(cmds.len());
    let mut run: Option<(u32, u32, u32)> = None;
    let flush = |out: &mut Vec<Cmd>, run: &mut Option<(u32, u32, u32)>| {
        if let Some((set, clear, x)) = run.take() {
            for (bits, cmd) in [
                (clear, Cmd::Clear(clear)),
                (set, Cmd::Set(set)),
                (x, Cmd::SetIfExecutable(x)),
            ] {
                if bits != 0 {
                    out.push(cmd);
                }
            }
        }
    };
    for cmd in cmds {
        let (set, clear, x) = run.get_or_insert((0, 0, 0));
        match cmd {
            Cmd::Clear(b) => {
                *clear |= b;
                *set &= !b;
                *x &= !b;
            }
            Cmd::Set(b) => {
                *set |= b;
                *clear &= !b;
                *x &= !b;
            }
            Cmd::SetIfExecutable(b) => *x |= b & !*set,
            Cmd::Copy { .. } => {
                flush(&mut out, &mut run);
                out.push(cmd);
            }
        }
    }
    flush(&mut out, &mut run);
    out
}

/// `setmode`'s `getmode`.
fn apply(cmds: &[Cmd], old: u32, is_dir: bool) -> u32 {
    let mut mode = old;
    for cmd in cmds {
        match *cmd {
            Cmd::Set(b) => mode |= b,
            Cmd::Clear(b) => mode &= !b,
            Cmd::SetIfExecutable(b) => {
                if old & 0o111 != 0 || is_dir {
                    mode |= b;
                }
            }
            Cmd::Copy {
                from,
                to,
                set,
                clear,
            } => {
                let value = match from {
                    b'u' => (mode & 0o700) >> 6,
                    b'g' => (mode & 0o070) >> 3,
                    _ => mode & 0o007,
                };
                let shifts = [(to.user, 6), (to.group, 3), (to.other, 0)];
                if clear {
                    let cleared = if set { 0o7 } else { value };
                    for (_, shift) in shifts.iter().filter(|(on, _)| *on) {
                        mode &= !(cleared << shift);
                    }
                }
                if set {
                    for (_, shift) in shifts.iter().filter(|(on, _)| *on) {
                        mode |= value << shift;
                    }
                }
            }
        }
    }
    mode & 0o7777
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(text: &str, mode: u32) -> u32 {
        Chmod::parse(text).unwrap().apply(mode, false)
    }

    /// dchapes-mode's own test table (the cases with a zero umask).
    #[test]
    fn symbolic_modes_apply_as_bsd_setmode() {
        for (old, new, text) in [
            (0o777, 0o000, "="),
            (0o777, 0o777, "+"),
            (0o421, 0o1421, "+t"),
            (0o1421, 0o421, "-t"),
            (0o000, 0o100, "u+x"),
            (0o000, 0o000, "u+X"),
            (0o001, 0o101, "u+X"),
            (0o000, 0o4000, "u+s"),
            (0o100, 0o110, "g+X"),
            (0o000, 0o2000, "g+s"),
            (0o000, 0o000, "o+s"),
            (0o000, 0o111, "+x"),
            (0o010, 0o111, "+X"),
            (0o000, 0o6000, "+s"),
            (0o777, 0o555, "-w"),
            (0o777, 0o777, "-X"),
            (0o6777, 0o777, "-s"),
            (0o4777, 0o777, "u-s"),
            (0o777, 0o677, "u=rw"),
            (0o777, 0o077, "u="),
            (0o777, 0o666, "=rw"),
            (0o742, 0o442, "u=g"),
            (0o722, 0o022, "u=g-w"),
            (0o772, 0o572, "u=g-w"),
            (0o021, 0o321, "u+go"),
            (0o777, 0o764, "a=r,ug=rw,u+x"),
            (0o2100, 0o1724, "o+r,g+w,a+t,g-s,u+og"),
            (0o777, 0o755, "go-w"),
            (0o000, 0o755, "u=rwx,go=u-w"),
            (0o670, 0o644, "go=u-w"),
            (0o370, 0o311, "go=u-w"),
            (0o777, 0o700, "go="),
            (0o644, 0o700, "u+x,go-r"),
            // `X` only means something with `+`, as in BSD (BuildKit issue 5835).
            (0o755, 0o444, "a=rX"),
        ] {
            assert_eq!(sym(text, old), new, "{text} on {old:o}");
        }
        let dir = Chmod::parse("u+X,go+X").unwrap();
        assert_eq!(dir.apply(0o600, true), 0o711);
        assert_eq!(dir.apply(0o600, false), 0o600);
    }

    #[test]
    fn octal_modes_keep_special_bits() {
        assert_eq!(Chmod::parse("4755").unwrap(), Chmod::Octal(0o4755));
        assert_eq!(Chmod::parse("0600").unwrap().apply(0o755, true), 0o600);
        assert_eq!(Chmod::parse("600").unwrap().created_dir_mode(), 0o600);
        assert_eq!(Chmod::parse("go-w").unwrap().created_dir_mode(), 0o755);
    }

    #[test]
    fn bad_modes_are_refused_with_buildkits_messages() {
        for text in ["17777", "9", "0o755", "8"] {
            assert_eq!(
                Chmod::parse(text),
                Err(ChmodError::NotOctal { text: text.into() }),
                "{text}"
            );
        }
        for text in ["", ",", "q+r", "u", "go", "u+x,", "+x y", "-1"] {
            assert_eq!(
                Chmod::parse(text),
                Err(ChmodError::Syntax { text: text.into() }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn keys_hash_octal_as_a_number_and_symbolic_as_text() {
        let json = |text| serde_json::to_string(&Chmod::parse(text).unwrap()).unwrap();
        assert_eq!(json("755"), "493");
        assert_eq!(json("u+x"), "\"u+x\"");
    }
}
