//! `RUN --mount=…`: a CSV list of `key=value` fields, validated like
//! BuildKit's `parseMount` (with literal values; see [`Mount`]).

use crate::ast::{Mount, MountKind, Sharing};
use crate::diagnostic::Span;

use super::suggest;

/// Every key a mount accepts, for suggestions.
const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "id",
    "sharing",
    "required",
    "mode",
    "uid",
    "gid",
    "size",
    "env",
];

/// Reads one `--mount` value (`span` is the flag's place).
pub(super) fn parse_mount(text: &str, span: Span) -> Result<Mount, String> {
    let mut m = Mount {
        kind: MountKind::Bind,
        target: None,
        source: None,
        from: None,
        readonly: false,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        size: None,
        env: None,
        span,
    };
    let mut readonly_set = false;
    for field in csv_fields(text)? {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let Some(value) = value else {
            match key.as_str() {
                "readonly" | "ro" => (m.readonly, readonly_set) = (true, true),
                "readwrite" | "rw" => (m.readonly, readonly_set) = (false, true),
                "required" => m.required = true,
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let literal = |what: &str| -> Result<(), String> {
            if value.contains('$') {
                Err(format!(
                    "'{what}' of a mount does not support variable expansion"
                ))
            } else {
                Ok(())
            }
        };
        let number = |radix: u32| {
            literal(&key)?;
            u32::from_str_radix(value, radix)
                .map_err(|_| format!("invalid value {value} for {key}"))
        };
        let boolean = || -> Result<bool, String> {
            literal(&key)?;
            match value {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
                _ => Err(format!("invalid value for {key}: {value}")),
            }
        };
        match key.as_str() {
            "type" => m.kind = mount_kind(value)?,
            "from" => {
                literal("from").map_err(|_| {
                    "'from' doesn't support variable expansion, define alias stage instead"
                        .to_owned()
                })?;
                m.from = Some(value.to_owned());
            }
            "source" | "src" => m.source = Some(value.to_owned()),
            "target" | "dst" | "destination" => m.target = Some(value.to_owned()),
            "readonly" | "ro" => (m.readonly, readonly_set) = (boolean()?, true),
            "readwrite" | "rw" => (m.readonly, readonly_set) = (!boolean()?, true),
            "required" => m.required = boolean()?,
            "id" => m.id = Some(value.to_owned()),
            "env" => m.env = Some(value.to_owned()),
            "sharing" => m.sharing = Some(sharing(value)?),
            "mode" => m.mode = Some(number(8)?),
            "uid" => m.uid = Some(number(10)?),
            "gid" => m.gid = Some(number(10)?),
            "size" => {
                literal("size")?;
                m.size = Some(
                    parse_size(value).ok_or_else(|| format!("invalid value for size: {value}"))?,
                );
            }
            _ => {
                let mut message = format!("unexpected key '{key}' in '{field}'");
                if let Some(close) = suggest::closest(&key, KEYS) {
                    message.push_str(&format!(" (did you mean {close}?)"));
                }
                return Err(message);
            }
        }
    }
    validate(&mut m, readonly_set)?;
    Ok(m)
}

fn mount_kind(value: &str) -> Result<MountKind, String> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "bind" => MountKind::Bind,
        "cache" => MountKind::Cache,
        "tmpfs" => MountKind::Tmpfs,
        "secret" => MountKind::Secret,
        "ssh" => MountKind::Ssh,
        _ => {
            let kinds = ["bind", "cache", "tmpfs", "secret", "ssh"];
            let mut message = format!("unsupported mount type {value:?}");
            if let Some(close) = suggest::closest(value, &kinds) {
                message.push_str(&format!(" (did you mean {close}?)"));
            }
            return Err(message);
        }
    })
}

fn sharing(value: &str) -> Result<Sharing, String> {
    match value.to_ascii_lowercase().as_str() {
        "shared" => Ok(Sharing::Shared),
        "private" => Ok(Sharing::Private),
        "locked" => Ok(Sharing::Locked),
        _ => Err(format!(
            "unsupported sharing value {value:?} (use shared, private or locked)"
        )),
    }
}

