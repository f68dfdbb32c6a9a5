//! Estimates the rules share: instance groups (and their pools), each
//! workload's mean demand per request, and offered (admitted) rates.

use crate::{Arrival, Bound, Isolation, PolicySpec, PoolScope, ScaleMetric, Scenario};

/// An instance group as the service builds it: the shared group (every
/// tier that is not dedicated), then one per dedicated tier.
pub struct Group {
    pub name: String,
    pub tiers: Vec<usize>,
    pub initial: u32,
    /// Most instances it can have: the autoscaler's max (or its initial
    /// size when larger), else its initial size.
    pub most: u32,
    /// Connection pools per instance (one per pool class in the group).
    pub pools_per_instance: u32,
}

/// Mean work of one request of a workload (mix-weighted), seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Demand {
    pub cpu: f64,
    /// Database work of endpoints whose reads a cache may answer.
    pub db_cacheable: f64,
    /// Database work no cache saves (writes, non-cacheable reads, or no cache).
    pub db_uncached: f64,
    /// Waits inside request stages (external calls).
    pub wait: f64,
}

impl Demand {
    /// Latency no request can beat on average: its CPU, its waits and the
    /// database work no cache saves (queueing and cache hits left out).
    pub fn floor(&self) -> f64 {
        self.cpu + self.wait + self.db_uncached
    }
}

/// Offered rates of an open workload, all its tenants together, after
/// each tenant's rate limit.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub mean: f64,
    pub peak: f64,
    /// The tier's rate limit lowered the offered rate.
    pub limited: bool,
}

/// A stated figure (claim or SLO) on all traffic.
#[derive(Clone, Debug)]
pub struct Stated {
    pub value: f64,
    pub bound: Bound,
    /// `claim.3 (id)` or `slo.throughput_rps`.
    pub key: String,
    pub label: String,
}

pub struct Context<'a> {
    pub sc: &'a Scenario,
    pub groups: Vec<Group>,
    /// Index of each tier's group.
    pub tier_group: Vec<usize>,
    pub demand: Vec<Demand>,
    /// `None` for closed workloads.
    pub rates: Vec<Option<Rates>>,
    /// Usable cores of one instance: min(cores, workers, host threads), less
    /// background work and pauses.
    pub usable_cores: f64,
    /// Why usable cores are below `instance.cores`, for arithmetic.
    pub usable_note: String,
}

impl<'a> Context<'a> {
    pub fn new(sc: &'a Scenario) -> Self {
        let autoscaled = sc.autoscaler.as_ref().filter(|a| !matches!(a.policy, PolicySpec::None));
        let most = |initial: u32| autoscaled.map_or(initial, |a| a.max.max(initial));
        let mut groups = Vec::new();
        let mut tier_group = vec![0; sc.tiers.len()];
        let shared: Vec<usize> = (0..sc.tiers.len())
            .filter(|&t| sc.tiers[t].isolation != Isolation::Dedicated)
            .collect();
        if !shared.is_empty() {
            let pools = u32::from(shared.iter().any(|&t| sc.tiers[t].isolation == Isolation::Shared))
                + shared
                    .iter()
                    .filter(|&&t| sc.tiers[t].isolation == Isolation::Hybrid)
                    .count() as u32;
            groups.push(Group {
                name: "shared group".into(),
                tiers: shared,
                initial: sc.instance.initial,
                most: most(sc.instance.initial),
                pools_per_instance: pools,
            });
        }
        for (i, t) in sc.tiers.iter().enumerate() {
            if t.isolation == Isolation::Dedicated {
                tier_group[i] = groups.len();
                let initial = t.instances.unwrap_or(sc.instance.initial);
                groups.push(Group {
                    name: format!("`{}` group", t.name),
                    tiers: vec![i],
                    initial,
                    most: most(initial),
                    pools_per_instance: 1,
                });
            }
        }
        let demand = sc.workloads.iter().map(|w| workload_demand(sc, &w.mix)).collect();
        let rates = sc.workloads.iter().map(|w| offered(sc, w)).collect();
        let i = &sc.instance;
        let mut usable = i.cores.min(i.workers) as f64;
        let mut notes = Vec::new();
        if i.workers < i.cores {
            notes.push(format!("workers {} < cores {}", i.workers, i.cores));
        }
        if let Some(h) = sc.host.as_ref().filter(|h| (h.threads as f64) < usable) {
            // Each thread runs one CPU phase at a time.
            usable = h.threads as f64;
            notes.push(format!("host.threads {} < cores {}", h.threads, i.cores));
        }
        let chores: f64 = sc
            .background
            .iter()
            .map(|b| b.cpu.mean_secs() / b.period.as_secs_f64().max(1e-12))
            .sum();
        if chores > 0.0 {
            usable -= chores;
            notes.push(format!("background tasks use {} core(s)", super::n(chores)));
        }
        if let Some(p) = &sc.pauses {
            let frac = match p.every {
                crate::PauseEvery::Interval(t) => p.duration.mean_secs() / t.as_secs_f64().max(1e-12),
                crate::PauseEvery::Poisson(r) => p.duration.mean_secs() * r,
            }
            .min(1.0);
            usable *= 1.0 - frac;
            notes.push(format!("pauses stop {} of the time", super::pct(frac)));
        }
        Context {
            sc,
            groups,
            tier_group,
            demand,
            rates,
            usable_cores: usable.max(0.0),
            usable_note: notes.join(", "),
        }
    }

