//! The open-addressing hash table that maps a [`Cache`](super::Cache)'s keys
//! to slab indices: linear probing over a power-of-two number of slots,
//! kept at most half full, Fibonacci hashing of the key.
//!
//! Invariants: the table always has an empty slot (so probes terminate),
//! and deletion shifts later members of a probe run back instead of leaving
//! tombstones, so every key is reachable from its home slot.

use super::lists::NIL;

/// Smallest hash table (slots).
pub(super) const MIN_TABLE: usize = 8;
/// 2^64 / golden ratio: Fibonacci hashing multiplier.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// One hash-table slot: a key and its slab index (`NIL`: empty).
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) key: u64,
    pub(super) idx: u32,
}

pub(super) const EMPTY_SLOT: Slot = Slot { key: 0, idx: NIL };

/// Open addressing with linear probing over a power-of-two number of
/// slots, kept at most half full. Deletion shifts later members of the
/// probe run back (no tombstones), so lookups never slow down with churn.
#[derive(Clone, Debug)]
pub(super) struct Table {
    pub(super) slots: Vec<Slot>,
    pub(super) mask: usize,
    /// 64 - log2(slots): the hash's top bits index the table.
    pub(super) shift: u32,
}

impl Table {
    /// A table that holds `items` keys at load ≤ 1/2.
    pub(super) fn for_items(items: usize) -> Self {
        let n = items.saturating_mul(2).max(MIN_TABLE).next_power_of_two();
        Table {
            slots: vec![EMPTY_SLOT; n],
            mask: n - 1,
            shift: 64 - n.trailing_zeros(),
        }
    }

    /// Home slot: fold the high half in (tenant bits), multiply by the
    /// golden ratio, keep the top bits (Fibonacci hashing spreads runs of
    /// consecutive ids evenly).
    #[inline]
    pub(super) fn home(&self, key: u64) -> usize {
        ((key ^ (key >> 32)).wrapping_mul(GOLDEN) >> self.shift) as usize
    }

    /// Position and slab index of `key`. Terminates: the table always has
    /// an empty slot.
    #[inline]
    pub(super) fn find(&self, key: u64) -> Option<(usize, u32)> {
        let mut p = self.home(key);
        loop {
            let s = self.slots[p];
            if s.idx == NIL {
                return None;
            }
            if s.key == key {
                return Some((p, s.idx));
            }
            p = (p + 1) & self.mask;
        }
    }

    /// Add `key` (known to be absent).
    #[inline]
    pub(super) fn insert_new(&mut self, key: u64, idx: u32) {
        let mut p = self.home(key);
        while self.slots[p].idx != NIL {
            p = (p + 1) & self.mask;
        }
        self.slots[p] = Slot { key, idx };
    }

    /// Empty slot `hole`, moving back any later member of its probe run
    /// whose home lies at or before the hole.
    #[inline]
    pub(super) fn remove_at(&mut self, mut hole: usize) {
        let mask = self.mask;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.idx == NIL {
                break;
            }
            let home = self.home(s.key);
            // `s` may fill the hole iff the hole is on its probe path
            // home..=j (cyclically).
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY_SLOT;
    }

    pub(super) fn clear(&mut self) {
        self.slots.fill(EMPTY_SLOT);
    }

    /// Double the slots (unbounded caches only).
    pub(super) fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; n]);
        self.mask = n - 1;
        self.shift = 64 - n.trailing_zeros();
        for s in old.into_iter().filter(|s| s.idx != NIL) {
            self.insert_new(s.key, s.idx);
        }
    }
}
