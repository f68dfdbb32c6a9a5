//! The converted autoscaler and its TOML: [`Hpa`] as the importer
//! understood the manifest, and how it renders as an `[autoscaler]`
//! section. Invariant: every value it writes is one the scenario reader
//! accepts (durations in `s`, the model's defaults for what was left out).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Metric {
    pub(crate) metric: &'static str,
    pub(crate) target: f64,
}

pub(crate) fn select_name(s: SelectPolicy) -> &'static str {
    match s {
        SelectPolicy::Max => "Max",
        SelectPolicy::Min => "Min",
        SelectPolicy::Disabled => "Disabled",
    }
}

/// A duration as the scenario writes it: `15s` (or `0.5s`).
pub(crate) fn duration(t: SimTime) -> String {
    if t.as_nanos().is_multiple_of(SimTime::NANOS_PER_SEC) {
        format!("{}s", t.as_nanos() / SimTime::NANOS_PER_SEC)
    } else {
        format!("{:?}s", t.as_secs_f64())
    }
}

pub(crate) fn render_policy(p: &ScalingPolicy) -> String {
    let kind = match p.kind {
        PolicyKind::Pods => "Pods",
        PolicyKind::Percent => "Percent",
    };
    format!(
        "{{ type = \"{kind}\", value = {}, period = \"{}\" }}",
        p.value,
        duration(p.period)
    )
}

/// One direction of `spec.behavior` (`HPAScalingRules`): the model's
/// [`Behavior`] and the direction's own `tolerance`, if set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rules {
    pub(crate) behavior: Behavior,
    pub(crate) tolerance: Option<f64>,
}

impl Rules {
    /// The model's scale-up default ([`Behavior::default_scale_up`]).
    pub(crate) fn default_up() -> Rules {
        Rules {
            behavior: Behavior::default_scale_up(),
            tolerance: None,
        }
    }

    /// The model's scale-down default ([`Behavior::default_scale_down`]).
    pub(crate) fn default_down() -> Rules {
        Rules {
            behavior: Behavior::default_scale_down(),
            tolerance: None,
        }
    }

    pub(crate) fn render(&self) -> String {
        let b = &self.behavior;
        let policies: Vec<String> = b.policies.iter().map(render_policy).collect();
        format!(
            "{{ stabilization = \"{}\", select = \"{}\", policies = [ {} ] }}",
            duration(b.stabilization),
            select_name(b.select),
            policies.join(", ")
        )
    }
}

/// A behavior in words for a note, e.g. "no stabilization, the larger of
/// +100 % and +4 pods per 15 s"; `sign` is "+" for scaling up.
pub(crate) fn describe_behavior(b: &Behavior, sign: &str) -> String {
    let prose = |t: SimTime| duration(t).replace('s', " s");
    let stabilization = if b.stabilization == SimTime::ZERO {
        "no stabilization".to_owned()
    } else {
        format!("{} stabilization", prose(b.stabilization))
    };
    let one_period = b.policies.windows(2).all(|w| w[0].period == w[1].period);
    let amounts: Vec<String> = b
        .policies
        .iter()
        .map(|p| {
            let amount = match (p.kind, p.value) {
                (PolicyKind::Percent, v) => format!("{sign}{v} %"),
                (PolicyKind::Pods, 1) => format!("{sign}1 pod"),
                (PolicyKind::Pods, v) => format!("{sign}{v} pods"),
            };
            if one_period {
                amount
            } else {
                format!("{amount} per {}", prose(p.period))
            }
        })
        .collect();
    let per = match b.policies.first() {
        Some(p) if one_period => format!(" per {}", prose(p.period)),
        _ => String::new(),
    };
    let change = match (b.select, amounts.as_slice()) {
        (SelectPolicy::Disabled, _) => "no scaling".to_owned(),
        (_, []) => "no policy".to_owned(),
        (_, [one]) => format!("up to {one}{per}"),
        (select, [init @ .., last]) => format!(
            "the {} of {} and {last}{per}",
            if select == SelectPolicy::Min {
                "smaller"
            } else {
                "larger"
            },
            init.join(", ")
        ),
    };
    format!("{stabilization}, {change}")
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hpa {
    pub(crate) name: String,
    pub(crate) api: String,
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) up: Rules,
    pub(crate) down: Rules,
    pub(crate) tolerance: f64,
}

impl Hpa {
    pub(crate) fn render(&self) -> String {
        let metrics: Vec<String> = self
            .metrics
            .iter()
            .map(|m| format!("{{ metric = \"{}\", target = {:?} }}", m.metric, m.target))
            .collect();
        // The name goes into a comment: keep it to the characters of a
        // Kubernetes name so nothing can end the comment.
        let name: String = self
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .take(253)
            .collect();
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" {name}")
        };
        format!(
            "# {KIND}{name} ({}), converted by `tenantsim import-hpa`\n\
             [autoscaler]\n\
             policy = \"hpa\"\n\
             min = {}\n\
             max = {}\n\
             interval = \"{}s\"\n\
             tolerance = {:?}\n\
             metrics = [ {} ]\n\
             scale_up = {}\n\
             scale_down = {}\n",
            self.api,
            self.min,
            self.max,
            HpaSpec::DEFAULT_SYNC_PERIOD_S,
            self.tolerance,
            metrics.join(", "),
            self.up.render(),
            self.down.render()
        )
    }
}
