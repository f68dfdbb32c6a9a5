//! Reading scenario files: includes, merging, `--set` overrides, and finding
//! the line of a key for error messages.
//!
//! Merge rule: included files are merged first, in the order listed, and the
//! including file wins. Tables merge key by key (recursively); any other
//! value — numbers, strings, and arrays, including arrays of tables such as
//! `[[tier]]` — is replaced whole by the later file.

use super::error::{did_you_mean, line_col, ScenarioError};
use super::raw::RawScenario;
use std::path::{Path, PathBuf};

/// One file read from disk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// The files of a scenario (the top file first, then its includes depth-first)
/// and the merged table they produce.
#[derive(Debug, Clone)]
pub struct Sources {
    pub files: Vec<SourceFile>,
    pub merged: toml::Table,
}

/// Read `path` and everything it includes, and merge them.
pub fn load(path: &Path) -> Result<Sources, ScenarioError> {
    let mut files = Vec::new();
    let mut stack = Vec::new();
    let merged = load_tree(path, None, &mut stack, &mut files)?;
    Ok(Sources { files, merged })
}

/// Parse a scenario held in memory (for tests and generated scenarios).
/// `path` is only used in messages and to resolve includes.
pub fn load_str(path: &Path, text: &str) -> Result<Sources, ScenarioError> {
    let mut files = Vec::new();
    let mut stack = Vec::new();
    let merged = load_text(path, text.to_string(), &mut stack, &mut files)?;
    Ok(Sources { files, merged })
}

fn load_tree(
    path: &Path,
    included_from: Option<(&SourceFile, usize)>,
    stack: &mut Vec<PathBuf>,
    files: &mut Vec<SourceFile>,
) -> Result<toml::Table, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let msg = format!("cannot read {}: {e}", path.display());
        match included_from {
            Some((f, i)) => {
                let mut err = ScenarioError::at_key(format!("include[{i}]"), msg).in_file(&f.path);
                if let Some(off) = locate(&f.text, &[Seg::Key("include".into())]) {
                    let (l, c) = line_col(&f.text, off);
                    err.line = Some(l);
                    err.column = Some(c);
                }
                err
            }
            None => ScenarioError::new(msg),
        }
    })?;
    load_text(path, text, stack, files)
}

fn load_text(
    path: &Path,
    text: String,
    stack: &mut Vec<PathBuf>,
    files: &mut Vec<SourceFile>,
) -> Result<toml::Table, ScenarioError> {
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if stack.contains(&canon) {
        let chain: Vec<String> = stack.iter().chain([&canon]).map(|p| p.display().to_string()).collect();
        return Err(ScenarioError::at_key("include", format!("include cycle: {}", chain.join(" -> "))).in_file(path));
    }
    // Check the file on its own first: syntax, unknown keys and types, with
    // exact positions.
    if let Err(e) = toml::from_str::<RawScenario>(&text) {
        return Err(from_toml_error(path, &text, &e));
    }
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| from_toml_error(path, &text, &e))?;
    let includes: Vec<String> = match table.remove("include") {
        Some(toml::Value::Array(a)) => a.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let me = SourceFile {
        path: path.to_path_buf(),
        text,
    };
    files.push(me.clone());
    stack.push(canon);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut base = toml::Table::new();
    for (i, inc) in includes.iter().enumerate() {
        let sub = load_tree(&dir.join(inc), Some((&me, i)), stack, files)?;
        merge(&mut base, sub);
    }
    stack.pop();
    merge(&mut base, table);
    Ok(base)
}

/// Merge `top` into `base`; `top` wins (see the module doc for the rule).
pub fn merge(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn from_toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ScenarioError {
    let mut msg = e.message().trim().to_string();
    // serde's "unknown field `x`, expected one of `a`, `b`": add a hint.
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            if let Some(s) = did_you_mean(field, expected.iter().copied()) {
                msg = format!("{msg}; did you mean `{s}`?");
            }
        }
    }
    let mut err = ScenarioError::new(msg).in_file(path);
    if let Some(span) = e.span() {
        let (l, c) = line_col(text, span.start);
        err.line = Some(l);
        err.column = Some(c);
    }
    err
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Split "workload.0.tenants" into segments (numbers index arrays).
pub fn parse_path(path: &str) -> Vec<Seg> {
    path.split('.')
        .map(|p| match p.parse::<usize>() {
            Ok(i) => Seg::Index(i),
            Err(_) => Seg::Key(p.to_string()),
        })
        .collect()
}

/// Render segments as `workload[0].tenants`.
pub fn display_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Byte offset of the value at `path` in a TOML text, if present.
pub fn locate(text: &str, path: &[Seg]) -> Option<usize> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut value: Option<&toml::Spanned<toml::de::DeValue>> = None;
    for seg in path {
        let v = match (seg, value.map(|v| v.get_ref())) {
            (Seg::Key(k), None) => table.iter().find(|(key, _)| key.get_ref() == k)?.1,
            (Seg::Key(k), Some(toml::de::DeValue::Table(t))) => {
                table = t;
                table.iter().find(|(key, _)| key.get_ref() == k)?.1
            }
            (Seg::Index(i), Some(toml::de::DeValue::Array(a))) => a.get(*i)?,
            _ => return None,
        };
        value = Some(v);
    }
    value.map(|v| v.span().start)
}

