"""The Python package against the scenarios users run (scenarios/examples/).

Short runs (3 simulated minutes) keep the suite to seconds; determinism and
error messages do not depend on the length.
"""

from __future__ import annotations

import _thread
import math
import os
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import tenantsim

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios/examples/quickstart.toml"
POOL = ROOT / "scenarios/examples/pool-exhaustion.toml"
SHORT = {"simulation.duration": "3m", "simulation.warmup": "30s"}


def test_run_quickstart_gives_summary_timeseries_and_tiers():
    r = tenantsim.run(str(QUICKSTART), SHORT, replications=2)
    assert r.summary["scenario"] == "quickstart"
    assert r.summary["replications"] == 2
    # 3 minutes sampled every 30 s, per replication.
    assert r.timeseries.shape[0] == 2 * 6
    assert {"replication", "time_s", "rps", "latency_p95_s"} <= set(r.timeseries.columns)
    assert r.timeseries["replication"].unique().sort().to_list() == [0, 1]
    tiers = r.tiers
    assert tiers.columns == ["tier", "metric", "mean", "ci_low", "ci_high", "std"]
    assert sorted(tiers["tier"].unique().to_list()) == ["free", "pro"]
    pro_tp = tiers.filter((pl.col("tier") == "pro") & (pl.col("metric") == "throughput_rps"))["mean"][0]
    assert pro_tp == r.summary["tiers"]["pro"]["throughput_rps"]["mean"]
    assert r.metrics.filter(pl.col("metric") == "latency_p95_s")["mean"][0] > 0


def test_a_path_object_works_like_a_string():
    a = tenantsim.run(QUICKSTART, SHORT, replications=2)
    b = tenantsim.run(str(QUICKSTART), SHORT, replications=2)
    assert a.summary["metrics"] == b.summary["metrics"]


def test_overrides_change_the_run_and_values_may_be_python_types():
    base = tenantsim.run(QUICKSTART, SHORT, replications=2)
    more = tenantsim.run(QUICKSTART, {**SHORT, "workload.0.tenants": 600, "instance.initial": 3}, replications=2)
    assert more.summary["settings"] != base.summary["settings"] or more.summary["metrics"] != base.summary["metrics"]
    assert (more.summary["metrics"]["requests_arrived"]["mean"]
            > 1.5 * base.summary["metrics"]["requests_arrived"]["mean"])
    assert more.timeseries["instances_ready"].max() == 3


def test_a_bad_override_key_is_a_tenantsim_error_naming_it():
    with pytest.raises(tenantsim.TenantsimError) as e:
        tenantsim.run(QUICKSTART, {"instance.initail": 3})
    msg = str(e.value)
    assert "instance.initail" in msg
    assert "initial" in msg  # what is allowed / did you mean
    assert isinstance(e.value, ValueError)


def test_a_bad_override_value_names_the_key():
    with pytest.raises(tenantsim.TenantsimError, match="instance.initial"):
        tenantsim.run(QUICKSTART, {"instance.initial": "many"})


def test_toml_text_runs_and_its_errors_give_line_and_key():
    text = QUICKSTART.read_text()
    a = tenantsim.run(text, SHORT, replications=2)
    b = tenantsim.run(QUICKSTART, SHORT, replications=2)
    assert a.summary["metrics"] == b.summary["metrics"]
    bad = text.replace('timeout = "5s"', 'timeout = "5 parsecs"', 1)
    with pytest.raises(tenantsim.TenantsimError) as e:
        tenantsim.run(bad)
    msg = str(e.value)
    line = next(i for i, l in enumerate(bad.splitlines(), 1) if "parsecs" in l)
    assert f"<string>.toml:{line}:" in msg, msg
    assert "timeout" in msg


def test_a_missing_file_is_a_tenantsim_error():
    with pytest.raises(tenantsim.TenantsimError, match="no-such.toml"):
        tenantsim.run("scenarios/no-such.toml")


def test_same_seed_same_summary_other_seed_other_summary():
    def strip(s):  # the two wall-clock fields differ by design
        return {k: v for k, v in s.items() if k != "engine"}

    a = tenantsim.run(QUICKSTART, SHORT, replications=2, seed=11)
    b = tenantsim.run(QUICKSTART, SHORT, replications=2, seed=11, threads=1)
    c = tenantsim.run(QUICKSTART, SHORT, replications=2, seed=12)
    assert strip(a.summary) == strip(b.summary)
    assert a.timeseries.equals(b.timeseries)
    assert strip(a.summary) != strip(c.summary)


def test_sweep_frame_has_one_row_per_point_with_parameter_and_metric_columns():
    s = tenantsim.sweep(POOL, {"pool.size": "3..5:1", "instance.initial": [1, 2]}, SHORT, replications=2)
    assert s.points.shape[0] == 6
    assert s.points["point"].to_list() == list(range(6))
    assert s.points["pool.size"].to_list() == [3, 3, 4, 4, 5, 5]
    assert s.points["instance.initial"].to_list() == [1, 2, 1, 2, 1, 2]
    assert {"replications", "slo_passed", "slo_passed_ci", "latency_p99_s_mean", "latency_p99_s_ci_low"} <= set(
        s.points.columns)
    assert len(s.summaries) == 6
    # The last point (the biggest pool, two instances) completes requests.
    assert s.points["latency_p99_s_mean"][5] == s.summaries[5]["metrics"]["latency_p99_s"]["mean"]
    assert s.tiers["point"].unique().sort().to_list() == list(range(6))
    assert s.results is s.points


