//! Reading scenario files: includes, merging, `--set` overrides, and finding
//! the line of a key for error messages.
//!
//! Merge rule: included files are merged first, in the order listed, and the
//! including file wins. Tables merge key by key (recursively); any other
//! value — numbers, strings, and arrays, including arrays of tables such as
//! `[[tier]]` — is replaced whole by the later file.
//!
//! `--set` rule: an override changes what the scenario has; it may add a
//! key or table the schema defines (`simulation.seed`, an `[autoscaler]`
//! the file leaves out — checked by the schema like a written one), but
//! never a new list element or a new named component (`endpoint.<name>`):
//! a typo there would silently add an unused endpoint and shift the random
//! streams. Every value an override put in place is remembered, so an
//! error about it names the flag instead of a file line.

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
    /// The `--set` overrides applied so far, in order: the key path each
    /// replaced and the assignment as given.
    pub overrides: Vec<(Vec<Seg>, String)>,
}

/// Read `path` and everything it includes, and merge them.
pub fn load(path: &Path) -> Result<Sources, ScenarioError> {
    let mut files = Vec::new();
    let mut stack = Vec::new();
    let merged = load_tree(path, None, &mut stack, &mut files)?;
    Ok(Sources {
        files,
        merged,
        overrides: Vec::new(),
    })
}

/// Parse a scenario held in memory (for tests and generated scenarios).
/// `path` is only used in messages and to resolve includes.
pub fn load_str(path: &Path, text: &str) -> Result<Sources, ScenarioError> {
    let mut files = Vec::new();
    let mut stack = Vec::new();
    let merged = load_text(path, text.to_string(), &mut stack, &mut files)?;
    Ok(Sources {
        files,
        merged,
        overrides: Vec::new(),
    })
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
        if let Some(segs) = key_at(text, span.start) {
            if let Some(m) = integer_range_message(&err.message) {
                err.message = m;
            }
            err.key = Some(display_path(&segs));
        }
    }
    err
}

/// serde's "invalid value: integer `N`, expected u32" (a value that does not
/// fit the key's integer type) in words: the value and the range allowed.
fn integer_range_message(msg: &str) -> Option<String> {
    // Values beyond i64 come as "invalid type: integer `N` as i128".
    let rest = msg
        .strip_prefix("invalid value: integer `")
        .or_else(|| msg.strip_prefix("invalid type: integer `"))?;
    let (value, tail) = rest.split_once('`')?;
    let tail = tail.strip_prefix(" as i128").unwrap_or(tail);
    let ty = tail.strip_prefix(", expected ")?.trim();
    let (lo, hi): (i128, i128) = match ty {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        "usize" => (0, usize::MAX as i128),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    };
    Some(format!("{value} is out of range: a whole number between {lo} and {hi}"))
}

