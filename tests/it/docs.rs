//! The documentation against the code (issue 20 item 5, issue 26 item 14).
//!
//! * `docs/scenario-reference.md` documents exactly the keys the scenario
//!   parser accepts. The accepted keys are not listed here: for each
//!   documented table the test adds an unknown key and reads the parser's
//!   own list of what it allows from the error (serde's `expected one of`
//!   for the `deny_unknown_fields` structs of `scenario/raw.rs`, the
//!   `allowed: …` of the tables `resolve` reads). Every TOML example is
//!   parsed with the real parser, and every documented key must appear in
//!   an example.
//! * Every `tenantsim …` command line in a code block of README.md,
//!   docs/GUIDE.md and the other pages of [`DOCS_WITH_COMMANDS`] is accepted by the real binary's argument parser, and
//!   the files it names exist.
//! * The quickstart table in README.md is what a real run prints.

use crate::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tenantsim::scenario::Scenario;

const PROBE: &str = "zz_not_a_documented_key";
const BAD_VARIANT: &str = "zz-not-a-variant";
/// Keys whose value selects which other keys a table takes.
const DISCRIMINATORS: &[&str] = &["process", "dist", "policy", "kind", "signal", "action", "algorithm"];

/// One "Keys of `PATH`" section of the reference.
#[derive(Debug)]
struct Section {
    /// Navigation paths (`endpoint.*.stage`), several when tables share keys.
    paths: Vec<String>,
    /// `(key, value)` when the section documents one variant.
    variant: Option<(String, String)>,
    /// Documented keys with their type column.
    rows: Vec<(String, String)>,
    /// The TOML examples of its heading (fragments merged into the base
    /// scenario): `(line, text)`.
    examples: Vec<(usize, String)>,
    line: usize,
}

impl Section {
    fn keys(&self) -> BTreeSet<String> {
        self.rows.iter().map(|(k, _)| k.clone()).collect()
    }
    fn has_pattern(&self) -> bool {
        self.rows.iter().any(|(k, _)| k.starts_with('<'))
    }
    fn name(&self) -> String {
        let v = self
            .variant
            .as_ref()
            .map(|(k, v)| format!("{{{k}={v}}}"))
            .unwrap_or_default();
        format!("`{}{v}` (line {})", self.paths.join("`, `"), self.line)
    }
}

struct Reference {
    base: String,
    sections: Vec<Section>,
    /// TOML blocks outside any section (they must parse too).
    loose: Vec<(usize, String)>,
}

/// `a.b{k=v}` → ("a.b", Some((k, v))): the section documents one variant.
/// A `{k=v}` inside the path (`autoscaler{policy=hpa}.metrics`) only says
/// where the table lives and is dropped.
fn split_variant(p: &str) -> (String, Option<(String, String)>) {
    let mut variant = None;
    let mut out = String::new();
    let mut rest = p;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("unclosed { in a section path") + open;
        let (k, v) = rest[open + 1..close].split_once('=').expect("a variant is {key=value}");
        rest = &rest[close + 1..];
        variant = rest.is_empty().then(|| (k.to_string(), v.to_string()));
    }
    out.push_str(rest);
    (out, variant)
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(String::from).collect()
}

