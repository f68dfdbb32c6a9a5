//! The discrete-event engine (crate `tenantsim-engine`, the bottom layer):
//! simulated time, the event queue, the scheduler, the random-number
//! streams and distributions, and the output statistics ([`stats`]).
//!
//! The engine knows nothing of tenants, pools or caches. It owns three
//! contracts that everything above relies on:
//!
//! * **Time** is an integer count of nanoseconds ([`SimTime`]); no float ever
//!   decides the order of two events.
//! * **Order**: events are delivered by increasing time, and events scheduled
//!   for the same instant in the order they were scheduled (a sequence
//!   number breaks ties). A run is therefore a pure function of its inputs.
//! * **Randomness** comes from independent streams ([`RngStreams`]) derived
//!   from (seed, replication, purpose, index), so that drawing more numbers
//!   for one purpose never shifts another purpose's numbers.
//!
//! The scheduler is generic over the message type `M`, which a model defines
//! as a small `Copy` enum; actors are dispatched by matching on it, never by
//! boxing messages, and the queue reuses its storage, so the hot loop does not
//! allocate per event once the queue has reached its working size.

pub mod dist;
pub mod hash;
mod queue;
mod rng;
pub mod stats;
mod time;
pub mod zipf;

pub use dist::Dist;
pub use queue::{EventQueue, Timer};
pub use rng::{RngStreams, SimRng, StreamId};
pub use time::SimTime;

/// A model: the set of actors and the wiring between them. The engine calls
/// [`Model::handle`] once per delivered event.
pub trait Model {
    /// The message type carried by events.
    type Msg: Copy;
    /// React to `msg`, delivered at `sched.now()`.
    fn handle(&mut self, sched: &mut Scheduler<Self::Msg>, msg: Self::Msg);
}

/// The clock and the pending events of one simulation run.
pub struct Scheduler<M> {
    now: SimTime,
    queue: EventQueue<M>,
    delivered: u64,
    stopped: bool,
    /// Stop once this many events were delivered (a runaway-run guard).
    event_limit: u64,
}

impl<M: Copy> Default for Scheduler<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Copy> Scheduler<M> {
    pub fn new() -> Self {
        Scheduler {
            now: SimTime::ZERO,
            queue: EventQueue::with_capacity(1024),
            delivered: 0,
            stopped: false,
            event_limit: u64::MAX,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedule `msg` for delivery at `at` (never earlier than now).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, msg: M) {
        debug_assert!(at >= self.now, "event scheduled in the past");
        self.queue.push(at.max(self.now), msg);
    }

    /// Schedule `msg` for delivery `delay` nanoseconds from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimTime, msg: M) {
        self.queue.push(self.now + delay, msg);
    }

    /// Schedule `msg` for delivery `delay` from now, like
    /// [`Scheduler::schedule_in`] (same delivery order), for delays that
    /// many events share, such as timeouts: events with one delay wait in a
    /// FIFO lane of their own instead of deepening the heap. Meant for a
    /// few distinct delays (a lane each); others simply cost a heap push.
    /// The [`Timer`] lets [`Scheduler::cancel`] drop the event if it is no
    /// longer wanted (a timeout of a request that finished).
    #[inline]
    pub fn schedule_in_fixed(&mut self, delay: SimTime, msg: M) -> Timer {
        self.queue.push_after(self.now, delay, msg)
    }

    /// Drop the event of `timer`, if the queue still can: it is then never
    /// delivered. An event already delivered, or one the queue can no
    /// longer drop (see [`EventQueue::cancel`]), is left alone, so the
    /// model must still tolerate it arriving. Cancelling changes nothing
    /// else: the other events keep their order.
    #[inline]
    pub fn cancel(&mut self, timer: Timer) {
        self.queue.cancel(timer);
    }

    /// Number of events delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Number of events waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// End the run now: `run_until` returns after the current event and
    /// delivers nothing more; the clock stays at the stopping time.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Stop the run once `n` events have been delivered.
    pub fn set_event_limit(&mut self, n: u64) {
        self.event_limit = n;
    }

    /// Whether the run stopped at its event limit.
    pub fn event_limit_reached(&self) -> bool {
        self.stopped && self.delivered >= self.event_limit
    }

    /// Whether the model ended the run ([`Scheduler::stop`]).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Deliver events to `model` until the next one would be later than
    /// `until` (events at exactly `until` are delivered). The clock is left
    /// at `until`, unless the model stopped the run.
    pub fn run_until<Mo: Model<Msg = M>>(&mut self, model: &mut Mo, until: SimTime) {
        if self.stopped {
            return;
        }
        while let Some(t) = self.queue.peek_time() {
            if t > until {
                break;
            }
            // The queue is non-empty: peek_time returned Some.
            if self.delivered >= self.event_limit {
                self.stopped = true;
                return;
            }
            let (t, msg) = self.queue.pop().expect("peeked event vanished");
            self.now = t;
            self.delivered += 1;
            model.handle(self, msg);
            if self.stopped {
                return;
            }
        }
        self.now = self.now.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder {
        seen: Vec<(u64, u32)>,
    }
    impl Model for Recorder {
        type Msg = u32;
        fn handle(&mut self, s: &mut Scheduler<u32>, msg: u32) {
            self.seen.push((s.now().as_nanos(), msg));
            if msg == 1 {
                // Same-instant events scheduled from a handler come after
                // those already queued for that instant.
                s.schedule_in(SimTime::ZERO, 10);
            }
        }
    }

    #[test]
    fn delivers_by_time_then_scheduling_order() {
        let mut s = Scheduler::new();
        s.schedule_at(SimTime::from_nanos(5), 3);
        s.schedule_at(SimTime::from_nanos(1), 1);
        s.schedule_at(SimTime::from_nanos(1), 2);
        s.schedule_at(SimTime::from_nanos(9), 4);
        let mut m = Recorder { seen: vec![] };
        s.run_until(&mut m, SimTime::from_nanos(5));
        assert_eq!(m.seen, vec![(1, 1), (1, 2), (1, 10), (5, 3)]);
        assert_eq!(s.now(), SimTime::from_nanos(5));
        assert_eq!(s.pending(), 1);
        assert_eq!(s.delivered(), 4);
    }

    struct Stopper;
    impl Model for Stopper {
        type Msg = u32;
        fn handle(&mut self, s: &mut Scheduler<u32>, msg: u32) {
            if msg == 2 {
                s.stop();
            }
        }
    }

    #[test]
    fn a_stopped_run_delivers_nothing_more_and_keeps_its_clock() {
        let mut s = Scheduler::new();
        for (t, m) in [(1, 1), (2, 2), (2, 3), (4, 4)] {
            s.schedule_at(SimTime::from_nanos(t), m);
        }
        s.run_until(&mut Stopper, SimTime::from_nanos(10));
        assert!(s.stopped());
        assert_eq!(s.delivered(), 2);
        assert_eq!(s.now(), SimTime::from_nanos(2));
        s.run_until(&mut Stopper, SimTime::from_nanos(20));
        assert_eq!((s.delivered(), s.now()), (2, SimTime::from_nanos(2)));
    }
}
