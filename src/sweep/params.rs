//! Parameter specifications of a sweep (`--param key.path=SPEC`) and the
//! points they span: the full grid, or a Latin hypercube sample.
//!
//! SPEC forms: `10..60:10` (inclusive range with a step), `10,20,40` or
//! `round_robin,least_connections` (a list; each item is a `--set` value),
//! `0.5..0.9` (a continuous range, only with `--lhs N`). A single value is a
//! list of one. Point order is deterministic: the grid varies the last
//! parameter fastest, as nested loops written in the order given.

use rand::{RngExt, SeedableRng};

/// One value a parameter takes: the text handed to `--set`, and its number
/// when it is one (for typed result columns).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamValue {
    pub text: String,
    pub number: Option<f64>,
}

impl ParamValue {
    fn number(x: f64, integer: bool) -> ParamValue {
        let text = if integer {
            format!("{}", x.round() as i64)
        } else {
            format_float(x)
        };
        ParamValue {
            number: Some(text.parse().unwrap_or(x)),
            text,
        }
    }

    fn parse(text: &str) -> ParamValue {
        let t = text.trim();
        ParamValue {
            text: t.to_string(),
            number: t.parse::<f64>().ok().filter(|x| x.is_finite()),
        }
    }
}

/// Shortest decimal of `x` rounded to 6 significant digits, so LHS samples
/// and stepped ranges read as 0.62 rather than 0.6200000000000001.
pub fn format_float(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = 6 - 1 - x.abs().log10().floor() as i32;
    let s = if digits > 0 {
        format!("{:.*}", digits as usize, x)
    } else {
        format!("{:.0}", x)
    };
    let v: f64 = s.parse().unwrap_or(x);
    let mut out = format!("{v}");
    if !out.contains('.') && !out.contains('e') && v.fract() != 0.0 {
        out = format!("{v:?}");
    }
    out
}

/// The values of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Explicit values (a list, or a stepped range expanded).
    Discrete(Vec<ParamValue>),
    /// A continuous range, sampled by LHS; `integer` when both ends were
    /// written as integers (samples are then rounded).
    Continuous { lo: f64, hi: f64, integer: bool },
}

/// `--param key.path=SPEC`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub key: String,
    pub spec: String,
    pub values: Values,
}

impl ParamSpec {
    /// Parse `key.path=SPEC`; the error says what forms are allowed.
    pub fn parse(arg: &str) -> Result<ParamSpec, String> {
        let help = "allowed: a range with a step `10..60:10`, a list `10,20,40`, or a continuous range `0.5..0.9` with --lhs N";
        let (key, spec) = arg
            .split_once('=')
            .ok_or_else(|| format!("--param {arg}: expected KEY=SPEC, e.g. --param pool.size=10..60:10 ({help})"))?;
        let (key, spec) = (key.trim(), spec.trim());
        if key.is_empty() || spec.is_empty() {
            return Err(format!("--param {arg}: empty key or spec ({help})"));
        }
        let values = if let Some((range, step)) = spec.split_once("..").map(|(a, b)| (a, b.split_once(':'))) {
            let lo_text = range.trim();
            let (hi_text, step_text) = match step {
                Some((h, s)) => (h.trim(), Some(s.trim())),
                None => (spec.split_once("..").map(|x| x.1).unwrap_or("").trim(), None),
            };
            let num = |t: &str, what: &str| {
                t.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("--param {arg}: {what} `{t}` is not a number ({help})"))
            };
            let lo = num(lo_text, "the start")?;
            let hi = num(hi_text, "the end")?;
            if hi < lo {
                return Err(format!("--param {arg}: the range ends ({hi}) before it starts ({lo})"));
            }
            let integer = !lo_text.contains(['.', 'e', 'E']) && !hi_text.contains(['.', 'e', 'E']);
            match step_text {
                None => Values::Continuous { lo, hi, integer },
                Some(st) => {
                    let step = num(st, "the step")?;
                    if step <= 0.0 {
                        return Err(format!("--param {arg}: the step must be positive"));
                    }
                    let count = ((hi - lo) / step + 1e-9).floor() as u64 + 1;
                    if count > 100_000 {
                        return Err(format!("--param {arg}: {count} values is too many (at most 100000)"));
                    }
                    let integer = integer && !st.contains(['.', 'e', 'E']);
                    Values::Discrete(
                        (0..count)
                            .map(|i| ParamValue::number(lo + step * i as f64, integer))
                            .collect(),
                    )
                }
            }
        } else {
            let items: Vec<ParamValue> = spec.split(',').map(ParamValue::parse).collect();
            if items.iter().any(|v| v.text.is_empty()) {
                return Err(format!("--param {arg}: empty item in the list ({help})"));
            }
            Values::Discrete(items)
        };
        Ok(ParamSpec {
            key: key.to_string(),
            spec: spec.to_string(),
            values,
        })
    }

    /// The number of values in a grid (None for a continuous range).
    pub fn value_count(&self) -> Option<usize> {
        match &self.values {
            Values::Discrete(v) => Some(v.len()),
            Values::Continuous { .. } => None,
        }
    }

    /// The value at fraction `u` ∈ [0, 1) of this parameter's range (LHS).
    fn at(&self, u: f64) -> ParamValue {
        match &self.values {
            Values::Discrete(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
            Values::Continuous { lo, hi, integer } => {
                if *integer {
                    // Integers lo..=hi, each an equal share of [0, 1).
                    let k = (hi - lo) as u64 + 1;
                    ParamValue::number(lo + ((u * k as f64) as u64).min(k - 1) as f64, true)
                } else {
                    ParamValue::number(lo + u * (hi - lo), false)
                }
            }
        }
    }
}

