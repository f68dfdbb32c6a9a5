//! Load shedding (admission control): refuse a request at the instance the
//! balancer picked when that instance is overloaded, lowest tier priority
//! first, so that what is admitted is served in time.
//!
//! The overload signal is one of: the instance's queue length (requests
//! waiting for a worker); its queueing delay, CoDel-style, per priority
//! level (the smallest wait of the level's requests that got a worker during
//! the last `interval`: above `target` means a standing queue, not a burst;
//! a level with an empty queue is never overloaded; per level because the
//! instance queue serves higher levels first, so their short waits would
//! hide a lower level's standing queue); or its CPU utilization over the
//! last `window`. A request of priority level ℓ (0 = highest, of `levels`) is shed when the signal
//! reaches `limit × (1 + k × priority_step)`, where k = levels − 1 − ℓ is
//! the number of levels below it: the lowest level is shed at the limit,
//! each level above it only at a higher multiple.
//!
//! Invariants: a request is shed before it takes a queue slot or a worker,
//! so shedding never interrupts admitted work; an instance's meter is
//! allocated when it starts and updated in place (nothing allocates per
//! request).

use tenantsim_engine::SimTime;

/// What overload is measured by, with its limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShedSignal {
    /// Requests waiting for a worker at the picked instance.
    QueueLength { limit: u32 },
    /// CoDel: minimum queueing delay over each `interval` against `target`.
    QueueDelay { target: SimTime, interval: SimTime },
    /// Busy cores / cores over the last `window`.
    Cpu { limit: f64, window: SimTime },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShedPolicy {
    pub signal: ShedSignal,
    /// Extra multiple of the limit per priority level above the lowest.
    pub priority_step: f64,
}

impl ShedPolicy {
    /// The limit in the signal's unit (requests, seconds, ratio).
    pub fn limit(&self) -> f64 {
        match self.signal {
            ShedSignal::QueueLength { limit } => limit as f64,
            ShedSignal::QueueDelay { target, .. } => target.as_secs_f64(),
            ShedSignal::Cpu { limit, .. } => limit,
        }
    }

    /// The signal value at which level `level` (0 highest of `levels`) is shed.
    pub fn threshold(&self, level: u8, levels: usize) -> f64 {
        let below = levels.saturating_sub(1 + level as usize) as f64;
        self.limit() * (1.0 + below * self.priority_step)
    }

    /// Whether a request of `level` is shed when the signal is `value`.
    #[inline]
    pub fn sheds(&self, value: f64, level: u8, levels: usize) -> bool {
        value >= self.threshold(level, levels)
    }
}

/// CoDel state of one priority level: the current interval's end, the
/// smallest wait seen in it (if any), and the previous interval's minimum.
#[derive(Clone, Copy, Debug)]
struct Codel {
    iv_end: SimTime,
    min_wait: Option<SimTime>,
    last_min: SimTime,
}

impl Codel {
    fn roll(&mut self, now: SimTime, interval: SimTime) {
        if now >= self.iv_end {
            if let Some(m) = self.min_wait.take() {
                self.last_min = m;
            }
            self.iv_end = now + interval;
        }
    }
}

/// One instance's overload meter (allocated when the instance starts).
#[derive(Clone, Debug)]
pub struct ShedMeter {
    /// Per priority level.
    codel: Vec<Codel>,
    // CPU: busy core-seconds and time at the window's start, and the last
    // complete window's utilization.
    mark_time: SimTime,
    mark_busy: f64,
    util: f64,
}

impl ShedMeter {
    pub fn new(now: SimTime, levels: usize) -> Self {
        let c = Codel {
            iv_end: now,
            min_wait: None,
            last_min: SimTime::ZERO,
        };
        ShedMeter {
            codel: vec![c; levels.max(1)],
            mark_time: now,
            mark_busy: 0.0,
            util: 0.0,
        }
    }

    /// A request of priority `level` got a worker at `now` after `wait`.
    #[inline]
    pub fn dequeued(&mut self, now: SimTime, level: u8, wait: SimTime, interval: SimTime) {
        let n = self.codel.len() - 1;
        let c = &mut self.codel[(level as usize).min(n)];
        c.roll(now, interval);
        c.min_wait = Some(c.min_wait.map_or(wait, |m| m.min(wait)));
    }

