//! Per-tenant admission: a token bucket (governor's GCRA, one keyed
//! limiter per tier) and a cap on requests in flight per tenant.
//!
//! Invariants: a tenant never has more than its tier's `conc` requests
//! admitted and not yet finished (the [`InFlight`] guard gives the slot
//! back when dropped, whatever path the request took); the bucket is
//! checked before the cap, and a request refused by the cap has still
//! spent its token (as the scenario's tiers do: rate limit first).

use crate::tiers::TierSpec;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Keyed = RateLimiter<String, governor::state::keyed::DefaultKeyedStateStore<String>, governor::clock::DefaultClock>;

struct Tier {
    bucket: Option<Keyed>,
    max_concurrency: Option<u32>,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The tenant's token bucket is empty (429).
    RateLimited,
    /// The tenant has its tier's maximum in flight (429).
    TenantLimit,
    /// The tenant is in no tier (403).
    UnknownTenant,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::RateLimited => "rate_limited",
            Refusal::TenantLimit => "tenant_limit",
            Refusal::UnknownTenant => "unknown_tenant",
        }
    }
}

pub struct TenantLimits {
    tiers: HashMap<String, Tier>,
    tier_of: HashMap<String, String>,
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
}

/// A tenant's admitted request; dropping it frees the tenant's slot.
pub struct InFlight {
    tenant: String,
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // A poisoned lock means a panic elsewhere already; keep counting.
        let mut m = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = m.get_mut(&self.tenant) {
            *c = c.saturating_sub(1);
        }
    }
}

impl TenantLimits {
    /// Limits for `tiers`; `tier_of` maps each tenant to a tier name (every
    /// tier named there must be in `tiers`).
    pub fn new(tiers: &[TierSpec], tier_of: HashMap<String, String>) -> Result<Self, String> {
        let mut t = HashMap::new();
        for s in tiers {
            let bucket = match s.rate_limit {
                None => None,
                Some((rate, burst)) => {
                    let period = Duration::from_secs_f64(1.0 / rate);
                    let q = Quota::with_period(period)
                        .ok_or_else(|| format!("tier {}: rate {rate} is too high", s.name))?
                        .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
                    Some(RateLimiter::keyed(q))
                }
            };
            t.insert(
                s.name.clone(),
                Tier {
                    bucket,
                    max_concurrency: s.max_concurrency,
                },
            );
        }
        for (tenant, tier) in &tier_of {
            if !t.contains_key(tier) {
                return Err(format!(
                    "tenant {tenant} is in tier `{tier}`, which no --tier defines (defined: {})",
                    tiers.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok(TenantLimits {
            tiers: t,
            tier_of,
            in_flight: Arc::default(),
        })
    }

    pub fn tier_of(&self, tenant: &str) -> Option<&str> {
        self.tier_of.get(tenant).map(|s| s.as_str())
    }

    /// Admit a request of `tenant`, or say why not.
    pub fn admit(&self, tenant: &str) -> Result<InFlight, Refusal> {
        let tier = self
            .tier_of
            .get(tenant)
            .and_then(|t| self.tiers.get(t))
            .ok_or(Refusal::UnknownTenant)?;
        if let Some(b) = &tier.bucket {
            if b.check_key(&tenant.to_string()).is_err() {
                return Err(Refusal::RateLimited);
            }
        }
        let mut m = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let c = m.entry(tenant.to_string()).or_insert(0);
        if let Some(cap) = tier.max_concurrency {
            if *c >= cap {
                return Err(Refusal::TenantLimit);
            }
        }
        *c += 1;
        Ok(InFlight {
            tenant: tenant.to_string(),
            counts: Arc::clone(&self.in_flight),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(spec: &str) -> TenantLimits {
        let t = TierSpec::parse(spec).unwrap();
        let map = [("a".to_string(), t.name.clone()), ("b".to_string(), t.name.clone())]
            .into_iter()
            .collect();
        TenantLimits::new(&[t], map).unwrap()
    }

    #[test]
    fn the_bucket_allows_its_burst_then_refuses() {
        // 1 token per 10 s: within this test no token comes back.
        let l = limits("free:rate=0.1,burst=3");
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(l.admit("a").expect("within the burst"));
        }
        assert_eq!(l.admit("a").err(), Some(Refusal::RateLimited));
        // Another tenant has its own bucket.
        assert!(l.admit("b").is_ok());
    }

    #[test]
    fn the_bucket_refills_at_its_rate() {
        let l = limits("free:rate=50,burst=1"); // a token every 20 ms
        drop(l.admit("a").unwrap());
        assert_eq!(l.admit("a").err(), Some(Refusal::RateLimited));
        std::thread::sleep(Duration::from_millis(45));
        assert!(l.admit("a").is_ok());
    }

    #[test]
    fn the_cap_counts_requests_in_flight() {
        let l = limits("free:conc=2");
        let x = l.admit("a").unwrap();
        let _y = l.admit("a").unwrap();
        assert_eq!(l.admit("a").err(), Some(Refusal::TenantLimit));
        assert!(l.admit("b").is_ok(), "the cap is per tenant");
        drop(x);
        assert!(l.admit("a").is_ok(), "a finished request frees its slot");
    }

    #[test]
    fn unknown_tenants_and_tiers() {
        let l = limits("free");
        assert_eq!(l.admit("zed").err(), Some(Refusal::UnknownTenant));
        let t = TierSpec::parse("free").unwrap();
        let map = [("a".to_string(), "gold".to_string())].into_iter().collect();
        assert!(TenantLimits::new(&[t], map).is_err());
    }
}