impl Sources {
    /// Attach file, line and column to an error about `key` by finding which
    /// file sets it (the top file first, as it wins the merge). Falls back
    /// to shorter prefixes of the path (the enclosing table).
    pub fn locate_error(&self, mut err: ScenarioError, segs: &[Seg]) -> ScenarioError {
        for n in (1..=segs.len()).rev() {
            for f in &self.files {
                if let Some(off) = locate(&f.text, &segs[..n]) {
                    let (l, c) = line_col(&f.text, off);
                    err.file = Some(f.path.clone());
                    err.line = Some(l);
                    err.column = Some(c);
                    return err;
                }
            }
        }
        if err.file.is_none() {
            if let Some(f) = self.files.first() {
                err.file = Some(f.path.clone());
            }
        }
        err
    }

    /// Apply one `--set key.path=value` override to the merged table.
    /// The value is read as TOML ("30", "0.5", "true", "\"30s\"", "[1, 2]");
    /// anything that is not valid TOML is taken as a string, so
    /// `--set simulation.duration=30s` works without quotes.
    pub fn apply_set(&mut self, assignment: &str) -> Result<(), ScenarioError> {
        let (key, raw) = assignment.split_once('=').ok_or_else(|| {
            ScenarioError::new(format!(
                "--set {assignment}: expected KEY=VALUE, e.g. --set pool.size=30"
            ))
        })?;
        let key = key.trim();
        let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
            Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(raw.to_string())),
            Err(_) => toml::Value::String(raw.trim().to_string()),
        };
        let segs = parse_path(key);
        if segs.iter().any(|s| matches!(s, Seg::Key(k) if k.is_empty())) {
            return Err(ScenarioError::at_key(
                key,
                format!("--set {assignment}: empty key segment"),
            ));
        }
        let mut root = toml::Value::Table(std::mem::take(&mut self.merged));
        let r = set_path(&mut root, &segs, value);
        if let toml::Value::Table(t) = root {
            self.merged = t;
        }
        r.map_err(|m| ScenarioError::at_key(key, format!("--set {assignment}: {m}")))
    }
}

fn set_path(cur: &mut toml::Value, segs: &[Seg], value: toml::Value) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        *cur = value;
        return Ok(());
    };
    match first {
        Seg::Key(k) => {
            let t = cur
                .as_table_mut()
                .ok_or_else(|| format!("cannot set `{k}`: its parent is not a table"))?;
            if !t.contains_key(k) {
                let fresh = match rest.first() {
                    Some(Seg::Index(_)) => return Err(format!("`{k}` is not a list in this scenario")),
                    Some(Seg::Key(_)) => toml::Value::Table(toml::Table::new()),
                    None => toml::Value::Boolean(false),
                };
                t.insert(k.clone(), fresh);
            }
            let entry = t.get_mut(k).ok_or_else(|| format!("cannot set `{k}`"))?;
            set_path(entry, rest, value)
        }
        Seg::Index(i) => {
            let a = cur
                .as_array_mut()
                .ok_or_else(|| format!("index {i} used on something that is not a list"))?;
            let len = a.len();
            let item = a
                .get_mut(*i)
                .ok_or_else(|| format!("the list has {len} entries; index {i} does not exist (indices start at 0)"))?;
            set_path(item, rest, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_recurses_into_tables_and_replaces_arrays() {
        let mut a: toml::Table = "x = 1\n[t]\na = 1\nb = 2\n[[l]]\nn = 1\n".parse().unwrap();
        let b: toml::Table = "[t]\nb = 3\n[[l]]\nn = 2\n".parse().unwrap();
        merge(&mut a, b);
        assert_eq!(a["t"]["a"].as_integer(), Some(1));
        assert_eq!(a["t"]["b"].as_integer(), Some(3));
        assert_eq!(a["l"].as_array().unwrap().len(), 1);
        assert_eq!(a["l"][0]["n"].as_integer(), Some(2));
    }

    #[test]
    fn set_reaches_tables_and_array_elements() {
        let mut s = load_str(
            Path::new("x.toml"),
            "[instance]\ncores = 2\n[[workload]]\ntenants = 3\n[[workload]]\ntenants = 4\n",
        )
        .unwrap();
        s.apply_set("instance.cores=8").unwrap();
        s.apply_set("workload.1.tenants=40").unwrap();
        s.apply_set("simulation.duration=30s").unwrap();
        assert_eq!(s.merged["instance"]["cores"].as_integer(), Some(8));
        assert_eq!(s.merged["workload"][1]["tenants"].as_integer(), Some(40));
        assert_eq!(s.merged["simulation"]["duration"].as_str(), Some("30s"));
        let e = s.apply_set("workload.5.tenants=1").unwrap_err();
        assert!(e.message.contains("has 2 entries"), "{e}");
        assert!(s.apply_set("nonsense").is_err());
    }

    #[test]
    fn locates_keys_in_tables_and_arrays() {
        let text = "name = \"a\"\n[[workload]]\ntenants = 3\n[[workload]]\ntenants = 4\narrival = { process = \"poisson\", rate_per_s = -1 }\n";
        let off = locate(text, &parse_path("workload.1.arrival.rate_per_s")).unwrap();
        assert_eq!(line_col(text, off).0, 6);
        let off = locate(text, &parse_path("workload.0.tenants")).unwrap();
        assert_eq!(line_col(text, off).0, 3);
    }

    #[test]
    fn unknown_keys_get_a_suggestion_and_a_line() {
        let e = load_str(Path::new("s.toml"), "name = \"x\"\n[[workload]]\ntenant = 3\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("did you mean `tenants`"), "{e}");
    }
}
