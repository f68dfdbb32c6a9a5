"""Type stubs of the Rust extension ``tenantsim._native`` (see python/src/)."""

from collections.abc import Callable
from typing import Any

__version__: str

class TenantsimError(ValueError):
    """Bad input: the message names the file, line, key and what is allowed."""

_Progress = Callable[[int, int], Any] | None

def run(path: str | None, text: str | None, sets: list[str], seed: int | None, replications: int | None,
        max_events: int | None, precision: float | None, precision_metrics: list[str], max_replications: int,
        threads: int | None, progress: _Progress) -> tuple[str, bytes]:
    """(summary.json text, timeseries.parquet bytes)."""

def sweep(path: str | None, text: str | None, params: list[str], sets: list[str], lhs: int | None,
          seed: int | None, replications: int | None, max_events: int | None, precision: float | None,
          precision_metrics: list[str], max_replications: int, jobs: int | None,
          progress: _Progress) -> tuple[str, list[str], bytes]:
    """(sweep.json text, each point's JSON text, results.parquet bytes)."""

def compare(a_path: str | None, a_text: str | None, b_path: str | None, b_text: str | None, sets: list[str],
            set_both: list[str], seed: int | None, replications: int | None, independent: bool,
            threads: int | None, progress: _Progress) -> tuple[str, str]:
    """(comparison.json text, comparison.csv text)."""

def plan(path: str | None, text: str | None, vary: list[str], sets: list[str], minimize: str, capacity: list[str],
         replications: int, max_replications: int, exhaustive: bool, seed: int | None, jobs: int | None,
         progress: _Progress) -> str:
    """plan.json text."""

def validate(quick: bool, threads: int | None, progress: _Progress) -> str:
    """The validation rows as JSON text."""

def fit(log: str | None, prometheus: str | None, tier_map: str | None, name: str | None, max_endpoints: int,
        cores: int) -> str:
    """The fitted scenario as TOML text."""
