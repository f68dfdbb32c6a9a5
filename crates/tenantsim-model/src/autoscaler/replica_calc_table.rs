//! The Kubernetes controller's own replica-calculation tests, ported as a
//! table: kubernetes/kubernetes
//! `pkg/controller/podautoscaler/replica_calculator_test.go` (the
//! `autoscaling/v2` version with container metrics). Every case is named
//! after the Go test it comes from; the data are re-stated, not copied.
//!
//! How the Go fixtures translate:
//! * The tests run with tolerance 0.1, a CPU initialization period of 2 min
//!   and an initial readiness delay of 10 s (`defaultTesting…`), not the
//!   controller's defaults (5 min, 30 s).
//! * Pods are `test-pod-<i>`, `max(currentReplicas, len(podPhase))` of
//!   them, Running and Ready unless the case says otherwise. Their Ready
//!   condition has a zero `lastTransitionTime` and, unless the case gives
//!   one, a zero start time: "long ago", here second 0 with `now` far later.
//!   `hotCPUCreationTime` is `now`, `coolCPUCreationTime` 3 min before.
//! * Samples have the zero timestamp and a 1 min window. A pod has two
//!   containers, both with the given request and level; a pod-level
//!   resource metric sums them, a `container` case uses one container's.
//! * Values are milli-values, as in the Go tests.
//!
//! Not ported, with the reason:
//! * `TestCalculatePodRequests`: summing container and init-container
//!   requests into a pod request is input preparation (tenantsim instances
//!   have one request per resource, and `hpa explain` snapshots give the
//!   pod's request); its "container missing requests" error is covered by
//!   `TestReplicaCalcEmptyCPURequest`.
//! * The `timestamp` and `expectedError` texts that only concern the
//!   metrics client (label selectors, REST mappings) have no counterpart.

use super::*;

const NOW: f64 = 1_000_000.0;
const LONG_AGO: f64 = 0.0;
const HOT: f64 = NOW;
const COOL: f64 = NOW - 180.0;
const CONTAINERS: f64 = 2.0;

fn test_config() -> CalcConfig {
    CalcConfig {
        tolerance_down: 0.1,
        tolerance_up: 0.1,
        cpu_initialization_period: 120.0,
        initial_readiness_delay: 10.0,
    }
}

#[derive(Clone)]
enum Metric {
    /// CPU utilization: per-container requests (cores) and per-pod levels
    /// (per container, milli); `container`: only one container counts.
    Cpu {
        requests: Vec<f64>,
        levels: Vec<f64>,
        names: Vec<&'static str>,
        target: f64,
        container: bool,
    },
    Pods {
        levels: Vec<f64>,
        target: f64,
    },
    Object(f64, Target),
    External(f64, Target),
}

#[derive(Clone)]
struct Case {
    go_test: &'static str,
    current: u32,
    readiness: Vec<bool>,
    start: Vec<f64>,
    phase: Vec<Phase>,
    deleted: Vec<bool>,
    metric: Metric,
    /// Ok(replicas) or Err(part of the controller's error text).
    expect: Result<u32, &'static str>,
    /// (utilization % or usage, raw average) the status would show.
    usage: Option<(f64, Option<f64>)>,
}

fn case(go_test: &'static str, current: u32, metric: Metric) -> Case {
    Case {
        go_test,
        current,
        readiness: vec![],
        start: vec![],
        phase: vec![],
        deleted: vec![],
        metric,
        expect: Err("unset"),
        usage: None,
    }
}

impl Case {
    fn expect(mut self, n: u32) -> Self {
        self.expect = Ok(n);
        self
    }
    fn fails(mut self, text: &'static str) -> Self {
        self.expect = Err(text);
        self
    }
    fn util(mut self, pct: f64, raw: f64) -> Self {
        self.usage = Some((pct, Some(raw)));
        self
    }
    fn usage(mut self, v: f64) -> Self {
        self.usage = Some((v, None));
        self
    }
    fn ready(mut self, r: &[bool]) -> Self {
        self.readiness = r.to_vec();
        self
    }
    fn start(mut self, s: &[f64]) -> Self {
        self.start = s.to_vec();
        self
    }
    fn phase(mut self, p: &[Phase]) -> Self {
        self.phase = p.to_vec();
        self
    }
    fn deleted(mut self, d: &[bool]) -> Self {
        self.deleted = d.to_vec();
        self
    }

