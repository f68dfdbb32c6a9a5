//! The pending-event set: a 4-ary min-heap ordered by (time, sequence),
//! plus FIFO lanes for events scheduled a fixed delay ahead (timeouts).
//!
//! Invariant: `pop` returns events in non-decreasing time, and events with
//! equal time in the order they were pushed, whichever way they were
//! pushed. Storage is reused, so pushes allocate only while the heap or a
//! lane grows beyond its largest size so far.
//!
//! Lanes: a model schedules many events at `now + d` for a few constant
//! `d` (a client timeout of 30 s per request, a query timeout per query).
//! Most of them are stale by the time they are due, yet in the heap they
//! made it deep (tens of thousands of entries) and every push and pop paid
//! for that depth. Events with the same delay arrive in time order, so
//! [`EventQueue::push_after`] appends them to that delay's lane (a FIFO,
//! O(1)) and only each lane's head sits in the heap. When a head is popped
//! the lane's next event takes its place. Every event keeps its global
//! sequence number, so the delivery order is exactly the one a single heap
//! would give.
//!
//! Cancelling: most timeouts are stale by the time they are due (the
//! request finished long before). [`EventQueue::push_after`] returns a
//! [`Timer`]; [`EventQueue::cancel`] marks that event, while it still
//! waits behind its lane's head, so it is dropped when it reaches the head
//! instead of being delivered. Cancelling never changes the order of the
//! events that are delivered; a lane's head (already in the heap) and an
//! event that went to the heap are delivered anyway (the model must still
//! recognise a stale timeout).

use super::SimTime;
use std::collections::VecDeque;

/// Low bits of an entry's key: 0 for a heap event, `k + 1` for the head of
/// lane `k`. The high bits are the sequence number, so ordering by key is
/// ordering by sequence.
const TAG_BITS: u32 = 8;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
/// Most lanes (distinct delays); further delays use the heap.
const MAX_LANES: usize = TAG_MASK as usize;

struct Entry<M> {
    time: u64,
    /// `seq << TAG_BITS | tag`: scheduling order (the tie-breaker between
    /// equal times) and where the entry came from.
    key: u64,
    msg: M,
}

impl<M> Entry<M> {
    #[inline(always)]
    fn before(&self, o: &Self) -> bool {
        self.time < o.time || (self.time == o.time && self.key < o.key)
    }
}

/// A handle on an event pushed with [`EventQueue::push_after`], for
/// [`EventQueue::cancel`]: its lane (high byte, + 1) and its position in
/// the lane's history (low 56 bits). [`Timer::NONE`] cancels nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timer(u64);

impl Timer {
    pub const NONE: Timer = Timer(0);
    const POS_BITS: u32 = 56;
    const POS_MASK: u64 = (1 << Self::POS_BITS) - 1;
}

/// Events scheduled `delay` ahead, behind the one of them in the heap.
struct Lane<M> {
    delay: u64,
    /// Events behind the head. A cancelled one has tag 0 in its key (a
    /// lane event never does otherwise) and is dropped when it comes to
    /// the front.
    rest: VecDeque<Entry<M>>,
    /// Position in the lane's history of `rest[0]` (every event pushed to
    /// the lane takes the next position).
    front: u64,
    /// Cancelled events in `rest`.
    cancelled: usize,
    /// Whether the lane's head is in the heap.
    head_in_heap: bool,
    /// Time of the lane's newest event.
    last: u64,
}

/// A 4-ary min-heap of timestamped messages: half the depth of a binary
/// heap, and the four children of a node share a cache line or two.
/// Sifting moves a hole instead of swapping entries.
pub struct EventQueue<M> {
    heap: Vec<Entry<M>>,
    seq: u64,
    lanes: Vec<Lane<M>>,
}

const D: usize = 4;

