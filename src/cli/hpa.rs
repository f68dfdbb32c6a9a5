//! `tenantsim hpa explain`: why the HPA did what it did at one sync, from
//! its manifest and a snapshot of its pods, step by step (text) or as JSON.
//! Reading is `tenantsim_import::hpa_explain`'s, computing the model's
//! (`model::autoscaler::explain`); this file only prints.

use super::{BadInput, EXIT_OK};
use crate::model::autoscaler::explain::{explain, Explanation};
use crate::model::autoscaler::replica_calc::{PodClass, Target};
use std::fmt::Write as _;
use std::path::PathBuf;
use tenantsim_import::hpa_explain::{read, show_milli, ExplainInput};

#[derive(clap::Args, Debug)]
pub struct HpaArgs {
    #[command(subcommand)]
    pub command: HpaCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum HpaCommand {
    /// Why the HPA chose its replica count: usage ratios, ignored and
    /// missing pods, tolerance, stabilization, policy limits.
    #[command(
        after_help = "Examples:\n  tenantsim hpa explain scenarios/examples/hpa-explain/hpa.yaml scenarios/examples/hpa-explain/pods.json\n  kubectl get hpa api -o yaml > hpa.yaml && tenantsim hpa explain hpa.yaml pods.json --json\n\nThe snapshot format (pods, samples, optional history) is described in docs/hpa-explain.md.\nExit codes: 0 explained, 2 the manifest or the snapshot could not be read."
    )]
    Explain(ExplainArgs),
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The HorizontalPodAutoscaler manifest (YAML or JSON), or - for standard input.
    pub manifest: PathBuf,
    /// The pods snapshot (JSON; see docs/hpa-explain.md).
    pub snapshot: PathBuf,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

fn read_file(p: &PathBuf) -> Result<String, BadInput> {
    if p.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| BadInput(format!("cannot read standard input: {e}")))
    } else {
        std::fs::read_to_string(p).map_err(|e| BadInput(format!("cannot read {}: {e}", p.display())))
    }
}

pub fn run(a: HpaArgs) -> anyhow::Result<i32> {
    let HpaCommand::Explain(a) = a.command;
    let manifest = read_file(&a.manifest)?;
    let snapshot = read_file(&a.snapshot)?;
    let input = read(&manifest, &snapshot).map_err(|e| {
        let file = if e.starts_with("manifest") {
            &a.manifest
        } else {
            &a.snapshot
        };
        BadInput(format!("{}: {e}", file.display()))
    })?;
    let e = explain(
        input.spec.clone(),
        &input.config,
        input.now,
        input.replicas,
        &input.pods,
        &input.metrics,
        &input.history,
    );
    if a.json {
        let v = serde_json::json!({
            "hpa": input.name,
            "time": input.now,
            "replicas": input.replicas,
            "min": input.spec.min,
            "max": input.spec.max,
            "tolerance": { "up": input.config.tolerance_up, "down": input.config.tolerance_down },
            "metrics": e.metrics,
            "decision": e.decision,
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        out(&render(&input, &e));
    }
    Ok(EXIT_OK)
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
fn out(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn class(c: PodClass) -> &'static str {
    match c {
        PodClass::Ready => "counted",
        PodClass::Unready => "unready",
        PodClass::Missing => "missing",
        PodClass::Ignored => "ignored",
    }
}

/// The explanation in words, one step per line.
pub fn render(input: &ExplainInput, e: &Explanation) -> String {
    let mut s = String::new();
    let c = &input.config;
    let _ = writeln!(
        s,
        "HPA {}: {} replicas, min {}, max {}; tolerance {} (up) / {} (down), CPU initialization period {} s, initial readiness delay {} s",
        input.name,
        input.replicas,
        input.spec.min,
        input.spec.max,
        c.tolerance_up,
        c.tolerance_down,
        c.cpu_initialization_period,
        c.initial_readiness_delay
    );
    for (i, m) in e.metrics.iter().enumerate() {
        let _ = writeln!(s, "\n{}. {} (target: {})", i + 1, m.name, m.target);
        let Some(calc) = &m.calculation else {
            let _ = writeln!(
                s,
                "   cannot compute: {}",
                m.error.as_deref().unwrap_or("unknown error")
            );
            continue;
        };
        for p in &calc.pods {
            let filled = p
                .counted_as
                .map(|v| format!(" → counted as {}", show_milli(v)))
                .unwrap_or_default();
            let _ = writeln!(s, "   {:<8} {}: {}{}", class(p.class), p.pod, p.why, filled);
        }
        let util = matches!(
            input.metrics[i].input,
            crate::model::autoscaler::replica_calc::MetricInput::Resource {
                target: Target::Utilization(_),
                ..
            }
        );
        if util {
            let _ = writeln!(
                s,
                "   current {} % utilization (average {} per pod with a sample)",
                calc.current,
                calc.raw_average.map(show_milli).unwrap_or_default()
            );
        } else {
            let _ = writeln!(s, "   current value {}", show_milli(calc.current));
        }
        let _ = writeln!(s, "   usage ratio {:.4}", calc.usage_ratio);
        if let Some(r) = calc.recomputed_ratio {
            let _ = writeln!(
                s,
                "   recomputed with the unready and missing pods filled in: ratio {:.4} over {} pods",
                r, calc.pods_counted
            );
        }
        let _ = writeln!(s, "   rule: {}", calc.rule);
        let _ = writeln!(s, "   proposal: {} replicas", calc.replicas);
    }
    let d = &e.decision;
    let _ = writeln!(s, "\nDecision");
    match d.proposal {
        Some(p) => {
            let _ = writeln!(s, "   largest proposal (raw recommendation): {p}");
        }
        None => {
            let _ = writeln!(s, "   no proposal from the metrics");
        }
    }
    if let Some(st) = d.stabilized {
        let _ = writeln!(
            s,
            "   after stabilization (scale-up window {} s, scale-down window {} s): {st}",
            input.spec.scale_up.stabilization.as_secs_f64(),
            input.spec.scale_down.stabilization.as_secs_f64()
        );
    }
    let _ = writeln!(s, "   limit: {}", d.limit.name());
    let _ = writeln!(s, "   replicas: {} → {}", d.current, d.desired);
    s
}