/// One point of a sweep: its index in the sweep's point list and the value
/// of each parameter, in `--param` order.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub index: usize,
    pub values: Vec<ParamValue>,
}

impl Point {
    /// The `--set` assignments of this point.
    pub fn sets(&self, params: &[ParamSpec]) -> Vec<String> {
        params
            .iter()
            .zip(&self.values)
            .map(|(p, v)| format!("{}={}", p.key, v.text))
            .collect()
    }
}

/// Every combination of the parameters' values.
pub fn grid(params: &[ParamSpec]) -> Result<Vec<Point>, String> {
    let mut lens = Vec::with_capacity(params.len());
    for p in params {
        match p.value_count() {
            Some(n) => lens.push(n),
            None => {
                return Err(format!(
                    "--param {}={}: a continuous range needs --lhs N, or a step for the grid (e.g. {}:0.1)",
                    p.key, p.spec, p.spec
                ))
            }
        }
    }
    let total = lens
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n))
        .unwrap_or(usize::MAX);
    if total > 1_000_000 {
        return Err(format!(
            "the grid has {total} points; at most 1000000 (use --lhs N to sample it)"
        ));
    }
    let mut points = Vec::with_capacity(total);
    for index in 0..total {
        let mut rest = index;
        let mut values = vec![
            ParamValue {
                text: String::new(),
                number: None
            };
            params.len()
        ];
        for (i, p) in params.iter().enumerate().rev() {
            let n = lens[i];
            if let Values::Discrete(v) = &p.values {
                values[i] = v[rest % n].clone();
            }
            rest /= n;
        }
        points.push(Point { index, values });
    }
    Ok(points)
}

