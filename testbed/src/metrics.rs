//! The service's Prometheus metrics, written in the text exposition format
//! by hand (no client library: a few atomics). Names are defined here once;
//! `http_requests_total` and `http_request_duration_seconds` are the names
//! `tenantsim fit --prometheus` reads.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Bucket bounds (seconds) of every histogram.
pub const BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25,
    0.5, 1.0, 2.5, 5.0,
];

pub struct Histogram {
    counts: Vec<AtomicU64>,
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BOUNDS.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, s: f64) {
        if let Some(i) = BOUNDS.iter().position(|b| s <= *b) {
            self.counts[i].fetch_add(1, Relaxed);
        }
        self.sum_ns.fetch_add((s.max(0.0) * 1e9) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0;
        for (b, c) in BOUNDS.iter().zip(&self.counts) {
            cum += c.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cum}");
        }
        let n = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            self.sum_ns.load(Relaxed) as f64 * 1e-9
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {n}");
    }
}

pub const ENDPOINTS: [&str; 3] = ["read", "write", "cpu"];
/// Outcomes counted per endpoint: the status code and the reason.
pub const OUTCOMES: [(u16, &str); 6] = [
    (200, "ok"),
    (429, "rate_limited"),
    (429, "tenant_limit"),
    (503, "pool_timeout"),
    (500, "error"),
    (403, "unknown_tenant"),
];
pub const CACHE_LEVELS: [&str; 3] = ["l1", "l2", "db"];

#[derive(Default)]
pub struct Metrics {
    /// [endpoint][outcome]
    pub requests: [[AtomicU64; 6]; 3],
    pub duration: [Histogram; 3],
    pub cpu: [Histogram; 3],
    pub pool_wait: Histogram,
    pub pool_hold: Histogram,
    pub pool_in_use: AtomicI64,
    pub pool_waiting: AtomicI64,
    /// Reads answered at each level (l1, l2, db).
    pub cache_hits: [AtomicU64; 3],
    pub in_flight: AtomicI64,
}

impl Metrics {
    pub fn endpoint_index(e: &str) -> usize {
        ENDPOINTS.iter().position(|x| *x == e).unwrap_or(2)
    }

    pub fn count(&self, endpoint: usize, status: u16, reason: &str) {
        let o = OUTCOMES
            .iter()
            .position(|(s, r)| *s == status && *r == reason)
            .unwrap_or(4);
        self.requests[endpoint][o].fetch_add(1, Relaxed);
    }

    /// The text exposition (`GET /metrics`).
    pub fn render(&self, pool_max: usize) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "# TYPE http_requests_total counter");
        for (e, name) in ENDPOINTS.iter().enumerate() {
            for (k, (status, reason)) in OUTCOMES.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "http_requests_total{{endpoint=\"{name}\",status=\"{status}\",reason=\"{reason}\"}} {}",
                    self.requests[e][k].load(Relaxed)
                );
            }
        }
        let _ = writeln!(o, "# TYPE http_request_duration_seconds histogram");
        for (e, name) in ENDPOINTS.iter().enumerate() {
            self.duration[e].write(&mut o, "http_request_duration_seconds", &format!("endpoint=\"{name}\""));
        }
        let _ = writeln!(o, "# TYPE refsvc_cpu_seconds histogram");
        for (e, name) in ENDPOINTS.iter().enumerate() {
            self.cpu[e].write(&mut o, "refsvc_cpu_seconds", &format!("endpoint=\"{name}\""));
        }
        let _ = writeln!(o, "# TYPE refsvc_pool_wait_seconds histogram");
        self.pool_wait.write(&mut o, "refsvc_pool_wait_seconds", "");
        let _ = writeln!(o, "# TYPE refsvc_pool_hold_seconds histogram");
        self.pool_hold.write(&mut o, "refsvc_pool_hold_seconds", "");
        let _ = writeln!(o, "# TYPE refsvc_pool_connections gauge");
        let _ = writeln!(
            o,
            "refsvc_pool_connections{{state=\"in_use\"}} {}",
            self.pool_in_use.load(Relaxed)
        );
        let _ = writeln!(o, "refsvc_pool_connections{{state=\"max\"}} {pool_max}");
        let _ = writeln!(o, "# TYPE refsvc_pool_waiting gauge");
        let _ = writeln!(o, "refsvc_pool_waiting {}", self.pool_waiting.load(Relaxed));
        let _ = writeln!(o, "# TYPE refsvc_cache_hits_total counter");
        for (i, l) in CACHE_LEVELS.iter().enumerate() {
            let _ = writeln!(
                o,
                "refsvc_cache_hits_total{{level=\"{l}\"}} {}",
                self.cache_hits[i].load(Relaxed)
            );
        }
        let _ = writeln!(o, "# TYPE refsvc_in_flight gauge");
        let _ = writeln!(o, "refsvc_in_flight {}", self.in_flight.load(Relaxed));
        let _ = writeln!(o, "# TYPE process_cpu_seconds_total counter");
        let _ = writeln!(o, "process_cpu_seconds_total {}", crate::work::process_cpu_s());
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.duration[0].observe(0.0005);
        m.duration[0].observe(0.004);
        m.duration[0].observe(9.0);
        m.count(0, 200, "ok");
        m.count(0, 503, "pool_timeout");
        let t = m.render(4);
        assert!(t.contains("http_request_duration_seconds_bucket{endpoint=\"read\",le=\"0.0005\"} 1"));
        assert!(t.contains("http_request_duration_seconds_bucket{endpoint=\"read\",le=\"0.005\"} 2"));
        assert!(t.contains("http_request_duration_seconds_bucket{endpoint=\"read\",le=\"+Inf\"} 3"));
        assert!(t.contains("http_requests_total{endpoint=\"read\",status=\"503\",reason=\"pool_timeout\"} 1"));
    }
}
