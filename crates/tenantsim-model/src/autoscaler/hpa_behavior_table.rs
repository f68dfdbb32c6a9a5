//! The behavior, stabilization and policy cases of the Kubernetes
//! controller's `pkg/controller/podautoscaler/horizontal_test.go`, ported
//! as tables against [`Hpa::decide`] and [`Hpa::with_history`]. Every case
//! carries the Go test and sub-test name; the data are re-stated.
//!
//! Fixture translation:
//! * `generateScalingRules(pods, podsPeriod, percent, percentPeriod, window)`
//!   is [`rules`]: a Pods policy if `pods` ≠ 0, a Percent policy if
//!   `percent` ≠ 0, select Max, that stabilization window. A direction
//!   without rules gets the API defaults (`GenerateHPAScale{Up,Down}Rules`).
//! * `generateEventsUniformDistribution(changes, 120)` places the events in
//!   the middle of equal slices of the last 120 s ([`spread`]).
//! * `now` is second 10 000 of the simulation clock.
//!
//! Not ported, with the reason:
//! * `TestScalingWithRules` "scaleDownLimit is the limit because
//!   scaleDownLimit > minReplicas with user defined policies": skipped by
//!   the Go test itself (`testThis: true` returns early).
//! * `TestStoreScaleEvents` and the `expectedRecommendations` /
//!   `expectedLogLength` of the stabilization tests: they check how the
//!   controller recycles history slots ("outdated" flags). tenantsim keeps
//!   every entry younger than the longest window or period instead (see the
//!   module doc of `hpa.rs`); what is ported is each test's arithmetic: the
//!   replica change counted over 60 s and the stabilized count.
//! * `TestNormalizeDesiredReplicas` is the legacy path of an HPA without
//!   `behavior` (5 min downscale window, result independent of the current
//!   count): ported under the default behaviors with a current count above
//!   every recommendation, where both paths agree.

use super::*;

const NOW: u64 = 10_000;

fn at_ago(secs: f64) -> SimTime {
    SimTime::from_secs_f64(NOW as f64 - secs)
}

fn rules(pods: u32, pods_period: u64, percent: u32, percent_period: u64, window: u64) -> Behavior {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy::pods(pods, pods_period));
    }
    if percent != 0 {
        policies.push(ScalingPolicy::percent(percent, percent_period));
    }
    Behavior {
        stabilization: SimTime::from_secs(window),
        policies,
        select: SelectPolicy::Max,
    }
}

/// `generateEventsUniformDistribution`: event i of n at
/// `period − (i + 1) × period / n + period / (2n)` seconds ago.
fn spread(changes: &[i64], period: f64) -> Vec<(SimTime, i64)> {
    let seg = period / changes.len() as f64;
    changes
        .iter()
        .enumerate()
        .map(|(i, &c)| (at_ago(period - seg * (i as f64 + 1.0) + seg / 2.0), c))
        .collect()
}