    /// Usable cores per instance as arithmetic text.
    pub fn cores_text(&self) -> String {
        if self.usable_note.is_empty() {
            format!("{} cores", super::n(self.usable_cores))
        } else {
            format!("{} usable cores ({})", super::n(self.usable_cores), self.usable_note)
        }
    }

    /// Whether the scenario has an autoscaler that changes instance counts.
    pub fn autoscaled(&self) -> bool {
        self.sc
            .autoscaler
            .as_ref()
            .is_some_and(|a| !matches!(a.policy, PolicySpec::None))
    }

    /// The CPU utilization the autoscaler aims for or scales out above.
    pub fn cpu_target(&self) -> Option<f64> {
        let a = self.sc.autoscaler.as_ref()?;
        match &a.policy {
            PolicySpec::Hpa { metrics, .. } => metrics.iter().find(|m| m.0 == ScaleMetric::Cpu).map(|m| m.1),
            PolicySpec::Threshold { rules, .. } => rules.iter().find(|r| r.metric == ScaleMetric::Cpu)?.above,
            PolicySpec::TargetTracking { metric, target, .. } if *metric == ScaleMetric::Cpu => Some(*target),
            _ => None,
        }
    }

    /// Open workloads' mean and peak CPU load (cores) on group `g`.
    pub fn cpu_load(&self, g: usize) -> (f64, f64) {
        let mut l = (0.0, 0.0);
        for (i, w) in self.sc.workloads.iter().enumerate() {
            if self.tier_group[w.tier] != g {
                continue;
            }
            if let Some(r) = self.rates[i] {
                l.0 += r.mean * self.demand[i].cpu;
                l.1 += r.peak * self.demand[i].cpu;
            }
        }
        l
    }

    /// Some workload is closed (self-limiting).
    pub fn has_closed(&self) -> bool {
        self.rates.iter().any(|r| r.is_none())
    }

    /// Closed workloads: (users at most, mean think time, demand floor) each.
    pub fn closed(&self) -> Vec<(f64, f64, f64)> {
        self.sc
            .workloads
            .iter()
            .enumerate()
            .filter_map(|(i, w)| match &w.arrival {
                Arrival::Closed { think, .. } => Some((
                    w.tenants as f64 * w.arrival.max_users() as f64,
                    think.mean_secs(),
                    self.demand[i].floor(),
                )),
                _ => None,
            })
            .collect()
    }

    /// Each workload's share of all requests (open: mean rate; closed: its
    /// most throughput N / (Z + floor)), for mix-weighted demands.
    pub fn request_weights(&self) -> Vec<f64> {
        self.sc
            .workloads
            .iter()
            .enumerate()
            .map(|(i, w)| match self.rates[i] {
                Some(r) => r.mean,
                None => match &w.arrival {
                    Arrival::Closed { think, .. } => {
                        let z = think.mean_secs() + self.demand[i].floor();
                        w.tenants as f64 * w.arrival.max_users() as f64 / z.max(1e-9)
                    }
                    _ => 0.0,
                },
            })
            .collect()
    }

    /// Mean demand of a request over all workloads.
    pub fn mean_demand(&self) -> Demand {
        let w = self.request_weights();
        let total: f64 = w.iter().sum();
        let mut m = Demand::default();
        if total <= 0.0 {
            return m;
        }
        for (k, d) in self.demand.iter().enumerate() {
            let f = w[k] / total;
            m.cpu += f * d.cpu;
            m.db_cacheable += f * d.db_cacheable;
            m.db_uncached += f * d.db_uncached;
            m.wait += f * d.wait;
        }
        m
    }

