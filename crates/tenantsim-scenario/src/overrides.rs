//! The overrides a command line (or a `tenantsim serve` request) stands
//! for: `--set KEY=VALUE` assignments, and the flags that set a scenario key
//! (`--seed`, `--replications`, `--max-events`, compare's `--set-both`) as
//! the assignments they stand for, in the order they apply (later ones
//! win). It remembers which flag each assignment came from, so an error
//! about one of those values names the flag the user typed.

use super::{Scenario, ScenarioError};

/// The overrides a command line stands for: the `--set` assignments, then
/// the flags that set a scenario key (`--seed`, `--replications`,
/// `--max-events`) as the assignments they stand for. An error about one of
/// those keys names the flag the user typed, not the `--set` it became.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// The assignments, in the order they apply (later ones win).
    pub sets: Vec<String>,
    /// (assignment, flag as typed) for the assignments a flag stands for.
    flags: Vec<(String, String)>,
}

impl Overrides {
    pub fn new(set: &[String], seed: Option<u64>, replications: Option<u32>) -> Overrides {
        let mut o = Overrides {
            sets: set.to_vec(),
            flags: Vec::new(),
        };
        if let Some(s) = seed {
            o.flag("--seed", "simulation.seed", s.to_string());
        }
        if let Some(r) = replications {
            o.flag("--replications", "simulation.replications", r.to_string());
        }
        o
    }

    /// Add `--max-events N` as the override it stands for.
    pub fn max_events(mut self, n: Option<u64>) -> Overrides {
        if let Some(n) = n {
            self.flag("--max-events", "simulation.max_events", n.to_string());
        }
        self
    }

    /// Add an assignment given with a flag other than `--set` (e.g.
    /// `--set-both KEY=VALUE`), so errors name that flag.
    pub fn push(&mut self, flag: &str, assignment: &str) {
        self.sets.push(assignment.to_string());
        self.flags
            .push((assignment.to_string(), format!("{flag} {assignment}")));
    }

    fn flag(&mut self, flag: &str, key: &str, value: String) {
        let assignment = format!("{key}={value}");
        self.sets.push(assignment.clone());
        self.flags.push((assignment, format!("{flag} {value}")));
    }

    /// Name the flag the user typed in an error about one of its values.
    pub fn name_flag(&self, mut e: ScenarioError) -> ScenarioError {
        if let Some(f) = &e.flag {
            if let Some((_, typed)) = self
                .flags
                .iter()
                .find(|(a, _)| f.strip_prefix("--set ") == Some(a.as_str()))
            {
                e.flag = Some(typed.as_str().into());
            }
        }
        e
    }

    /// Load `path` with these overrides.
    pub fn load(&self, path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        crate::load(path, &self.sets).map_err(|e| self.name_flag(e))
    }
}

/// The `--set` assignments with `--seed` and `--replications` added as the
/// overrides they stand for.
pub fn overrides(set: &[String], seed: Option<u64>, replications: Option<u32>) -> Vec<String> {
    Overrides::new(set, seed, replications).sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_flag_an_override_came_from() {
        let ov = Overrides::new(&["instance.cores=4".into()], Some(7), Some(0)).max_events(Some(9));
        assert_eq!(
            ov.sets,
            [
                "instance.cores=4",
                "simulation.seed=7",
                "simulation.replications=0",
                "simulation.max_events=9"
            ]
        );
        let mut e = ScenarioError::new("must be between 1 and 10000");
        e.flag = Some("--set simulation.replications=0".into());
        assert_eq!(
            ov.name_flag(e).to_string(),
            "--replications 0: must be between 1 and 10000"
        );
        let mut e = ScenarioError::new("bad");
        e.flag = Some("--set instance.cores=4".into());
        assert_eq!(ov.name_flag(e).to_string(), "--set instance.cores=4: bad");
    }
}
