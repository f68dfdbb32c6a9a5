//! Scenario files (SPEC §4): the TOML schema, `include`, `--set` overrides,
//! and validation into a [`Scenario`] that is ready to simulate.
//!
//! Loading happens in two stages, as in ripgrep: first what was written
//! ([`raw`], checked file by file so errors carry exact lines), then a
//! resolved, validated plan ([`Scenario`]) in which every duration is a
//! [`SimTime`], every distribution is built, and every cross-reference (a
//! workload's tier, a mix's endpoints) is an index. Nothing downstream sees
//! unvalidated input. Every error names the file, line, key and what is
//! allowed ([`ScenarioError`]).

mod error;
pub mod generate;
pub mod limits;
pub mod lint;
mod overrides;
pub use overrides::{overrides, Overrides};
pub mod raw;
mod resolve;
mod trace;
pub use trace::{parse_trace, read_trace, TraceOptions};
pub mod source;
pub mod units;

pub use error::{did_you_mean, ScenarioError};

// The description types live in the model crate (their one owner); they are
// re-exported here so that `tenantsim_scenario::Scenario` reads naturally.
pub use tenantsim_model::spec::*;
pub use tenantsim_model::statement;

use std::path::Path;

/// Load a scenario file, apply `--set` overrides, and validate it.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let sources = source::load(path)?;
    checked(resolve::resolve(sources, overrides)?)
}

/// A resolved scenario, refused if its run would need absurd memory
/// ([`limits`]).
fn checked(sc: Scenario) -> Result<Scenario, ScenarioError> {
    limits::check(&sc)?;
    Ok(sc)
}

/// Resolve already-read files with `overrides` applied: a sweep reads the
/// files once and resolves them for every point.
pub fn from_sources(sources: source::Sources, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    checked(resolve::resolve(sources, overrides)?)
}

/// Parse a scenario from text (tests, generated scenarios). Includes and
/// trace files are resolved relative to `path`'s folder.
pub fn from_str(path: &Path, text: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let sources = source::load_str(path, text)?;
    checked(resolve::resolve(sources, overrides)?)
}