fn read_reference() -> Reference {
    let text = std::fs::read_to_string(repo("docs/scenario-reference.md")).unwrap();
    let mut base = None;
    let mut sections: Vec<Section> = Vec::new();
    let mut loose = Vec::new();
    let mut in_section = false;
    // Sections since the last heading share the examples under it.
    let mut group_start = 0;
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if line.starts_with('#') {
            in_section = false;
            group_start = sections.len();
        }
        if let Some(rest) = line.strip_prefix("Keys of ") {
            let head = rest.split(':').next().unwrap();
            let raw_paths = backticked(head);
            assert!(!raw_paths.is_empty(), "line {}: `Keys of` names no path", i + 1);
            let mut paths = Vec::new();
            let mut variant = None;
            for p in &raw_paths {
                let (nav, v) = split_variant(if p == "(top level)" { "" } else { p });
                paths.push(nav);
                variant = v;
            }
            sections.push(Section {
                paths,
                variant,
                rows: Vec::new(),
                examples: Vec::new(),
                line: i + 1,
            });
            in_section = true;
            continue;
        }
        if line.starts_with("```toml") {
            let mut block = String::new();
            for (_, l) in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                block.push_str(l);
                block.push('\n');
            }
            if base.is_none() {
                base = Some(block);
            } else if in_section {
                for s in &mut sections[group_start..] {
                    s.examples.push((i + 1, block.clone()));
                }
            } else {
                loose.push((i + 1, block));
            }
            continue;
        }
        if in_section && line.starts_with("| `") {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = backticked(cells[1]);
            assert_eq!(key.len(), 1, "line {}: the first column must be one `key`", i + 1);
            sections
                .last_mut()
                .unwrap()
                .rows
                .push((key[0].clone(), cells[2].to_string()));
        }
    }
    assert!(
        sections.len() > 40,
        "the reference's sections were not found ({})",
        sections.len()
    );
    Reference {
        base: base.expect("no base scenario block"),
        sections,
        loose,
    }
}

/// Merge `top` into `base`: tables key by key, arrays of tables element by
/// element, and a table that names a variant (`process = …`) replaces.
fn merge(base: &mut toml::Table, top: &toml::Table) {
    for (k, v) in top {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t))
                if !DISCRIMINATORS.iter().any(|d| t.contains_key(*d)) =>
            {
                merge(b, t)
            }
            (Some(toml::Value::Array(b)), toml::Value::Array(t)) if b.iter().chain(t).all(|x| x.is_table()) => {
                for (i, x) in t.iter().enumerate() {
                    match b.get_mut(i) {
                        Some(toml::Value::Table(bt)) => {
                            let xt = x.as_table().unwrap();
                            if DISCRIMINATORS.iter().any(|d| xt.contains_key(*d)) {
                                *bt = xt.clone();
                            } else {
                                merge(bt, xt)
                            }
                        }
                        _ => b.push(x.clone()),
                    }
                }
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn parse_toml(text: &str, what: &str) -> toml::Table {
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{what}: not TOML: {e}\n{text}"))
}

/// The concrete path (map keys and array indices) of `nav` in `doc`:
/// `*` takes the first key there, arrays their first element.
fn locate(doc: &toml::Table, nav: &str) -> Option<Vec<String>> {
    fn walk(t: &toml::Table, segs: &[&str], out: &mut Vec<String>) -> Option<()> {
        let Some((seg, rest)) = segs.split_first() else {
            return Some(());
        };
        let (k, v) = if *seg == "*" {
            t.iter().next()?
        } else {
            t.get_key_value(*seg)?
        };
        out.push(k.clone());
        let v = match v {
            toml::Value::Array(a) => {
                out.push("0".into());
                a.first()?
            }
            v => v,
        };
        walk(v.as_table()?, rest, out)
    }
    let mut out = Vec::new();
    let segs: Vec<&str> = if nav.is_empty() {
        vec![]
    } else {
        nav.split('.').collect()
    };
    walk(doc, &segs, &mut out)?;
    Some(out)
}

/// Every table at `nav` in `doc` (all elements of arrays, all keys for `*`).
fn tables_at<'a>(doc: &'a toml::Table, nav: &str) -> Vec<&'a toml::Table> {
    let mut cur = vec![doc];
    if nav.is_empty() {
        return cur;
    }
    for seg in nav.split('.') {
        let mut next = Vec::new();
        for t in cur {
            let vals: Vec<&toml::Value> = if seg == "*" {
                t.values().collect()
            } else {
                t.get(seg).into_iter().collect()
            };
            for v in vals {
                match v {
                    toml::Value::Array(a) => next.extend(a.iter().filter_map(|x| x.as_table())),
                    toml::Value::Table(t) => next.push(t),
                    _ => {}
                }
            }
        }
        cur = next;
    }
    cur
}

