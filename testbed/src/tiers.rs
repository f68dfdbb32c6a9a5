//! Tiers and the tenant→tier map, one definition for the service, the load
//! client and `tenantsim fit --tier-map` (the same `tenant,tier` lines).
//!
//! A tier: `NAME:rate=R,burst=B,conc=C` — R requests/s refill and B tokens
//! per tenant (token bucket), at most C requests in flight per tenant.
//! Each key may be left out (no such limit).

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct TierSpec {
    pub name: String,
    /// (refill per second, bucket size) per tenant.
    pub rate_limit: Option<(f64, u32)>,
    /// Requests in flight per tenant.
    pub max_concurrency: Option<u32>,
}

impl TierSpec {
    /// Parse `NAME[:rate=R,burst=B,conc=C]`.
    pub fn parse(s: &str) -> Result<TierSpec, String> {
        let (name, rest) = s.split_once(':').unwrap_or((s, ""));
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!(
                "tier `{s}`: the name may only hold letters, digits, `-` and `_`"
            ));
        }
        let (mut rate, mut burst, mut conc) = (None, None, None);
        for kv in rest.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("tier `{s}`: `{kv}` is not KEY=VALUE (rate, burst, conc)"))?;
            let num: f64 = v.parse().map_err(|_| format!("tier `{s}`: `{v}` is not a number"))?;
            if !(num.is_finite() && num > 0.0) {
                return Err(format!("tier `{s}`: {k} must be > 0"));
            }
            match k {
                "rate" => rate = Some(num),
                "burst" => burst = Some(num.round().max(1.0) as u32),
                "conc" => conc = Some(num.round().max(1.0) as u32),
                _ => return Err(format!("tier `{s}`: unknown key `{k}` (rate, burst, conc)")),
            }
        }
        let rate_limit = match (rate, burst) {
            (Some(r), b) => Some((r, b.unwrap_or(1))),
            (None, Some(_)) => return Err(format!("tier `{s}`: burst needs a rate")),
            (None, None) => None,
        };
        Ok(TierSpec {
            name: name.to_string(),
            rate_limit,
            max_concurrency: conc,
        })
    }
}

/// Read `tenant,tier` lines (a `tenant,tier` header and `#` comments are
/// skipped). Returns tenant → tier, in tenant order.
pub fn read_tier_map(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (t, tier) = line
            .split_once(',')
            .ok_or_else(|| format!("tier map line {}: expected `tenant,tier`", i + 1))?;
        let (t, tier) = (t.trim(), tier.trim());
        if t.eq_ignore_ascii_case("tenant") {
            continue;
        }
        m.insert(t.to_string(), tier.to_string());
    }
    if m.is_empty() {
        return Err("the tier map has no `tenant,tier` lines".into());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tiers() {
        let t = TierSpec::parse("free:rate=5,burst=10,conc=2").unwrap();
        assert_eq!(t.rate_limit, Some((5.0, 10)));
        assert_eq!(t.max_concurrency, Some(2));
        let t = TierSpec::parse("pro").unwrap();
        assert_eq!(t.rate_limit, None);
        assert!(TierSpec::parse("x:burst=3").is_err());
        assert!(TierSpec::parse("x:speed=3").is_err());
        assert!(TierSpec::parse("a b").is_err());
    }

    #[test]
    fn reads_the_map() {
        let m = read_tier_map("tenant,tier\nfree-1,free\n# c\npro-1, pro\n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["pro-1"], "pro");
        assert!(read_tier_map("# nothing\n").is_err());
    }
}