def test_a_sweep_point_equals_the_run_of_its_values():
    s = tenantsim.sweep(POOL, {"pool.size": [4]}, SHORT, replications=2)
    r = tenantsim.run(POOL, {**SHORT, "pool.size": 4}, replications=2)
    assert s.summaries[0]["metrics"] == r.summary["metrics"]


def test_a_bad_sweep_spec_is_a_tenantsim_error():
    with pytest.raises(tenantsim.TenantsimError, match="pool.size"):
        tenantsim.sweep(POOL, {"pool.size": "6..2:x"})


def test_compare_pairs_replications_and_finds_the_bigger_pool_faster():
    c = tenantsim.compare(POOL, overrides={"pool.size": 6}, both=SHORT, replications=3)
    assert c.comparison["common_random_numbers"] is True
    p99 = c.metrics.filter(pl.col("metric") == "latency_p99_s").row(0, named=True)
    assert p99["difference"] < 0 and p99["significant"]
    assert c.significant.height >= 1


def test_compare_needs_b():
    with pytest.raises(tenantsim.TenantsimError, match="describe B"):
        tenantsim.compare(POOL)


def test_plan_finds_a_setting_that_passes():
    p = tenantsim.plan(POOL, {"pool.size": "3..6:1"}, SHORT, replications=2, max_replications=4)
    assert p.chosen is None or set(p.chosen) == {"pool.size"}
    assert p.plan["simulations"] > 0


def test_progress_is_called_with_done_and_total_and_ends_at_total():
    calls = []
    tenantsim.run(QUICKSTART, {**SHORT, "simulation.duration": "20m"}, replications=4, threads=1,
                  progress=lambda done, total: calls.append((done, total)))
    assert calls, "the callback was never called"
    assert all(t == 1000 for _, t in calls)
    assert calls[-1] == (1000, 1000)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    points = []
    tenantsim.sweep(POOL, {"pool.size": [3, 4]}, SHORT, replications=2, progress=lambda d, t: points.append((d, t)))
    assert points[-1] == (2, 2)


# A sweep that runs for minutes unless stopped: 40 points of an hour each.
LONG = ({"pool.size": "2..41:1"}, {"simulation.duration": "60m"})


def long_enough(seconds=8.0):
    """LONG's overrides with a simulated duration long enough that the 40
    points at 5 replications would take at least `seconds` of wall time here
    (a fast machine ran the hour-long points in under 0.5 s, before the
    interrupt the test sends)."""
    began = time.monotonic()
    tenantsim.sweep(POOL, {"pool.size": [2]}, LONG[1], replications=5)
    per_point = max(time.monotonic() - began, 1e-3)
    scale = max(1, math.ceil(seconds / (40 * per_point)))
    return LONG[0], {"simulation.duration": f"{60 * scale}m"}


def test_an_exception_in_the_progress_callback_stops_a_long_sweep():
    def stop(done, total):
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        tenantsim.sweep(POOL, LONG[0], LONG[1], replications=5, progress=stop)
    assert time.monotonic() - start < 3.0


def test_ctrl_c_stops_a_long_run_within_a_second():
    # SIGINT as Ctrl-C delivers it to the main thread, 0.5 s into the run.
    axes, overrides = long_enough()
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            tenantsim.sweep(POOL, axes, overrides, replications=5)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 0.5 + 1.0


def test_the_gil_is_released_while_simulating():
    # A run long enough to measure: double the simulated time until one run
    # takes at least 0.4 s of wall time (fast machines finish 60 min in
    # well under that, and a fixed tick count would then test nothing).
    minutes = 60
    while True:
        began = time.monotonic()
        tenantsim.run(QUICKSTART, {"simulation.duration": f"{minutes}m"}, replications=2, threads=1)
        if time.monotonic() - began >= 0.4 or minutes >= 60 * 64:
            break
        minutes *= 2

    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.05)
        began = time.monotonic()
        tenantsim.run(QUICKSTART, {"simulation.duration": f"{minutes}m"}, replications=2, threads=1)
        ended = time.monotonic()
    finally:
        stop.set()
        t.join()
    # A thread holding no GIL keeps ticking during the run: ticks fall inside
    # it, and no gap between them spans half of it. With the GIL held for the
    # whole simulation there would be no tick inside the run at all.
    inside = [x for x in ticks if began < x < ended]
    assert len(inside) >= 3, (len(inside), ended - began)
    edges = [began] + inside + [ended]
    gap = max(b - a for a, b in zip(edges, edges[1:]))
    assert gap < (ended - began) / 2, (gap, ended - began)


def test_validate_quick_rows():
    pytest.importorskip("polars")
    # One case is enough to see the shape; the whole table is `tenantsim validate`'s test.
    seen = []
    with pytest.raises(KeyboardInterrupt):
        def once(done, total):
            seen.append((done, total))
            if done >= 1:
                raise KeyboardInterrupt
        tenantsim.validate(quick=True, progress=once)
    assert seen and seen[0][1] > 1


def test_fit_gives_a_scenario_that_runs():
    toml = tenantsim.fit(ROOT / "scenarios/examples/access-log.csv",
                         tier_map=ROOT / "scenarios/examples/access-log-tenants.csv")
    assert "[[workload]]" in toml
    r = tenantsim.run(toml, {"simulation.duration": "2m", "simulation.warmup": "10s"}, replications=2)
    assert r.summary["metrics"]["throughput_rps"]["mean"] > 0


def test_fit_needs_an_input():
    with pytest.raises(tenantsim.TenantsimError, match="nothing to fit"):
        tenantsim.fit()