impl<M: Copy> EventQueue<M> {
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(n),
            seq: 0,
            lanes: Vec::new(),
        }
    }

    /// Events waiting, lanes included.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|l| l.rest.len() - l.cancelled).sum::<usize>()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        // A lane holds events only while its head is in the heap.
        self.heap.is_empty()
    }

    #[inline]
    fn next_key(&mut self, tag: u64) -> u64 {
        let key = (self.seq << TAG_BITS) | tag;
        self.seq += 1;
        key
    }

    #[inline]
    pub fn push(&mut self, at: SimTime, msg: M) {
        let key = self.next_key(0);
        self.heap_push(Entry {
            time: at.as_nanos(),
            key,
            msg,
        });
    }

    /// Push `msg` for `now + delay`, through the FIFO lane of `delay`.
    /// The same as [`EventQueue::push`] for the delivery order; cheaper
    /// when many events share a delay. `now` must not decrease from call to
    /// call (the scheduler's clock); if it did, the event goes to the heap.
    /// The returned [`Timer`] may cancel it ([`Timer::NONE`] if it went to
    /// the heap).
    #[inline]
    pub fn push_after(&mut self, now: SimTime, delay: SimTime, msg: M) -> Timer {
        let (at, delay) = (now.as_nanos() + delay.as_nanos(), delay.as_nanos());
        let lane = match self.lanes.iter().position(|l| l.delay == delay) {
            Some(i) => i,
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push(Lane {
                    delay,
                    rest: VecDeque::new(),
                    front: 0,
                    cancelled: 0,
                    head_in_heap: false,
                    last: 0,
                });
                self.lanes.len() - 1
            }
            None => {
                self.push(SimTime::from_nanos(at), msg);
                return Timer::NONE;
            }
        };
        let l = &self.lanes[lane];
        if l.head_in_heap && at < l.last {
            self.push(SimTime::from_nanos(at), msg);
            return Timer::NONE;
        }
        let key = self.next_key(lane as u64 + 1);
        let e = Entry { time: at, key, msg };
        let l = &mut self.lanes[lane];
        l.last = at;
        let pos = if l.head_in_heap {
            l.rest.push_back(e);
            l.front + l.rest.len() as u64 - 1
        } else {
            // The head goes to the heap; `rest` is empty and the head
            // takes the position just before its front.
            l.head_in_heap = true;
            l.front += 1;
            self.heap_push(e);
            self.lanes[lane].front - 1
        };
        Timer(((lane as u64 + 1) << Timer::POS_BITS) | (pos & Timer::POS_MASK))
    }

    /// Drop the event of `timer` if it still waits behind its lane's head;
    /// otherwise (delivered, already cancelled, at the head, or
    /// [`Timer::NONE`]) do nothing. Returns whether it was dropped.
    #[inline]
    pub fn cancel(&mut self, timer: Timer) -> bool {
        let lane = (timer.0 >> Timer::POS_BITS) as usize;
        if lane == 0 {
            return false;
        }
        let pos = timer.0 & Timer::POS_MASK;
        let Some(l) = self.lanes.get_mut(lane - 1) else {
            return false;
        };
        let Some(i) = pos.checked_sub(l.front) else {
            return false;
        };
        match l.rest.get_mut(i as usize) {
            Some(e) if e.key & TAG_MASK != 0 => {
                e.key &= !TAG_MASK;
                l.cancelled += 1;
                true
            }
            _ => false,
        }
    }

    #[inline]
    fn heap_push(&mut self, e: Entry<M>) {
        let h = &mut self.heap;
        let mut i = h.len();
        h.push(e);
        // Move parents down until the new entry's place is found.
        while i > 0 {
            let p = (i - 1) / D;
            if e.before(&h[p]) {
                h[i] = h[p];
                i = p;
            } else {
                break;
            }
        }
        h[i] = e;
    }

    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime::from_nanos(e.time))
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, M)> {
        let top = *self.heap.first()?;
        let tag = (top.key & TAG_MASK) as usize;
        // The entry that fills the root: the lane's next event if the top
        // was a lane head with more behind it, else the heap's last entry.
        let fill = match tag {
            0 => None,
            t => {
                let l = &mut self.lanes[t - 1];
                // The next event not cancelled becomes the lane's head.
                let mut next = l.rest.pop_front();
                l.front += next.is_some() as u64;
                while next.is_some_and(|e| e.key & TAG_MASK == 0) {
                    l.cancelled -= 1;
                    next = l.rest.pop_front();
                    l.front += next.is_some() as u64;
                }
                l.head_in_heap = next.is_some();
                next
            }
        };
        let fill = match fill {
            Some(e) => e,
            None => {
                let last = self.heap.pop().expect("heap is non-empty");
                if self.heap.is_empty() {
                    return Some((SimTime::from_nanos(top.time), top.msg));
                }
                last
            }
        };
        self.sift_down(fill);
        Some((SimTime::from_nanos(top.time), top.msg))
    }

    /// Put `e` at the root's place and sift it down.
    #[inline]
    fn sift_down(&mut self, e: Entry<M>) {
        let h = &mut self.heap;
        let n = h.len();
        let mut i = 0;
        loop {
            let first = D * i + 1;
            if first >= n {
                break;
            }
            let end = (first + D).min(n);
            let mut c = first;
            for j in first + 1..end {
                if h[j].before(&h[c]) {
                    c = j;
                }
            }
            if h[c].before(&e) {
                h[i] = h[c];
                i = c;
            } else {
                break;
            }
        }
        h[i] = e;
    }
}

