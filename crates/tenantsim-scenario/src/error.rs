//! Errors in scenario files: each names the file, the line and column where
//! known, the key, and what is allowed.

use std::fmt;
use std::path::PathBuf;

/// A problem with a scenario, located as precisely as the loader can.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ScenarioError {
    /// The file the problem is in (None for a `--set` override or a
    /// problem of the merged scenario as a whole).
    pub file: Option<PathBuf>,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key path, e.g. `workload[0].arrival.rate_per_s`.
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
    /// The command-line flag the value came from (`--set KEY=VALUE`, or a
    /// flag such as `--replications 0` that stands for one): then the flag,
    /// not a file line, is where the problem is. (A `Box<str>` keeps the
    /// error under clippy's 128-byte `result_large_err` bound.)
    pub flag: Option<Box<str>>,
}

impl ScenarioError {
    pub fn new(message: impl Into<String>) -> Self {
        ScenarioError {
            file: None,
            line: None,
            column: None,
            key: None,
            message: message.into(),
            flag: None,
        }
    }
    pub fn at_key(key: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            key: Some(key.into()),
            ..ScenarioError::new(message)
        }
    }
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A value from the command line is located by its flag.
        match (&self.flag, &self.file, self.line) {
            (Some(flag), _, _) => write!(f, "{flag}: ")?,
            (None, Some(p), Some(l)) => write!(f, "{}:{}:{}: ", p.display(), l, self.column.unwrap_or(1))?,
            (None, Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, None, _) => {}
        }
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// 1-based (line, column) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, col)
}

/// The closest candidate to `word` by edit distance, if it is close enough
/// to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, c)| *d <= 2.max(c.len() / 3)).map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(did_you_mean("arival", ["arrival", "tier", "mix"]), Some("arrival"));
        assert_eq!(
            did_you_mean("rate_per_sec", ["rate_per_s", "burst"]),
            Some("rate_per_s")
        );
        assert_eq!(did_you_mean("zzzzzz", ["arrival", "tier"]), None);
    }
    #[test]
    fn locates_offsets() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
    }
}
