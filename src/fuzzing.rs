//! Entry points for fuzzing the readers of user input: scenario files
//! (with an include, a trace file and `--set` overrides), trace CSVs,
//! Kubernetes HPA manifests, and the inputs of `tenantsim fit` (access logs
//! with a tenant→tier map, Prometheus exports). The libFuzzer targets in `fuzz/` call these,
//! and so does a normal test that replays the committed corpus
//! (`fuzz/corpus/<target>/`), so every bug a fuzz run found stays fixed
//! without building the fuzzer.
//!
//! Contract checked here: on any bytes, the reader returns (Ok or a
//! message) — no panic, no hang, no allocation out of proportion to the
//! input. A resolved scenario must also pass [`crate::scenario::limits`]
//! before anything is allocated for a run.
//!
//! Adding a reader: write `pub fn NAME(data:
//! &[u8])` here, add `fuzz/fuzz_targets/NAME.rs` (three lines, as the others)
//! and a `[[bin]]` in `fuzz/Cargo.toml`, seed `fuzz/corpus/NAME/`, and add
//! NAME to [`TARGETS`].

use std::path::{Path, PathBuf};

/// A fuzz target's entry point: takes the raw input, must not panic.
pub type Target = fn(&[u8]);

/// Every fuzz target: its name (= folder under `fuzz/corpus/`) and entry.
pub const TARGETS: &[(&str, Target)] = &[
    ("scenario", scenario),
    ("trace", trace),
    ("hpa", hpa),
    ("access_log", access_log),
    ("prometheus", prometheus),
];

/// Separator between the parts of a `scenario` input.
pub const PART: &str = "\n%%%%\n";

/// A scenario input is up to four parts separated by [`PART`]: the main
/// file, `inc.toml` (which the main file may include), `trace.csv` (which a
/// trace arrival may name), and `--set` assignments, one per line. The
/// files are written to a folder of this process's own.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, PART);
    let main = parts.next().unwrap_or("");
    let inc = parts.next().unwrap_or("");
    let trace = parts.next().unwrap_or("");
    let sets: Vec<String> = parts.next().unwrap_or("").lines().map(str::to_string).collect();
    let dir = scratch_dir();
    if std::fs::write(dir.join("inc.toml"), inc).is_err() || std::fs::write(dir.join("trace.csv"), trace).is_err() {
        return;
    }
    if let Ok(sc) = crate::scenario::from_str(&dir.join("main.toml"), main, &sets) {
        // Whatever resolved must be within the limits a run checks first.
        let _ = crate::scenario::limits::check(&sc);
    }
}

/// A trace CSV for a workload of 3 tenants of tier `t` and endpoints `api`,
/// `write`, replayed 1.5× faster at 2.5× the rate, tenants `a` and `b` only.
pub fn trace(data: &[u8]) {
    let select = ["a".to_string(), "b".to_string()];
    for select_tenants in [None, Some(&select[..])] {
        let o = crate::scenario::TraceOptions {
            tenants: 3,
            endpoint_names: &["api", "write"],
            tier: "t",
            speedup: 1.5,
            rate_multiplier: 2.5,
            select_tenants,
        };
        let _ = crate::scenario::parse_trace(data, Path::new("trace.csv"), &o);
    }
}

/// A Kubernetes HPA manifest (YAML).
pub fn hpa(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tenantsim_import::hpa::import_hpa(text);
    }
}

/// An access log for `tenantsim fit`, optionally followed by [`PART`] and a
/// tenant→tier map. The log is read in every format (detected, and each
/// one forced as `--format` does); what the detected format reads goes
/// where `fit` sends it: sorted by time, fitted (with the map when it
/// reads), rendered as a scenario (parsed back, as `--check` does) and as
/// a `--replay` scenario with its trace, and Q-Q charts.
pub fn access_log(data: &[u8]) {
    use crate::fit::log::{parse_log, Format, LogOptions};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (log, map) = text.split_once(PART).unwrap_or((text, ""));
    let tier_map = crate::fit::read_tier_map(map).ok();
    for format in [Format::Csv, Format::Jsonl, Format::Nginx, Format::Envoy] {
        let _ = parse_log(
            log,
            &LogOptions {
                format,
                ..LogOptions::default()
            },
        );
    }
    let Ok(mut parsed) = parse_log(log, &LogOptions::default()) else {
        return;
    };
    parsed.requests.sort_by(|a, b| a.t.total_cmp(&b.t));
    let fit = crate::fit::fit_log(&parsed.requests, tier_map.as_ref(), 12);
    let _ = crate::fit::trace_csv(&parsed.requests, &fit, tier_map.as_ref());
    for e in &fit.endpoints {
        let _ = crate::fit::qq_chart(e);
    }
    if let Ok(scenario) = crate::fit::render(Some(&fit), None, &fit_render_options(false)) {
        let _ = crate::scenario::from_str(Path::new("fitted.toml"), &scenario, &[]);
    }
    let _ = crate::fit::render(Some(&fit), None, &fit_render_options(true));
}

/// A Prometheus range-query export for `tenantsim fit --prometheus`: read,
/// summarised and rendered as a scenario, which is parsed back.
pub fn prometheus(data: &[u8]) {
    use crate::fit::prometheus::{fit_export, parse_export};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(series) = parse_export(text) else { return };
    let Ok(prom) = fit_export(&series) else { return };
    if let Ok(scenario) = crate::fit::render(None, Some(&prom), &fit_render_options(false)) {
        let _ = crate::scenario::from_str(Path::new("fitted.toml"), &scenario, &[]);
    }
}

/// `tenantsim fit`'s defaults; `out`: as with `--out` and `--replay` (a
/// trace file and Q-Q plots named).
fn fit_render_options(out: bool) -> crate::fit::RenderOptions {
    crate::fit::RenderOptions {
        name: "fuzz-fitted".into(),
        source: "fuzz.log".into(),
        replay: out.then(|| "fuzz-fitted-trace.csv".into()),
        qq_dir: out.then(|| "fuzz-fitted-qq".into()),
        cores: 2,
    }
}

/// A folder for the files of a `scenario` input, one per process.
fn scratch_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("tenantsim-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}
