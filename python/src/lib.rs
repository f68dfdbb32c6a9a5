//! The native half of the Python package `tenantsim` (the module
//! `tenantsim._native`, built by maturin from python/pyproject.toml). Each
//! function mirrors the CLI command of the same name — a scenario (a file
//! or TOML text), the `--set` overrides and the command's flags — and calls
//! the library (`tenantsim::runner`, `sweep`, `plan`, ...), never the
//! binary. It hands back plain data: JSON text (the same `summary.json`
//! the CLI writes) and frames as Parquet bytes, which `tenantsim/__init__.py`
//! turns into dicts and polars frames with the polars wheel.
//!
//! Why Parquet bytes and not pyo3-polars or the Arrow C data interface: the
//! root crate already builds polars with Parquet (for timeseries.parquet
//! and results.parquet), so this crate adds no polars feature and no
//! second Arrow stack — cargo compiles polars once for the tests and this
//! module alike — and the Python side needs only the polars wheel, of any
//! version that reads Parquet. The frames are small (one row per point or
//! time-series sample); copying them once costs microseconds.
//!
//! Invariants: the same inputs give the same summary as the CLI; every
//! error of the library becomes `TenantsimError` (a `ValueError`) carrying
//! the library's message (file:line:col, the key, what is allowed); the
//! simulation runs with the GIL released, and Ctrl-C or an exception from
//! the progress callback stops it ([`drive`]).

mod commands;
mod drive;
mod input;

use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    TenantsimError,
    pyo3::exceptions::PyValueError,
    "Bad input to tenantsim: a scenario error (naming file:line:col, the key and what is allowed), a bad override, parameter or option."
);

/// A `TenantsimError` with `msg`.
pub(crate) fn input_error(msg: String) -> PyErr {
    TenantsimError::new_err(msg)
}

/// A library error as the CLI would print it (the context chain on one line).
pub(crate) fn library_error(e: anyhow::Error) -> PyErr {
    TenantsimError::new_err(format!("{e:#}"))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("TenantsimError", m.py().get_type::<TenantsimError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(commands::run, m)?)?;
    m.add_function(wrap_pyfunction!(commands::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(commands::compare, m)?)?;
    m.add_function(wrap_pyfunction!(commands::plan, m)?)?;
    m.add_function(wrap_pyfunction!(commands::validate, m)?)?;
    m.add_function(wrap_pyfunction!(commands::fit, m)?)?;
    Ok(())
}