/// The key path of the key or value at byte `offset` of a TOML text (the
/// deepest one whose span holds it).
pub fn key_at(text: &str, offset: usize) -> Option<Vec<Seg>> {
    fn walk_table(t: &toml::de::DeTable, offset: usize, path: &mut Vec<Seg>) -> bool {
        for (k, v) in t.iter() {
            let in_key = k.span().contains(&offset);
            if in_key || v.span().contains(&offset) {
                path.push(Seg::Key(k.get_ref().to_string()));
                if !in_key {
                    walk_value(v.get_ref(), offset, path);
                }
                return true;
            }
        }
        // Tables written as `[header]` have spans of their header only:
        // look inside each for the offset.
        for (k, v) in t.iter() {
            let mut sub = vec![Seg::Key(k.get_ref().to_string())];
            if walk_value(v.get_ref(), offset, &mut sub) && sub.len() > 1 {
                path.extend(sub);
                return true;
            }
        }
        false
    }
    fn walk_value(v: &toml::de::DeValue, offset: usize, path: &mut Vec<Seg>) -> bool {
        match v {
            toml::de::DeValue::Table(t) => walk_table(t, offset, path),
            toml::de::DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if item.span().contains(&offset) {
                        path.push(Seg::Index(i));
                        walk_value(item.get_ref(), offset, path);
                        return true;
                    }
                }
                for (i, item) in a.iter().enumerate() {
                    let mut sub = vec![Seg::Index(i)];
                    if walk_value(item.get_ref(), offset, &mut sub) && sub.len() > 1 {
                        path.extend(sub);
                        return true;
                    }
                }
                false
            }
            _ => false,
        }
    }
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    walk_table(doc.get_ref(), offset, &mut path).then_some(path)
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
    /// to shorter prefixes of the path (the enclosing table). A value that a
    /// `--set` put in place (the key or a table holding it) is blamed on
    /// that flag instead: the file line would show a value that is not the
    /// one in use.
    pub fn locate_error(&self, mut err: ScenarioError, segs: &[Seg]) -> ScenarioError {
        // The last override wins, as it was applied last.
        if let Some((_, a)) = self.overrides.iter().rev().find(|(o, _)| segs.starts_with(o)) {
            err.flag = Some(format!("--set {a}").into());
            err.file = None;
            err.line = None;
            err.column = None;
            return err;
        }
        for n in (1..=segs.len()).rev() {
            for f in &self.files {
                if let Some(off) = locate(&f.text, &segs[..n]) {
                    let (l, c) = line_col(&f.text, off);
                    err.file = Some(f.path.clone());
                    err.line = Some(l);
                    err.column = Some(c);
                    return err.with_overrides_inside(self, segs);
                }
            }
        }
        // No file has it: an override created it (or a table around it).
        if let Some((_, a)) = self.overrides.iter().rev().find(|(o, _)| o.starts_with(segs)) {
            err.flag = Some(format!("--set {a}").into());
            err.file = None;
            return err;
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
    /// `--set simulation.duration=30s` works without quotes. See the module
    /// doc for what an override may create.
    pub fn apply_set(&mut self, assignment: &str) -> Result<(), ScenarioError> {
        let flag_err = |key: Option<&str>, m: String| {
            let mut e = ScenarioError::new(m);
            e.key = key.map(str::to_string);
            e.flag = Some(format!("--set {assignment}").into());
            e
        };
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| flag_err(None, "expected KEY=VALUE, e.g. --set pool.size=30".into()))?;
        let key = key.trim();
        let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
            Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(raw.to_string())),
            Err(_) => toml::Value::String(raw.trim().to_string()),
        };
        let segs = parse_path(key);
        if segs.iter().any(|s| matches!(s, Seg::Key(k) if k.is_empty())) {
            return Err(flag_err(Some(key), "empty key segment".into()));
        }
        let mut root = toml::Value::Table(std::mem::take(&mut self.merged));
        let r = set_path(&mut root, &segs, 0, value);
        if let toml::Value::Table(t) = root {
            self.merged = t;
        }
        r.map_err(|m| flag_err(Some(key), m))?;
        self.overrides.push((segs, assignment.to_string()));
        Ok(())
    }

    /// The merged scenario (overrides applied) read into the raw schema.
    /// A value of the wrong type or out of range is named by its key, and
    /// blamed on the `--set` that put it there.
    pub fn raw(&self) -> Result<RawScenario, ScenarioError> {
        use serde::Deserialize;
        RawScenario::deserialize(toml::Value::Table(self.merged.clone())).map_err(|e| {
            // The table has no positions: write it out and read it back to
            // learn which key the error is about.
            let located = toml::to_string(&self.merged).ok().and_then(|text| {
                let e = toml::from_str::<RawScenario>(&text).err()?;
                let segs = key_at(&text, e.span()?.start)?;
                let mut err = from_toml_error(Path::new(""), &text, &e);
                err.file = None;
                err.line = None;
                err.column = None;
                Some(self.locate_error(err, &segs))
            });
            located.unwrap_or_else(|| {
                let what = match self.overrides.len() {
                    0 => "the merged scenario".to_string(),
                    _ => format!(
                        "the scenario after --set {}",
                        self.overrides
                            .iter()
                            .map(|(_, a)| a.as_str())
                            .collect::<Vec<_>>()
                            .join(" --set ")
                    ),
                };
                let mut err = ScenarioError::new(format!("{what} is invalid: {}", e.message().trim()));
                err.file = self.files.first().map(|f| f.path.clone());
                err
            })
        })
    }
}

impl ScenarioError {
    /// Say which overrides changed values inside the key an error is about
    /// (the located line shows the file's value, not the one in use).
    fn with_overrides_inside(mut self, sources: &Sources, segs: &[Seg]) -> ScenarioError {
        let inside: Vec<&str> = sources
            .overrides
            .iter()
            .filter(|(o, _)| o.starts_with(segs))
            .map(|(_, a)| a.as_str())
            .collect();
        if !inside.is_empty() {
            self.message = format!("{} (with --set {})", self.message, inside.join(" --set "));
        }
        self
    }
}

/// Tables whose keys are names the scenario gives its components: an
/// override may change a component, never add one.
fn names_components(table: &[Seg]) -> Option<&'static str> {
    match table {
        [Seg::Key(k)] if k == "endpoint" => Some("endpoint"),
        _ => None,
    }
}