fn table_at<'a>(doc: &'a mut toml::Table, path: &[String]) -> &'a mut toml::Table {
    let mut cur = doc;
    let mut i = 0;
    while i < path.len() {
        let v = cur.get_mut(&path[i]).unwrap();
        let v = match v {
            toml::Value::Array(a) => {
                i += 1;
                &mut a[path[i].parse::<usize>().unwrap()]
            }
            v => v,
        };
        cur = v.as_table_mut().unwrap();
        i += 1;
    }
    cur
}

/// The first example of `s` with a table at `path` (of `s`'s variant).
fn example_for(s: &Section, path: &str) -> Option<toml::Table> {
    s.examples.iter().find_map(|(line, ex)| {
        let frag = parse_toml(ex, &format!("line {line}"));
        let at = locate(&frag, path)?;
        if let Some((k, v)) = &s.variant {
            let mut f = frag.clone();
            if table_at(&mut f, &at).get(k).and_then(|x| x.as_str()) != Some(v) {
                return None;
            }
        }
        Some(frag)
    })
}

fn parse_scenario(doc: &toml::Table) -> Result<Scenario, String> {
    let text = toml::to_string(doc).unwrap();
    tenantsim::scenario::from_str(&repo("scenario.toml"), &text, &[]).map_err(|e| e.to_string())
}

