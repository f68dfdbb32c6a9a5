//! The workspace's layering (issue 20): engine ← model ← scenario ← import
//! ← the application. Cargo already refuses a dependency cycle between
//! crates; these tests keep a lower crate from quietly taking on a higher
//! one, or the heavy output stack, so that the model's tests keep building
//! without polars, plotters, actix-web or clap.

use std::collections::BTreeSet;
use std::path::Path;

/// The `[dependencies]` of one workspace crate, by name.
fn deps(crate_dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate_dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// The layers from the bottom, each with the external crates it may use.
const LAYERS: &[(&str, &str, &[&str])] = &[
    (
        "crates/tenantsim-engine",
        "tenantsim-engine",
        &["rand", "rand_distr", "serde", "statrs"],
    ),
    (
        "crates/tenantsim-model",
        "tenantsim-model",
        // serde, thiserror: the HPA's explanation (`hpa explain --json`)
        // and the replica calculation's errors (issue 23).
        &["hdrhistogram", "rand", "rand_distr", "serde", "thiserror"],
    ),
    (
        "crates/tenantsim-scenario",
        "tenantsim-scenario",
        &["csv", "rand", "serde", "thiserror", "toml"],
    ),
    // serde_json: the pods snapshot of `hpa explain` (issue 23).
    (
        "crates/tenantsim-import",
        "tenantsim-import",
        &["granit-parser", "serde_json"],
    ),
];

#[test]
fn each_layer_depends_only_on_layers_below_it_and_its_own_short_list() {
    for (i, (dir, name, external)) in LAYERS.iter().enumerate() {
        let below: BTreeSet<&str> = LAYERS[..i].iter().map(|l| l.1).collect();
        for dep in deps(dir) {
            if dep.starts_with("tenantsim") {
                assert!(
                    below.contains(dep.as_str()),
                    "{name} depends on {dep}, which is not below it"
                );
            } else {
                assert!(
                    external.contains(&dep.as_str()),
                    "{name} depends on {dep}: a new external dependency of a lower layer must be \
                     added to this list on purpose (and kept out of the heavy output stack)"
                );
            }
        }
    }
}

#[test]
fn the_application_crate_uses_every_layer() {
    let app = deps(".");
    for (_, name, _) in LAYERS {
        assert!(app.contains(*name), "the root crate does not depend on {name}");
    }
    // The heavy stack lives here and only here.
    for heavy in ["polars", "plotters", "actix-web", "clap"] {
        assert!(
            app.contains(heavy),
            "{heavy} moved: update this test and docs/ARCHITECTURE.md"
        );
    }
}

/// Every package `cargo tree` lists for `args`, with its set of enabled
/// features (a package built for both host and target lists both sets).
fn feature_sets(args: &[&str]) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--prefix", "none", "-f", "{p} {f}"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sets: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 2 {
            continue;
        }
        // `name vX.Y.Z [(path)] [(proc-macro)] [features] [(*)]`
        let features = words[2..]
            .iter()
            .filter(|w| !w.starts_with('(') && !w.ends_with(')'))
            .copied()
            .collect::<Vec<_>>()
            .join(",");
        sets.entry(format!("{} {}", words[0], words[1]))
            .or_default()
            .insert(features);
    }
    sets
}

/// CI builds the Python extension (python/, not a default member) right
/// after `cargo test`, in the same target folder and profile. Cargo reuses a
/// compiled dependency only when its features are the same, so every
/// package both builds share must resolve to the same features — else
/// polars, serde and the rest compile twice (the pins in python/Cargo.toml
/// and the root's [build-dependencies] syn keep them equal).
#[test]
fn the_python_extension_shares_every_dependency_with_the_test_build() {
    let test = feature_sets(&["-e", "normal,build,dev"]);
    let python = feature_sets(&["-p", "tenantsim-python", "-e", "normal,build"]);
    let differ: Vec<String> = python
        .iter()
        .filter_map(|(pkg, f)| {
            let t = test.get(pkg)?;
            (t != f).then(|| format!("{pkg}: cargo test {t:?}, python {f:?}"))
        })
        .collect();
    assert!(
        differ.is_empty(),
        "features differ, so the extension would recompile them: {differ:#?}"
    );
    assert!(
        python.keys().any(|p| p.starts_with("polars ")),
        "the extension builds on polars"
    );
}
