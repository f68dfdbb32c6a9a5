//! `tenantsim plan`: the cheapest setting of `--vary` parameters that meets
//! the scenario's SLOs with 95 % confidence (search in `plan/`).

use super::{progress_bar, BadInput, ScenarioArgs, EXIT_FAILED, EXIT_OK};
use crate::metrics::names;
use crate::plan::{self, Candidate, Objective, PlanConfig};
use crate::report::table::fmt_value;
use crate::sweep::{ParamSpec, Sweep};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim plan scenarios/examples/pool-exhaustion.toml --vary pool.size=2..10:1 --vary instance.initial=1..4:1
  tenantsim plan S.toml --vary instance.type=small,medium,large --vary instance.initial=1..8:1 --minimize cost
  tenantsim plan S.toml --vary autoscaler.max=2..20:2 --vary autoscaler.target=0.5,0.6,0.7 --json

A setting is acceptable when every [slo] check holds with its whole 95 %
confidence interval. The search bisects along the capacity dimension with the
most values (instances, cores, workers, pool size/overflow, database cores
and connections, cache capacity, autoscaler min/max, or --capacity KEY):
it assumes more capacity never breaks an SLO and never costs less. Survivors
get more replications (successive halving) until the best is sure.
--exhaustive runs the whole grid instead, without the assumption.
instance.type=NAME takes the [instance] keys of models/instances/NAME.toml.
Exit codes: 0 a setting was found, 1 none meets the SLOs, 2 bad input.")]
pub struct PlanArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A parameter and its values, KEY=SPEC (`2..10:1`, `1,2,4`; repeatable).
    #[arg(long = "vary", value_name = "KEY=SPEC", required = true)]
    pub vary: Vec<String>,
    /// What to minimise: cost, instances, or any metric name.
    #[arg(long, default_value = "cost")]
    pub minimize: String,
    /// Treat KEY as a capacity dimension (more never hurts), besides the known ones.
    #[arg(long, value_name = "KEY")]
    pub capacity: Vec<String>,
    /// Replications of the screening pass.
    #[arg(long, default_value_t = 3)]
    pub replications: u32,
    /// Most replications any setting gets.
    #[arg(long, default_value_t = 24)]
    pub max_replications: u32,
    /// Run every grid point at --max-replications (brute force).
    #[arg(long)]
    pub exhaustive: bool,
    /// Worker threads [default: all cores]; results do not depend on it.
    #[arg(long, alias = "threads")]
    pub jobs: Option<usize>,
    /// Output folder for plan.json [default: results/<scenario name>-plan/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print plan.json on stdout instead of the text.
    #[arg(long)]
    pub json: bool,
    /// No progress and no text.
    #[arg(long)]
    pub quiet: bool,
}

fn describe(params: &[ParamSpec], c: &Candidate, objective: &str) -> String {
    let vals: Vec<String> = params
        .iter()
        .zip(&c.values)
        .map(|(p, v)| format!("{}={v}", p.key))
        .collect();
    let mut s = format!("{}  ({} replications)\n", vals.join(" "), c.replications);
    let ci = |m: &str, ci: Option<[f64; 2]>| {
        ci.map(|[lo, hi]| format!(" [{}, {}]", fmt_value(m, lo), fmt_value(m, hi)))
            .unwrap_or_default()
    };
    s.push_str(&format!(
        "  {objective:<22} {}{}\n",
        fmt_value(objective, c.objective),
        ci(objective, c.objective_ci)
    ));
    for chk in &c.summary.slo.checks {
        let v = chk
            .value
            .map(|v| fmt_value(chk.metric.as_str(), v))
            .unwrap_or("-".into());
        s.push_str(&format!(
            "  {:<22} {}{}  ({} {} {}, {})\n",
            format!("{} [{}]", chk.name, chk.scope),
            v,
            ci(&chk.metric, chk.ci95),
            chk.bound,
            chk.bound.symbol(),
            fmt_value(&chk.metric, chk.limit),
            if chk.passed { "holds" } else { "fails" }
        ));
    }
    s
}