/// The names a parser error says are allowed: serde's "expected one of
/// `a`, `b`" / "expected `a`", or "allowed: a, b" / "allowed … are a, b".
fn allowed_in(err: &str) -> Option<BTreeSet<String>> {
    if let Some(i) = err.find("expected") {
        let tail = &err[i..];
        let tail = tail.split(';').next().unwrap();
        let names: BTreeSet<String> = backticked(tail).into_iter().collect();
        if !names.is_empty() {
            return Some(names);
        }
    }
    let i = err.find("allowed")?;
    let tail = &err[i + "allowed".len()..];
    let start = tail
        .find(": ")
        .map(|j| j + 2)
        .or_else(|| tail.find(" are ").map(|j| j + 5))?;
    let list = tail[start..].split([';', ')', '\n']).next()?;
    let names: BTreeSet<String> = list
        .split(", ")
        .map(|s| {
            s.split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

#[test]
fn scenario_reference_matches_the_parser() {
    let reference = read_reference();
    let base = parse_toml(&reference.base, "the base scenario");
    parse_scenario(&base).unwrap_or_else(|e| panic!("the base scenario does not parse: {e}"));
    let mut failures = Vec::new();

    // Documented keys by navigation path (base rows of a variant count for it).
    let mut by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &reference.sections {
        if s.variant.is_none() {
            for p in &s.paths {
                by_path.entry(p.clone()).or_default().extend(s.keys());
            }
        }
    }
    // Keys shown in examples, by navigation path.
    let mut shown: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();

    let all_paths: BTreeSet<&String> = reference.sections.iter().flat_map(|s| &s.paths).collect();
    let mut blocks: BTreeMap<usize, &String> = BTreeMap::new();
    for s in &reference.sections {
        blocks.extend(s.examples.iter().map(|(l, t)| (*l, t)));
    }
    for (line, ex) in &blocks {
        let frag = parse_toml(ex, &format!("line {line}"));
        let mut doc = base.clone();
        merge(&mut doc, &frag);
        if let Err(e) = parse_scenario(&doc) {
            failures.push(format!("the example at line {line}: the parser refuses it: {e}"));
            continue;
        }
        for p in &all_paths {
            for t in tables_at(&frag, p) {
                shown.entry((*p).clone()).or_default().extend(t.keys().cloned());
            }
        }
    }

    for s in &reference.sections {
        // What the parser accepts here: add an unknown key to the first example.
        for p in &s.paths {
            let has_variants = reference
                .sections
                .iter()
                .any(|v| v.variant.is_some() && v.paths.contains(p));
            if s.variant.is_none() && has_variants {
                continue; // its keys are checked with each variant's
            }
            let Some(ex) = example_for(s, p) else {
                failures.push(format!("{}: no TOML example", s.name()));
                continue;
            };
            let mut doc = base.clone();
            merge(&mut doc, &ex);
            let at = locate(&ex, p).unwrap();
            table_at(&mut doc, &at).insert(PROBE.into(), toml::Value::Integer(1));
            let err = match parse_scenario(&doc) {
                Ok(_) => {
                    failures.push(format!("{}: the parser accepts an unknown key at `{p}`", s.name()));
                    continue;
                }
                Err(e) => e,
            };
            if !err.contains(PROBE) {
                failures.push(format!("{}: probing `{p}` gave an unrelated error: {err}", s.name()));
                continue;
            }
            if s.has_pattern() {
                continue; // open keys (metric names): refused when unknown, checked above
            }
            let Some(accepted) = allowed_in(&err) else {
                failures.push(format!("{}: the parser's error lists no allowed keys: {err}", s.name()));
                continue;
            };
            let mut documented = s.keys();
            if let Some((d, _)) = &s.variant {
                documented.extend(by_path.get(p).cloned().unwrap_or_default());
                assert!(
                    documented.contains(d),
                    "{}: the variant key `{d}` is not documented",
                    s.name()
                );
            }
            let missing: Vec<_> = accepted.difference(&documented).collect();
            let extra: Vec<_> = documented.difference(&accepted).collect();
            if !missing.is_empty() {
                failures.push(format!(
                    "{}: accepted by the parser but not documented: {missing:?}",
                    s.name()
                ));
            }
            if !extra.is_empty() {
                failures.push(format!("{}: documented but refused by the parser: {extra:?}", s.name()));
            }
        }
    }

    // Every variant of a table with a discriminator has a section.
    let mut variant_paths: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for s in &reference.sections {
        if let Some((d, v)) = &s.variant {
            variant_paths
                .entry((s.paths[0].clone(), d.clone()))
                .or_default()
                .insert(v.clone());
        }
    }
    for ((p, d), documented) in &variant_paths {
        let s = reference
            .sections
            .iter()
            .find_map(|s| {
                let same = s.paths[0] == *p && s.variant.as_ref().is_some_and(|(k, _)| k == d);
                same.then(|| example_for(s, p)).flatten()
            })
            .unwrap_or_else(|| panic!("`{p}`: no example of any {d}"));
        let frag = s;
        let mut doc = base.clone();
        merge(&mut doc, &frag);
        let at = locate(&frag, p).unwrap();
        table_at(&mut doc, &at).insert(d.clone(), toml::Value::String(BAD_VARIANT.into()));
        let err = parse_scenario(&doc).expect_err("a bad variant parsed");
        match allowed_in(&err) {
            Some(accepted) if accepted != *documented => failures.push(format!(
                "`{p}` {d}: the parser allows {accepted:?}, the reference documents {documented:?}"
            )),
            None => failures.push(format!("`{p}` {d}: the error lists no variants: {err}")),
            _ => {}
        }
    }

    // Every documented key is shown in an example; every table has a section.
    let sections: BTreeSet<&String> = reference.sections.iter().flat_map(|s| &s.paths).collect();
    for s in &reference.sections {
        for (k, ty) in &s.rows {
            if k.starts_with('<') {
                continue;
            }
            if !s
                .paths
                .iter()
                .any(|p| shown.get(p).is_some_and(|keys| keys.contains(k)))
            {
                failures.push(format!("{}: `{k}` appears in no example", s.name()));
            }
            for p in &s.paths {
                let child = if p.is_empty() { k.clone() } else { format!("{p}.{k}") };
                let needs = if ty.starts_with("map of tables") {
                    Some(format!("{child}.*"))
                } else if ty.starts_with("table") || ty.starts_with("array of tables") {
                    Some(child)
                } else {
                    None
                };
                if let Some(n) = needs {
                    let variant_only = reference.sections.iter().any(|v| v.paths.contains(&n));
                    if !sections.contains(&n) && !variant_only {
                        failures.push(format!("{}: `{k}` is a table but no section documents `{n}`", s.name()));
                    }
                }
            }
        }
    }

    for (line, block) in &reference.loose {
        let frag = parse_toml(block, &format!("line {line}"));
        let mut doc = base.clone();
        merge(&mut doc, &frag);
        if let Err(e) = parse_scenario(&doc) {
            failures.push(format!("the TOML block at line {line}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "docs/scenario-reference.md:\n  {}",
        failures.join("\n  ")
    );
}

#[test]
fn the_error_lists_are_read() {
    let serde = "unknown field `zz`, expected one of `name`, `tier`, `tenants`";
    assert_eq!(
        allowed_in(serde).unwrap(),
        ["name", "tenants", "tier"].map(String::from).into()
    );
    let one = "unknown field `zz`, expected `count`";
    assert_eq!(allowed_in(one).unwrap(), ["count"].map(String::from).into());
    let resolve = "x.toml:3:1: key `fault.0.zz`: unknown key `zz` for a `cache-flush` fault; allowed: kind, at, level";
    assert_eq!(
        allowed_in(resolve).unwrap(),
        ["at", "kind", "level"].map(String::from).into()
    );
    let are = "`zz`: allowed algorithms are token-bucket, fixed-window, sliding-window";
    assert_eq!(allowed_in(are).unwrap().len(), 3);
    let claim = "unknown key `zz` in a claim (allowed: id, source)";
    assert_eq!(allowed_in(claim).unwrap(), ["id", "source"].map(String::from).into());
    assert!(allowed_in("must be a positive number").is_none());
}

/// Lines `tenantsim …` (or `$ tenantsim …`) in the code blocks of `file`,
/// with `\` continuations joined.
fn commands_in(file: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(repo(file)).unwrap();
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some((n, mut cmd)) = pending.take() {
            cmd.push(' ');
            cmd.push_str(line.trim().trim_end_matches('\\').trim());
            if line.trim_end().ends_with('\\') {
                pending = Some((n, cmd));
            } else {
                out.push((n, cmd));
            }
            continue;
        }
        let l = line.trim_start().trim_start_matches("$ ");
        let l = l.strip_prefix("./target/release/").unwrap_or(l);
        if let Some(rest) = l.strip_prefix("tenantsim ") {
            let cmd = rest
                .split(" #")
                .next()
                .unwrap()
                .trim()
                .trim_end_matches('\\')
                .trim()
                .to_string();
            if line.trim_end().ends_with('\\') {
                pending = Some((i + 1, cmd));
            } else {
                out.push((i + 1, cmd));
            }
        }
    }
    out
}

/// Split a shell command line into words (single and double quotes).
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The files whose code blocks show `tenantsim …` commands.
const DOCS_WITH_COMMANDS: [&str; 6] = [
    "README.md",
    "docs/GUIDE.md",
    "docs/testing.md",
    "docs/performance.md",
    "docs/scenario-reference.md",
    "results/seeds/README.md",
];

#[test]
fn documented_commands_parse() {
    let bin = env!("CARGO_BIN_EXE_tenantsim");
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in DOCS_WITH_COMMANDS {
        for (line, cmd) in commands_in(file) {
            // Shell pipes and redirections end the command.
            let cmd = cmd.split(['|', '>']).next().unwrap().trim();
            let mut args = words(cmd);
            if args.iter().any(|a| a.contains('$')) {
                continue; // shell variables: not a literal command
            }
            args.retain(|a| a != "...");
            for a in &args {
                let files = a.split_once('=').map_or(a.as_str(), |(_, v)| v);
                for f in files.split(',') {
                    let f = f.trim_end_matches('/');
                    let named = ["scenarios/", "models/", "deploy/", "benchmarks/"]
                        .iter()
                        .any(|d| f.starts_with(d));
                    if named && !f.contains('*') && !Path::new(&repo(f)).exists() {
                        failures.push(format!("{file}:{line}: `{f}` does not exist"));
                    }
                }
            }
            args.push("--help".into());
            let out = std::process::Command::new(bin)
                .args(&args)
                .current_dir(repo(""))
                .output()
                .unwrap();
            checked += 1;
            if !out.status.success() {
                failures.push(format!(
                    "{file}:{line}: `tenantsim {cmd}` is refused: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    eprintln!("{checked} documented commands parsed");
    assert!(checked >= 25, "only {checked} commands found in {DOCS_WITH_COMMANDS:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn readme_quickstart_table_is_real() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let start = "$ tenantsim run scenarios/examples/quickstart.toml\n";
    let i = readme.find(start).expect("the README shows the quickstart run") + start.len();
    let shown = &readme[i..i + readme[i..].find("```").unwrap()];
    let dir = crate::tmpdir("docs-quickstart");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenantsim"))
        .args(["run", "scenarios/examples/quickstart.toml", "--no-report", "--out"])
        .arg(&dir)
        .current_dir(repo(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    let comparable = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with("engine:") && !l.starts_with("wrote "))
            .map(|l| l.trim_end().to_string())
            .collect()
    };
    assert_eq!(
        comparable(shown),
        comparable(&printed),
        "README.md's quickstart output differs from a real run (update the README)"
    );
    assert!(
        shown.contains("\nwrote results/quickstart"),
        "the README shows where the run writes"
    );

    // docs/scenario-reference.md: Σ rps × interval after the warm-up = requests_arrived.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let arrived = summary["metrics"]["requests_arrived"]["mean"].as_f64().unwrap();
    let sc = tenantsim::scenario::load(&repo("scenarios/examples/quickstart.toml"), &[]).unwrap();
    let (warmup, step) = (
        sc.simulation.warmup.as_secs_f64(),
        sc.simulation.sample_interval.as_secs_f64(),
    );
    let mut rdr = csv::Reader::from_path(dir.join("timeseries.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    // The reference's column table lists exactly the real columns (the
    // sessions columns appear only with [sessions]).
    let reference = std::fs::read_to_string(repo("docs/scenario-reference.md")).unwrap();
    let table = &reference[reference
        .find("| column | unit | meaning |")
        .expect("the time-series table")..];
    let documented: Vec<String> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or("");
            first
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.starts_with("sessions_"))
        .collect();
    let real: Vec<String> = h.iter().map(String::from).collect();
    assert_eq!(
        documented, real,
        "docs/scenario-reference.md's time-series columns differ from timeseries.csv"
    );
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (t, rps) = (col("time_s"), col("rps"));
    let mut sum = 0.0;
    for r in rdr.records() {
        let r = r.unwrap();
        let end: f64 = r[t].parse().unwrap();
        if end > warmup + 1e-9 {
            sum += r[rps].parse::<f64>().unwrap() * step;
        }
    }
    let mean = sum / sc.simulation.replications as f64;
    assert!(
        (mean - arrived).abs() < 1e-6 * arrived,
        "Σ rps × interval = {mean}, requests_arrived = {arrived}"
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn links_between_the_docs_resolve() {
    let mut pages = vec![repo("README.md"), repo("results/seeds/README.md")];
    for e in std::fs::read_dir(repo("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let anchors = |p: &Path| -> BTreeSet<String> {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| slug(l.trim_start_matches('#')))
            .collect()
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for (i, line) in text.lines().enumerate() {
            for part in line.split("](").skip(1) {
                let target = part.split(')').next().unwrap();
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
                let path = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                checked += 1;
                let at = format!("{}:{}", page.strip_prefix(repo("")).unwrap().display(), i + 1);
                if !path.exists() {
                    failures.push(format!("{at}: `{target}`: no such file"));
                } else if !anchor.is_empty() && !anchors(&path).contains(anchor) {
                    failures.push(format!("{at}: `{target}`: no heading with that anchor"));
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} links found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
