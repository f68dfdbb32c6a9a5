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
//! * **Progress**: simulated time must move. A run whose clock stays at
//!   one instant from one stall checkpoint to the next
//!   ([`DEFAULT_STALL_LIMIT`] events apart, checked with the event limit's
//!   one compare, so the hot loop pays nothing for it) is stopped as
//!   stalled ([`Scheduler::stall`]), and the [`Stall`] names the senders
//!   of the events still arriving at that instant ([`Model::sender`]), so
//!   a zero-delay loop ends in an error instead of a run that never ends.
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
    /// The component that sent `msg`, in the user's words ("closed-workload
    /// users"): named by a [`Stall`]. The default names none.
    fn sender(&self, _msg: &Self::Msg) -> &'static str {
        "(unnamed)"
    }
}

/// Events from one stall checkpoint to the next: a run whose clock did not
/// move over that many events counts as stalled.
/// Far above any real burst at one instant (every tenant, user and
/// instance of a large scenario acting at once is well under a million
/// events), and reached within seconds by a loop that never lets time move.
pub const DEFAULT_STALL_LIMIT: u64 = 10_000_000;

/// Events delivered after a stall is detected, to name who keeps sending.
const STALL_SAMPLE: u64 = 1000;

/// A run stopped because simulated time stopped moving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    /// The instant the clock stayed at.
    pub at: SimTime,
    /// Events delivered in a row at that instant, counted from the last
    /// checkpoint (the stall limit; the sample that names the senders
    /// comes after).
    pub events: u64,
    /// Senders of the events delivered at that instant once the stall was
    /// seen ([`Model::sender`]), with how many of a sample each sent, most
    /// first (ties by name).
    pub senders: Vec<(&'static str, u64)>,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: u64 = self.senders.iter().map(|s| s.1).sum();
        let who: Vec<String> = self
            .senders
            .iter()
            .map(|(n, c)| format!("{n} ({c} of {total})"))
            .collect();
        write!(
            f,
            "simulated time stopped at {} s: {} events in a row were delivered at that instant, sent by {}; a loop of zero delays (or delays that round to 0 ns) never lets the clock move",
            self.at.as_secs_f64(),
            self.events,
            who.join(", ")
        )
    }
}

/// The clock and the pending events of one simulation run.
pub struct Scheduler<M> {
    now: SimTime,
    queue: EventQueue<M>,
    delivered: u64,
    stopped: bool,
    /// Stop once this many events were delivered (a runaway-run guard).
    event_limit: u64,
    /// Stall checkpoints: at `mark_delivered` events the next event was
    /// due at `mark_time`. Time never goes back, so if the event due at
    /// the next checkpoint is still at `mark_time`, every event in between
    /// was at that instant.
    mark_time: SimTime,
    mark_delivered: u64,
    /// Events between checkpoints.
    stall_limit: u64,
    /// The next checkpoint or the event limit, whichever is first: the one
    /// compare the hot loop makes for both guards.
    next_check: u64,
    sampling: Option<StallSample>,
    stall: Option<Stall>,
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
            mark_time: SimTime::ZERO,
            mark_delivered: 0,
            stall_limit: DEFAULT_STALL_LIMIT,
            next_check: DEFAULT_STALL_LIMIT,
            sampling: None,
            stall: None,
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
        self.finish_stall();
    }

    /// Stop the run once `n` events have been delivered.
    pub fn set_event_limit(&mut self, n: u64) {
        self.event_limit = n;
        self.plan_check();
    }

    /// The hot loop's one compare: the next stall checkpoint or the event
    /// limit, whichever comes first.
    fn plan_check(&mut self) {
        self.next_check = self
            .event_limit
            .min(self.mark_delivered.saturating_add(self.stall_limit));
    }

    /// Whether the run stopped at its event limit.
    pub fn event_limit_reached(&self) -> bool {
        self.stopped && self.delivered >= self.event_limit
    }

    /// Count a run as stalled when `n` events in a row, from one stall
    /// checkpoint to the next, were at one instant (default
    /// [`DEFAULT_STALL_LIMIT`]; at least 1). Checkpoints are `n` events
    /// apart, so a burst of fewer than `n` events at one instant is never
    /// a stall, and a loop that never moves the clock is caught within
    /// `2n` events.
    pub fn set_stall_limit(&mut self, n: u64) {
        self.stall_limit = n.max(1);
        self.plan_check();
    }

    /// Why the run stopped, if it stopped because time did not move.
    pub fn stall(&self) -> Option<&Stall> {
        self.stall.as_ref()
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
            if self.delivered >= self.next_check && !self.checkpoint(model, t) {
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
        if self.sampling.is_some() {
            // The sample ran out of events: the stall stands.
            self.finish_stall();
            return;
        }
        self.now = self.now.max(until);
    }

    /// The slow path of the hot loop's one compare, before delivering the
    /// event due at `t`: the event limit, a stall checkpoint, or one more
    /// event of a stall's sample. Returns whether to deliver it. Delivery
    /// itself stays in [`Scheduler::run_until`] (one call site, so the
    /// queue's pop and the model's handler stay inlined there).
    #[cold]
    #[inline(never)]
    fn checkpoint<Mo: Model<Msg = M>>(&mut self, model: &Mo, t: SimTime) -> bool {
        let limit = self.delivered >= self.event_limit;
        if let Some(sample) = &mut self.sampling {
            let done = limit || self.stopped || t != self.mark_time || sample.sampled >= STALL_SAMPLE;
            if done {
                self.finish_stall();
                return false;
            }
        } else if limit {
            self.stopped = true;
            return false;
        } else if t == self.mark_time {
            // Time never goes back: every event since the last checkpoint
            // was at this instant. Name the senders of the next ones.
            self.sampling = Some(StallSample {
                events: self.delivered - self.mark_delivered,
                sampled: 0,
                senders: Vec::new(),
            });
        } else {
            self.mark_time = t;
            self.mark_delivered = self.delivered;
            self.plan_check();
            return true;
        }
        let sample = self.sampling.as_mut().expect("sampling a stall");
        let name = self.queue.peek_msg().map(|m| model.sender(m)).unwrap_or("(none)");
        match sample.senders.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.1 += 1,
            None => sample.senders.push((name, 1)),
        }
        sample.sampled += 1;
        // Come back here before the next event.
        self.next_check = self.delivered + 1;
        true
    }
}

