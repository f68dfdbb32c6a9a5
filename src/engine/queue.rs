//! The pending-event set: a binary min-heap ordered by (time, sequence).
//!
//! Invariant: `pop` returns events in non-decreasing time, and events with
//! equal time in the order they were pushed. Storage is reused, so pushes
//! allocate only while the heap grows beyond its largest size so far.

use super::SimTime;
use std::collections::BinaryHeap;

struct Entry<M> {
    time: u64,
    /// Scheduling order, the tie-breaker between equal times.
    seq: u64,
    msg: M,
}

// std's BinaryHeap is a max-heap: the "greatest" entry is the earliest.
impl<M> PartialEq for Entry<M> {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl<M> Eq for Entry<M> {}
impl<M> PartialOrd for Entry<M> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<M> Ord for Entry<M> {
    #[inline]
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// A min-heap of timestamped messages (std's binary heap, which moves a
/// hole instead of swapping entries).
pub struct EventQueue<M> {
    heap: BinaryHeap<Entry<M>>,
    seq: u64,
}

impl<M: Copy> EventQueue<M> {
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            seq: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    #[inline]
    pub fn push(&mut self, at: SimTime, msg: M) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry {
            time: at.as_nanos(),
            seq,
            msg,
        });
    }

    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime::from_nanos(e.time))
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, M)> {
        self.heap.pop().map(|e| (SimTime::from_nanos(e.time), e.msg))
    }
}

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
    }
}