struct RateCase {
    name: &'static str,
    up_events: Vec<i64>,
    down_events: Vec<i64>,
    min: u32,
    max: u32,
    up: Option<Behavior>,
    down: Option<Behavior>,
    current: u32,
    desired: u32,
    expect: u32,
    condition: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn rc(
    name: &'static str,
    (min, max): (u32, u32),
    up: Option<Behavior>,
    down: Option<Behavior>,
    current: u32,
    desired: u32,
    expect: u32,
    condition: &'static str,
) -> RateCase {
    RateCase {
        name,
        up_events: vec![],
        down_events: vec![],
        min,
        max,
        up,
        down,
        current,
        desired,
        expect,
        condition,
    }
}

impl RateCase {
    fn ups(mut self, e: &[i64]) -> Self {
        self.up_events = e.to_vec();
        self
    }
    fn downs(mut self, e: &[i64]) -> Self {
        self.down_events = e.to_vec();
        self
    }
}

/// `TestScalingWithRules` (`convertDesiredReplicasWithBehaviorRate`): the
/// policies and `[min, max]` applied to a prenormalized recommendation, with
/// the condition that limited it.
#[test]
fn ported_scaling_with_rules() {
    let r = rules;
    let cases = vec![
        rc(
            "prenormalized desired replicas within range",
            (3, 8),
            None,
            None,
            5,
            7,
            7,
            "DesiredWithinRange",
        ),
        rc(
            "prenormalized desired replicas < minReplicas",
            (2, 8),
            None,
            None,
            3,
            1,
            2,
            "TooFewReplicas",
        ),
        rc(
            "prenormalized desired replicas within range when minReplicas is 0",
            (0, 10),
            None,
            None,
            1,
            0,
            0,
            "DesiredWithinRange",
        ),
        rc(
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            (1, 10),
            None,
            None,
            20,
            1000,
            10,
            "TooManyReplicas",
        ),
        rc(
            "desired replica count is more than the maximum replica count",
            (100, 150),
            None,
            None,
            100,
            1000,
            150,
            "TooManyReplicas",
        ),
        rc(
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
            (1, 2000),
            Some(r(0, 0, 1, 60, 0)),
            None,
            3,
            1000,
            4,
            "ScaleUpLimit",
        ),
        rc(
            "scaleUp with default behavior",
            (1, 1000),
            None,
            None,
            10,
            50,
            20,
            "ScaleUpLimit",
        ),
        rc(
            "scaleUp with pods policy larger than percent policy",
            (1, 1000),
            Some(r(100, 60, 100, 60, 0)),
            None,
            10,
            500,
            110,
            "ScaleUpLimit",
        ),
        rc(
            "scaleUp with percent policy larger than pods policy",
            (1, 1000),
            Some(r(2, 60, 100, 60, 0)),
            None,
            10,
            500,
            20,
            "ScaleUpLimit",
        ),
        rc(
            "scaleUp with spec MaxReplicas limitation with large pod policy",
            (1, 1000),
            Some(r(100, 60, 0, 0, 0)),
            None,
            10,
            50,
            50,
            "DesiredWithinRange",
        ),
        rc(
            "scaleUp with spec MaxReplicas limitation with large percent policy",
            (1, 1000),
            Some(r(10000, 60, 0, 0, 0)),
            None,
            10,
            50,
            50,
            "DesiredWithinRange",
        ),
        rc(
            "scaleUp with pod policy limitation",
            (1, 1000),
            Some(r(30, 60, 0, 0, 0)),
            None,
            10,
            50,
            40,
            "ScaleUpLimit",
        ),
        rc(
            "scaleUp with percent policy limitation",
            (1, 1000),
            Some(r(0, 0, 200, 60, 0)),
            None,
            10,
            50,
            30,
            "ScaleUpLimit",
        ),
        rc(
            "scaleDown with percent policy larger than pod policy",
            (1, 1000),
            None,
            Some(r(20, 60, 1, 60, 300)),
            100,
            2,
            80,
            "ScaleDownLimit",
        ),
        rc(
            "scaleDown with pod policy larger than percent policy",
            (1, 1000),
            None,
            Some(r(2, 60, 1, 60, 300)),
            100,
            2,
            98,
            "ScaleDownLimit",
        ),
        rc(
            "scaleDown with spec MinReplicas=nil limitation with large pod policy",
            (1, 1000),
            None,
            Some(r(100, 60, 0, 0, 300)),
            10,
            0,
            1,
            "TooFewReplicas",
        ),
        rc(
            "scaleDown with spec MinReplicas limitation with large pod policy",
            (1, 1000),
            None,
            Some(r(100, 60, 0, 0, 300)),
            10,
            0,
            1,
            "TooFewReplicas",
        ),
        rc(
            "scaleDown with spec MinReplicas limitation with large percent policy",
            (5, 1000),
            None,
            Some(r(0, 0, 100, 60, 300)),
            10,
            2,
            5,
            "TooFewReplicas",
        ),
        rc(
            "scaleDown with pod policy limitation",
            (1, 1000),
            None,
            Some(r(5, 60, 0, 0, 300)),
            10,
            2,
            5,
            "ScaleDownLimit",
        ),
        rc(
            "scaleDown with percent policy limitation",
            (1, 1000),
            None,
            Some(r(0, 0, 50, 60, 300)),
            10,
            5,
            5,
            "DesiredWithinRange",
        ),
        rc(
            "scaleUp with spec MaxReplicas limitation with large pod policy and events",
            (1, 200),
            Some(r(300, 60, 0, 0, 0)),
            None,
            100,
            500,
            200,
            "TooManyReplicas",
        )
        .ups(&[1, 5, 9]),
        rc(
            "scaleUp with spec MaxReplicas limitation with large percent policy and events",
            (1, 200),
            Some(r(0, 0, 10000, 60, 0)),
            None,
            100,
            500,
            200,
            "TooManyReplicas",
        )
        .ups(&[1, 5, 9]),
        rc(
            "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
            (1, 1000),
            Some(r(5, 120, 0, 0, 0)),
            None,
            100,
            500,
            100,
            "ScaleUpLimit",
        )
        .ups(&[1, 5, 9]),
        rc(
            "scaleUp with pod policy and previous scale up events",
            (1, 1000),
            Some(r(150, 120, 0, 0, 0)),
            None,
            100,
            500,
            235,
            "ScaleUpLimit",
        )
        .ups(&[1, 5, 9]),
        rc(
            "scaleUp with percent policy and previous scale up events",
            (1, 1000),
            Some(r(0, 0, 200, 120, 0)),
            None,
            100,
            500,
            255,
            "ScaleUpLimit",
        )
        .ups(&[1, 5, 9]),
        rc(
            "scaleUp with percent policy and previous scale up and down events",
            (1, 1000),
            Some(r(0, 0, 300, 300, 0)),
            None,
            6,
            24,
            16,
            "ScaleUpLimit",
        )
        .ups(&[4])
        .downs(&[2]),
        rc(
            "scaleDown with default policy and previous events",
            (1, 1000),
            None,
            None,
            10,
            5,
            5,
            "DesiredWithinRange",
        )
        .downs(&[1, 5, 9]),
        rc(
            "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
            (1, 1000),
            None,
            Some(r(115, 120, 0, 0, 300)),
            100,
            0,
            1,
            "TooFewReplicas",
        )
        .downs(&[1, 5, 9]),
        rc(
            "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
            (5, 1000),
            None,
            Some(r(130, 120, 0, 0, 300)),
            100,
            0,
            5,
            "TooFewReplicas",
        )
        .downs(&[1, 5, 9]),
        rc(
            "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
            (5, 1000),
            None,
            Some(r(0, 0, 100, 120, 300)),
            100,
            2,
            5,
            "TooFewReplicas",
        )
        .downs(&[1, 5, 9]),
        rc(
            "scaleDown with pod policy limitation and previous events",
            (1, 1000),
            None,
            Some(r(5, 120, 0, 0, 300)),
            100,
            2,
            100,
            "ScaleDownLimit",
        )
        .downs(&[1, 5, 9]),
        rc(
            "scaleDown with percent policy limitation and previous events",
            (1, 1000),
            None,
            Some(r(0, 0, 50, 120, 300)),
            100,
            0,
            56,
            "ScaleDownLimit",
        )
        .downs(&[2, 4, 6]),
        rc(
            "scaleDown with percent policy and previous scale up and down events",
            (1, 1000),
            None,
            Some(r(0, 0, 50, 180, 0)),
            10,
            1,
            6,
            "ScaleDownLimit",
        )
        .ups(&[2])
        .downs(&[4]),
        rc(
            "scaleDown with previous events preventing further scale down",
            (1, 1000),
            None,
            Some(r(0, 0, 10, 120, 300)),
            100,
            0,
            100,
            "ScaleDownLimit",
        )
        .downs(&[10, 10, 10]),
        rc(
            "scaleDown with with previous events still allowing more scale down",
            (1, 1000),
            None,
            Some(r(0, 0, 1000, 120, 300)),
            10,
            5,
            5,
            "DesiredWithinRange",
        )
        .downs(&[10, 10, 10]),
        rc(
            "check 'outdated' flag for events for one behavior for up",
            (1, 1000),
            Some(r(1000, 60, 0, 0, 0)),
            None,
            100,
            200,
            200,
            "DesiredWithinRange",
        )
        .ups(&[8, 12, 9, 11]),
        rc(
            "check that events were not marked 'outdated' for two different policies in the behavior for up",
            (1, 1000),
            Some(r(1000, 120, 100, 60, 0)),
            None,
            100,
            200,
            200,
            "DesiredWithinRange",
        )
        .ups(&[8, 12, 9, 11]),
        rc(
            "check that events were marked 'outdated' for two different policies in the behavior for up",
            (1, 1000),
            Some(r(1000, 30, 100, 60, 0)),
            None,
            100,
            200,
            200,
            "DesiredWithinRange",
        )
        .ups(&[8, 12, 9, 11]),
        rc(
            "check 'outdated' flag for events for one behavior for down",
            (1, 1000),
            None,
            Some(r(1000, 60, 0, 0, 300)),
            100,
            5,
            5,
            "DesiredWithinRange",
        )
        .downs(&[8, 12, 9, 11]),
        rc(
            "check that events were not marked 'outdated' for two different policies in the behavior for down",
            (1, 1000),
            None,
            Some(r(1000, 120, 100, 60, 300)),
            100,
            5,
            5,
            "DesiredWithinRange",
        )
        .downs(&[8, 12, 9, 11]),
        rc(
            "check that events were marked 'outdated' for two different policies in the behavior for down",
            (1, 1000),
            None,
            Some(r(1000, 30, 100, 60, 300)),
            100,
            5,
            5,
            "DesiredWithinRange",
        )
        .downs(&[8, 12, 9, 11]),
    ];
    assert_eq!(
        cases.len(),
        41,
        "the Go table has 42 cases, one skipped by the Go test itself"
    );
    let now = SimTime::from_secs(NOW);
    for c in cases {
        let mut spec = HpaSpec::with_defaults(c.min, c.max);
        if let Some(u) = c.up {
            spec.scale_up = u;
        }
        if let Some(d) = c.down {
            spec.scale_down = d;
        }
        let mut events = spread(&c.up_events, 120.0);
        events.extend(spread(&c.down_events, 120.0).into_iter().map(|(t, d)| (t, -d)));
        let hpa = Hpa::with_history(spec, &[], &events);
        let (got, limit) = hpa.apply_policies(now, c.current, c.desired);
        assert_eq!(got, c.expect, "TestScalingWithRules/{}", c.name);
        assert_eq!(limit.name(), c.condition, "TestScalingWithRules/{}", c.name);
    }
}

/// `TestNormalizeDesiredReplicasWithBehavior`
/// (`stabilizeRecommendationWithBehaviors`): recommendations (count, seconds
/// ago), the windows (unset = 0 in this Go test), current and desired.
#[test]
fn ported_stabilization_with_behaviors() {
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<(u32, f64)>, u32, u32, u32, u64, u64)> = vec![
        // (name, recommendations, current, prenormalized, expected, up window, down window)
        ("empty recommendations for scaling down", vec![], 100, 5, 5, 0, 0),
        (
            "simple scale down stabilization",
            vec![(4, 120.0), (5, 60.0)],
            100,
            3,
            5,
            0,
            180,
        ),
        (
            "simple scale up stabilization",
            vec![(4, 120.0), (5, 60.0)],
            1,
            7,
            4,
            300,
            0,
        ),
        (
            "no scale down stabilization",
            vec![(1, 120.0), (2, 60.0)],
            100,
            3,
            3,
            300,
            0,
        ),
        (
            "no scale up stabilization",
            vec![(4, 120.0), (5, 60.0)],
            1,
            3,
            3,
            0,
            300,
        ),
        (
            "no scale down stabilization, reuse recommendation element",
            vec![(10, 600.0), (9, 540.0)],
            100,
            3,
            3,
            0,
            0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            vec![(10, 600.0), (9, 540.0)],
            1,
            100,
            100,
            0,
            0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            vec![(10, 600.0), (4, 60.0), (5, 120.0), (9, 540.0)],
            100,
            3,
            5,
            0,
            180,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            vec![(10, 6000.0), (6, 60.0), (5, 120.0), (9, 180.0)],
            1,
            100,
            5,
            300,
            0,
        ),
        (
            "scale up and down stabilization, do not scale up when prenormalized rec goes down",
            vec![(2, 6000.0), (3, 180.0)],
            2,
            1,
            2,
            300,
            300,
        ),
        (
            "scale up and down stabilization, do not scale down when prenormalized rec goes up",
            vec![(2, 6000.0), (1, 180.0)],
            2,
            3,
            2,
            300,
            300,
        ),
    ];
    let now = SimTime::from_secs(NOW);
    for (name, recs, current, desired, expect, up, down) in cases {
        let mut spec = HpaSpec::with_defaults(0, 1000);
        spec.scale_up.stabilization = SimTime::from_secs(up);
        spec.scale_down.stabilization = SimTime::from_secs(down);
        let recs: Vec<(SimTime, u32)> = recs.iter().map(|&(r, ago)| (at_ago(ago), r)).collect();
        let mut hpa = Hpa::with_history(spec, &recs, &[]);
        assert_eq!(
            hpa.stabilize(now, current, desired),
            expect,
            "TestNormalizeDesiredReplicasWithBehavior/{name}"
        );
    }
}