fn set_path(cur: &mut toml::Value, segs: &[Seg], depth: usize, value: toml::Value) -> Result<(), String> {
    let Some((first, rest)) = segs[depth..].split_first() else {
        *cur = value;
        return Ok(());
    };
    match first {
        Seg::Key(k) => {
            let t = cur
                .as_table_mut()
                .ok_or_else(|| format!("cannot set `{k}`: its parent is not a table"))?;
            if !t.contains_key(k) {
                if let Some(what) = names_components(&segs[..depth]) {
                    let hint = did_you_mean(k, t.keys().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    let have: Vec<&str> = t.keys().map(String::as_str).collect();
                    return Err(format!(
                        "no {what} named `{k}` in this scenario ({what}s: {}){hint} \
                         (--set never adds a component: write [{}.{k}] in the file to add one)",
                        have.join(", "),
                        display_path(&segs[..depth])
                    ));
                }
                let fresh = match rest.first() {
                    Some(Seg::Index(_)) => return Err(format!("`{k}` is not a list in this scenario")),
                    Some(Seg::Key(_)) => toml::Value::Table(toml::Table::new()),
                    None => toml::Value::Boolean(false),
                };
                t.insert(k.clone(), fresh);
            }
            let entry = t.get_mut(k).ok_or_else(|| format!("cannot set `{k}`"))?;
            set_path(entry, segs, depth + 1, value)
        }
        Seg::Index(i) => {
            let a = cur
                .as_array_mut()
                .ok_or_else(|| format!("index {i} used on something that is not a list"))?;
            let len = a.len();
            let item = a
                .get_mut(*i)
                .ok_or_else(|| format!("the list has {len} entries; index {i} does not exist (indices start at 0)"))?;
            set_path(item, segs, depth + 1, value)
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
    fn set_never_invents_a_component_but_may_add_schema_keys() {
        let text = "[simulation]\nseed = 1\n[[workload]]\ntenants = 3\n[endpoint.read]\ncpu = \"5ms\"\n[endpoint.write]\ncpu = \"9ms\"\n";
        let mut s = load_str(Path::new("x.toml"), text).unwrap();
        let before = s.merged.clone();
        let e = s.apply_set("endpoint.raed.cpu=5ms").unwrap_err();
        assert_eq!(e.flag.as_deref(), Some("--set endpoint.raed.cpu=5ms"));
        assert!(e.message.contains("did you mean `read`?"), "{e}");
        assert!(e.message.contains("endpoints: read, write"), "{e}");
        assert_eq!(s.merged, before, "a refused --set leaves the scenario as it was");
        // Keys and tables the schema defines may be added.
        s.apply_set("endpoint.read.timeout=2s").unwrap();
        s.apply_set("retry.attempts=2").unwrap();
        s.apply_set("simulation.max_events=100").unwrap();
        assert_eq!(s.merged["retry"]["attempts"].as_integer(), Some(2));
        assert!(s.raw().is_ok());
    }

    #[test]
    fn errors_about_overridden_values_name_the_flag() {
        let text = "[simulation]\nreplications = 5\n[instance]\ncores = 2\n";
        let mut s = load_str(Path::new("x.toml"), text).unwrap();
        s.apply_set("simulation.replications=0").unwrap();
        let e = s.locate_error(
            ScenarioError::at_key("simulation.replications", "must be between 1 and 10000"),
            &parse_path("simulation.replications"),
        );
        assert_eq!(
            e.to_string(),
            "--set simulation.replications=0: key `simulation.replications`: must be between 1 and 10000"
        );
        // A key the override did not touch keeps its file line.
        let e = s.locate_error(
            ScenarioError::at_key("instance.cores", "bad"),
            &parse_path("instance.cores"),
        );
        assert_eq!((e.line, e.flag.clone()), (Some(4), None), "{e}");
        // A wrong type put in place by --set is named by key and flag.
        s.apply_set("instance.cores=-3").unwrap();
        let e = s.raw().unwrap_err();
        assert_eq!(
            e.to_string(),
            "--set instance.cores=-3: key `instance.cores`: -3 is out of range: a whole number between 0 and 4294967295"
        );
    }

    #[test]
    fn out_of_range_integers_name_the_key_and_the_range() {
        let e = load_str(
            Path::new("s.toml"),
            "name = \"x\"\n[[workload]]\ntenants = 1000000000000\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("workload[0].tenants"));
        assert_eq!(
            e.message,
            "1000000000000 is out of range: a whole number between 0 and 4294967295"
        );
        let e = load_str(Path::new("s.toml"), "[simulation]\nreplications = -5\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("simulation.replications"));
        assert!(e.message.starts_with("-5 is out of range"), "{e}");
    }

    #[test]
    fn seeds_above_i64_max_are_accepted() {
        let mut s = load_str(Path::new("x.toml"), "[simulation]\nseed = 1\n").unwrap();
        s.apply_set("simulation.seed=18446744073709551615").unwrap();
        assert_eq!(s.raw().unwrap().simulation.unwrap().seed, Some(u64::MAX));
        let e = load_str(Path::new("x.toml"), "[simulation]\nseed = -1\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("simulation.seed"));
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
