//! Scaling decisions with their reasons: `scaling_events.csv` (every
//! change of a group's desired count, every replication) and the report's
//! table of them under the instances chart.
//!
//! Owns the file's columns and the table; the events themselves come from
//! the run ([`crate::runner::ReplicationResult::scaling_events`]). For an
//! HPA decision the row carries the metric that proposed the most replicas
//! (its value against its target), the raw recommendation, the stabilized
//! value and the rule that set the final count (`ScaleUpLimit`, ...); for
//! other policies those cells are empty. `summary.json` keeps its own short
//! list (the first 1,000, reason text only) unchanged.

use super::document::Block;
use crate::files::{csv_string, write_atomic};
use crate::runner::RunOutput;
use std::path::Path;

/// The columns of `scaling_events.csv`, in order.
pub const COLUMNS: [&str; 12] = [
    "replication",
    "time_s",
    "group",
    "from",
    "to",
    "reason",
    "metric",
    "value",
    "target",
    "recommendation",
    "stabilized",
    "limit",
];

/// Rows of replication 0 the report lists (numbered as the chart's
/// marks); the file has them all.
const TABLE_ROWS: usize = super::plots::EVENT_LABELS_MAX;

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// Write `scaling_events.csv` into `dir`.
pub fn write_scaling_events(out: &RunOutput, dir: &Path) -> anyhow::Result<()> {
    let rows = out.replications.iter().flat_map(|r| {
        r.scaling_events.iter().map(move |e| {
            let h = e.hpa.as_ref();
            vec![
                r.replication.to_string(),
                e.time_s.to_string(),
                r.groups.get(e.group as usize).cloned().unwrap_or_default(),
                e.from.to_string(),
                e.to.to_string(),
                e.reason.to_string(),
                opt(h.and_then(|h| h.metric_name())),
                opt(h.and_then(|h| h.value)),
                opt(h.and_then(|h| h.target)),
                opt(h.and_then(|h| h.decision.proposal)),
                opt(h.and_then(|h| h.decision.stabilized)),
                opt(h.map(|h| h.decision.limit.name())),
            ]
        })
    });
    let text = csv_string(&COLUMNS, rows);
    write_atomic(&dir.join("scaling_events.csv"), text.as_bytes())?;
    Ok(())
}

/// A number from the file, shortened for the table (`0.912`, `4`).
fn short(s: &str) -> String {
    match s.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Ok(v) => format!("{v:.3}"),
        Err(_) => s.to_string(),
    }
}

/// The table of replication 0's decisions from `dir/scaling_events.csv`
/// (nothing when the file is absent, as in folders written before it
/// existed, or lists no change).
pub fn section(dir: &Path, b: &mut Vec<Block>) -> anyhow::Result<()> {
    let path = dir.join("scaling_events.csv");
    if !path.exists() {
        return Ok(());
    }
    let mut r = csv::Reader::from_path(&path).map_err(|e| crate::cli_error(format!("{}: {e}", path.display())))?;
    let header: Vec<String> = r.headers()?.iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    let mut rows = Vec::new();
    let mut more = 0usize;
    for rec in r.records() {
        let rec = rec?;
        let cell = |i: usize| idx[i].and_then(|k| rec.get(k)).unwrap_or("").to_string();
        if cell(0) != "0" {
            continue;
        }
        if rows.len() == TABLE_ROWS {
            more += 1;
            continue;
        }
        let metric = match (cell(6), cell(7), cell(8)) {
            (m, _, _) if m.is_empty() => String::new(),
            (m, v, t) if v.is_empty() => format!("{m} (no value) vs target {}", short(&t)),
            (m, v, t) => format!("{m} {} vs target {}", short(&v), short(&t)),
        };
        rows.push(vec![
            (rows.len() + 1).to_string(),
            short(&cell(1)),
            cell(2),
            format!("{} → {}", cell(3), cell(4)),
            cell(5),
            metric,
            cell(9),
            cell(10),
            cell(11),
        ]);
    }
    if rows.is_empty() {
        return Ok(());
    }
    b.push(Block::Text(
        "Scaling decisions of replication 0 (the grey lines above, numbered when there are few), each with its reason. For the HPA: the metric \
         that proposed the most replicas against its target, its raw recommendation, the value after the \
         stabilization window, and the rule that set the final count (DesiredWithinRange: none; ScaleUpLimit / \
         ScaleDownLimit: a scaling policy; TooManyReplicas / TooFewReplicas: max / min)."
            .into(),
    ));
    b.push(Block::Table(
        [
            "#",
            "time (s)",
            "group",
            "desired",
            "reason",
            "metric",
            "recommendation",
            "stabilized",
            "limit",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    ));
    if more > 0 {
        b.push(Block::Text(format!("… {more} more decisions in scaling_events.csv")));
    }
    Ok(())
}