/// `TestNormalizeDesiredReplicas` (the legacy path: 5 min downscale window,
/// no scale-up window), under the default behaviors with current = 100.
#[test]
fn ported_legacy_stabilization() {
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<(u32, f64)>, u32, u32)> = vec![
        ("empty log", vec![], 5, 5),
        ("stabilize", vec![(4, 120.0), (5, 60.0)], 3, 5),
        ("no stabilize", vec![(1, 120.0), (2, 60.0)], 3, 3),
        (
            "no stabilize - old recommendations",
            vec![(10, 600.0), (9, 540.0)],
            3,
            3,
        ),
        (
            "stabilize - old recommendations",
            vec![(10, 600.0), (4, 60.0), (5, 120.0), (9, 540.0)],
            3,
            5,
        ),
    ];
    let now = SimTime::from_secs(NOW);
    for (name, recs, desired, expect) in cases {
        let recs: Vec<(SimTime, u32)> = recs.iter().map(|&(r, ago)| (at_ago(ago), r)).collect();
        let mut hpa = Hpa::with_history(HpaSpec::with_defaults(1, 1000), &recs, &[]);
        assert_eq!(
            hpa.stabilize(now, 100, desired),
            expect,
            "TestNormalizeDesiredReplicas/{name}"
        );
    }
}

