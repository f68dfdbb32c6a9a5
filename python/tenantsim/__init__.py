"""tenantsim from Python: simulate multi-tenant SaaS capacity, get polars frames.

Each function mirrors the command line command of the same name
(``tenantsim run``, ``sweep``, ``compare``, ``plan``, ``validate``,
``fit``) and calls the same Rust library, so the same scenario, overrides
and seed give the same summary as ``summary.json`` from the CLI. Nothing
is written to disk.

A scenario is a path (``str`` or ``os.PathLike``) to a ``.toml`` file, or
the TOML text itself (a ``str`` holding a newline, or an ``=`` and naming no
existing file). Text resolves includes relative to the current folder and
its errors say ``<string>.toml:LINE:COL``.

``overrides`` is a dict ``{"key.path": value}`` with the meaning of the
CLI's ``--set key.path=value`` (lists indexed from 0, e.g.
``"workload.0.tenants"``); a bad key raises :class:`TenantsimError` naming
it and what is allowed, exactly as the CLI does.

The simulation runs with the GIL released on all cores (``threads=`` or
``jobs=`` to limit; results do not depend on it). Ctrl-C stops it within
about a second (``KeyboardInterrupt``), and so does an exception raised by
the optional ``progress(done, total)`` callback.

Example::

    >>> import tenantsim
    >>> r = tenantsim.run("scenarios/examples/quickstart.toml",
    ...                   overrides={"instance.initial": 3}, replications=3, seed=7)
    >>> r.summary["metrics"]["latency_p95_s"]["mean"]   # doctest: +SKIP
    0.0874...
    >>> r.timeseries.columns[:3]
    ['replication', 'time_s', 'rps']
    >>> r.tiers.columns
    ['tier', 'metric', 'mean', 'ci_low', 'ci_high', 'std']
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import polars as pl

from . import _native
from ._native import TenantsimError

__all__ = [
    "TenantsimError",
    "RunResult",
    "SweepResult",
    "CompareResult",
    "PlanResult",
    "run",
    "sweep",
    "compare",
    "plan",
    "validate",
    "fit",
]
__version__: str = _native.__version__

Scenario = Union[str, "os.PathLike[str]"]
Progress = Callable[[int, int], Any]
Value = Union[str, int, float, bool]


def _scenario(scenario: Scenario) -> tuple[str | None, str | None]:
    """(path, text): which of the two a scenario argument is."""
    if isinstance(scenario, os.PathLike):
        return os.fspath(scenario), None
    if not isinstance(scenario, str):
        raise TypeError(f"scenario: expected a path or TOML text, got {type(scenario).__name__}")
    if "\n" in scenario or ("=" in scenario and not os.path.exists(scenario)):
        return None, scenario
    return scenario, None


def _value(key: str, v: Value) -> str:
    """A Python value as the text after ``--set key=``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise TypeError(f"overrides[{key!r}]: expected a str, int, float or bool, got {type(v).__name__}")


def _sets(overrides: Mapping[str, Value] | None) -> list[str]:
    return [f"{k}={_value(k, v)}" for k, v in (overrides or {}).items()]


def _specs(params: Mapping[str, Any], what: str) -> list[str]:
    """``{"pool.size": "2..6:1"}`` or ``{"pool.size": [2, 4, 6]}`` as ``KEY=SPEC``."""
    out = []
    for k, spec in params.items():
        if isinstance(spec, (list, tuple, range)):
            spec = ",".join(_value(k, v) for v in spec)
        elif not isinstance(spec, str):
            spec = _value(k, spec)
        out.append(f"{k}={spec}")
    if not out:
        raise TenantsimError(f"{what}: give at least one parameter, e.g. {{'pool.size': '2..6:1'}}")
    return out


def _parquet(data: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data))