impl<M: Copy> Clone for Entry<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: Copy> Copy for Entry<M> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pops_sorted_by_time_then_insertion(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::with_capacity(4);
            for (i, t) in times.iter().enumerate() {
                q.push(SimTime::from_nanos(*t), i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let mut got = vec![];
            while let Some((t, i)) = q.pop() {
                got.push((t.as_nanos(), i));
            }
            prop_assert_eq!(got, expected);
        }

        /// Lanes change nothing in the order: a run that pushes some events
        /// with `push_after` (a few delays) and pops as it goes, clock
        /// following the pops, delivers what a plain heap delivers.
        #[test]
        fn lanes_deliver_in_heap_order(
            ops in proptest::collection::vec((0u8..4, 0u64..40, any::<bool>()), 0..300)
        ) {
            let delays = [0u64, 7, 30];
            let mut q = EventQueue::with_capacity(4);
            let mut plain = EventQueue::with_capacity(4);
            let mut now = 0u64;
            let (mut got, mut want) = (vec![], vec![]);
            for (i, (kind, t, pop)) in ops.iter().enumerate() {
                if *kind < 3 {
                    let d = delays[*kind as usize];
                    q.push_after(SimTime::from_nanos(now), SimTime::from_nanos(d), i);
                    plain.push(SimTime::from_nanos(now + d), i);
                } else {
                    q.push(SimTime::from_nanos(now + t), i);
                    plain.push(SimTime::from_nanos(now + t), i);
                }
                prop_assert_eq!(q.len(), plain.len());
                if *pop {
                    let (a, b) = (q.pop(), plain.pop());
                    prop_assert_eq!(a.map(|(t, m)| (t.as_nanos(), m)), b.map(|(t, m)| (t.as_nanos(), m)));
                    if let Some((t, m)) = a {
                        now = t.as_nanos();
                        got.push(m);
                        want.push(m);
                    }
                }
            }
            while let Some((t, m)) = q.pop() {
                got.push(m);
                let (t2, m2) = plain.pop().expect("same length");
                prop_assert_eq!((t.as_nanos(), m), (t2.as_nanos(), m2));
                want.push(m2);
            }
            prop_assert!(plain.pop().is_none());
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        /// Cancelling drops exactly the events `cancel` said it dropped and
        /// changes nothing in the order of the others; an event already
        /// delivered or at its lane's head is not dropped.
        #[test]
        fn cancelled_events_vanish_and_the_rest_keep_heap_order(
            ops in proptest::collection::vec((0u8..5, 0u64..40, any::<bool>(), any::<prop::sample::Index>()), 0..300)
        ) {
            let delays = [7u64, 30];
            let mut q = EventQueue::with_capacity(4);
            let mut plain = EventQueue::with_capacity(4);
            let mut timers: Vec<(Timer, usize)> = vec![];
            let mut dropped = std::collections::HashSet::new();
            let mut delivered = std::collections::HashSet::new();
            let mut now = 0u64;
            for (i, (kind, t, pop, pick)) in ops.iter().enumerate() {
                match kind {
                    0 | 1 => {
                        let d = delays[*kind as usize];
                        timers.push((q.push_after(SimTime::from_nanos(now), SimTime::from_nanos(d), i), i));
                        plain.push(SimTime::from_nanos(now + d), i);
                    }
                    2 | 3 if !timers.is_empty() => {
                        let (timer, id) = timers[pick.index(timers.len())];
                        if q.cancel(timer) {
                            prop_assert!(!delivered.contains(&id), "dropped a delivered event");
                            prop_assert!(dropped.insert(id), "dropped twice");
                        }
                    }
                    _ => {
                        q.push(SimTime::from_nanos(now + t), i);
                        plain.push(SimTime::from_nanos(now + t), i);
                    }
                }
                if *pop {
                    let a = q.pop();
                    let b = loop {
                        match plain.pop() {
                            Some((_, m)) if dropped.contains(&m) => continue,
                            other => break other,
                        }
                    };
                    prop_assert_eq!(a.map(|(t, m)| (t.as_nanos(), m)), b.map(|(t, m)| (t.as_nanos(), m)));
                    if let Some((t, m)) = a {
                        now = t.as_nanos();
                        delivered.insert(m);
                    }
                }
            }
            while let Some((t, m)) = q.pop() {
                prop_assert!(!dropped.contains(&m));
                let (t2, m2) = loop {
                    match plain.pop() {
                        Some((_, m)) if dropped.contains(&m) => continue,
                        Some(x) => break x,
                        None => panic!("the plain queue ran out first"),
                    }
                };
                prop_assert_eq!((t.as_nanos(), m), (t2.as_nanos(), m2));
            }
            prop_assert!(plain.is_empty() || std::iter::from_fn(|| plain.pop()).all(|(_, m)| dropped.contains(&m)));
        }
    }

    #[test]
    fn a_cancelled_timer_is_not_delivered_but_the_lane_head_is() {
        let mut q = EventQueue::with_capacity(4);
        let d = SimTime::from_nanos(10);
        let a = q.push_after(SimTime::ZERO, d, 'a');
        let b = q.push_after(SimTime::from_nanos(1), d, 'b');
        let c = q.push_after(SimTime::from_nanos(2), d, 'c');
        assert!(!q.cancel(a), "the head is in the heap: delivered anyway");
        assert!(q.cancel(b));
        assert!(!q.cancel(b), "already cancelled");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|(t, m)| (t.as_nanos(), m)), Some((10, 'a')));
        assert_eq!(q.pop().map(|(t, m)| (t.as_nanos(), m)), Some((12, 'c')));
        assert!(!q.cancel(c), "delivered");
        assert!(q.pop().is_none());
        assert!(q.is_empty());
        assert!(!q.cancel(Timer::NONE));
        // The lane keeps working after emptying through a cancelled event.
        let e = q.push_after(SimTime::from_nanos(20), d, 'e');
        let f = q.push_after(SimTime::from_nanos(21), d, 'f');
        assert!(q.cancel(f));
        assert!(!q.cancel(e));
        assert_eq!(q.pop().map(|(t, m)| (t.as_nanos(), m)), Some((30, 'e')));
        assert!(q.pop().is_none());
    }

    #[test]
    fn a_decreasing_clock_falls_back_to_the_heap() {
        let mut q = EventQueue::with_capacity(4);
        q.push_after(SimTime::from_nanos(10), SimTime::from_nanos(5), 'a');
        q.push_after(SimTime::from_nanos(2), SimTime::from_nanos(5), 'b');
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|(t, m)| (t.as_nanos(), m)), Some((7, 'b')));
        assert_eq!(q.pop().map(|(t, m)| (t.as_nanos(), m)), Some((15, 'a')));
        assert!(q.pop().is_none());
    }
}