pub fn run(a: PlanArgs) -> anyhow::Result<i32> {
    let ov = crate::scenario::Overrides::new(&a.scenario.set, a.scenario.seed, None);
    let base = ov.load(&a.scenario.scenario)?;
    let sets = ov.sets;
    if base.slo.is_empty() {
        return Err(BadInput(format!(
            "{}: plan needs an [slo] section to know what an acceptable setting is",
            a.scenario.scenario.display()
        ))
        .into());
    }
    let metric = match a.minimize.as_str() {
        "cost" => "cost",
        "instances" => "instances_mean",
        m => names::metric(m).map(|d| d.name).ok_or_else(|| {
            let hint = crate::scenario::did_you_mean(m, names::METRICS.iter().map(|x| x.name))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            BadInput(format!(
                "--minimize {m}: expected cost, instances or a metric name{hint}"
            ))
        })?,
    };
    if a.replications < 2 || a.max_replications < a.replications {
        return Err(BadInput(format!(
            "--replications {} / --max-replications {}: need 2 ≤ screening ≤ max (a CI needs two replications)",
            a.replications, a.max_replications
        ))
        .into());
    }
    let params: Vec<ParamSpec> = a
        .vary
        .iter()
        .map(|p| ParamSpec::parse(p))
        .collect::<Result<_, _>>()
        .map_err(|e| BadInput(e.replace("--param", "--vary")))?;
    for c in &a.capacity {
        if !params.iter().any(|p| &p.key == c) {
            return Err(BadInput(format!("--capacity {c}: not one of the --vary keys")).into());
        }
    }
    let capacity: Vec<usize> = params
        .iter()
        .enumerate()
        .filter(|(_, p)| plan::is_capacity_key(&p.key) || a.capacity.contains(&p.key))
        .map(|(i, _)| i)
        .collect();
    let sweep = Sweep::prepare(&a.scenario.scenario, sets, params.clone(), None, None, None)
        .map_err(|e| anyhow::anyhow!(e.to_string().replace("--param", "--vary")))
        .map_err(|e| BadInput(e.to_string()))?;
    let cfg = PlanConfig {
        objective: Objective { metric },
        screening_replications: a.replications,
        max_replications: a.max_replications,
        capacity,
        exhaustive: a.exhaustive,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()
        .map_err(|e| BadInput(format!("--jobs: {e}")))?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("{}-plan", base.name)));
    super::prepare_out_dir("--out", &dir)?;
    let spinner = progress_bar(a.quiet || a.json, 0, "planning");
    if let Some(pb) = &spinner {
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    let start = std::time::Instant::now();
    let result = pool.install(|| plan::plan(&sweep, &cfg))?;
    if let Some(pb) = &spinner {
        pb.finish_and_clear();
    }
    let doc = plan::to_json(&params, metric, &result);
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    let plan_path = dir.join("plan.json");
    crate::files::write_atomic(&plan_path, text.as_bytes())
        .map_err(|e| BadInput(format!("cannot write {}: {e}", plan_path.display())))?;
    if a.json {
        print!("{text}");
    } else if !a.quiet {
        let cap: Vec<&str> = cfg.capacity.iter().map(|&i| params[i].key.as_str()).collect();
        println!(
            "plan {}: minimise {metric} subject to {} SLO check(s) at 95 % confidence",
            base.name,
            base.slo.len()
        );
        if !a.exhaustive {
            println!(
                "capacity dimensions (assumed monotone): {}",
                if cap.is_empty() {
                    "none".to_string()
                } else {
                    cap.join(", ")
                }
            );
        }
        match &result.chosen {
            Some(c) => print!("\nchosen: {}", describe(&params, c, metric)),
            None => println!("\nno setting meets every SLO with 95 % confidence"),
        }
        if let Some(u) = &result.runner_up {
            print!("\nrunner-up: {}", describe(&params, u, metric));
        }
        println!(
            "\n{} simulations ({} of {} grid points evaluated) in {:.1} s; the full grid at {} replications would take {}",
            result.simulations,
            result.points_evaluated,
            result.grid_points,
            start.elapsed().as_secs_f64(),
            result.confirmed_replications,
            result.grid_points as u64 * result.confirmed_replications as u64
        );
        println!("wrote {}", dir.join("plan.json").display());
    }
    Ok(if result.chosen.is_some() { EXIT_OK } else { EXIT_FAILED })
}
