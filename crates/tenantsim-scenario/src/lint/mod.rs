//! `tenantsim lint`: static checks of a validated [`Scenario`] that need no
//! simulation and catch real misconfigurations before a run — connection
//! budgets, tier caps and quotas that never bind, tiers no workload uses,
//! timeouts in the wrong order, offered load against capacity, Little's law
//! between a stated population, throughput and latency, and claims that
//! contradict each other.
//!
//! Each rule makes [`Check`]s: a stable rule id, the severity it has when
//! it fails, the scenario keys involved, a one-line message and the
//! arithmetic that decided it, passed or not. [`lint`] returns the failed
//! ones as [`Finding`]s (what the CLI, `run` and the dashboard show);
//! [`checks`] returns all of them (what a `lint = "rule-id"` claim reports
//! when it holds). Rules only read the scenario; they never simulate, and
//! the same scenario always gives the same findings in the same order.
//!
//! Load estimates are means: offered rates (capped by each tier's rate
//! limit) × the endpoint mix × mean CPU and database demand. Closed
//! workloads limit themselves and are left out of utilization; they are
//! what the Little's-law rules are about.

mod capacity;
mod config;
pub mod littles;
mod load;

pub mod rules;
use crate::Scenario;
pub use rules::{Rule, RULES};
use serde::Serialize;

/// How bad a failed check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (e.g. what a claim needs); never fails `lint`.
    Info,
    /// Likely a misconfiguration: a limit that never binds or will be
    /// exceeded at peak; fails `lint --deny-warnings`.
    Warning,
    /// The configuration cannot work as stated (certain overload, an
    /// unreachable claim); fails `lint`.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A failed check, as users see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule id (see [`RULES`]).
    pub rule: &'static str,
    pub severity: Severity,
    /// Scenario key paths involved, e.g. `pool.overflow`.
    pub keys: Vec<String>,
    pub message: String,
    /// The computation, with the numbers used.
    pub arithmetic: String,
}

impl Finding {
    /// One line: `warning[pool-connections]: message (arithmetic)`.
    pub fn one_line(&self) -> String {
        format!(
            "{}[{}]: {} ({})",
            self.severity.as_str(),
            self.rule,
            self.message,
            self.arithmetic
        )
    }
}

/// One check a rule made, passed or not.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub finding: Finding,
    pub passed: bool,
}

/// A rule's outcome: its finding, and whether the configuration passed.
pub(crate) fn check(
    rule: &'static str,
    severity: Severity,
    keys: Vec<String>,
    message: String,
    arithmetic: String,
    passed: bool,
) -> Check {
    Check {
        finding: Finding {
            rule,
            severity,
            keys,
            message,
            arithmetic,
        },
        passed,
    }
}

/// All checks of every rule, passed or not.
pub fn checks(sc: &Scenario) -> Vec<Check> {
    let cx = load::Context::new(sc);
    let mut out = Vec::new();
    config::pool_connections(&cx, &mut out);
    config::tier_connections(&cx, &mut out);
    config::tier_memory(&cx, &mut out);
    config::instance_memory(&cx, &mut out);
    config::unused_tier(&cx, &mut out);
    config::timeout_order(&cx, &mut out);
    capacity::utilization(&cx, &mut out);
    capacity::db_utilization(&cx, &mut out);
    capacity::autoscaler_capacity(&cx, &mut out);
    capacity::throughput_capacity(&cx, &mut out);
    littles::littles_law(&cx, &mut out);
    littles::claim_consistency(&cx, &mut out);
    out
}

/// The checks of one rule.
pub fn rule_checks(sc: &Scenario, rule: &str) -> Vec<Check> {
    checks(sc).into_iter().filter(|c| c.finding.rule == rule).collect()
}

/// The findings of a scenario: its failed checks, errors first, then
/// warnings, then infos (each in rule order).
pub fn lint(sc: &Scenario) -> Vec<Finding> {
    let mut f: Vec<Finding> = checks(sc)
        .into_iter()
        .filter(|c| !c.passed)
        .map(|c| c.finding)
        .collect();
    f.sort_by_key(|x| std::cmp::Reverse(x.severity));
    f
}

/// A number for arithmetic: integers without decimals, others with up to
/// three significant decimals.
pub(crate) fn n(x: f64) -> String {
    if !x.is_finite() {
        return "∞".into();
    }
    if (x - x.round()).abs() < 1e-9 && x.abs() < 1e15 {
        return format!("{}", x.round() as i64);
    }
    let a = x.abs();
    let s = if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    };
    s
}

/// A duration in seconds for arithmetic: "65 ms", "1.5 s", "800 µs".
pub(crate) fn d(secs: f64) -> String {
    if secs == 0.0 {
        "0 s".into()
    } else if secs < 1e-3 {
        format!("{} µs", n(secs * 1e6))
    } else if secs < 1.0 {
        format!("{} ms", n(secs * 1e3))
    } else {
        format!("{} s", n(secs))
    }
}

/// A ratio as a percentage for messages: "93 %".
pub(crate) fn pct(x: f64) -> String {
    format!("{} %", n(x * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_for_integers() {
        assert_eq!(n(3600.0), "3600");
        assert_eq!(n(0.0145), "0.015");
        assert_eq!(n(363.64), "364");
        assert_eq!(n(12.34), "12.3");
        assert_eq!(d(0.065), "65 ms");
        assert_eq!(d(30.0), "30 s");
        assert_eq!(pct(0.931), "93.1 %");
    }

    #[test]
    fn every_rule_id_is_unique() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(RULES[i + 1..].iter().all(|o| o.id != r.id), "{}", r.id);
        }
    }
}