/// A Latin hypercube sample of `n` points: each parameter's range is cut
/// into `n` equal strata, each stratum is used exactly once, and the strata
/// of different parameters are paired by independent random permutations.
/// Deterministic in `seed`.
pub fn lhs(params: &[ParamSpec], n: usize, seed: u64) -> Result<Vec<Point>, String> {
    if n == 0 || n > 1_000_000 {
        return Err(format!("--lhs {n}: the sample size must be between 1 and 1000000"));
    }
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x4c48_535f_5357_4545);
    let columns: Vec<Vec<ParamValue>> = params
        .iter()
        .map(|p| {
            let mut strata: Vec<usize> = (0..n).collect();
            // Fisher–Yates with our own generator: the order must not
            // depend on a library's shuffle algorithm.
            for i in (1..n).rev() {
                let j = rng.random_range(0..=i);
                strata.swap(i, j);
            }
            strata
                .into_iter()
                .map(|s| {
                    let u = (s as f64 + rng.random::<f64>()) / n as f64;
                    p.at(u)
                })
                .collect()
        })
        .collect();
    Ok((0..n)
        .map(|index| Point {
            index,
            values: columns.iter().map(|c| c[index].clone()).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &ParamSpec) -> Vec<String> {
        match &p.values {
            Values::Discrete(v) => v.iter().map(|x| x.text.clone()).collect(),
            _ => panic!("not discrete"),
        }
    }

    #[test]
    fn specs_parse_into_values() {
        let r = ParamSpec::parse("pool.size=10..60:10").unwrap();
        assert_eq!(texts(&r), ["10", "20", "30", "40", "50", "60"]);
        let f = ParamSpec::parse("autoscaler.target=0.5..0.8:0.1").unwrap();
        assert_eq!(texts(&f), ["0.5", "0.6", "0.7", "0.8"]);
        let l = ParamSpec::parse("balancer=round_robin, least_connections").unwrap();
        assert_eq!(texts(&l), ["round_robin", "least_connections"]);
        assert_eq!(
            ParamSpec::parse("x=0.5..0.9").unwrap().values,
            Values::Continuous {
                lo: 0.5,
                hi: 0.9,
                integer: false
            }
        );
        assert_eq!(
            ParamSpec::parse("x=2..8").unwrap().values,
            Values::Continuous {
                lo: 2.0,
                hi: 8.0,
                integer: true
            }
        );
        for bad in ["pool.size", "=1,2", "x=9..1:1", "x=1..5:0", "x=a..5:1", "x=1,,2"] {
            let e = ParamSpec::parse(bad).unwrap_err();
            assert!(e.contains("--param"), "{bad}: {e}");
        }
    }

    #[test]
    fn grid_is_every_combination_last_parameter_fastest() {
        let a = ParamSpec::parse("a=1,2").unwrap();
        let b = ParamSpec::parse("b=x,y,z").unwrap();
        let g = grid(&[a.clone(), b.clone()]).unwrap();
        let sets: Vec<Vec<String>> = g.iter().map(|p| p.sets(&[a.clone(), b.clone()])).collect();
        assert_eq!(sets.len(), 6);
        assert_eq!(sets[0], ["a=1", "b=x"]);
        assert_eq!(sets[1], ["a=1", "b=y"]);
        assert_eq!(sets[5], ["a=2", "b=z"]);
        assert!(grid(&[ParamSpec::parse("c=0.1..0.2").unwrap()])
            .unwrap_err()
            .contains("--lhs"));
    }

    #[test]
    fn lhs_uses_each_stratum_once_and_is_deterministic() {
        let p = [
            ParamSpec::parse("x=0..1.0").unwrap(),
            ParamSpec::parse("n=1..10").unwrap(),
        ];
        let s = lhs(&p, 10, 7).unwrap();
        assert_eq!(s, lhs(&p, 10, 7).unwrap());
        assert_ne!(s, lhs(&p, 10, 8).unwrap());
        let mut strata: Vec<usize> = s
            .iter()
            .map(|pt| (pt.values[0].number.unwrap() * 10.0) as usize)
            .collect();
        strata.sort();
        assert_eq!(strata, (0..10).collect::<Vec<_>>());
        // Integer range 1..10 with 10 strata: each integer exactly once.
        let mut ints: Vec<i64> = s.iter().map(|pt| pt.values[1].number.unwrap() as i64).collect();
        ints.sort();
        assert_eq!(ints, (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn floats_read_as_written() {
        assert_eq!(format_float(0.1 + 0.2), "0.3");
        assert_eq!(format_float(0.623456789), "0.623457");
        assert_eq!(format_float(1234567.0), "1234567");
        assert_eq!(format_float(2.0), "2");
    }
}
