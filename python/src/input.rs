//! A scenario as Python hands it over: a file, or TOML text. Text resolves
//! includes and trace files relative to the current folder, and errors name
//! it `<string>.toml` with the line and column inside the text.

use std::path::{Path, PathBuf};
use tenantsim::scenario::{self, source::Sources, Overrides, Scenario, ScenarioError};

/// The name TOML text goes by in messages and manifests.
const TEXT_NAME: &str = "<string>.toml";

pub enum Input {
    File(PathBuf),
    Text(String),
}

impl Input {
    /// Exactly one of `path` and `text` (the Python wrapper decides which).
    pub fn new(path: Option<PathBuf>, text: Option<String>) -> pyo3::PyResult<Input> {
        match (path, text) {
            (Some(p), None) => Ok(Input::File(p)),
            (None, Some(t)) => Ok(Input::Text(t)),
            _ => Err(crate::input_error(
                "give a scenario: a path to a .toml file or the TOML text".into(),
            )),
        }
    }

    /// The file, or the name TOML text goes by.
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) => p,
            Input::Text(_) => Path::new(TEXT_NAME),
        }
    }

    /// The scenario's files, read and merged, before overrides.
    pub fn sources(&self) -> Result<Sources, ScenarioError> {
        match self {
            Input::File(p) => scenario::source::load(p),
            Input::Text(t) => scenario::source::load_str(Path::new(TEXT_NAME), t),
        }
    }

    /// The scenario with `sets` applied and validated (what
    /// `scenario::load` does for a file).
    pub fn load_with(&self, sets: &[String]) -> Result<Scenario, ScenarioError> {
        scenario::from_sources(self.sources()?, sets)
    }

    /// [`Input::load_with`] the overrides of a command line, an error
    /// naming the flag (`--seed`, `--replications`, ...) a value came from.
    pub fn load(&self, ov: &Overrides) -> Result<Scenario, ScenarioError> {
        self.load_with(&ov.sets).map_err(|e| ov.name_flag(e))
    }
}
