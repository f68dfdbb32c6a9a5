//! The lint rules' ids and one-line summaries: the vocabulary shared by
//! `tenantsim lint`, `[lint] allow = [...]` in scenario files and
//! `--deny`/`--allow` flags. A leaf: the scenario resolver checks `allow`
//! ids against it without depending on the checks themselves (which read
//! resolved scenarios).

/// A lint rule: its stable id and what it checks.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
}

/// Every rule, in the order checks are reported.
pub const RULES: &[Rule] = &[
    Rule {
        id: "pool-connections",
        summary: "connections every pool can open (pools × instances at the autoscaler's max) vs database.max_connections",
    },
    Rule {
        id: "tier-connections",
        summary: "a tier's max_connections per tenant vs the pool's limit and database.max_connections",
    },
    Rule {
        id: "tier-memory",
        summary: "a tier's memory quota vs the memory an instance has free (and whether the quota can bind)",
    },
    Rule {
        id: "instance-memory",
        summary: "base memory + per-request memory × (workers + queue) vs instance.memory_mb",
    },
    Rule {
        id: "unused-tier",
        summary: "a [[tier]] that no workload uses (it appears in the output with zeros)",
    },
    Rule {
        id: "timeout-order",
        summary: "a tier's query_timeout or the pool's timeout longer than the endpoint's request timeout",
    },
    Rule {
        id: "utilization",
        summary: "offered CPU load vs the instances' cores with no autoscaler (utilization ≥ 1)",
    },
    Rule {
        id: "db-utilization",
        summary: "offered database work vs database.cores, with and without cache hits",
    },
    Rule {
        id: "autoscaler-capacity",
        summary: "peak offered load vs autoscaler max × per-instance capacity (and its CPU target)",
    },
    Rule {
        id: "throughput-capacity",
        summary: "a stated throughput (claim or SLO) vs what the instances (at most) and the database can serve",
    },
    Rule {
        id: "littles-law",
        summary: "closed users N, think time Z: a stated throughput vs N / (Z + R) at the demand floor and at the latency target",
    },
    Rule {
        id: "claim-consistency",
        summary: "claims that contradict each other or Little's law",
    },
];
