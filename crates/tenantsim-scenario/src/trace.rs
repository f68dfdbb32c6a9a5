//! Trace CSV files (`arrival.process = "trace"`): [`read_trace`] and
//! [`parse_trace`] turn rows of `time_s` and optional `tenant`,
//! `tenant_id`, `tier` and `endpoint` into [`TraceEvent`]s, with a speed-up,
//! a rate multiplier and a tenant selection ([`TraceOptions`]).

use super::*;
use tenantsim_engine::SimTime;

/// How a trace file is replayed by one workload (`arrival.process = "trace"`).
pub struct TraceOptions<'a> {
    /// Tenants of the workload: tenant indices must stay below it.
    pub tenants: u32,
    pub endpoint_names: &'a [&'a str],
    /// The workload's tier: when the file has a `tier` column, only that
    /// tier's rows are replayed.
    pub tier: &'a str,
    /// Times are divided by this (2 replays twice as fast).
    pub speedup: f64,
    /// Each row is sent this many times on average: row i is sent
    /// ⌊(i+1)m⌋ − ⌊im⌋ times, the copies spread evenly up to the next row
    /// (deterministic, so every replication sees the same trace).
    pub rate_multiplier: f64,
    /// Only these tenants (ids as in `tenant_id`, else as in `tenant`);
    /// their requests are replayed as tenants 0, 1, … in this order.
    pub select_tenants: Option<&'a [String]>,
}

/// Read a trace CSV: header with `time_s` (seconds from the start), and
/// optional `tenant` (0-based index within the workload), `tenant_id` (the
/// log's tenant name: indices are given in order of first appearance when
/// there is no `tenant` column), `tier` (rows of other tiers are skipped)
/// and `endpoint` (an endpoint name). Rows must be in time order.
pub fn read_trace(path: &Path, o: &TraceOptions) -> Result<Vec<TraceEvent>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
    parse_trace(file, path, o)
}

/// [`read_trace`] on any reader (`path` names it in messages): the fuzzed
/// entry point.
pub fn parse_trace(input: impl std::io::Read, path: &Path, o: &TraceOptions) -> Result<Vec<TraceEvent>, String> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = rdr.headers().map_err(|e| format!("{}: {e}", path.display()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let t_col = col("time_s").ok_or_else(|| {
        format!(
            "{}: the header needs a `time_s` column (seconds from the start); found: {}",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    let tenant_col = col("tenant");
    let id_col = col("tenant_id");
    let tier_col = col("tier");
    let ep_col = col("endpoint");
    if o.select_tenants.is_some() && tenant_col.is_none() && id_col.is_none() {
        return Err(format!(
            "{}: `select_tenants` needs a `tenant_id` or `tenant` column in the trace",
            path.display()
        ));
    }
    let tenants = o.tenants;
    // (time, tenant, endpoint) of the rows kept, before the multiplier.
    let mut rows: Vec<(SimTime, Option<u32>, Option<usize>)> = Vec::new();
    let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut last = SimTime::ZERO;
    let mut tiers_seen: Vec<String> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{}:{line}: {e}", path.display()))?;
        let ts = rec.get(t_col).unwrap_or("");
        let t: f64 = ts
            .parse()
            .map_err(|_| format!("{}:{line}: time_s `{ts}` is not a number of seconds", path.display()))?;
        if !(t.is_finite() && t >= 0.0) {
            return Err(format!("{}:{line}: time_s must be zero or positive", path.display()));
        }
        let at = SimTime::from_secs_f64(t / o.speedup);
        if at < last {
            return Err(format!(
                "{}:{line}: rows must be in time order ({t} comes after {})",
                path.display(),
                last.as_secs_f64() * o.speedup
            ));
        }
        last = at;
        if let Some(tier) = tier_col.and_then(|c| rec.get(c)) {
            if tier != o.tier {
                if tiers_seen.len() < 20 && !tiers_seen.iter().any(|s| s == tier) {
                    tiers_seen.push(tier.to_string());
                }
                continue;
            }
        }
        let id = id_col.and_then(|c| rec.get(c)).filter(|s| !s.is_empty());
        let idx_text = tenant_col.and_then(|c| rec.get(c)).filter(|s| !s.is_empty());
        let tenant = if let Some(sel) = o.select_tenants {
            let key = id.or(idx_text).unwrap_or("");
            match sel.iter().position(|s| s == key) {
                Some(p) => Some(p as u32),
                None => continue,
            }
        } else if let Some(s) = idx_text {
            Some(
                s.parse::<u32>()
                    .map_err(|_| format!("{}:{line}: tenant `{s}` is not a tenant index", path.display()))?,
            )
        } else if let Some(name) = id {
            let next = ids.len() as u32;
            Some(*ids.entry(name.to_string()).or_insert(next))
        } else {
            None
        };
        if let Some(v) = tenant {
            if v >= tenants {
                let why = if o.select_tenants.is_some() {
                    "select_tenants names more tenants than".to_string()
                } else if idx_text.is_some() {
                    format!("tenant {v} but")
                } else {
                    format!("{} distinct tenant_id values but", v + 1)
                };
                return Err(format!(
                    "{}:{line}: {why} the workload has {tenants} tenants: raise the workload's `tenants`",
                    path.display(),
                ));
            }
        }
        let endpoint = match ep_col.and_then(|c| rec.get(c)).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(o.endpoint_names.iter().position(|n| *n == s).ok_or_else(|| {
                format!(
                    "{}:{line}: no endpoint named `{s}` (endpoints: {})",
                    path.display(),
                    o.endpoint_names.join(", ")
                )
            })?),
        };
        rows.push((at, tenant, endpoint));
    }
    if rows.is_empty() {
        let why = if o.select_tenants.is_some() {
            format!(" for tier `{}` and the tenants in select_tenants", o.tier)
        } else if !tiers_seen.is_empty() {
            format!(
                " for tier `{}` (its `tier` column has: {})",
                o.tier,
                tiers_seen.join(", ")
            )
        } else {
            String::new()
        };
        return Err(format!("{}: the trace has no rows{why}", path.display()));
    }
    let m = o.rate_multiplier;
    let mut out = Vec::with_capacity((rows.len() as f64 * m).ceil() as usize + 1);
    for (i, &(at, tenant, endpoint)) in rows.iter().enumerate() {
        let copies = ((i + 1) as f64 * m).floor() as u64 - (i as f64 * m).floor() as u64;
        let gap = rows.get(i + 1).map_or(0, |n| n.0.as_nanos() - at.as_nanos());
        for k in 0..copies {
            // In u128: a time that saturated SimTime leaves a gap near
            // u64::MAX, and gap × k would overflow; the quotient is below gap.
            let dt = (u128::from(gap) * u128::from(k) / u128::from(copies.max(1))) as u64;
            out.push(TraceEvent {
                at: SimTime::from_nanos(at.as_nanos() + dt),
                tenant,
                endpoint,
            });
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{}: rate_multiplier {m} leaves no request of the trace's {} rows",
            path.display(),
            rows.len()
        ));
    }
    Ok(out)
}
