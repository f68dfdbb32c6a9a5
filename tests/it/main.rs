//! Integration tests, in one binary so polars is linked once.

mod assumptions;
mod autoscaling;
mod background;
mod baselines;
mod breaker;
mod claims;
mod cli;
mod compare;
mod consistency;
mod contract;
mod conventions;
mod crash_safety;
mod datatier;
mod db_query_time;
mod deploy;
mod determinism;
mod docs;
mod fit;
mod fit_prometheus;
mod fuzz_corpus;
mod generated;
mod host;
mod hpa_conformance;
mod keda;
mod layers;
mod limits;
mod lint;
mod memory;
mod plan;
mod properties;
mod regression;
mod report;
mod scenario_errors;
mod schema;
mod seeds;
mod serve;
mod serve_access;
mod serve_e2e;
mod serve_stream;
mod sessions;
mod shedding;
mod stages;
mod stream_proxy;
mod summary_file;
mod sweep;
mod validation;
mod workloads;

use std::path::{Path, PathBuf};

/// Path of a file in the repository.
pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A fresh temporary folder under the target dir.
pub fn tmpdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Simulate replication 0 of a scenario given as text (`name` is used in
/// messages and to resolve relative paths).
pub fn run_text(name: &str, text: &str) -> tenantsim::runner::ReplicationResult {
    let sc = tenantsim::scenario::from_str(Path::new(name), text, &[]).unwrap();
    tenantsim::runner::run_replication(&sc, 0, &|_| {})
}

/// An overall metric of one replication (panics if it is not reported).
pub fn overall(r: &tenantsim::runner::ReplicationResult, name: &str) -> f64 {
    r.overall[tenantsim::metrics::names::index(name).unwrap()].unwrap()
}

/// A per-tier metric of one replication (panics if it is not reported).
pub fn tier_metric(r: &tenantsim::runner::ReplicationResult, tier: usize, name: &str) -> f64 {
    r.tiers[tier][tenantsim::metrics::names::index(name).unwrap()].unwrap()
}

/// summary.json without the fields allowed to differ between runs
/// (wall-clock time and the rate derived from it).
pub fn strip_engine_timing(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    let e = v["engine"].as_object_mut().unwrap();
    e.remove("wall_s");
    e.remove("events_per_s");
    v
}
