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

/// Events scheduled `delay` ahead, behind the one of them in the heap.
struct Lane<M> {
    delay: u64,
    rest: VecDeque<Entry<M>>,
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
        self.heap.len() + self.lanes.iter().map(|l| l.rest.len()).sum::<usize>()
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
    #[inline]
    pub fn push_after(&mut self, now: SimTime, delay: SimTime, msg: M) {
        let (at, delay) = (now.as_nanos() + delay.as_nanos(), delay.as_nanos());
        let lane = match self.lanes.iter().position(|l| l.delay == delay) {
            Some(i) => i,
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push(Lane {
                    delay,
                    rest: VecDeque::new(),
                    head_in_heap: false,
                    last: 0,
                });
                self.lanes.len() - 1
            }
            None => return self.push(SimTime::from_nanos(at), msg),
        };
        let l = &self.lanes[lane];
        if l.head_in_heap && at < l.last {
            return self.push(SimTime::from_nanos(at), msg);
        }
        let key = self.next_key(lane as u64 + 1);
        let e = Entry { time: at, key, msg };
        let l = &mut self.lanes[lane];
        l.last = at;
        if l.head_in_heap {
            l.rest.push_back(e);
        } else {
            l.head_in_heap = true;
            self.heap_push(e);
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
                let next = l.rest.pop_front();
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
