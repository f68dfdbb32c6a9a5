//! `tenantsim compare`: two configurations on common random numbers, and
//! which metrics differ significantly (paired t).

use super::{progress_bar, BadInput, EXIT_OK};
use crate::report::{self, compare::compare};
use crate::runner;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim compare scenarios/examples/pool-exhaustion.toml --set pool.size=8
  tenantsim compare before.toml after.toml --replications 20 --out results/before-vs-after
  tenantsim compare S.toml --set autoscaler.target=0.6 --set-both simulation.duration=30m --json

With one scenario, --set describes B (A is the scenario as written); with
two, --set applies to both. --set-both always applies to both. Both sides run replications 0..N with the same
seed, so each replication of B meets the same arrivals and service demands
as the same replication of A (common random numbers) and the difference
B − A gets a paired-t confidence interval far narrower than independent runs
would give. --independent gives B other seeds, to see the difference.
Writes DIR/comparison.json and DIR/comparison.csv.
Exit codes: 0 compared (whatever the differences), 2 bad input.")]
pub struct CompareArgs {
    /// Scenario A, and optionally scenario B.
    #[arg(required = true, num_args = 1..=2)]
    pub scenarios: Vec<PathBuf>,
    /// With one scenario: a change that makes B. With two: applied to both (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// A value for both sides, e.g. --set-both simulation.duration=2m (repeatable).
    #[arg(long = "set-both", value_name = "KEY=VALUE")]
    pub set_both: Vec<String>,
    /// Base random seed for both sides.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications per side [default: the larger of the two scenarios'].
    #[arg(long)]
    pub replications: Option<u32>,
    /// Give B different random numbers (to show what pairing buys).
    #[arg(long)]
    pub independent: bool,
    /// Output folder [default: results/compare-<A>-vs-<B>/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print comparison.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar and no table.
    #[arg(long)]
    pub quiet: bool,
    /// Do not write report.html, report.md and plots/.
    #[arg(long)]
    pub no_report: bool,
    /// Worker threads [default: all cores]; results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(a: CompareArgs) -> anyhow::Result<i32> {
    let mut ov = crate::scenario::Overrides::new(&[], a.seed, None);
    for s in &a.set_both {
        ov.push("--set-both", s);
    }
    let mut common = ov.sets.clone();
    let (sa, sb, b_label) = if a.scenarios.len() == 1 {
        if a.set.is_empty() {
            return Err(BadInput(
                "compare with one scenario needs --set KEY=VALUE to describe B (or give two scenarios)".into(),
            )
            .into());
        }
        let sa = crate::scenario::load(&a.scenarios[0], &common).map_err(|e| ov.name_flag(e))?;
        let mut b_sets = common.clone();
        b_sets.extend(a.set.iter().cloned());
        let sb = crate::scenario::load(&a.scenarios[0], &b_sets).map_err(|e| ov.name_flag(e))?;
        let label = format!("{} with {}", sa.name, a.set.join(" "));
        (sa, sb, label)
    } else {
        common.extend(a.set.iter().cloned());
        let sa = crate::scenario::load(&a.scenarios[0], &common).map_err(|e| ov.name_flag(e))?;
        let sb = crate::scenario::load(&a.scenarios[1], &common).map_err(|e| ov.name_flag(e))?;
        let label = sb.name.clone();
        (sa, sb, label)
    };
    let (mut sa, mut sb) = (sa, sb);
    let n = a
        .replications
        .unwrap_or(sa.simulation.replications.max(sb.simulation.replications));
    if n < 2 {
        return Err(BadInput(format!("--replications {n}: a paired comparison needs at least 2")).into());
    }
    sa.simulation.replications = n;
    sb.simulation.replications = n;
    let seed = sa.simulation.seed;
    if a.scenarios.len() == 2 && sb.simulation.seed != seed && !a.independent {
        eprintln!(
            "note: B's seed {} replaced by A's seed {seed} for common random numbers",
            sb.simulation.seed
        );
    }
    sb.simulation.seed = if a.independent {
        seed ^ 0x5bd1_e995_9e37_79b9
    } else {
        seed
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .map_err(|e| BadInput(format!("--threads: {e}")))?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("compare-{}-vs-{}", sa.name, slug(&b_label))));
    super::prepare_out_dir("--out", &dir)?;
    let pb = progress_bar(a.quiet || a.json, 2000, "A and B");
    let progress = super::fraction_progress(&pb);
    let (oa, ob) = pool.install(|| (runner::run(&sa, &progress), runner::run(&sb, &progress)));
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let a_label = if a.scenarios.len() == 1 {
        sa.name.clone()
    } else {
        format!("{} ({})", sa.name, a.scenarios[0].display())
    };
    let c = compare(&a_label, &b_label, seed, !a.independent, &oa, &ob);
    for (name, bytes) in [("comparison.json", c.to_json()), ("comparison.csv", c.to_csv())] {
        let path = dir.join(name);
        crate::files::write_atomic(&path, bytes.as_bytes())
            .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?;
    }
    if !a.no_report {
        report::write_report(&dir)?;
    }
    if a.json {
        print!("{}", c.to_json());
    } else if !a.quiet {
        print!("{}", c.table());
        println!("wrote {}", dir.display());
    }
    Ok(EXIT_OK)
}

/// A folder-name-safe version of a label.
fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.truncate(80);
    out
}
