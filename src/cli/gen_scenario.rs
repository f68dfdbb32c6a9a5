//! `tenantsim gen-scenario --seed N` (hidden): print the random valid
//! scenario of a seed from [`crate::scenario::generate`], to reproduce a
//! failing case of the generated-scenario property suite or to explore.

use super::EXIT_OK;
use crate::scenario::generate::{generate, Options};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  tenantsim gen-scenario --seed 42 > /tmp/g.toml && tenantsim run /tmp/g.toml\n\nThe suite tests/it/generated.rs checks seeds 0..N with the same generator and --trace $PWD/scenarios/examples/trace-example.csv (a seed's scenario depends on whether a trace is offered)."
)]
pub struct GenScenarioArgs {
    /// The generator seed (each seed is one scenario, the same every time).
    #[arg(long)]
    pub seed: u64,
    /// A trace CSV a `trace` arrival may use (absolute, or relative to where
    /// the scenario will be saved); without it no workload uses a trace.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

pub fn run(a: GenScenarioArgs) -> anyhow::Result<i32> {
    let g = generate(a.seed, &Options { trace_file: a.trace });
    print!("{}", g.toml);
    Ok(EXIT_OK)
}
