//! The pending-event set: a binary min-heap ordered by (time, sequence).
//!
//! Invariant: `pop` returns events in non-decreasing time, and events with
//! equal time in the order they were pushed. Storage is reused, so pushes
//! allocate only while the heap grows beyond its largest size so far.

use super::SimTime;

struct Entry<M> {
    time: u64,
    /// Scheduling order, the tie-breaker between equal times.
    seq: u64,
    msg: M,
}

impl<M> Entry<M> {
    #[inline(always)]
    fn before(&self, o: &Self) -> bool {
        self.time < o.time || (self.time == o.time && self.seq < o.seq)
    }
}

/// A 4-ary min-heap of timestamped messages: half the depth of a binary
/// heap, and the four children of a node share a cache line or two.
/// Sifting moves a hole instead of swapping entries.
pub struct EventQueue<M> {
    heap: Vec<Entry<M>>,
    seq: u64,
}

const D: usize = 4;

impl<M: Copy> EventQueue<M> {
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(n),
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
        let e = Entry {
            time: at.as_nanos(),
            seq,
            msg,
        };
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
        let last = self.heap.pop()?;
        let h = &mut self.heap;
        let n = h.len();
        if n == 0 {
            return Some((SimTime::from_nanos(last.time), last.msg));
        }
        let top = h[0];
        // Sift the last entry down from the root.
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
            if h[c].before(&last) {
                h[i] = h[c];
                i = c;
            } else {
                break;
            }
        }
        h[i] = last;
        Some((SimTime::from_nanos(top.time), top.msg))
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
    }
}
