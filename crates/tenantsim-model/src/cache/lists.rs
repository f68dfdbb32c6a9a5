//! The intrusive doubly-linked lists a [`Cache`](super::Cache) threads its
//! entries on: the policy order (LRU recency, FIFO insertion, an LFU
//! bucket's recency) and the insertion order, by `u32` slab index.
//!
//! Invariant: an entry is on a list iff it is reachable from that list's
//! `Ends`; `NIL` ends a list in both directions, and `head` is the newest end.

/// "No entry / no bucket" in the `u32` links.
pub(super) const NIL: u32 = u32::MAX;

/// Links of an entry in one list.
#[derive(Clone, Copy, Debug)]
pub(super) struct Link {
    pub(super) prev: u32,
    pub(super) next: u32,
}

pub(super) const UNLINKED: Link = Link { prev: NIL, next: NIL };

/// The two lists an entry can be on, as indices into [`Entry::links`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Chain {
    /// The policy order: LRU recency, FIFO/None insertion order, or the
    /// recency order inside the entry's LFU bucket. A free slot's `next`
    /// links the free list.
    Policy = 0,
    /// Insertion order, kept only for LRU and LFU with a TTL (for FIFO and
    /// None the policy list already is insertion order).
    Age = 1,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub(super) key: u64,
    /// First instant (ns) at which the entry is expired; unused without TTL.
    pub(super) expires: u64,
    pub(super) links: [Link; 2],
    /// LFU: the frequency bucket holding the entry.
    pub(super) bucket: u32,
}

/// The ends of a list; `head` is the newest (most recent) end.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ends {
    pub(super) head: u32,
    pub(super) tail: u32,
}

impl Ends {
    pub(super) const EMPTY: Ends = Ends { head: NIL, tail: NIL };
}

/// An LFU frequency bucket: the entries used exactly `count` times, most
/// recent at the head. Buckets form a chain by increasing count; only
/// non-empty buckets are on it, so there are never more buckets than
/// entries.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bucket {
    pub(super) count: u64,
    pub(super) list: Ends,
    /// Neighbours in the chain (lower, higher count); `next` also links the
    /// bucket free list.
    pub(super) prev: u32,
    pub(super) next: u32,
}

#[inline]
pub(super) fn push_head(entries: &mut [Entry], ends: &mut Ends, chain: Chain, i: u32) {
    let c = chain as usize;
    let old = ends.head;
    entries[i as usize].links[c] = Link { prev: NIL, next: old };
    if old == NIL {
        ends.tail = i;
    } else {
        entries[old as usize].links[c].prev = i;
    }
    ends.head = i;
}

#[inline]
pub(super) fn unlink(entries: &mut [Entry], ends: &mut Ends, chain: Chain, i: u32) {
    let c = chain as usize;
    let Link { prev, next } = entries[i as usize].links[c];
    if prev == NIL {
        ends.head = next;
    } else {
        entries[prev as usize].links[c].next = next;
    }
    if next == NIL {
        ends.tail = prev;
    } else {
        entries[next as usize].links[c].prev = prev;
    }
}

#[inline]
pub(super) fn move_to_head(entries: &mut [Entry], ends: &mut Ends, chain: Chain, i: u32) {
    if ends.head != i {
        unlink(entries, ends, chain, i);
        push_head(entries, ends, chain, i);
    }
}
