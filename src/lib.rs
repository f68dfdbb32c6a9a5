//! tenantsim: a deterministic, actor-based discrete-event simulator and
//! capacity planner for multi-tenant SaaS services.
//!
//! Layers, from the bottom: [`engine`] (time, events, random streams) knows
//! nothing of tenants; [`model`] holds the actors a request goes through;
//! [`scenario`] turns TOML files into a validated [`scenario::Scenario`];
//! [`metrics`] measures a run; [`runner`] runs replications; [`stats`]
//! turns replications into estimates; [`sweep`] and [`plan`] run many
//! configurations; [`report`] writes what users read;
//! [`lint`] checks a scenario's arithmetic without simulating;
//! [`validate`] compares the simulator with queueing theory; [`cli`] is the
//! command line; [`serve`] is the live dashboard (`tenantsim serve`).

pub mod bench;
pub mod claims;
pub mod cli;
pub mod files;
pub mod fit;
#[doc(hidden)]
pub mod fuzzing;
pub mod plan;
pub mod report;
pub mod runner;
pub mod serve;
pub mod summary;
pub mod sweep;
pub mod validate;

// The layers below the application, each its own crate (crates/): the
// paths `tenantsim::engine`, `tenantsim::model`, `tenantsim::scenario`, ...
// name them for users of this library and for the modules here.
pub use tenantsim_engine as engine;
pub use tenantsim_engine::stats;
pub use tenantsim_model as model;
pub use tenantsim_model::metrics;
pub use tenantsim_scenario as scenario;
pub use tenantsim_scenario::lint;

/// A problem with what the user asked for (a flag, a folder, a parameter
/// spec), as opposed to a scenario file error: the CLI exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// An [`InputError`] as an `anyhow::Error`.
pub fn cli_error(msg: String) -> anyhow::Error {
    anyhow::Error::new(InputError(msg))
}