impl<M> Scheduler<M> {
    /// End a stall's sample: record the [`Stall`] and stop the run.
    #[cold]
    fn finish_stall(&mut self) {
        if let Some(mut sample) = self.sampling.take() {
            sample.senders.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            self.stall = Some(Stall {
                at: self.mark_time,
                events: sample.events,
                senders: sample.senders,
            });
            self.stopped = true;
        }
    }
}

/// A stall being sampled: the events that showed it, and the senders of
/// the events delivered since.
struct StallSample {
    events: u64,
    sampled: u64,
    senders: Vec<(&'static str, u64)>,
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

    /// Two actors that answer each other with zero delay, forever, after
    /// `warm` ticks that do move time.
    struct PingPong {
        warm: u32,
    }
    impl Model for PingPong {
        type Msg = u32;
        fn handle(&mut self, s: &mut Scheduler<u32>, msg: u32) {
            match msg {
                0 if self.warm > 0 => {
                    self.warm -= 1;
                    s.schedule_in(SimTime::from_nanos(7), 0);
                }
                0 => s.schedule_in(SimTime::ZERO, 1),
                _ => s.schedule_in(SimTime::ZERO, 0),
            }
        }
        fn sender(&self, msg: &u32) -> &'static str {
            if *msg == 0 {
                "ping"
            } else {
                "pong"
            }
        }
    }

    #[test]
    fn a_zero_delay_loop_stops_as_stalled_naming_its_senders() {
        let mut s = Scheduler::new();
        s.set_stall_limit(5000);
        s.schedule_at(SimTime::from_nanos(3), 0);
        let mut m = PingPong { warm: 10 };
        s.run_until(&mut m, SimTime::from_secs(1));
        let stall = s.stall().expect("the loop must be caught").clone();
        assert!(s.stopped());
        assert_eq!(stall.at, SimTime::from_nanos(73));
        assert_eq!(stall.senders, vec![("ping", 500), ("pong", 500)]);
        assert_eq!(stall.events, 5000);
        assert_eq!(s.now(), SimTime::from_nanos(73));
        let text = stall.to_string();
        assert!(text.contains("ping (500 of 1000), pong (500 of 1000)"), "{text}");
        // A stopped run stays stopped.
        s.run_until(&mut m, SimTime::from_secs(2));
        assert_eq!(s.now(), SimTime::from_nanos(73));
    }

    #[test]
    fn a_burst_below_the_stall_limit_is_delivered() {
        // 4999 events at one instant, then time moves on: not a stall.
        let mut s = Scheduler::new();
        s.set_stall_limit(5000);
        for _ in 0..4999 {
            s.schedule_at(SimTime::from_nanos(9), 2);
        }
        s.schedule_at(SimTime::from_nanos(10), 2);
        let mut m = Recorder { seen: vec![] };
        s.run_until(&mut m, SimTime::from_secs(1));
        assert!(s.stall().is_none());
        assert_eq!(m.seen.len(), 5000);
        assert_eq!(s.now(), SimTime::from_secs(1));
    }
}
