//! What a claim *states*, as numbers the consistency pass can put side by
//! side (`states = { quantity = "db_query_time", stat = "p95", at_most =
//! "100ms" }` on a `[[claim]]`).
//!
//! A [`Statement`] is one quantity of the report — a target, a measured
//! figure, an alert threshold or a configuration value — with the interval
//! it allows, the unit it was written in, and optionally a before figure
//! with the stated change ("85% faster than 800ms") and the distribution the
//! scenario gives the quantity. Statements are description only: they are
//! checked against each other by `claims::consistency`, never simulated.
//! Invariant: `lo <= hi` and both are finite or `hi` is infinite; values are
//! in canonical units (seconds, fractions for percentages, MB for sizes).

/// Timeout layers, outermost first: `timeout.LAYER` quantities must nest in
/// this order (an inner timeout shorter than the one around it). The last
/// three (waiting for a pooled connection, a query, opening a connection)
/// are steps side by side inside the backend, not nested in each other.
pub const TIMEOUT_LAYERS: [&str; 8] = [
    "client", "gateway", "proxy", "request", "backend", "pool", "query", "connect",
];

/// How deep a timeout layer sits (0 outermost); None for an unknown layer.
pub fn timeout_depth(layer: &str) -> Option<usize> {
    let k = TIMEOUT_LAYERS.iter().position(|l| *l == layer)?;
    Some(k.min(5))
}

/// How a figure was written; percentages are stored as fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatedUnit {
    /// A plain number (a count, a rate, or a fraction written as 0.65).
    Number,
    /// Written with a `%` sign: stored divided by 100.
    Percent,
    /// A duration, stored in seconds.
    Duration,
    /// A size (`"800MB"`, `"2GB"`), stored in MB.
    Megabytes,
}

impl StatedUnit {
    /// The unit's family for comparisons: numbers and percentages compare
    /// (a percentage is a fraction), durations and sizes only with their own.
    pub fn family(self) -> u8 {
        match self {
            StatedUnit::Number | StatedUnit::Percent => 0,
            StatedUnit::Duration => 1,
            StatedUnit::Megabytes => 2,
        }
    }
}

/// A figure as written and as a canonical number.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub unit: StatedUnit,
    /// As written in the scenario, e.g. `120ms`, `65%`.
    pub text: String,
}

/// The stated change between a before and an after figure: `85% faster`,
/// `10x`, `104% improvement`, `-45%`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatedChange {
    /// The number as written: 85 for "85%", 10 for "10x".
    pub amount: f64,
    /// `x`/`×` (a ratio) rather than `%`.
    pub times: bool,
    /// The half-unit of the last digit written (0.5 for "85%", 0.05 for "3.3x").
    pub rounding: f64,
    pub text: String,
}

/// A distribution family and coefficient of variation, read from a
/// scenario key (`distribution = "endpoint.read.query"`): what relates a
/// mean to a percentile.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// `lognormal`, `exponential`, `gamma`, `deterministic` or `uniform`.
    pub family: &'static str,
    pub cv: f64,
    /// The scenario key it was read from.
    pub key: String,
}

/// One stated quantity of a claim (`states`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The quantity's name; a few names carry laws (see `claims::consistency`).
    pub quantity: String,
    /// Statements are compared within a group (a load test, a "before"
    /// column); empty for the report's main system.
    pub group: String,
    /// `mean`, `p50`, `p90`, `p95`, `p99`, `p99.9` or `max`; empty when the
    /// quantity is not a distribution.
    pub stat: String,
    /// The lower and upper bound (equal for a stated value).
    pub lo: Option<Figure>,
    pub hi: Option<Figure>,
    /// A stated value (`value`) rather than a bound.
    pub exact: bool,
    /// Relative rounding allowed on a stated value.
    pub tolerance: f64,
    /// The before figure and the stated change from it to `value`.
    pub before: Option<Figure>,
    pub change: Option<StatedChange>,
    pub shape: Option<Shape>,
}

impl Statement {
    /// The quantile of `stat` (0.95 for `p95`), None for `mean` and `max`.
    pub fn quantile(&self) -> Option<f64> {
        let p = self.stat.strip_prefix('p')?.parse::<f64>().ok()?;
        (p > 0.0 && p < 100.0).then_some(p / 100.0)
    }
    /// The allowed interval in canonical units (rounding included).
    pub fn interval(&self) -> (f64, f64) {
        let lo = self.lo.as_ref().map_or(0.0, |f| f.value);
        let hi = self.hi.as_ref().map_or(f64::INFINITY, |f| f.value);
        if self.exact {
            (lo * (1.0 - self.tolerance), hi * (1.0 + self.tolerance))
        } else {
            (lo, hi)
        }
    }
    /// The unit the statement was written in.
    pub fn unit(&self) -> StatedUnit {
        self.lo
            .as_ref()
            .or(self.hi.as_ref())
            .map_or(StatedUnit::Number, |f| f.unit)
    }
    /// "mean ≤ 100ms", "p95 = 120ms", "≥ 1000", "40% – 70%".
    pub fn describe(&self) -> String {
        let stat = if self.stat.is_empty() {
            String::new()
        } else {
            format!("{} ", self.stat)
        };
        match (&self.lo, &self.hi) {
            (Some(a), Some(_)) if self.exact => format!("{stat}= {}", a.text),
            (Some(a), Some(b)) => format!("{stat}{} – {}", a.text, b.text),
            (Some(a), None) => format!("{stat}≥ {}", a.text),
            (None, Some(b)) => format!("{stat}≤ {}", b.text),
            (None, None) => format!("{stat}stated"),
        }
    }
}
