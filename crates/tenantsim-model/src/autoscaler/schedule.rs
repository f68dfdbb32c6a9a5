//! `schedule`: fixed desired counts from given times on (a time list, like
//! scheduled scaling actions); before the first entry the count is kept.

use super::{Observation, Policy};
use tenantsim_engine::SimTime;

pub struct SchedulePolicy {
    /// (from time, desired count), sorted by time.
    pub entries: Vec<(SimTime, u32)>,
}

impl Policy for SchedulePolicy {
    fn desired(&mut self, o: &Observation) -> (u32, &'static str) {
        match self.entries.iter().rev().find(|(t, _)| *t <= o.now) {
            Some((_, n)) => (*n, "schedule"),
            None => (o.current, "schedule: before first entry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::obs;
    use super::*;

    #[test]
    fn follows_the_schedule() {
        let mut p = SchedulePolicy {
            entries: vec![(SimTime::from_secs(60), 5), (SimTime::from_secs(120), 2)],
        };
        assert_eq!(p.desired(&obs(0, 3, None)).0, 3);
        assert_eq!(p.desired(&obs(60, 3, None)).0, 5);
        assert_eq!(p.desired(&obs(119, 5, None)).0, 5);
        assert_eq!(p.desired(&obs(500, 5, None)).0, 2);
    }
}