/// `TestStoreScaleEvents`: the replica change counted over the last 60 s
/// (`getReplicasChangePerPeriod(60, …)`) for each sub-case's previous events
/// (change, seconds ago).
#[test]
fn ported_store_scale_events_counting() {
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<(i64, f64)>, i64)> = vec![
        ("empty entries with default behavior", vec![], 0),
        ("empty entries with two-policy-behavior", vec![], 0),
        (
            "one outdated entry to be kept untouched without behavior",
            vec![(7, 61.0)],
            0,
        ),
        ("one outdated entry to be replaced with behavior", vec![(7, 61.0)], 0),
        ("one actual entry to be not touched with behavior", vec![(7, 58.0)], 7),
        ("two entries, one of them to be replaced", vec![(7, 61.0), (6, 59.0)], 6),
        (
            "replace one entry, use policies with different periods",
            vec![(8, 29.0), (6, 59.0), (7, 61.0), (9, 61.0)],
            14,
        ),
        ("two entries, both actual", vec![(7, 58.0), (6, 59.0)], 13),
    ];
    let now = SimTime::from_secs(NOW);
    for (name, events, expect) in cases {
        for sign in [1, -1] {
            let ev: Vec<(SimTime, i64)> = events.iter().map(|&(c, ago)| (at_ago(ago), sign * c)).collect();
            let hpa = Hpa::with_history(HpaSpec::with_defaults(1, 100), &[], &ev);
            let (added, removed) = hpa.changes_within(now, SimTime::from_secs(60));
            let got = if sign > 0 { added } else { removed };
            assert_eq!(
                got,
                expect,
                "TestStoreScaleEvents/{name} ({})",
                if sign > 0 { "up" } else { "down" }
            );
        }
    }
}