    /// CoDel signal of `level` in seconds: the last interval's smallest
    /// wait while `queued` (the level's waiting requests) is not zero.
    #[inline]
    pub fn delay(&mut self, now: SimTime, level: u8, queued: usize, interval: SimTime) -> f64 {
        if queued == 0 {
            return 0.0;
        }
        let n = self.codel.len() - 1;
        let c = &mut self.codel[(level as usize).min(n)];
        c.roll(now, interval);
        c.last_min.as_secs_f64()
    }

    /// CPU signal: utilization over the last complete `window`, given the
    /// instance's busy core-seconds since it started.
    #[inline]
    pub fn cpu(&mut self, now: SimTime, busy_total: f64, cores: u32, window: SimTime) -> f64 {
        let dt = now.saturating_sub(self.mark_time);
        if dt >= window && dt > SimTime::ZERO {
            self.util = (busy_total - self.mark_busy) / (cores as f64 * dt.as_secs_f64());
            self.mark_time = now;
            self.mark_busy = busy_total;
        }
        self.util
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> SimTime {
        SimTime::from_nanos(x * 1_000_000)
    }

    #[test]
    fn lower_priority_levels_are_shed_first() {
        let p = ShedPolicy {
            signal: ShedSignal::QueueLength { limit: 10 },
            priority_step: 1.0,
        };
        // Three levels: 0 (highest) at 30, 1 at 20, 2 (lowest) at 10.
        assert_eq!(p.threshold(2, 3), 10.0);
        assert_eq!(p.threshold(1, 3), 20.0);
        assert_eq!(p.threshold(0, 3), 30.0);
        assert!(p.sheds(10.0, 2, 3) && !p.sheds(9.0, 2, 3));
        assert!(!p.sheds(25.0, 0, 3) && p.sheds(25.0, 1, 3));
        // One level: the limit itself; step 0: no priority distinction.
        assert_eq!(p.threshold(0, 1), 10.0);
        let flat = ShedPolicy {
            priority_step: 0.0,
            ..p
        };
        assert_eq!(flat.threshold(0, 3), 10.0);
    }

    #[test]
    fn codel_reacts_to_a_standing_queue_not_to_a_burst() {
        let iv = ms(100);
        let mut m = ShedMeter::new(SimTime::ZERO, 2);
        // A burst: some requests wait 50 ms but one in the interval did not.
        m.dequeued(ms(10), 1, ms(50), iv);
        m.dequeued(ms(20), 1, SimTime::ZERO, iv);
        m.dequeued(ms(90), 1, ms(50), iv);
        assert_eq!(m.delay(ms(150), 1, 3, iv), 0.0, "min of the interval was 0");
        // A standing queue: every request waited at least 30 ms.
        m.dequeued(ms(160), 1, ms(30), iv);
        m.dequeued(ms(200), 1, ms(40), iv);
        // Level 0's short waits do not hide level 1's standing queue.
        m.dequeued(ms(210), 0, SimTime::ZERO, iv);
        assert!((m.delay(ms(260), 1, 5, iv) - 0.030).abs() < 1e-12);
        assert_eq!(m.delay(ms(260), 0, 5, iv), 0.0);
        // An empty queue is never overloaded.
        assert_eq!(m.delay(ms(270), 1, 0, iv), 0.0);
    }

    #[test]
    fn cpu_signal_is_the_last_complete_window() {
        let mut m = ShedMeter::new(SimTime::ZERO, 1);
        let w = SimTime::from_secs(1);
        // Not a full window yet: nothing measured.
        assert_eq!(m.cpu(ms(500), 0.5, 2, w), 0.0);
        // 1.5 busy core-seconds over 1 s on 2 cores.
        assert!((m.cpu(ms(1000), 1.5, 2, w) - 0.75).abs() < 1e-12);
        // Held until the next window completes.
        assert!((m.cpu(ms(1500), 2.5, 2, w) - 0.75).abs() < 1e-12);
        assert!((m.cpu(ms(2000), 3.5, 2, w) - 1.0).abs() < 1e-12);
    }
}