/// Checks the combination of fields (BuildKit's `validateMount`) and sets the
/// read-only default.
fn validate(m: &mut Mount, readonly_set: bool) -> Result<(), String> {
    let kind = format!("{:?}", m.kind).to_ascii_lowercase();
    let file_info = matches!(
        m.kind,
        MountKind::Secret | MountKind::Ssh | MountKind::Cache
    );
    for (set, what) in [
        (m.mode.is_some(), "mode"),
        (m.uid.is_some(), "uid"),
        (m.gid.is_some(), "gid"),
    ] {
        if set && !file_info {
            return Err(format!("{what} not allowed for \"{kind}\" type mounts"));
        }
    }
    if m.required && !matches!(m.kind, MountKind::Secret | MountKind::Ssh) {
        return Err(format!("unexpected key 'required' for mount type '{kind}'"));
    }
    if m.size.is_some() && m.kind != MountKind::Tmpfs {
        return Err(format!("unexpected key 'size' for mount type '{kind}'"));
    }
    if !readonly_set {
        m.readonly = !matches!(m.kind, MountKind::Cache | MountKind::Tmpfs);
    }
    if m.kind == MountKind::Secret {
        if m.from.is_some() {
            return Err("secret mount should not have a from".into());
        }
        if m.sharing.is_some() {
            return Err("secret mount should not define sharing".into());
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() && m.env.is_none() {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if m.source.is_some() && m.id.is_some() {
            return Err("both source and id can't be set".into());
        }
    }
    if m.sharing.is_some() && m.kind != MountKind::Cache {
        return Err(format!("invalid cache sharing set for {kind} mount"));
    }
    if m.target.is_none() && !matches!(m.kind, MountKind::Secret | MountKind::Ssh) {
        return Err(format!("missing target for {kind} mount"));
    }
    Ok(())
}

/// Sizes like docker's `RAMInBytes`: a number with an optional `b`, `k`,
/// `m`, `g`, `t` or `p` suffix (powers of 1024, optional trailing `b`/`ib`).
fn parse_size(value: &str) -> Option<u64> {
    let lower = value.trim().to_ascii_lowercase();
    let digits = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    let bytes = number * 1024f64.powi(power);
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// Splits a CSV record like Go's `encoding/csv` (one line; `"` quotes a
/// field, `""` inside quotes is a `"`).
fn csv_fields(text: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut at_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if at_start => quoted = true,
            '"' => return Err("failed to parse csv mounts: bare \" in non-quoted field".into()),
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("failed to parse csv mounts: extraneous or missing \" in quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(text: &str) -> Result<Mount, String> {
        parse_mount(text, Span::default())
    }

    #[test]
    fn kinds_and_defaults() {
        let m =
            mount("type=cache,target=/root/.cache,sharing=locked,id=x,mode=0755,uid=1").unwrap();
        assert_eq!(
            (m.kind, m.readonly, m.sharing, m.mode, m.uid),
            (
                MountKind::Cache,
                false,
                Some(Sharing::Locked),
                Some(0o755),
                Some(1)
            )
        );
        let m = mount("target=/src,from=build,source=/out").unwrap();
        assert_eq!((m.kind, m.readonly), (MountKind::Bind, true));
        assert!(!mount("type=bind,target=/x,rw").unwrap().readonly);
        let m = mount("type=secret,id=token,required,env=TOKEN").unwrap();
        assert!(m.required);
        assert_eq!(
            mount("type=tmpfs,target=/t,size=64m").unwrap().size,
            Some(64 << 20)
        );
        assert_eq!(
            mount("\"type=bind\",\"target=/a,b\"")
                .unwrap()
                .target
                .as_deref(),
            Some("/a,b")
        );
    }

    #[test]
    fn invalid_mounts() {
        let cases = [
            (
                "type=cahce,target=/x",
                "unsupported mount type \"cahce\" (did you mean cache?)",
            ),
            (
                "type=bind,target=/x,mode=0700",
                "mode not allowed for \"bind\" type mounts",
            ),
            (
                "type=cache,target=/x,sharing=all",
                "unsupported sharing value \"all\" (use shared, private or locked)",
            ),
            (
                "type=secret,from=x,id=a",
                "secret mount should not have a from",
            ),
            (
                "type=secret,source=a,id=b",
                "both source and id can't be set",
            ),
            (
                "type=cache,target=/x,required",
                "unexpected key 'required' for mount type 'cache'",
            ),
            (
                "type=bind,target=/x,from=$STAGE",
                "'from' doesn't support variable expansion, define alias stage instead",
            ),
            (
                "type=cache,target=/x,uid=$UID",
                "'uid' of a mount does not support variable expansion",
            ),
            (
                "type=cache,targte=/x",
                "unexpected key 'targte' in 'targte=/x' (did you mean target?)",
            ),
            ("type=cache", "missing target for cache mount"),
            ("target", "invalid field 'target' must be a key=value pair"),
            ("type=cache,target=/x,mode=9", "invalid value 9 for mode"),
        ];
        for (text, message) in cases {
            assert_eq!(mount(text), Err(message.to_owned()), "{text}");
        }
    }
}