    /// Claims and SLOs on all traffic that state `metric`.
    pub fn stated(&self, metric: &str) -> Vec<Stated> {
        let mut v = Vec::new();
        for (i, c) in self.sc.claims.iter().enumerate() {
            if c.metric == Some(metric) && c.tier.is_none() {
                v.push(Stated {
                    value: c.limit,
                    bound: c.bound,
                    key: format!("claim.{i}"),
                    label: format!("claim `{}`", c.id),
                });
            }
        }
        for s in &self.sc.slo {
            if s.metric == metric && s.tier.is_none() && s.stage.is_none() {
                v.push(Stated {
                    value: s.limit,
                    bound: s.bound,
                    key: format!("slo.{}", s.name),
                    label: format!("SLO `{}`", s.name),
                });
            }
        }
        v
    }
}

/// Mean demand of one request drawn from `mix`.
fn workload_demand(sc: &Scenario, mix: &[(usize, f64)]) -> Demand {
    let mut d = Demand::default();
    let mut prev = 0.0;
    let cache = sc.cache.any();
    for (e, c) in mix {
        let p = c - prev;
        prev = *c;
        let ep = &sc.endpoints[*e];
        d.cpu += p * ep.cpu_mean_secs();
        d.wait += p * ep
            .stages
            .iter()
            .filter_map(|s| s.wait.as_ref())
            .map(|w| w.mean_secs())
            .sum::<f64>();
        let db = ep.db_queries as f64 * ep.query.as_ref().map_or(0.0, |q| q.mean_secs());
        if ep.cacheable && cache {
            d.db_cacheable += p * db;
        } else {
            d.db_uncached += p * db;
        }
    }
    d
}

/// Offered rates of an open workload after its tier's rate limit.
fn offered(sc: &Scenario, w: &crate::Workload) -> Option<Rates> {
    let n = w.tenants as f64;
    let (mean, peak) = match &w.arrival {
        Arrival::Poisson { rate_per_s } | Arrival::Deterministic { rate_per_s } => (*rate_per_s, *rate_per_s),
        Arrival::Diurnal {
            peak_rate_per_s,
            trough_rate_per_s,
            ..
        } => ((peak_rate_per_s + trough_rate_per_s) / 2.0, *peak_rate_per_s),
        Arrival::Steps { steps, .. } => {
            let dur = sc.simulation.duration;
            let mut area = 0.0;
            for (i, (t, r)) in steps.iter().enumerate() {
                let end = steps.get(i + 1).map(|x| x.0).unwrap_or(dur).min(dur);
                area += r * end.saturating_sub(*t).as_secs_f64();
            }
            (
                area / dur.as_secs_f64(),
                steps.iter().filter(|s| s.0 < dur).map(|x| x.1).fold(0.0, f64::max),
            )
        }
        Arrival::Mmpp {
            rate_per_s,
            burst_rate_per_s,
            normal_duration,
            burst_duration,
        } => {
            let (a, b) = (normal_duration.as_secs_f64(), burst_duration.as_secs_f64());
            ((rate_per_s * a + burst_rate_per_s * b) / (a + b), *burst_rate_per_s)
        }
        Arrival::Closed { .. } => return None,
        Arrival::Trace { events, .. } => {
            let r = events.len() as f64 / sc.simulation.duration.as_secs_f64() / n.max(1.0);
            (r, r)
        }
    };
    let cap = sc.tiers[w.tier].rate_limit.map_or(f64::INFINITY, |l| l.rate_per_s);
    Some(Rates {
        mean: n * mean.min(cap),
        peak: n * peak.min(cap),
        limited: peak > cap,
    })
}

/// The key paths of the pool's connection limit.
pub fn pool_limit_keys(sc: &Scenario) -> Vec<String> {
    match &sc.pool {
        Some(p) if p.config.idle_timeout.is_some() => vec!["pool.max".into()],
        Some(_) => vec!["pool.size".into(), "pool.overflow".into()],
        None => Vec::new(),
    }
}

/// The pool's limit as arithmetic text: "(20 + 40)" or "50".
pub fn pool_limit_text(sc: &Scenario) -> String {
    match &sc.pool {
        Some(p) if p.config.idle_timeout.is_none() && p.config.permanent < p.config.limit => {
            format!("({} + {})", p.config.permanent, p.config.limit - p.config.permanent)
        }
        Some(p) => format!("{}", p.config.limit),
        None => String::new(),
    }
}

/// Whether pools are per instance.
pub fn per_instance_pools(sc: &Scenario) -> bool {
    sc.pool.as_ref().is_some_and(|p| p.scope == PoolScope::Instance)
}
