//! Lexical path cleaning, as Go's `filepath.Clean` and `filepath.Dir` do on
//! Unix.
//!
//! Both the ignore-file reader and the matcher clean patterns with these
//! rules, and the matcher finds a path's ancestors with [`parent_dir`].

use std::borrow::Cow;

/// Cleans `path` lexically, like Go's `filepath.Clean` on Unix.
///
/// Repeated `/` collapse into one, `.` segments are dropped, `..` removes
/// the segment before it (a leading `..` stays in a relative path and is
/// dropped in a rooted one) and a trailing `/` is removed. An empty result
/// is `.` (or `/` for a rooted path). Nothing touches the file system.
///
/// Returns the input unchanged, without allocating, when it is already
/// clean.
///
/// ```
/// use kiln_parser::dockerignore::clean_path;
/// assert_eq!(clean_path("./a/../b//c/"), "b/c");
/// assert_eq!(clean_path("/.."), "/");
/// assert_eq!(clean_path(""), ".");
/// ```
pub fn clean_path(path: &str) -> Cow<'_, str> {
    if is_clean(path) {
        return Cow::Borrowed(path);
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    let cleaned = match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    };
    Cow::Owned(cleaned)
}

/// Whether `path` is certainly clean: no empty, `.` or `..` segment, except
/// the empty one before a leading `/`. (Some clean paths such as `../a`
/// fail this quick test; [`clean_path`] then rebuilds them unchanged.)
fn is_clean(path: &str) -> bool {
    path.split('/')
        .enumerate()
        .all(|(i, segment)| match segment {
            "" => i == 0 && path.len() > 1,
            "." | ".." => false,
            _ => true,
        })
        && !path.is_empty()
        && !path.ends_with('/')
}

/// The parent directory of `path`, like Go's `filepath.Dir`: everything
/// before the last `/`, cleaned. `.` when there is no `/`, `/` for a path
/// directly below the root.
pub(crate) fn parent_dir(path: &str) -> Cow<'_, str> {
    match path.rfind('/') {
        None => Cow::Borrowed("."),
        Some(0) => Cow::Borrowed("/"),
        Some(i) => clean_path(&path[..i]),
    }
}

/// The ancestors of a path whose parent is `parent` (as [`parent_dir`]
/// returns it), outermost first: for `a/b` that is `a`, `a/b`. Yields
/// nothing for `.`.
pub(crate) fn ancestors(parent: &str) -> impl Iterator<Item = &str> {
    let slashes = parent.match_indices('/').map(|(i, _)| &parent[..i]);
    let whole = std::iter::once(parent);
    let is_root = parent == ".";
    slashes.chain(whole).filter(move |_| !is_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//", "/"),
            ("abc", "abc"),
            ("abc/", "abc"),
            ("a//b", "a/b"),
            ("./a", "a"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../a/..", ".."),
            ("/../a", "/a"),
            ("/..", "/"),
            ("!/foo", "!/foo"),
            ("!docs/../x", "x"),
            ("**/", "**"),
        ];
        for (input, want) in cases {
            assert_eq!(clean_path(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn clean_input_is_borrowed() {
        assert!(matches!(clean_path("a/b/c"), Cow::Borrowed(_)));
        assert!(matches!(clean_path("/a"), Cow::Borrowed(_)));
        assert!(matches!(clean_path("a//b"), Cow::Owned(_)));
    }

    #[test]
    fn parent_like_go_dir() {
        let cases = [
            ("file", "."),
            ("", "."),
            ("/", "/"),
            ("/a", "/"),
            ("a/b", "a"),
            ("file/", "file"),
            ("a//b", "a"),
            ("/any/path/there", "/any/path"),
        ];
        for (input, want) in cases {
            assert_eq!(parent_dir(input), want, "dir({input:?})");
        }
    }

    #[test]
    fn ancestors_outermost_first() {
        let got: Vec<&str> = ancestors("a/b/c").collect();
        assert_eq!(got, ["a", "a/b", "a/b/c"]);
        let got: Vec<&str> = ancestors("/").collect();
        assert_eq!(got, ["", "/"]);
        let got: Vec<&str> = ancestors("/any/path").collect();
        assert_eq!(got, ["", "/any", "/any/path"]);
        assert_eq!(ancestors(".").count(), 0);
    }
}