def _estimates(by_metric: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{metric: {mean, ci95, std}}`` as rows."""
    rows = []
    for metric, e in by_metric.items():
        if not isinstance(e, Mapping) or "mean" not in e:
            continue
        ci = e.get("ci95") or [None, None]
        rows.append({"metric": metric, "mean": e["mean"], "ci_low": ci[0], "ci_high": ci[1], "std": e.get("std")})
    return rows


_ESTIMATE_SCHEMA = {"metric": pl.String, "mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                    "std": pl.Float64}


def _tier_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"tier": tier, **row} for tier, ms in summary.get("tiers", {}).items() for row in _estimates(ms)]


class RunResult:
    """The result of :func:`run`.

    Attributes:
        summary: the content of ``summary.json`` (metrics with ``mean``,
            ``ci95`` and ``std``; ``tiers``; ``slo``; warnings; ...).
        timeseries: one row per replication and sample interval, the columns
            of ``timeseries.parquet``.
    """

    def __init__(self, summary_json: str, timeseries: bytes) -> None:
        self.summary: dict[str, Any] = json.loads(summary_json)
        self.timeseries: pl.DataFrame = _parquet(timeseries)

    @property
    def metrics(self) -> pl.DataFrame:
        """Overall metrics, long: ``metric, mean, ci_low, ci_high, std`` (95 % CI)."""
        return pl.DataFrame(_estimates(self.summary["metrics"]), schema=_ESTIMATE_SCHEMA)

    @property
    def tiers(self) -> pl.DataFrame:
        """Per-tier metrics, long: ``tier, metric, mean, ci_low, ci_high, std``.

        >>> r.tiers.filter(pl.col("metric") == "latency_p99_s")   # doctest: +SKIP
        """
        return pl.DataFrame(_tier_rows(self.summary), schema={"tier": pl.String, **_ESTIMATE_SCHEMA})

    @property
    def slo_passed(self) -> bool:
        """Every ``[slo]`` check held (True without SLOs), as the CLI's exit code says."""
        return bool(self.summary["slo"]["passed"])

    def __repr__(self) -> str:
        s = self.summary
        return (f"RunResult(scenario={s['scenario']!r}, seed={s['seed']}, replications={s['replications']}, "
                f"timeseries={self.timeseries.shape}, slo_passed={self.slo_passed})")


class SweepResult:
    """The result of :func:`sweep`.

    Attributes:
        points: one row per point, in point order: ``point``, the parameter
            columns, ``replications``, ``slo_passed``, ``slo_passed_ci``,
            ``events``, then ``<metric>_mean``, ``_ci_low``, ``_ci_high`` —
            the table of ``results.parquet``. ``results`` is the same frame.
        summaries: each point's full summary (as in ``points/p*.json``).
        manifest: what identifies the sweep (``sweep.json``).
    """

    def __init__(self, manifest_json: str, point_jsons: Sequence[str], results: bytes) -> None:
        self.manifest: dict[str, Any] = json.loads(manifest_json)
        records = [json.loads(p) for p in point_jsons]
        self.values: list[list[str]] = [r["values"] for r in records]
        self.summaries: list[dict[str, Any]] = [r["summary"] for r in records]
        self.points: pl.DataFrame = _parquet(results)
        self.results: pl.DataFrame = self.points

    @property
    def tiers(self) -> pl.DataFrame:
        """Per-tier metrics of every point, long: ``point, tier, metric, mean, ci_low, ci_high, std``."""
        rows = [{"point": int(p), **row}
                for p, s in zip(self.points["point"], self.summaries) for row in _tier_rows(s)]
        return pl.DataFrame(rows, schema={"point": pl.UInt64, "tier": pl.String, **_ESTIMATE_SCHEMA})

    def __repr__(self) -> str:
        return f"SweepResult(params={self.manifest['params']}, points={self.points.shape})"


class CompareResult:
    """The result of :func:`compare`.

    Attributes:
        comparison: the content of ``comparison.json`` (each metric's A, B,
            B − A with its paired-t 95 % CI, per-replication differences).
        metrics: one row per metric: ``metric, a, b, difference, ci_low,
            ci_high, relative, significant, ci_low_unpaired,
            ci_high_unpaired`` (``comparison.csv``).
    """

    def __init__(self, comparison_json: str, csv: str) -> None:
        self.comparison: dict[str, Any] = json.loads(comparison_json)
        self.metrics: pl.DataFrame = pl.read_csv(io.StringIO(csv), infer_schema_length=None)

    @property
    def significant(self) -> pl.DataFrame:
        """The metrics whose paired 95 % CI of B − A excludes zero."""
        return self.metrics.filter(pl.col("significant"))

    def __repr__(self) -> str:
        c = self.comparison
        return f"CompareResult(a={c['a']!r}, b={c['b']!r}, significant={self.significant.height})"


class PlanResult:
    """The result of :func:`plan` (the content of ``plan.json``).

    Attributes:
        plan: the whole document; ``chosen`` is ``{parameter: value}`` of the
            cheapest setting that meets every SLO with 95 % confidence, or
            None when none does.
    """

    def __init__(self, plan_json: str) -> None:
        self.plan: dict[str, Any] = json.loads(plan_json)
        self.chosen: dict[str, Any] | None = self.plan["chosen"]

    def __repr__(self) -> str:
        return f"PlanResult(chosen={self.chosen!r}, simulations={self.plan['simulations']})"


def run(scenario: Scenario, overrides: Mapping[str, Value] | None = None, *, seed: int | None = None,
        replications: int | None = None, max_events: int | None = None, precision: float | None = None,
        precision_metrics: Sequence[str] = (), max_replications: int = 100, threads: int | None = None,
        progress: Progress | None = None) -> RunResult:
    """Simulate a scenario (``tenantsim run``).

    Args:
        scenario: a path to a ``.toml`` file, or the TOML text.
        overrides: ``{"key.path": value}``, as ``--set key.path=value``.
        seed, replications, max_events: as ``--seed``, ``--replications``,
            ``--max-events``.
        precision, precision_metrics, max_replications: add replications
            until each metric's 95 % CI half-width is at most ``precision``
            of its mean (``--precision``).
        threads: worker threads (default: all cores).
        progress: called as ``progress(done, total)`` in per-mille of the
            run (total 1000), on the calling thread.

    Raises:
        TenantsimError: bad input; the message names the file, line, key
            and what is allowed.
        KeyboardInterrupt: Ctrl-C (the run stops within about a second).

    Example::

        >>> r = tenantsim.run("scenarios/examples/quickstart.toml", {"workload.0.tenants": 600}, seed=3)
        >>> r.timeseries.group_by("time_s").agg(pl.col("latency_p95_s").mean()).sort("time_s")  # doctest: +SKIP
    """
    path, text = _scenario(scenario)
    out = _native.run(path, text, _sets(overrides), seed, replications, max_events, precision,
                      list(precision_metrics), max_replications, threads, progress)
    return RunResult(*out)


def sweep(scenario: Scenario, params: Mapping[str, Any], overrides: Mapping[str, Value] | None = None, *,
          lhs: int | None = None, seed: int | None = None, replications: int | None = None,
          max_events: int | None = None, precision: float | None = None, precision_metrics: Sequence[str] = (),
          max_replications: int = 100, jobs: int | None = None, progress: Progress | None = None) -> SweepResult:
    """Run a scenario over a grid (or Latin hypercube) of values (``tenantsim sweep``).

    Args:
        params: ``{"key.path": spec}``, a spec as ``--param``: a range with
            a step ``"2..10:2"`` (both ends included), a list ``"1,2,4"`` or
            a Python list ``[1, 2, 4]``, or with ``lhs`` a continuous range
            ``"0.5..0.9"``.
        lhs: a Latin hypercube sample of this many points instead of the grid.
        progress: called as ``progress(done, total)`` in points.

    Every point uses the same seed (common random numbers across points).
    Other arguments as :func:`run`.

    Example::

        >>> s = tenantsim.sweep("scenarios/examples/pool-exhaustion.toml",
        ...                     {"pool.size": "2..6:1"}, replications=3)
        >>> s.points.select("pool.size", "latency_p99_s_mean")  # doctest: +SKIP
    """
    path, text = _scenario(scenario)
    out = _native.sweep(path, text, _specs(params, "params"), _sets(overrides), lhs, seed, replications,
                        max_events, precision, list(precision_metrics), max_replications, jobs, progress)
    return SweepResult(*out)


def compare(a: Scenario, b: Scenario | None = None, overrides: Mapping[str, Value] | None = None, *,
            both: Mapping[str, Value] | None = None, seed: int | None = None, replications: int | None = None,
            independent: bool = False, threads: int | None = None,
            progress: Progress | None = None) -> CompareResult:
    """Compare two configurations on common random numbers (``tenantsim compare``).

    With one scenario, ``overrides`` describe B (A is the scenario as
    written); with two, they apply to both. ``both`` always applies to both
    (``--set-both``). Replication r of B meets the same arrivals and service
    demands as replication r of A, so B − A gets a paired-t CI far narrower
    than independent runs would give (``independent=True`` to see it).

    Example::

        >>> c = tenantsim.compare("scenarios/examples/pool-exhaustion.toml", overrides={"pool.size": 4})
        >>> c.significant.select("metric", "difference", "ci_low", "ci_high")  # doctest: +SKIP
    """
    a_path, a_text = _scenario(a)
    b_path, b_text = _scenario(b) if b is not None else (None, None)
    out = _native.compare(a_path, a_text, b_path, b_text, _sets(overrides), _sets(both), seed, replications,
                          independent, threads, progress)
    return CompareResult(*out)


def plan(scenario: Scenario, vary: Mapping[str, Any], overrides: Mapping[str, Value] | None = None, *,
         minimize: str = "cost", capacity: Sequence[str] = (), replications: int = 3, max_replications: int = 24,
         exhaustive: bool = False, seed: int | None = None, jobs: int | None = None,
         progress: Progress | None = None) -> PlanResult:
    """The cheapest setting of ``vary`` that meets the scenario's SLOs with 95 % confidence (``tenantsim plan``).

    Example::

        >>> p = tenantsim.plan("scenarios/examples/pool-exhaustion.toml",
        ...                    {"pool.size": "2..10:1", "instance.initial": "1..4:1"})
        >>> p.chosen  # doctest: +SKIP
        {'pool.size': 5, 'instance.initial': 2}
    """
    path, text = _scenario(scenario)
    out = _native.plan(path, text, _specs(vary, "vary"), _sets(overrides), minimize, list(capacity), replications,
                       max_replications, exhaustive, seed, jobs, progress)
    return PlanResult(out)


def validate(quick: bool = False, *, threads: int | None = None, progress: Progress | None = None) -> pl.DataFrame:
    """Compare the simulator with queueing theory (``tenantsim validate``).

    Returns one row per check: ``case, quantity, metric, expected,
    simulated, ci95, tolerance, passed``. ``quick`` runs a fifth of each
    duration (limits widen by √5). Progress counts cases.

    Example::

        >>> v = tenantsim.validate(quick=True)
        >>> v["passed"].all()  # doctest: +SKIP
        True
    """
    return pl.DataFrame(json.loads(_native.validate(quick, threads, progress)))


def fit(log: str | os.PathLike[str] | None = None, *, prometheus: str | os.PathLike[str] | None = None,
        tier_map: str | os.PathLike[str] | None = None, name: str | None = None, max_endpoints: int = 12,
        cores: int = 2) -> str:
    """A scenario (TOML text) fitted to an access log and/or a Prometheus export file (``tenantsim fit``).

    The result runs as it is: ``tenantsim.run(tenantsim.fit("access.csv"))``.

    Example::

        >>> toml = tenantsim.fit("scenarios/examples/access-log.csv",
        ...                      tier_map="scenarios/examples/access-log-tenants.csv")
        >>> r = tenantsim.run(toml, replications=2)  # doctest: +SKIP
    """
    p = lambda x: os.fspath(x) if x is not None else None  # noqa: E731
    return _native.fit(p(log), p(prometheus), p(tier_map), name, max_endpoints, cores)
