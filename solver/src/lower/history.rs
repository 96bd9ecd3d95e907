//! The `created_by` texts of the image history, as BuildKit's dockerfile2llb writes
//! them: its `commitToHistory` messages, Go formatting (`%q`, `%v`, durations) included.
//! Steps with a layer end in ` # buildkit`, except WORKDIR.

use kiln_cache::oci::HealthConfig;
use kiln_parser::dump::go_quote;
use std::collections::BTreeSet;

/// The comment of every history entry a Dockerfile step adds.
pub const COMMENT: &str = "buildkit.dockerfile.v0";

/// `RUN |N k=v … ARGV # buildkit`: the build arguments in scope (`name=value`, in
/// declaration order, a redeclared one twice), then the argv joined with spaces.
pub fn run(argv: &[String], build_args: &[(String, String)]) -> String {
    let mut words = Vec::new();
    if !build_args.is_empty() {
        words.push(format!("|{}", build_args.len()));
        words.extend(build_args.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(argv.iter().cloned());
    format!("RUN {} # buildkit", words.join(" "))
}

/// `COPY [--chown=X] [--chmod=Y] SRC… DEST # buildkit` (or `ADD …`), sources and
/// destination expanded but as written (current BuildKit's text; `--from` and
/// `--checksum` are left out).
pub fn transfer(
    instruction: &str,
    chown: Option<&str>,
    chmod: Option<&str>,
    sources: &[String],
    dest: &str,
) -> String {
    let mut text = String::from(instruction);
    if let Some(chown) = chown.filter(|c| !c.is_empty()) {
        text.push_str(&format!(" --chown={chown}"));
    }
    if let Some(chmod) = chmod.filter(|c| !c.is_empty()) {
        text.push_str(&format!(" --chmod={chmod}"));
    }
    for source in sources {
        text.push(' ');
        text.push_str(source);
    }
    format!("{text} {dest} # buildkit")
}

/// Go's `%v` of a `[]string`: `[a b]`.
pub fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        go_quote(item, &mut out);
    }
    out.push(']');
    out
}

/// Go's `%v` of the `map[nat.Port]struct{}` one EXPOSE line parsed: `map[80/tcp:{}]`.
pub fn expose(ports: &BTreeSet<String>) -> String {
    let entries: Vec<String> = ports.iter().map(|p| format!("{p}:{{}}")).collect();
    format!("EXPOSE map[{}]", entries.join(" "))
}

/// `HEALTHCHECK %q` of the config's health check, as dockerd 20.10's BuildKit prints
/// its `HealthConfig`: `&{["CMD" "x"] "30s" "3s" "0s" '\x03'}`.
pub fn healthcheck(check: &HealthConfig) -> String {
    let duration = |d: Option<u64>| {
        let mut out = String::new();
        go_quote(&go_duration(d.unwrap_or(0)), &mut out);
        out
    };
    format!(
        "HEALTHCHECK &{{{} {} {} {} {}}}",
        go_quoted_list(&check.test),
        duration(check.interval),
        duration(check.timeout),
        duration(check.start_period),
        go_quote_rune(check.retries.unwrap_or(0)),
    )
}

/// Go's `time.Duration.String()` of `nanos`: `0s`, `1.5s`, `1m30s`, `1h0m0s`, `500ms`.
fn go_duration(nanos: u64) -> String {
    const SECOND: u64 = 1_000_000_000;
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < SECOND {
        let (unit, scale) = match nanos {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, scale));
    }
    let seconds = nanos / SECOND;
    let (hours, minutes) = (seconds / 3600, seconds / 60 % 60);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if seconds >= 60 {
        out.push_str(&format!("{minutes}m"));
    }
    let rest = nanos - (seconds - seconds % 60) * SECOND;
    out.push_str(&format!("{}s", decimal(rest, SECOND)));
    out
}

/// `value / scale` in decimal, without trailing zeros in the fraction.
fn decimal(value: u64, scale: u64) -> String {
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `%q` of an integer: the character it codes, quoted like `strconv.QuoteRune`.
fn go_quote_rune(value: u32) -> String {
    let c = char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut quoted = String::new();
    go_quote(&c.to_string(), &mut quoted);
    let inner = &quoted[1..quoted.len() - 1];
    let inner = match c {
        '"' => "\"".to_string(),
        '\'' => "\\'".to_string(),
        _ => inner.to_string(),
    };
    format!("'{inner}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let s = 1_000_000_000;
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(30 * s), "30s");
        assert_eq!(go_duration(90 * s), "1m30s");
        assert_eq!(go_duration(3600 * s), "1h0m0s");
        assert_eq!(go_duration(s + s / 2), "1.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(7), "7ns");
    }

    #[test]
    fn runes_quote_like_go() {
        assert_eq!(go_quote_rune(3), "'\\x03'");
        assert_eq!(go_quote_rune(0), "'\\x00'");
        assert_eq!(go_quote_rune(10), "'\\n'");
        assert_eq!(go_quote_rune(65), "'A'");
        assert_eq!(go_quote_rune(39), "'\\''");
        assert_eq!(go_quote_rune(34), "'\"'");
    }

    #[test]
    fn texts_are_buildkits() {
        let check = HealthConfig {
            test: vec![
                "CMD-SHELL".into(),
                "wget -q -O- http://localhost/ || exit 1".into(),
            ],
            interval: Some(30_000_000_000),
            timeout: Some(3_000_000_000),
            start_period: Some(5_000_000_000),
            retries: Some(3),
            ..Default::default()
        };
        assert_eq!(
            healthcheck(&check),
            r#"HEALTHCHECK &{["CMD-SHELL" "wget -q -O- http://localhost/ || exit 1"] "30s" "3s" "5s" '\x03'}"#
        );
        let args = [
            ("A".to_string(), "2".to_string()),
            ("B".into(), String::new()),
        ];
        let argv = ["/bin/sh".to_string(), "-c".into(), "echo $A".into()];
        assert_eq!(
            run(&argv, &args),
            "RUN |2 A=2 B= /bin/sh -c echo $A # buildkit"
        );
        assert_eq!(run(&argv, &[]), "RUN /bin/sh -c echo $A # buildkit");
        let sources = ["a".to_string(), "b".into()];
        assert_eq!(
            transfer("COPY", Some("1:1"), Some("0600"), &sources, "/d/"),
            "COPY --chown=1:1 --chmod=0600 a b /d/ # buildkit"
        );
        assert_eq!(
            transfer("ADD", None, None, &sources, "."),
            "ADD a b . # buildkit"
        );
        let ports = ["80/tcp".to_string(), "443/tcp".into()]
            .into_iter()
            .collect();
        assert_eq!(expose(&ports), "EXPOSE map[443/tcp:{} 80/tcp:{}]");
        assert_eq!(go_list(&sources), "[a b]");
        assert_eq!(go_quoted_list(&sources), r#"["a" "b"]"#);
    }
}
