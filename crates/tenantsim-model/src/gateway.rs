//! The gateway: per-tenant admission before a request reaches an instance.
//!
//! Owns one token bucket per tenant whose tier has a `rate_limit`
//! (`rate_limited`, HTTP 429) and each tenant's count of requests in the
//! service, capped by the tier's `max_concurrency` (`tenant_limit`).
//! Invariant: a tenant's in-flight count never exceeds its cap.

use crate::spec::RateLimit;
use tenantsim_engine::SimTime;

/// A token bucket that starts full.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: SimTime,
}

impl TokenBucket {
    pub fn full(limit: &RateLimit) -> Self {
        TokenBucket {
            tokens: limit.burst,
            last: SimTime::ZERO,
        }
    }

    /// Refill for the time since the last call, then take one token if
    /// there is one.
    #[inline]
    pub fn try_take(&mut self, now: SimTime, limit: &RateLimit) -> bool {
        let dt = now.saturating_sub(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * limit.rate_per_s).min(limit.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why the gateway refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    RateLimited,
    TenantLimit,
}

pub struct Gateway {
    /// Per tenant: the tier's limits (copied so the gateway owns them).
    limits: Vec<(Option<RateLimit>, u32)>,
    buckets: Vec<TokenBucket>,
    in_flight: Vec<u32>,
}

impl Gateway {
    /// `tenants[i]` gives tenant i's rate limit and concurrency cap
    /// (u32::MAX for none).
    pub fn new(tenants: Vec<(Option<RateLimit>, u32)>) -> Self {
        let buckets = tenants
            .iter()
            .map(|(rl, _)| {
                rl.as_ref().map(TokenBucket::full).unwrap_or(TokenBucket {
                    tokens: 0.0,
                    last: SimTime::ZERO,
                })
            })
            .collect();
        let n = tenants.len();
        Gateway {
            limits: tenants,
            buckets,
            in_flight: vec![0; n],
        }
    }

    /// Decide on a request from `tenant`; on success the tenant holds one
    /// more in-flight slot until [`Gateway::release`].
    #[inline]
    pub fn admit(&mut self, now: SimTime, tenant: u32) -> Result<(), Refusal> {
        let t = tenant as usize;
        let (rl, cap) = &self.limits[t];
        if let Some(rl) = rl {
            if !self.buckets[t].try_take(now, rl) {
                return Err(Refusal::RateLimited);
            }
        }
        if self.in_flight[t] >= *cap {
            return Err(Refusal::TenantLimit);
        }
        self.in_flight[t] += 1;
        Ok(())
    }

    /// The tenant's request left the service.
    #[inline]
    pub fn release(&mut self, tenant: u32) {
        let c = &mut self.in_flight[tenant as usize];
        debug_assert!(*c > 0);
        *c = c.saturating_sub(1);
    }

    pub fn in_flight(&self, tenant: u32) -> u32 {
        self.in_flight[tenant as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let rl = RateLimit {
            rate_per_s: 2.0,
            burst: 3.0,
        };
        let mut b = TokenBucket::full(&rl);
        let t0 = SimTime::ZERO;
        assert!(b.try_take(t0, &rl) && b.try_take(t0, &rl) && b.try_take(t0, &rl));
        assert!(!b.try_take(t0, &rl));
        // Half a second later one token (2/s) has arrived.
        let t1 = SimTime::from_secs_f64(0.5);
        assert!(b.try_take(t1, &rl));
        assert!(!b.try_take(t1, &rl));
        // A long pause refills only up to the burst.
        let t2 = SimTime::from_secs(100);
        assert!((0..3).all(|_| b.try_take(t2, &rl)));
        assert!(!b.try_take(t2, &rl));
    }

    proptest! {
        #[test]
        fn tenant_cap_never_exceeded(ops in proptest::collection::vec(any::<bool>(), 1..300), cap in 1u32..5) {
            let mut g = Gateway::new(vec![(None, cap)]);
            let mut held = 0u32;
            for admit in ops {
                if admit {
                    if g.admit(SimTime::ZERO, 0).is_ok() { held += 1; }
                } else if held > 0 {
                    g.release(0);
                    held -= 1;
                }
                prop_assert!(g.in_flight(0) <= cap);
                prop_assert_eq!(g.in_flight(0), held);
            }
        }
    }
}