    fn pods(&self) -> Vec<PodState> {
        let n = (self.current as usize).max(self.phase.len());
        (0..n)
            .map(|i| {
                let mut p = PodState::running(
                    format!("test-pod-{i}"),
                    self.start.get(i).copied().unwrap_or(LONG_AGO),
                    self.readiness.get(i).copied().unwrap_or(true),
                    LONG_AGO,
                );
                p.phase = self.phase.get(i).copied().unwrap_or(Phase::Running);
                p.deleted = self.deleted.get(i).copied().unwrap_or(false);
                if let Metric::Cpu {
                    requests, container, ..
                } = &self.metric
                {
                    if let Some(r) = requests.get(i) {
                        let per_pod = if *container { 1.0 } else { CONTAINERS };
                        p.requests.insert(Resource::Cpu, r * 1000.0 * per_pod);
                    }
                }
                p
            })
            .collect()
    }

    fn input(&self) -> MetricInput {
        let sample = |pod: String, value: f64| PodSample {
            pod,
            value,
            timestamp: LONG_AGO,
            window: 60.0,
        };
        match &self.metric {
            Metric::Cpu {
                levels,
                names,
                target,
                container,
                ..
            } => MetricInput::Resource {
                resource: Resource::Cpu,
                target: Target::Utilization(*target),
                samples: levels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let name = names.get(i).map_or(format!("test-pod-{i}"), |n| n.to_string());
                        sample(name, if *container { *l } else { l * CONTAINERS })
                    })
                    .collect(),
            },
            Metric::Pods { levels, target } => MetricInput::Pods {
                target: *target,
                samples: levels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| sample(format!("test-pod-{i}"), *l))
                    .collect(),
            },
            Metric::Object(v, t) => MetricInput::Object { value: *v, target: *t },
            Metric::External(v, t) => MetricInput::External {
                values: vec![*v],
                target: *t,
            },
        }
    }
}

fn cpu(requests: &[f64], levels: &[f64], target: f64) -> Metric {
    Metric::Cpu {
        requests: requests.to_vec(),
        levels: levels.to_vec(),
        names: vec![],
        target,
        container: false,
    }
}

/// A `ContainerResource` case: `levels` are the named container's.
fn container_cpu(requests: &[f64], levels: &[f64], target: f64) -> Metric {
    Metric::Cpu {
        requests: requests.to_vec(),
        levels: levels.to_vec(),
        names: vec![],
        target,
        container: true,
    }
}

fn qps(levels: &[f64], target: f64) -> Metric {
    Metric::Pods {
        levels: levels.to_vec(),
        target,
    }
}

fn ones(n: usize) -> Vec<f64> {
    vec![1.0; n]
}

use Phase::{Failed as F, Pending as P, Running as R};
const T: bool = true;
const N: bool = false;

