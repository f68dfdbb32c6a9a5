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
    #[inline]
    fn before(&self, o: &Self) -> bool {
        (self.time, self.seq) < (o.time, o.seq)
    }
}

/// A min-heap of timestamped messages.
pub struct EventQueue<M> {
    heap: Vec<Entry<M>>,
    seq: u64,
}

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
        self.heap.push(Entry {
            time: at.as_nanos(),
            seq,
            msg,
        });
        self.sift_up(self.heap.len() - 1);
    }

    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime::from_nanos(e.time))
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, M)> {
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = std::mem::replace(&mut self.heap[0], last);
            self.sift_down(0);
            top
        };
        Some((SimTime::from_nanos(top.time), top.msg))
    }

    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let h = &mut self.heap;
        while i > 0 {
            let p = (i - 1) / 2;
            if h[i].before(&h[p]) {
                h.swap(i, p);
                i = p;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let h = &mut self.heap;
        let n = h.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && h[r].before(&h[l]) { r } else { l };
            if h[c].before(&h[i]) {
                h.swap(i, c);
                i = c;
            } else {
                break;
            }
        }
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
