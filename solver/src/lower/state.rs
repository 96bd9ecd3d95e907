//! The state of a stage while it is lowered: image config so far, ARGs in scope,
//! and the filesystem vertex; with the expansion helpers instructions need.

use crate::error::{Result, SolveError};
use crate::op::Node;
use kiln_cache::oci::RunConfig;
use kiln_parser::Span;
use std::collections::BTreeMap;

/// A history line of the image and the vertex whose filesystem it describes.
#[derive(Debug, Clone)]
pub struct HistoryStep {
    pub created_by: String,
    /// The vertex the step produced, `None` for config-only steps.
    pub node: Option<Node>,
}

/// A stage being lowered.
#[derive(Debug, Clone)]
pub struct StageState {
    pub config: RunConfig,
    /// ARG values in scope (not persisted in the image).
    pub args: BTreeMap<String, String>,
    /// The names the stage's ARG lines declared, in order (a redeclared one twice):
    /// the build arguments of RUN's history text.
    pub build_args: Vec<String>,
    /// The vertex holding the stage's filesystem so far (`None`: empty scratch).
    pub node: Option<Node>,
    pub steps: Vec<HistoryStep>,
    /// Whether this stage set CMD (an ENTRYPOINT then keeps it).
    pub cmd_set: bool,
    /// `MAINTAINER`: the image's author.
    pub author: Option<String>,
    /// The Dockerfile's escape character (`# escape=`), for expansion too.
    pub escape: char,
}

impl Default for StageState {
    fn default() -> Self {
        Self {
            config: RunConfig::default(),
            args: BTreeMap::new(),
            build_args: Vec::new(),
            node: None,
            steps: Vec::new(),
            cmd_set: false,
            author: None,
            escape: '\\',
        }
    }
}

impl StageState {
    /// The value of `name` for expansion: ENV wins over ARG, like Docker.
    pub fn lookup(&self, name: &str) -> Option<String> {
        env_value(&self.config.env, name).or_else(|| self.args.get(name).cloned())
    }

    /// The declared build arguments with their values now (`""` when unset), for
    /// RUN's history text.
    pub fn build_arg_values(&self) -> Vec<(String, String)> {
        self.build_args
            .iter()
            .map(|name| (name.clone(), self.lookup(name).unwrap_or_default()))
            .collect()
    }

    /// Expands one word (quotes removed) with the stage's ENV and ARGs.
    pub fn expand(&self, word: &str, span: Span) -> Result<String> {
        kiln_parser::shell::expand_word(word, self.escape, &|name| self.lookup(name))
            .map_err(|e| expand_error(word, &e, span))
    }

    /// Expands a heredoc body as BuildKit does for COPY: variables only (quotes are
    /// ordinary characters, `\` escapes the next one), unset ones left as written.
    pub fn expand_heredoc(&self, body: &str, span: Span) -> Result<String> {
        let mut lex = kiln_parser::shell::ShellLex::new('\\');
        lex.skip_quotes = true;
        lex.skip_unset = true;
        lex.process(body, &|name| self.lookup(name))
            .map(|e| e.result)
            .map_err(|e| expand_error(body, &e, span))
    }

    /// Expands one word and splits it at unquoted whitespace, including whitespace a
    /// variable brings (BuildKit's words mode, used by EXPOSE).
    pub fn expand_words(&self, word: &str, span: Span) -> Result<Vec<String>> {
        kiln_parser::shell::expand_words(word, self.escape, &|name| self.lookup(name))
            .map_err(|e| expand_error(word, &e, span))
    }

    /// Sets `key=value` in the config's Env, replacing an earlier value in place.
    pub fn set_env(&mut self, key: &str, value: &str) {
        let entry = format!("{key}={value}");
        match self
            .config
            .env
            .iter_mut()
            .find(|e| e.split_once('=').map(|(k, _)| k) == Some(key))
        {
            Some(slot) => *slot = entry,
            None => self.config.env.push(entry),
        }
    }

    /// Whether `name` is an ARG in scope or in the config's Env.
    pub fn defines(&self, name: &str) -> bool {
        self.args.contains_key(name) || env_value(&self.config.env, name).is_some()
    }

    /// The environment of a RUN: the config's Env plus ARGs it does not override.
    pub fn run_env(&self) -> Vec<String> {
        let mut env = self.config.env.clone();
        for (k, v) in &self.args {
            if env_value(&self.config.env, k).is_none() {
                env.push(format!("{k}={v}"));
            }
        }
        env
    }

    /// The argv of a command form: the shell form runs in the stage's `SHELL`
    /// (default `/bin/sh -c`).
    pub fn argv(&self, form: &kiln_parser::CommandForm) -> Vec<String> {
        match form {
            kiln_parser::CommandForm::Shell(cmd) => {
                let mut argv = self
                    .config
                    .shell
                    .clone()
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                argv.push(cmd.clone());
                argv
            }
            kiln_parser::CommandForm::Exec(args) => args.clone(),
        }
    }

    /// The working directory, cleaned (`/` when unset).
    pub fn workdir(&self) -> String {
        self.config
            .working_dir
            .as_deref()
            .filter(|w| !w.is_empty())
            .map_or_else(|| "/".into(), clean_absolute)
    }

    /// `path` made absolute against the working directory; a trailing `/` (or a final
    /// `.`) is kept as a trailing `/`.
    pub fn absolute(&self, path: &str) -> String {
        let dir_like = path.ends_with('/') || path == "." || path.ends_with("/.");
        let joined = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{}/{path}", self.workdir())
        };
        let cleaned = clean_absolute(&joined);
        if dir_like && cleaned != "/" {
            format!("{cleaned}/")
        } else {
            cleaned
        }
    }
}

fn expand_error(word: &str, error: &kiln_parser::ExpandError, span: Span) -> SolveError {
    SolveError::Dockerfile {
        message: format!("failed to expand `{word}`: {error}"),
        span,
    }
}

fn env_value(env: &[String], name: &str) -> Option<String> {
    env.iter().rev().find_map(|e| {
        e.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
}

/// Lexically cleans an absolute path (`.`, `..`, repeated `/`).
pub fn clean_absolute(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_args_and_run_env_merges() {
        let mut s = StageState::default();
        s.args.insert("A".into(), "arg".into());
        s.args.insert("B".into(), "b".into());
        s.set_env("A", "env");
        s.set_env("A", "env2");
        assert_eq!(s.lookup("A").as_deref(), Some("env2"));
        assert_eq!(s.run_env(), ["A=env2", "B=b"]);
    }

    #[test]
    fn paths_resolve_against_workdir() {
        let mut s = StageState::default();
        assert_eq!(s.absolute("."), "/");
        s.config.working_dir = Some("/app/".into());
        assert_eq!(s.workdir(), "/app");
        assert_eq!(s.absolute("."), "/app/");
        assert_eq!(s.absolute("x/../y"), "/app/y");
        assert_eq!(s.absolute("/etc/"), "/etc/");
        assert_eq!(clean_absolute("/a//b/../c/."), "/a/c");
    }
}