/// Every `runTest` case of replica_calculator_test.go, in file order.
fn cases() -> Vec<Case> {
    vec![
        case(
            "TestReplicaCalcDisjointResourcesMetrics",
            1,
            Metric::Cpu {
                requests: ones(1),
                levels: vec![100.0],
                names: vec!["an-older-pod-name"],
                target: 100.0,
                container: false,
            },
        )
        .fails("no metrics returned matched known pods"),
        case("TestReplicaCalcScaleUp", 3, cpu(&ones(3), &[300.0, 500.0, 700.0], 30.0))
            .expect(5)
            .util(50.0, 1000.0),
        case(
            "TestReplicaCalcContainerScaleUp",
            3,
            container_cpu(&ones(3), &[300.0, 500.0, 700.0], 30.0),
        )
        .expect(5)
        .util(50.0, 500.0),
        case(
            "TestReplicaCalcScaleUpUnreadyLessScale",
            3,
            cpu(&ones(3), &[300.0, 500.0, 700.0], 30.0),
        )
        .ready(&[N, T, T])
        .expect(4)
        .util(60.0, 1200.0),
        case(
            "TestReplicaCalcScaleUpContainerHotCpuLessScale",
            3,
            container_cpu(&ones(3), &[300.0, 500.0, 700.0], 30.0),
        )
        .start(&[HOT, COOL, COOL])
        .expect(4)
        .util(60.0, 600.0),
        case(
            "TestReplicaCalcScaleUpHotCpuLessScale",
            3,
            cpu(&ones(3), &[300.0, 500.0, 700.0], 30.0),
        )
        .start(&[HOT, COOL, COOL])
        .expect(4)
        .util(60.0, 1200.0),
        case(
            "TestReplicaCalcScaleUpUnreadyNoScale",
            3,
            cpu(&ones(3), &[400.0, 500.0, 700.0], 30.0),
        )
        .ready(&[T, N, N])
        .expect(3)
        .util(40.0, 800.0),
        case(
            "TestReplicaCalcScaleHotCpuNoScale",
            3,
            cpu(&ones(3), &[400.0, 500.0, 700.0], 30.0),
        )
        .ready(&[T, N, N])
        .start(&[COOL, HOT, HOT])
        .expect(3)
        .util(40.0, 800.0),
        case(
            "TestReplicaCalcScaleUpIgnoresFailedPods",
            2,
            cpu(&ones(4), &[500.0, 700.0], 30.0),
        )
        .ready(&[T, T, N, N])
        .phase(&[R, R, F, F])
        .expect(4)
        .util(60.0, 1200.0),
        // The failed pods report only container1; container2 has samples
        // for the two running pods alone.
        case(
            "TestReplicaCalcMissingContainerMetricScaleUpIgnoresFailedPods",
            2,
            container_cpu(&ones(4), &[500.0, 700.0], 30.0),
        )
        .ready(&[T, T, N, N])
        .phase(&[R, R, F, F])
        .expect(4)
        .util(60.0, 600.0),
        case(
            "TestReplicaCalcScaleUpContainerIgnoresFailedPods",
            2,
            container_cpu(&ones(4), &[500.0, 700.0], 30.0),
        )
        .ready(&[T, T, N, N])
        .phase(&[R, R, F, F])
        .expect(4)
        .util(60.0, 600.0),
        case(
            "TestReplicaCalcScaleUpIgnoresDeletionPods",
            2,
            cpu(&ones(4), &[500.0, 700.0], 30.0),
        )
        .ready(&[T, T, N, N])
        .phase(&[R, R, R, R])
        .deleted(&[N, N, T, T])
        .expect(4)
        .util(60.0, 1200.0),
        case(
            "TestReplicaCalcScaleUpContainerIgnoresDeletionPods",
            2,
            container_cpu(&ones(4), &[500.0, 700.0], 30.0),
        )
        .ready(&[T, T, N, N])
        .phase(&[R, R, R, R])
        .deleted(&[N, N, T, T])
        .expect(4)
        .util(60.0, 600.0),
        case(
            "TestReplicaCalcScaleUpCM",
            3,
            qps(&[20000.0, 10000.0, 30000.0], 15000.0),
        )
        .expect(4)
        .usage(20000.0),
        // Readiness does not matter for a Pods metric (groupPods checks it
        // for CPU only).
        case(
            "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
            3,
            qps(&[50000.0, 10000.0, 30000.0], 15000.0),
        )
        .ready(&[T, T, N])
        .start(&[COOL, COOL, HOT])
        .expect(6)
        .usage(30000.0),
        case(
            "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            3,
            qps(&[50000.0, 15000.0, 30000.0], 15000.0),
        )
        .ready(&[N, T, N])
        .start(&[HOT, COOL, HOT])
        .expect(7)
        .usage(31666.0),
        case(
            "TestReplicaCalcScaleUpCMObject",
            3,
            Metric::Object(20000.0, Target::Value(15000.0)),
        )
        .expect(4)
        .usage(20000.0),
        case(
            "TestReplicaCalcScaleUpCMPerPodObject",
            3,
            Metric::Object(20000.0, Target::AverageValue(5000.0)),
        )
        .expect(4)
        .usage(6667.0),
        // ceil(5 × 1 ready pod) = 5, not ceil(5 × 3) = 15.
        case(
            "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
            3,
            Metric::Object(50000.0, Target::Value(10000.0)),
        )
        .ready(&[N, T, N])
        .expect(5)
        .usage(50000.0),
        // The Go case is named External but uses a Pods metric.
        case("TestReplicaCalcScaleUpCMExternal", 1, qps(&[8600.0], 4400.0))
            .expect(2)
            .usage(8600.0),
        case(
            "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
            3,
            Metric::External(8600.0, Target::Value(4400.0)),
        )
        .ready(&[N, T, N])
        .expect(2)
        .usage(8600.0),
        case("TestReplicaCalcScaleUpCMExternalNoLabels", 1, qps(&[8600.0], 4400.0))
            .expect(2)
            .usage(8600.0),
        case(
            "TestReplicaCalcScaleUpPerPodCMExternal",
            3,
            Metric::External(8600.0, Target::AverageValue(2150.0)),
        )
        .expect(4)
        .usage(2867.0),
        case(
            "TestReplicaCalcScaleDown",
            5,
            cpu(&ones(5), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .expect(3)
        .util(28.0, 560.0),
        case(
            "TestReplicaCalcContainerScaleDown",
            5,
            container_cpu(&ones(5), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .expect(3)
        .util(28.0, 280.0),
        case("TestReplicaCalcScaleDownCM", 5, qps(&[12000.0; 5], 20000.0))
            .expect(3)
            .usage(12000.0),
        case(
            "TestReplicaCalcScaleDownPerPodCMObject",
            5,
            Metric::Object(6000.0, Target::AverageValue(2000.0)),
        )
        .expect(3)
        .usage(1200.0),
        case(
            "TestReplicaCalcScaleDownCMObject",
            5,
            Metric::Object(12000.0, Target::Value(20000.0)),
        )
        .expect(3)
        .usage(12000.0),
        case(
            "TestReplicaCalcScaleDownCMExternal",
            5,
            Metric::External(8600.0, Target::Value(14334.0)),
        )
        .expect(3)
        .usage(8600.0),
        case(
            "TestReplicaCalcScaleDownPerPodCMExternal",
            5,
            Metric::External(8600.0, Target::AverageValue(2867.0)),
        )
        .expect(3)
        .usage(1720.0),
        case(
            "TestReplicaCalcScaleDownExcludeUnreadyPods",
            5,
            cpu(&ones(5), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, T, T, N, N])
        .expect(2)
        .util(30.0, 600.0),
        case(
            "TestReplicaCalcScaleDownContainerExcludeUnreadyPods",
            5,
            container_cpu(&ones(5), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, T, T, N, N])
        .expect(2)
        .util(30.0, 300.0),
        case(
            "TestReplicaCalcScaleDownExcludeUnscheduledPods",
            5,
            cpu(&ones(5), &[100.0], 50.0),
        )
        .ready(&[T, N, N, N, N])
        .phase(&[R, P, P, P, P])
        .expect(1)
        .util(10.0, 200.0),
        case(
            "TestReplicaCalcScaleDownContainerExcludeUnscheduledPods",
            5,
            container_cpu(&ones(5), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, N, N, N, N])
        .phase(&[R, P, P, P, P])
        .expect(1)
        .util(10.0, 100.0),
        case(
            "TestReplicaCalcScaleDownIgnoreHotCpuPods",
            5,
            cpu(&ones(5), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .start(&[COOL, COOL, COOL, HOT, HOT])
        .expect(2)
        .util(30.0, 600.0),
        case(
            "TestReplicaCalcScaleDownContainerIgnoreHotCpuPods",
            5,
            container_cpu(&ones(5), &[100.0, 300.0, 500.0, 1000.0, 1000.0], 50.0),
        )
        .start(&[COOL, COOL, COOL, HOT, HOT])
        .expect(2)
        .util(30.0, 300.0),
        case(
            "TestReplicaCalcScaleDownIgnoresFailedPods",
            5,
            cpu(&ones(7), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, T, T, T, T, N, N])
        .phase(&[R, R, R, R, R, F, F])
        .expect(3)
        .util(28.0, 560.0),
        case(
            "TestReplicaCalcScaleDownContainerIgnoresFailedPods",
            5,
            container_cpu(&ones(7), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, T, T, T, T, N, N])
        .phase(&[R, R, R, R, R, F, F])
        .expect(3)
        .util(28.0, 280.0),
        case(
            "TestReplicaCalcScaleDownIgnoresDeletionPods",
            5,
            cpu(&ones(7), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, T, T, T, T, N, N])
        .phase(&[R; 7])
        .deleted(&[N, N, N, N, N, T, T])
        .expect(3)
        .util(28.0, 560.0),
        case(
            "TestReplicaCalcScaleDownIgnoresDeletionPods_StillRunning",
            5,
            container_cpu(&ones(7), &[100.0, 300.0, 500.0, 250.0, 250.0], 50.0),
        )
        .ready(&[T, T, T, T, T, N, N])
        .phase(&[R; 7])
        .deleted(&[N, N, N, N, N, T, T])
        .expect(3)
        .util(28.0, 280.0),
        case(
            "TestReplicaCalcTolerance",
            3,
            cpu(&[0.9, 1.0, 1.1], &[1010.0, 1030.0, 1020.0], 100.0),
        )
        .expect(3)
        .util(102.0, 2040.0),
        case(
            "TestReplicaCalcToleranceCM",
            3,
            qps(&[20000.0, 21000.0, 21000.0], 20000.0),
        )
        .expect(3)
        .usage(20666.0),
        case(
            "TestReplicaCalcToleranceCMObject",
            3,
            Metric::Object(20666.0, Target::Value(20000.0)),
        )
        .expect(3)
        .usage(20666.0),
        case(
            "TestReplicaCalcTolerancePerPodCMObject",
            4,
            Metric::Object(20166.0, Target::AverageValue(5000.0)),
        )
        .expect(4)
        .usage(5042.0),
        case(
            "TestReplicaCalcToleranceCMExternal",
            3,
            Metric::External(8600.0, Target::Value(8888.0)),
        )
        .expect(3)
        .usage(8600.0),
        case(
            "TestReplicaCalcTolerancePerPodCMExternal",
            3,
            Metric::External(8600.0, Target::AverageValue(2900.0)),
        )
        .expect(3)
        .usage(2867.0),
        // Samples of pods that are not listed are skipped (no request).
        case(
            "TestReplicaCalcSuperfluousMetrics",
            4,
            cpu(&ones(4), &[4000.0, 9500.0, 3000.0, 7000.0, 3200.0, 2000.0], 100.0),
        )
        .expect(24)
        .util(587.0, 11750.0),
        case("TestReplicaCalcMissingMetrics", 4, cpu(&ones(4), &[400.0, 95.0], 100.0))
            .expect(3)
            .util(24.0, 495.0),
        case("TestReplicaCalcEmptyMetrics", 4, cpu(&ones(3), &[], 100.0))
            .fails("no metrics returned from resource metrics API"),
        case("TestReplicaCalcEmptyCPURequest", 1, cpu(&[], &[200.0], 100.0)).fails("missing request for"),
        case(
            "TestPlainMetricReplicaCalcMissingMetricsNoChangeEq",
            5,
            qps(&[20000.0, 19000.0, 21000.0], 20000.0),
        )
        .expect(5)
        .usage(20000.0),
        case(
            "TestReplicaCalcMissingMetricsNoChangeEq",
            2,
            cpu(&ones(2), &[1000.0], 100.0),
        )
        .expect(2)
        .util(100.0, 2000.0),
        case(
            "TestReplicaCalcMissingMetricsNoChangeGt",
            2,
            cpu(&ones(2), &[1900.0], 100.0),
        )
        .expect(2)
        .util(190.0, 3800.0),
        case(
            "TestReplicaCalcMissingMetricsNoChangeLt",
            2,
            cpu(&ones(2), &[600.0], 100.0),
        )
        .expect(2)
        .util(60.0, 1200.0),
        case(
            "TestReplicaCalcMissingMetricsUnreadyChange",
            3,
            cpu(&ones(3), &[100.0, 450.0], 50.0),
        )
        .ready(&[N, T, T])
        .expect(3)
        .util(45.0, 900.0),
        case(
            "TestReplicaCalcMissingMetricsHotCpuNoChange",
            3,
            cpu(&ones(3), &[100.0, 450.0], 50.0),
        )
        .start(&[HOT, COOL, COOL])
        .expect(3)
        .util(45.0, 900.0),
        case(
            "TestReplicaCalcMissingMetricsUnreadyScaleUp",
            3,
            cpu(&ones(3), &[100.0, 2000.0], 50.0),
        )
        .ready(&[N, T, T])
        .expect(4)
        .util(200.0, 4000.0),
        case(
            "TestReplicaCalcMissingMetricsHotCpuScaleUp",
            3,
            cpu(&ones(3), &[100.0, 2000.0], 50.0),
        )
        .ready(&[N, T, T])
        .start(&[HOT, COOL, COOL])
        .expect(4)
        .util(200.0, 4000.0),
        case(
            "TestReplicaCalcMissingMetricsUnreadyScaleDown",
            4,
            cpu(&ones(4), &[100.0, 100.0, 100.0], 50.0),
        )
        .ready(&[N, T, T, T])
        .expect(3)
        .util(10.0, 200.0),
        case(
            "TestReplicaCalcMissingMetricsScaleDownTargetOver100",
            4,
            cpu(&[1.0, 1.0, 2.0, 2.0], &[200.0, 100.0, 100.0], 300.0),
        )
        .ready(&[N, T, T, T])
        .expect(2)
        .util(6.0, 200.0),
        case(
            "TestReplicaCalcDuringRollingUpdateWithMaxSurge",
            2,
            cpu(&ones(3), &[100.0, 100.0], 50.0),
        )
        .phase(&[R, R, R])
        .expect(2)
        .util(10.0, 200.0),
        case(
            "TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM",
            2,
            qps(&[10000.0, 10000.0], 17000.0),
        )
        .phase(&[R, R, R])
        .expect(2)
        .usage(10000.0),
    ]
}

/// Each case runs through [`crate::autoscaler::explain::explain`],
/// the function behind `tenantsim hpa explain` (wide bounds, no history),
/// and is judged on its metric's calculation.
fn run(c: &Case, cfg: &CalcConfig) -> Result<Calculation, String> {
    use crate::autoscaler::explain::{explain, History, MetricRead};
    use crate::autoscaler::hpa::HpaSpec;
    let read = MetricRead {
        name: c.go_test.to_string(),
        target: String::new(),
        input: c.input(),
    };
    let mut spec = HpaSpec::with_defaults(0, 1000);
    spec.tolerance = cfg.tolerance_up;
    let mut e = explain(spec, cfg, NOW, c.current, &c.pods(), &[read], &History::default());
    let m = e.metrics.remove(0);
    match (m.calculation, m.error) {
        (Some(calc), _) => Ok(calc),
        (None, e) => Err(e.unwrap_or_default()),
    }
}

#[test]
fn ported_replica_calculator_cases() {
    let cases = cases();
    assert_eq!(cases.len(), 62, "every runTest case of replica_calculator_test.go");
    let cfg = test_config();
    for c in &cases {
        let got = run(c, &cfg);
        match (&c.expect, &got) {
            (Ok(n), Ok(calc)) => {
                assert_eq!(calc.replicas, *n, "{}: {calc:#?}", c.go_test);
                if let Some((usage, raw)) = c.usage {
                    assert_eq!(calc.current, usage, "{}: utilization/usage", c.go_test);
                    assert_eq!(calc.raw_average, raw, "{}: raw value", c.go_test);
                }
            }
            (Err(text), Err(e)) => {
                assert!(e.contains(text), "{}: error `{e}`", c.go_test);
            }
            _ => panic!("{}: expected {:?}, got {got:?}", c.go_test, c.expect),
        }
    }
}

/// `TestReplicaCalcComputedToleranceAlgImplementation`: 10 pods each using
/// 150 m of a ~300 m request (50 %, requests jittered around 300 m), with
/// the target set just outside the tolerance (scales to 9) and just inside
/// it (stays at 10). The Go test derives the targets: int32((1 / (2 × 0.9)
/// + 0.01) × 100) = 56 and int32((1 / (2 × 0.9) + 0.004) × 100) = 55.
#[test]
fn ported_computed_tolerance() {
    let jitter = [100.0, -100.0, 10.0, -10.0, 2.0, -2.0, 1.0, -1.0, 0.0, 0.0];
    let requests: Vec<f64> = jitter.iter().map(|j| (300.0 + j) / 1000.0).collect();
    let levels = [150.0; 10];
    let cfg = test_config();
    let outside = case(
        "TestReplicaCalcComputedToleranceAlgImplementation",
        10,
        cpu(&requests, &levels, 56.0),
    );
    let calc = run(&outside, &cfg).unwrap();
    assert_eq!((calc.replicas, calc.current, calc.raw_average), (9, 50.0, Some(300.0)));
    let inside = case(
        "TestReplicaCalcComputedToleranceAlgImplementation",
        10,
        cpu(&requests, &levels, 55.0),
    );
    assert_eq!(run(&inside, &cfg).unwrap().replicas, 10);
}

/// `TestGroupPods`: each sub-case's pod, sample and expected class. Times
/// relative to `NOW`; the Go sub-case names are kept.
#[test]
fn ported_group_pods() {
    let cfg = test_config();
    struct G {
        name: &'static str,
        pod: Option<PodState>,
        sample: Option<(f64, f64)>, // (timestamp, window)
        cpu: bool,
        expect: Option<PodClass>,
    }
    let pod = |phase, start: Option<f64>, ready: Option<(bool, f64)>| PodState {
        name: "p".into(),
        phase,
        deleted: false,
        start: start.map(|s| NOW + s),
        ready: ready.map(|(r, since)| Readiness {
            ready: r,
            since: NOW + since,
        }),
        requests: BTreeMap::new(),
    };
    use Phase::Succeeded as S;
    let mut deleted = pod(P, None, None);
    deleted.deleted = true;
    let gs = vec![
        G {
            name: "void",
            pod: None,
            sample: None,
            cpu: true,
            expect: None,
        },
        G {
            name: "count in a ready pod - memory",
            pod: Some(pod(S, None, None)),
            sample: Some((0.0, 60.0)),
            cpu: false,
            expect: Some(PodClass::Ready),
        },
        G {
            name: "unready a pod without ready condition - CPU",
            pod: Some(pod(S, Some(0.0), None)),
            sample: Some((-NOW, 0.0)),
            cpu: true,
            expect: Some(PodClass::Unready),
        },
        G {
            name: "count in a ready pod with fresh metrics during initialization period - CPU",
            pod: Some(pod(S, Some(-60.0), Some((true, -30.0)))),
            sample: Some((0.0, 30.0)),
            cpu: true,
            expect: Some(PodClass::Ready),
        },
        G {
            name: "unready a ready pod without fresh metrics during initialization period - CPU",
            pod: Some(pod(S, Some(-60.0), Some((true, -30.0)))),
            sample: Some((0.0, 60.0)),
            cpu: true,
            expect: Some(PodClass::Unready),
        },
        G {
            name: "unready an unready pod during initialization period - CPU",
            pod: Some(pod(S, Some(-600.0), Some((false, -594.0)))),
            sample: Some((-NOW, 0.0)),
            cpu: true,
            expect: Some(PodClass::Unready),
        },
        G {
            name: "count in a ready pod without fresh metrics after initialization period - CPU",
            pod: Some(pod(S, Some(-180.0), Some((true, -180.0)))),
            sample: Some((-120.0, 60.0)),
            cpu: true,
            expect: Some(PodClass::Ready),
        },
        G {
            name: "count in an unready pod that was ready after initialization period - CPU",
            pod: Some(pod(S, Some(-600.0), Some((false, -540.0)))),
            sample: Some((-NOW, 0.0)),
            cpu: true,
            expect: Some(PodClass::Ready),
        },
        G {
            name: "unready pod that has never been ready after initialization period - CPU",
            pod: Some(pod(S, Some(-600.0), Some((false, -590.0)))),
            sample: Some((-NOW, 0.0)),
            cpu: true,
            expect: Some(PodClass::Ready),
        },
        G {
            name: "a missing pod",
            pod: Some(pod(S, Some(-180.0), None)),
            sample: None,
            cpu: true,
            expect: Some(PodClass::Missing),
        },
        G {
            name: "pending pods are unreadied",
            pod: Some(pod(P, None, None)),
            sample: None,
            cpu: true,
            expect: Some(PodClass::Unready),
        },
        G {
            name: "ignore pods with deletion timestamps",
            pod: Some(deleted),
            sample: Some((-NOW, 0.0)),
            cpu: true,
            expect: Some(PodClass::Ignored),
        },
        G {
            name: "ignore pods in a failed state",
            pod: Some(pod(F, None, None)),
            sample: Some((-NOW, 0.0)),
            cpu: true,
            expect: Some(PodClass::Ignored),
        },
    ];
    for g in gs {
        let pods: Vec<PodState> = g.pod.into_iter().collect();
        let s = g.sample.map(|(ts, window)| PodSample {
            pod: "p".into(),
            value: 1.0,
            timestamp: NOW + ts,
            window,
        });
        let samples: BTreeMap<&str, &PodSample> = s.iter().map(|s| ("p", s)).collect();
        let got = group_pods(&cfg, NOW, &pods, &samples, g.cpu);
        assert_eq!(got.first().map(|v| v.class), g.expect, "TestGroupPods/{}", g.name);
    }
    // "several pods": a pod without a Ready condition (unready), a Ready one
    // (ready) and one without a sample (missing), in one call.
    let pods = vec![
        PodState {
            name: "lucretius".into(),
            ..pod(S, Some(0.0), None)
        },
        PodState {
            name: "niccolo".into(),
            ..pod(S, Some(-180.0), Some((true, -180.0)))
        },
        PodState {
            name: "epicurus".into(),
            ..pod(S, Some(-180.0), None)
        },
    ];
    let s1 = PodSample {
        pod: "lucretius".into(),
        value: 1.0,
        timestamp: 0.0,
        window: 0.0,
    };
    let s2 = PodSample {
        pod: "niccolo".into(),
        ..s1.clone()
    };
    let samples: BTreeMap<&str, &PodSample> = [("lucretius", &s1), ("niccolo", &s2)].into_iter().collect();
    let classes: Vec<PodClass> = group_pods(&cfg, NOW, &pods, &samples, true)
        .iter()
        .map(|v| v.class)
        .collect();
    assert_eq!(
        classes,
        vec![PodClass::Unready, PodClass::Ready, PodClass::Missing],
        "TestGroupPods/several pods"
    );
}

/// The controller's defaults, not the tests': a pod Ready 20 s ago whose
/// 15 s sample ended 10 s ago is set aside (its window began before it
/// turned Ready) while it is within the 5 min CPU initialization period.
#[test]
fn default_config_sets_aside_fresh_cpu_samples() {
    let cfg = CalcConfig::default();
    let mut fresh = PodState::running("new", NOW - 50.0, true, NOW - 20.0);
    fresh.requests.insert(Resource::Cpu, 1000.0);
    let mut old = PodState::running("old", NOW - 3600.0, true, NOW - 3500.0);
    old.requests.insert(Resource::Cpu, 1000.0);
    let sample = |pod: &str, v| PodSample {
        pod: pod.into(),
        value: v,
        timestamp: NOW - 10.0,
        window: 15.0,
    };
    let input = MetricInput::Resource {
        resource: Resource::Cpu,
        target: Target::Utilization(50.0),
        samples: vec![sample("new", 900.0), sample("old", 900.0)],
    };
    let calc = calculate(&cfg, NOW, 2, &[fresh, old], &input).unwrap();
    assert_eq!(calc.pods[0].class, PodClass::Unready);
    assert_eq!(calc.pods[1].class, PodClass::Ready);
    // 90 % vs 50 % on the old pod: ratio 1.8; the new one counts 0 %:
    // 900 / 2000 = 45 % → 0.9, within tolerance → keep 2 (without the
    // set-aside, ceil(2 × 1.8) = 4).
    assert_eq!(calc.usage_ratio, 1.8);
    assert_eq!(calc.recomputed_ratio, Some(0.9));
    assert_eq!(calc.replicas, 2);
}
