//! Instructions about files: `COPY`, `ADD`, `VOLUME`.

use crate::ast::{Add, Copy, InlineFile, InstructionKind};
use crate::heredoc::{chomp, parse_heredoc_word};
use crate::node::Node;

use super::InstructionError;
use super::flags::{FlagKind, read_flags};

/// Flags both `COPY` and `ADD` take.
const COMMON_FLAGS: [(&str, FlagKind); 4] = [
    ("chown", FlagKind::Value),
    ("chmod", FlagKind::Value),
    ("link", FlagKind::Bool),
    ("exclude", FlagKind::Repeated),
];

/// Types `COPY [flags] src… dest` (or JSON form, or heredoc sources).
pub(super) fn copy(node: &Node) -> Result<InstructionKind, InstructionError> {
    let mut specs = COMMON_FLAGS.to_vec();
    specs.extend([("from", FlagKind::Value), ("parents", FlagKind::Bool)]);
    let flags = read_flags(node, &specs)?;
    let (sources, inline, dest) = sources_and_dest(node, "COPY")?;
    Ok(InstructionKind::Copy(Copy {
        sources,
        inline,
        dest,
        from: flags.get("from"),
        chown: flags.get("chown"),
        chmod: flags.get("chmod"),
        link: flags.bool("link").unwrap_or(false),
        parents: flags.bool("parents").unwrap_or(false),
        exclude: flags.all("exclude").map(|(v, _)| v.to_owned()).collect(),
    }))
}

/// Types `ADD [flags] src… dest`.
pub(super) fn add(node: &Node) -> Result<InstructionKind, InstructionError> {
    let mut specs = COMMON_FLAGS.to_vec();
    specs.extend([
        ("checksum", FlagKind::Value),
        ("keep-git-dir", FlagKind::Bool),
        ("unpack", FlagKind::Bool),
    ]);
    let flags = read_flags(node, &specs)?;
    let (sources, inline, dest) = sources_and_dest(node, "ADD")?;
    Ok(InstructionKind::Add(Add {
        sources,
        inline,
        dest,
        chown: flags.get("chown"),
        chmod: flags.get("chmod"),
        link: flags.bool("link").unwrap_or(false),
        exclude: flags.all("exclude").map(|(v, _)| v.to_owned()).collect(),
        checksum: flags.get("checksum"),
        keep_git_dir: flags.bool("keep-git-dir"),
        unpack: flags.bool("unpack"),
    }))
}

/// Splits the arguments into source paths, heredoc sources and the
/// destination.
fn sources_and_dest(
    node: &Node,
    name: &str,
) -> Result<(Vec<String>, Vec<InlineFile>, String), InstructionError> {
    let Some((dest, sources)) = node.args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(InstructionError::new(
            node.span,
            format!(
                "{name} requires at least two arguments, but only one was provided. \
                 Destination could not be determined"
            ),
        ));
    };
    let heredoc = |word: &str| {
        if node.json || node.heredocs.is_empty() {
            return None;
        }
        parse_heredoc_word(word).ok().flatten()
    };
    if heredoc(dest).is_some() {
        return Err(InstructionError::new(
            node.rest_span,
            format!("{name} cannot accept a heredoc as a destination"),
        ));
    }
    let mut paths = Vec::new();
    let mut inline = Vec::new();
    for source in sources {
        match heredoc(source) {
            Some(doc) => {
                let content = node
                    .heredocs
                    .iter()
                    .find(|h| h.name == doc.name)
                    .map(|h| h.content.as_str())
                    .unwrap_or_default();
                inline.push(InlineFile {
                    data: if doc.chomp {
                        chomp(content)
                    } else {
                        content.to_owned()
                    },
                    name: doc.name,
                    expand: doc.expand,
                });
            }
            None => paths.push(source.clone()),
        }
    }
    Ok((paths, inline, dest.clone()))
}

/// Types `VOLUME path …` / `VOLUME ["path", …]`.
pub(super) fn volume(node: &Node) -> Result<InstructionKind, InstructionError> {
    read_flags(node, &[])?;
    if node.args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            "VOLUME requires at least one argument",
        ));
    }
    if node.args.iter().any(|v| v.trim().is_empty()) {
        return Err(InstructionError::new(
            node.rest_span,
            "VOLUME specified can not be an empty string",
        ));
    }
    Ok(InstructionKind::Volume(
        node.args.iter().map(|v| v.trim().to_owned()).collect(),
    ))
}
