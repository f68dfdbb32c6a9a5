//! Typed access to the YAML tree: a field, a mapping, a sequence, an
//! integer or a Kubernetes quantity, each with an error that names the
//! YAML path and line and what is allowed there.

use super::*;

pub(crate) type Entries = [(String, Node)];

/// `path (line N)`, where an error or a note points.
pub(crate) fn at(path: &str, line: usize) -> String {
    let path = if path.is_empty() { "(document root)" } else { path };
    format!("{path} (line {})", line + 1)
}

pub(crate) fn fail(path: &str, line: usize, msg: impl fmt::Display) -> String {
    format!("{}: {msg}", at(path, line))
}

pub(crate) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

/// A field of a mapping; an explicit `null` counts as absent, as in the API.
pub(crate) fn field<'a>(m: &'a Entries, key: &str) -> Option<&'a Node> {
    m.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| v.value != Value::Null)
}

pub(crate) fn required<'a>(
    m: &'a Entries,
    parent: &Node,
    path: &str,
    key: &str,
    allowed: &str,
) -> Result<&'a Node, String> {
    field(m, key).ok_or_else(|| fail(&join(path, key), parent.line, format!("missing; required: {allowed}")))
}

pub(crate) fn check_keys(m: &Entries, path: &str, allowed: &[&str]) -> Result<(), String> {
    match m.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, v)) => Err(fail(
            &join(path, &short(k)),
            v.line,
            format!("unknown field; allowed here: {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// At most 60 characters of `s`, escaped for a one-line message.
pub(crate) fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect::<String>().escape_debug().collect();
    if s.chars().nth(60).is_some() {
        out.push('…');
    }
    out
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_owned(),
        Value::Str { text, plain: true } => format!("`{}`", short(text)),
        Value::Str { text, plain: false } => format!("the string \"{}\"", short(text)),
        Value::Seq(_) => "a list".to_owned(),
        Value::Map(_) => "a mapping".to_owned(),
    }
}

pub(crate) fn map_of<'a>(n: &'a Node, path: &str) -> Result<&'a Entries, String> {
    match &n.value {
        Value::Map(m) => Ok(m),
        other => Err(fail(
            path,
            n.line,
            format!("must be a mapping of fields, got {}", describe(other)),
        )),
    }
}

pub(crate) fn seq_of<'a>(n: &'a Node, path: &str) -> Result<&'a [Node], String> {
    match &n.value {
        Value::Seq(s) => Ok(s),
        other => Err(fail(
            path,
            n.line,
            format!("must be a list of `- ` items, got {}", describe(other)),
        )),
    }
}

pub(crate) fn text<'a>(n: &'a Node, path: &str) -> Result<&'a str, String> {
    match &n.value {
        Value::Str { text, .. } => Ok(text),
        other => Err(fail(path, n.line, format!("must be a string, got {}", describe(other)))),
    }
}

/// An integer field (an unquoted YAML integer, as the API's JSON number) within `lo..=hi`.
pub(crate) fn int(n: &Node, path: &str, lo: i64, hi: i64, allowed: &str) -> Result<i64, String> {
    match &n.value {
        Value::Str { text, plain: true } => match text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            Ok(v) => Err(fail(path, n.line, format!("{v} is out of range; allowed: {allowed}"))),
            Err(_) => Err(fail(
                path,
                n.line,
                format!("`{}` is not a whole number; allowed: {allowed}", short(text)),
            )),
        },
        other => Err(fail(
            path,
            n.line,
            format!("must be {allowed}, got {}", describe(other)),
        )),
    }
}

/// A positive Kubernetes quantity field (a number or a string such as "500m").
pub(crate) fn quantity(n: &Node, path: &str) -> Result<f64, String> {
    let Value::Str { text, .. } = &n.value else {
        return Err(fail(
            path,
            n.line,
            format!(
                "must be a quantity such as \"100\" or \"500m\", got {}",
                describe(&n.value)
            ),
        ));
    };
    match parse_quantity(text) {
        Some(v) if v > 0.0 => Ok(v),
        Some(_) => Err(fail(path, n.line, format!("`{}`: must be positive", short(text)))),
        None => Err(fail(
            path,
            n.line,
            format!(
                "`{}` is not a Kubernetes quantity; allowed: a number with an optional suffix \
                 (n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent), e.g. \"100\", \"500m\", \"1k\", \"2Ki\", \"1e3\"",
                short(text)
            ),
        )),
    }
}

/// A Kubernetes `resource.Quantity` as a number: `<sign><digits>[.<digits>]<suffix>`,
/// the suffix binary (`Ki`…`Ei`), decimal (`n`, `u`, `m`, none, `k`, `M`…`E`)
/// or an exponent (`e3`, `E-2`). None if `s` is not one (or is not finite).
pub(crate) fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    let number: f64 = s.get(..i)?.parse().ok()?;
    let (times, divide) = match s.get(i..)? {
        "" => (1.0, false),
        "n" => (1e9, true),
        "u" => (1e6, true),
        "m" => (1e3, true),
        "k" => (1e3, false),
        "M" => (1e6, false),
        "G" => (1e9, false),
        "T" => (1e12, false),
        "P" => (1e15, false),
        "E" => (1e18, false),
        "Ki" => (1024.0, false),
        "Mi" => (1024f64.powi(2), false),
        "Gi" => (1024f64.powi(3), false),
        "Ti" => (1024f64.powi(4), false),
        "Pi" => (1024f64.powi(5), false),
        "Ei" => (1024f64.powi(6), false),
        suffix => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let unsigned = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let e: i32 = exp.parse().ok()?;
            (10f64.powi(e.checked_abs()?), e < 0)
        }
    };
    let v = if divide { number / times } else { number * times };
    v.is_finite().then_some(v)
}
