//! Heredocs (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`): finding them in an
//! instruction line. Reading their bodies is the line layer's job
//! ([`crate::syntax`]).

use crate::shell::ShellLex;

/// One heredoc of a `RUN`, `COPY` or `ADD` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word, unquoted (`EOF` for `<<'EOF'`).
    pub name: String,
    /// The body: every line up to the terminator, each ending with `\n`
    /// (a CR before it is kept). Leading tabs are kept even for `<<-`; see
    /// [`chomp`].
    pub content: String,
    /// Whether variables are expanded in the body (no quoting in the name).
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when absent.
    pub file_descriptor: u64,
}

/// A heredoc word that cannot be read (an unterminated quote in the name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid heredoc {word:?}: {reason}")]
pub struct HeredocError {
    /// The word as written.
    pub word: String,
    /// Why it is invalid.
    pub reason: String,
}

const NO_ENV: &dyn Fn(&str) -> Option<String> = &|_| None;

/// Reads one already-split word as a heredoc: `[digits]<<[-][space]NAME`
/// where NAME is one shell word and contains no `<`. `Ok(None)` when the word
/// is no heredoc.
pub fn parse_heredoc_word(word: &str) -> Result<Option<Heredoc>, HeredocError> {
    let digits_len = word.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, after) = word.split_at(digits_len);
    let Some(after) = after.strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, after),
    };
    let rest = after.trim_start_matches([' ', '\t', '\n', '\r', '\u{c}']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let error = |e: crate::shell::ExpandError| HeredocError {
        word: word.to_owned(),
        reason: e.to_string(),
    };
    let mut lex = ShellLex::new('\\');
    lex.skip_unset = true;
    let words = lex.process(rest, NO_ENV).map_err(error)?.words;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    lex.raw_quotes = true;
    let raw = lex.process(rest, NO_ENV).map_err(error)?.words;
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let expand = raw.first().is_some_and(|r| quotes(r) == quotes(name));
    Ok(Some(Heredoc {
        name: name.clone(),
        content: String::new(),
        expand,
        chomp,
        file_descriptor: if digits.is_empty() {
            0
        } else {
            digits.parse().unwrap_or(u64::MAX)
        },
    }))
}

/// The heredocs a line starts, in order: the line is split into shell words
/// (quotes, escapes and unset variables kept) and each word is tried with
/// [`parse_heredoc_word`]. A line that does not lex has none.
pub fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, HeredocError> {
    let mut lex = ShellLex::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset = true;
    lex.heredoc_words = true;
    let words = lex
        .process(line, NO_ENV)
        .map(|e| e.words)
        .unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        docs.extend(parse_heredoc_word(&word)?);
    }
    Ok(docs)
}

/// Removes the leading tabs of every line (what `<<-` does to a body).
pub fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<String> {
        heredocs_from_line(line)
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect()
    }

    #[test]
    fn words_names_and_expansion() {
        let doc = parse_heredoc_word("3<<-'EOF'").unwrap().unwrap();
        assert_eq!(
            (
                doc.name.as_str(),
                doc.expand,
                doc.chomp,
                doc.file_descriptor
            ),
            ("EOF", false, true, 3)
        );
        assert!(
            parse_heredoc_word("<<EO\"F\"")
                .unwrap()
                .is_some_and(|d| !d.expand)
        );
        assert!(
            parse_heredoc_word("<<eo\\'f")
                .unwrap()
                .is_some_and(|d| d.expand)
        );
        assert!(parse_heredoc_word("<<'EOF").is_err());
        for not in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(parse_heredoc_word(not), Ok(None), "{not:?}");
        }
    }

    #[test]
    fn lines() {
        assert_eq!(names("RUN <<EOF <<EOF2"), ["EOF", "EOF2"]);
        assert_eq!(names("RUN <<  EOF  > foo"), ["EOF"]);
        assert_eq!(names("RUN << -EOF"), ["-EOF"]);
        assert_eq!(names("RUN <<$EOF"), ["$EOF"]);
        assert!(names("RUN <<- EOF").is_empty());
        assert!(names("RUN '<<EOF'").is_empty());
        assert!(names("RUN \"<<EOF").is_empty());
    }

    #[test]
    fn chomping() {
        assert_eq!(chomp("\thello\n\t\tworld\n x\t\n"), "hello\nworld\n x\t\n");
    }
}
