//! "Did you mean …?" suggestions by edit distance.

/// Longer words get no suggestion (and cost no quadratic work).
const MAX_WORD: usize = 32;

/// The candidate closest to `word` (ignoring ASCII case), if it is close
/// enough to be a likely typo: at most 1 edit for words of up to 4
/// characters, 2 for longer ones.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Keywords and flags are short; a long word is no typo of one.
    if word.len() > MAX_WORD {
        return None;
    }
    let word = word.to_ascii_lowercase();
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|&(d, _)| d > 0 && d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of
/// two neighbours (optimal string alignment), over characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // d[i * width + j] = distance between a[..i] and b[..j].
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[at(i - 1, j)] + 1)
                .min(d[at(i, j - 1)] + 1)
                .min(d[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[at(i - 2, j - 2)] + 1);
            }
            d[at(i, j)] = best;
        }
    }
    d[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("copy", "coppy"), 1);
        assert_eq!(distance("from", "form"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_only_close_words() {
        let names = ["COPY", "CMD", "FROM", "ENTRYPOINT"];
        assert_eq!(closest("COPPY", &names), Some("COPY"));
        assert_eq!(closest("form", &names), Some("FROM"));
        assert_eq!(closest("ENTRYPIONT", &names), Some("ENTRYPOINT"));
        assert_eq!(closest("FOO", &names), None);
        assert_eq!(closest("copy", &names), None);
    }
}
