//! `tenantsim validate`: the analytic validation table (SPEC §8).

use super::{EXIT_FAILED, EXIT_OK};
use crate::validate;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Runs the scenarios in scenarios/validation/ (built into the binary) and compares\neach with its analytic answer. A check passes when the simulated mean is within\n3 CI half-widths (+0.2 %) of theory and the CI is narrow enough to mean something.\n\nExit codes: 0 all passed, 1 a check failed."
)]
pub struct ValidateArgs {
    /// Shorter runs (a fifth of the duration; limits widen by √5).
    #[arg(long)]
    pub quick: bool,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ValidateArgs) -> anyhow::Result<i32> {
    let quiet = a.json;
    let rows = validate::run_all(a.quick, &|name| {
        if !quiet {
            eprintln!("running {name} ...");
        }
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", validate::format_table(&rows));
    }
    Ok(if rows.iter().all(|r| r.passed) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
