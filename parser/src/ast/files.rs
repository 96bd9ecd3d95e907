//! `COPY` and `ADD`.

/// `COPY [--from=…] [--chown=…] [--chmod=…] [--link] [--parents]
/// [--exclude=…]… src… dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// The source paths, raw, in order (heredoc sources are in
    /// [`Copy::inline`]).
    pub sources: Vec<String>,
    /// Heredoc sources (`COPY <<EOF /dest`), in order.
    pub inline: Vec<InlineFile>,
    /// The destination, raw.
    pub dest: String,
    /// `--from`: a stage name or index, or an image.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`: copy into an independent layer.
    pub link: bool,
    /// `--parents`: keep the parent directories of the sources.
    pub parents: bool,
    /// `--exclude=pattern`s.
    pub exclude: Vec<String>,
}

/// `ADD [--chown=…] [--chmod=…] [--link] [--exclude=…]… [--checksum=…]
/// [--keep-git-dir[=bool]] [--unpack[=bool]] src… dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// The sources (paths, URLs, git references), raw, in order.
    pub sources: Vec<String>,
    /// Heredoc sources, in order.
    pub inline: Vec<InlineFile>,
    /// The destination, raw.
    pub dest: String,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--exclude=pattern`s.
    pub exclude: Vec<String>,
    /// `--checksum=sha256:…` for a URL or git source.
    pub checksum: Option<String>,
    /// `--keep-git-dir`: keep `.git` of a git source.
    pub keep_git_dir: Option<bool>,
    /// `--unpack`: whether to extract an archive source.
    pub unpack: Option<bool>,
}

/// A file given inline by a heredoc (`COPY <<EOF /dest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    /// The heredoc name, used as the file name.
    pub name: String,
    /// The content (leading tabs removed for `<<-`).
    pub data: String,
    /// Whether variables are expanded in the content.
    pub expand: bool,
}
