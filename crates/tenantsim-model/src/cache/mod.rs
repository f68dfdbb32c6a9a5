//! The key cache used for L1 (one per instance) and L2 (shared): which keys
//! are cached, when they expire, and which one goes when the cache is full.
//!
//! A [`Cache`] owns only membership and expiry: keys are `u64` (the model
//! packs tenant namespace and key id into one), there are no values, and
//! the caller decides what a hit or a miss costs. Four policies
//! ([`EvictionPolicy`]): LRU, FIFO, LFU, and `None` (TTL-only, unbounded).
//!
//! Invariants:
//!
//! * A bounded cache (LRU, FIFO, LFU) never holds more than `capacity`
//!   entries; with capacity 0 it never holds anything.
//! * A hit is never expired: an entry inserted at `t` with TTL `d` is a hit
//!   for lookups at `now < t + d` and a miss from `now >= t + d` on (its
//!   lifetime is the half-open interval `[t, t + d)`; a TTL of zero caches
//!   nothing useful). Hits do not extend the lifetime; only `insert` does.
//! * Expiry is lazy: an expired entry may linger, and counts in
//!   [`Cache::len`], until a lookup finds it, a later `insert` reclaims it,
//!   or it is evicted. Each `insert` first drops up to
//!   [`RECLAIM_PER_INSERT`] expired entries from the oldest-inserted end,
//!   and an expired entry is always preferred as a victim over a live one:
//!   with one TTL for all entries and non-decreasing `now` (simulated time),
//!   if any entry has expired the oldest-inserted one has, so a live entry
//!   is evicted only when all `capacity` entries are live. Hit/miss results
//!   are therefore exactly those of a cache that drops entries the instant
//!   they expire. (With `now` going backwards answers stay correct; only the
//!   expired-first preference becomes best-effort.)
//!
//! Complexity: `get`, `insert` and `invalidate` are O(1) expected, all
//! policies included (LFU keeps entries in frequency buckets, so a hit moves
//! an entry to the neighbouring bucket); `clear` is O(capacity).
//!
//! Memory and allocation: entries live in a slab (`Vec`) and are threaded
//! on intrusive doubly-linked lists by `u32` index; an open-addressing hash
//! table (linear probing, backward-shift deletion, load factor ≤ 1/2, a
//! multiply-xorshift hash of the key) maps keys to slab indices. Everything
//! is allocated to capacity in [`Cache::new`], and freed slots and LFU
//! buckets are reused through free lists, so a bounded cache of up to
//! [`PREALLOC_LIMIT`] items never allocates after construction. A larger
//! one (scenarios allow 10^9 items, which nobody wants reserved up front)
//! preallocates `PREALLOC_LIMIT` and grows by doubling while it fills,
//! never past its capacity, then stops allocating. An unbounded (`None`)
//! cache grows the same way without limit; `capacity` is its initial
//! sizing hint, and once it has reached its working size it no longer
//! allocates either. Growth is amortised O(1) per insert.
//!
//! Layout: this file holds [`Cache`] and its operations; `lists` the
//! intrusive lists, `table` the hash table, `tests` the tests.

use std::fmt;
use tenantsim_engine::SimTime;
mod lists;
mod table;
#[cfg(test)]
mod tests;

use lists::{move_to_head, push_head, unlink, Bucket, Chain, Ends, Entry, NIL, UNLINKED};
use table::{Table, MIN_TABLE};

/// Which entry a full cache gives up for a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// Least recently used: hits and inserts make an entry most recent.
    Lru,
    /// First in, first out: the oldest insertion goes; hits change nothing.
    Fifo,
    /// Least frequently used (in-cache counts, forgotten on eviction); among
    /// the least-used entries the least recently used goes (see [`Cache`]).
    Lfu,
    /// TTL only: no capacity limit, entries leave only by expiry,
    /// invalidation or `clear`.
    None,
}

/// Expired entries each [`Cache::insert`] drops from the oldest-inserted
/// end before inserting: more than one, so expired entries are reclaimed
/// faster than inserts add entries (this bounds an unbounded cache by its
/// live set), and a small constant, so `insert` stays O(1).
pub const RECLAIM_PER_INSERT: usize = 2;

/// Most items a cache reserves room for in [`Cache::new`] (about 40 MB of
/// entries and 32 MB of table); beyond this, storage grows as it fills.
pub const PREALLOC_LIMIT: usize = 1 << 20;

/// Most entries a cache can index with `u32` (every index is below `NIL`).
const MAX_ENTRIES: usize = NIL as usize;

/// Ask the CPU to start loading `x`'s cache line. A hint only: it
/// changes no result, and is a no-op off x86-64.
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and reads nothing the program sees;
    // `x` is a valid reference anyway.
    #[allow(unused_unsafe)]
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Make room for one more element in a full `v`: double, but never past
/// `limit` elements in all (a bounded cache's slab ends exactly at its
/// capacity instead of at the next power of two).
#[inline]
fn reserve_more<T>(v: &mut Vec<T>, limit: usize) {
    let len = v.len();
    if len == v.capacity() {
        v.reserve_exact(len.max(MIN_TABLE).min(limit.saturating_sub(len)).max(1));
    }
}

/// A cache of `u64` keys with an eviction policy and an optional TTL.
///
/// Semantics of the operations beyond their own docs:
///
/// * `insert` of a key already present and live refreshes it: its
///   insertion time becomes `now` (a new TTL), and it counts as a fresh
///   insertion for FIFO (it becomes the newest), as a use for LRU (most
///   recent) and for LFU (its count grows by one). It evicts nothing. An
///   expired entry for the key is replaced by a fresh one (LFU count 1).
/// * LFU tie rule: among the entries with the lowest count, the one whose
///   last use (hit or insert) is oldest is evicted. A new entry starts at
///   count 1 and counts are forgotten on eviction (in-cache LFU), so a
///   newcomer competes on its own uses only.
#[derive(Clone)]
pub struct Cache {
    policy: EvictionPolicy,
    /// Item limit: `capacity` for bounded policies, `usize::MAX` for None.
    limit: usize,
    ttl_ns: Option<u64>,
    /// Expired entries stay stored this much longer for a stale fallback
    /// (reclaiming skips them; lookups still miss).
    stale_grace_ns: u64,
    entries: Vec<Entry>,
    /// Head of the free-slot list (through `links[Policy].next`).
    free: u32,
    len: usize,
    table: Table,
    /// Policy list for LRU, FIFO and None.
    order: Ends,
    /// Insertion-order list (LRU and LFU with a TTL).
    age: Ends,
    track_age: bool,
    /// LFU only.
    buckets: Vec<Bucket>,
    free_bucket: u32,
    /// LFU: the lowest-count bucket (head of the chain).
    min_bucket: u32,
    /// Most entries ever held at once (checked against the capacity).
    peak_len: usize,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("policy", &self.policy)
            .field("capacity", &self.limit)
            .field("ttl", &self.ttl())
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// `capacity` in items (ignored for EvictionPolicy::None, where the cache grows with distinct keys);
    /// `ttl`: entries expire this long after insertion (None: never).
    ///
    /// With a bounded policy and `capacity == 0` the cache never holds
    /// anything: every `get` misses and `insert` is a no-op. For `None`,
    /// `capacity` is only an initial-allocation hint. Room for up to
    /// [`PREALLOC_LIMIT`] items is reserved here, more as the cache fills.
    ///
    /// # Panics
    ///
    /// If a bounded `capacity` exceeds `u32::MAX` (entries are indexed by
    /// `u32`).
    pub fn new(capacity: usize, policy: EvictionPolicy, ttl: Option<SimTime>) -> Self {
        let bounded = policy != EvictionPolicy::None;
        assert!(
            !bounded || capacity <= MAX_ENTRIES,
            "cache capacity {capacity} exceeds {MAX_ENTRIES}"
        );
        let prealloc = capacity.min(PREALLOC_LIMIT);
        Cache {
            policy,
            limit: if bounded { capacity } else { usize::MAX },
            ttl_ns: ttl.map(SimTime::as_nanos),
            stale_grace_ns: 0,
            entries: Vec::with_capacity(prealloc),
            free: NIL,
            len: 0,
            table: Table::for_items(prealloc),
            order: Ends::EMPTY,
            age: Ends::EMPTY,
            track_age: ttl.is_some() && matches!(policy, EvictionPolicy::Lru | EvictionPolicy::Lfu),
            buckets: if policy == EvictionPolicy::Lfu {
                Vec::with_capacity(prealloc)
            } else {
                Vec::new()
            },
            free_bucket: NIL,
            min_bucket: NIL,
            peak_len: 0,
        }
    }

    /// Start loading the table slot where `key` would be, so a `get`,
    /// `insert` or `invalidate` of it soon after does not wait for memory.
    /// Changes nothing (a big cache's table does not fit the CPU caches,
    /// and the wait for its slot was the largest single cost of a lookup).
    #[inline]
    pub fn prefetch(&self, key: u64) {
        prefetch(&self.table.slots[self.table.home(key)]);
    }

    /// Like [`Cache::prefetch`], one step further: if `key` is stored,
    /// start loading its entry. Call it after `prefetch` had time to work.
    #[inline]
    pub fn prefetch_entry(&self, key: u64) {
        if let Some((_, i)) = self.table.find(key) {
            prefetch(&self.entries[i as usize]);
        }
    }

    /// Start loading what the next `insert` will touch to drop an entry:
    /// the oldest entry's table slot and its list neighbours. The oldest
    /// entry itself is in the CPU cache already (this insert checked it or
    /// unlinked the entry next to it). Changes nothing.
    #[inline]
    fn prefetch_next_removal(&self) {
        let oldest = if self.ttl_ns.is_none() {
            NIL
        } else if self.track_age {
            self.age.tail
        } else {
            self.order.tail
        };
        let victim = match self.policy {
            EvictionPolicy::Lru | EvictionPolicy::Fifo if self.len >= self.limit => self.order.tail,
            _ => NIL,
        };
        let victim = if victim == oldest { NIL } else { victim };
        for t in [oldest, victim] {
            if t == NIL {
                continue;
            }
            let e = &self.entries[t as usize];
            prefetch(&self.table.slots[self.table.home(e.key)]);
            for l in &e.links {
                for n in [l.prev, l.next] {
                    if n != NIL {
                        prefetch(&self.entries[n as usize]);
                    }
                }
            }
        }
    }

    /// Lookup at `now`: true on a hit. An expired entry counts as a miss and is removed.
    /// LRU: a hit makes the entry most recent. FIFO: hits change nothing. LFU: a hit increments its count.
    #[inline]
    pub fn get(&mut self, key: u64, now: SimTime) -> bool {
        let Some((pos, i)) = self.table.find(key) else {
            return false;
        };
        if self.is_expired(i, now) {
            self.table.remove_at(pos);
            self.detach(i);
            return false;
        }
        match self.policy {
            EvictionPolicy::Lru => {
                move_to_head(&mut self.entries, &mut self.order, Chain::Policy, i);
            }
            EvictionPolicy::Lfu => self.bump(i),
            EvictionPolicy::Fifo | EvictionPolicy::None => {}
        }
        true
    }

    /// Fill after a miss (or overwrite): the entry's insertion time becomes
    /// `now`. First drops up to [`RECLAIM_PER_INSERT`] expired entries
    /// (oldest inserted first); then, when full, evicts one entry: an
    /// expired one if any is left, else by policy (LRU: least recently
    /// used; FIFO: oldest inserted; LFU: least frequently used, ties to the
    /// least recently used).
    ///
    /// Returns true if a live (unexpired) entry was evicted to make room,
    /// i.e. if capacity cost something; dropping expired entries is expiry,
    /// not eviction, so the result does not depend on how lazily expired
    /// entries are reclaimed. Always false for `None` and for capacity 0.
    #[inline]
    pub fn insert(&mut self, key: u64, now: SimTime) -> bool {
        if self.limit == 0 {
            return false;
        }
        self.reclaim(now);
        let expires = self.expiry(now);
        if let Some((pos, i)) = self.table.find(key) {
            if !self.is_expired(i, now) {
                self.entries[i as usize].expires = expires;
                self.refresh(i);
                return false;
            }
            self.table.remove_at(pos);
            self.detach(i);
        }
        let evicted = self.len >= self.limit && self.evict(now);
        if (self.len + 1) * 2 > self.table.slots.len() {
            // Unbounded caches, and bounded ones above PREALLOC_LIMIT while
            // they fill; otherwise the table holds `capacity` at load ≤ 1/2
            // from the start.
            self.table.grow();
        }
        let i = self.alloc(key, expires);
        self.table.insert_new(key, i);
        self.attach(i);
        self.peak_len = self.peak_len.max(self.len);
        self.prefetch_next_removal();
        evicted
    }

    /// Keep expired entries `grace` longer before reclaiming them, for a
    /// stale fallback (HTTP stale-if-error). Lookups still miss them;
    /// capacity eviction still prefers them.
    pub fn keep_stale_for(&mut self, grace: SimTime) {
        self.stale_grace_ns = grace.as_nanos();
    }

    /// Whether `key` is stored, expired at `now`, and within the stale
    /// grace: a copy a fallback may serve. Changes nothing.
    pub fn holds_stale(&self, key: u64, now: SimTime) -> bool {
        self.table.find(key).is_some_and(|(_, i)| {
            self.is_expired(i, now)
                && now.as_nanos() < self.entries[i as usize].expires.saturating_add(self.stale_grace_ns)
        })
    }

    /// Remove one key (a write invalidates). Returns whether it was present.
    ///
    /// "Present" means stored: an expired entry not yet reclaimed counts.
    pub fn invalidate(&mut self, key: u64) -> bool {
        let Some((pos, i)) = self.table.find(key) else {
            return false;
        };
        self.table.remove_at(pos);
        self.detach(i);
        true
    }

    /// Empty the cache (a cache-flush fault, or a new instance's cold L1).
    /// Keeps the allocations; O(capacity).
    pub fn clear(&mut self) {
        self.table.clear();
        self.entries.clear();
        self.free = NIL;
        self.len = 0;
        self.order = Ends::EMPTY;
        self.age = Ends::EMPTY;
        self.buckets.clear();
        self.free_bucket = NIL;
        self.min_bucket = NIL;
    }

    /// Drop entries until at most `keep` remain (memory pressure): the
    /// ones eviction would pick first (LRU: least recently used; FIFO and
    /// None: oldest inserted; LFU: least frequently used). Returns how many
    /// were dropped.
    pub fn shrink_to(&mut self, keep: usize) -> usize {
        let mut dropped = 0;
        while self.len > keep {
            let victim = match self.policy {
                EvictionPolicy::Lru | EvictionPolicy::Fifo | EvictionPolicy::None => self.order.tail,
                EvictionPolicy::Lfu if self.min_bucket != NIL => self.buckets[self.min_bucket as usize].list.tail,
                EvictionPolicy::Lfu => NIL,
            };
            if victim == NIL {
                break;
            }
            self.remove_entry(victim);
            dropped += 1;
        }
        dropped
    }

    /// Entries stored, including expired ones not yet reclaimed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most entries ever held at once (expired ones not yet reclaimed
    /// included).
    pub fn peak_len(&self) -> usize {
        self.peak_len
    }

    /// The item limit: the `capacity` given to [`Cache::new`] for bounded
    /// policies, `usize::MAX` (no limit) for `None`.
    pub fn capacity(&self) -> usize {
        self.limit
    }

    pub fn policy(&self) -> EvictionPolicy {
        self.policy
    }

    pub fn ttl(&self) -> Option<SimTime> {
        self.ttl_ns.map(SimTime::from_nanos)
    }

    #[inline]
    fn is_expired(&self, i: u32, now: SimTime) -> bool {
        self.ttl_ns.is_some() && now.as_nanos() >= self.entries[i as usize].expires
    }

    #[inline]
    fn expiry(&self, now: SimTime) -> u64 {
        match self.ttl_ns {
            Some(ttl) => now.as_nanos().saturating_add(ttl),
            None => u64::MAX,
        }
    }

    /// Drop up to `RECLAIM_PER_INSERT` expired entries, oldest inserted first.
    #[inline]
    fn reclaim(&mut self, now: SimTime) {
        if self.ttl_ns.is_none() {
            return;
        }
        for _ in 0..RECLAIM_PER_INSERT {
            let oldest = if self.track_age { self.age.tail } else { self.order.tail };
            let stale_kept = oldest != NIL
                && now.as_nanos()
                    < self.entries[oldest as usize]
                        .expires
                        .saturating_add(self.stale_grace_ns);
            if oldest == NIL || !self.is_expired(oldest, now) || stale_kept {
                break;
            }
            self.remove_entry(oldest);
        }
    }

    /// Evict the policy's victim; true if it was live.
    fn evict(&mut self, now: SimTime) -> bool {
        let victim = match self.policy {
            EvictionPolicy::Lru | EvictionPolicy::Fifo => self.order.tail,
            EvictionPolicy::Lfu if self.min_bucket != NIL => self.buckets[self.min_bucket as usize].list.tail,
            EvictionPolicy::Lfu | EvictionPolicy::None => NIL,
        };
        if victim == NIL {
            return false;
        }
        let live = !self.is_expired(victim, now);
        self.remove_entry(victim);
        live
    }

    /// Remove entry `i` from the table and the lists.
    fn remove_entry(&mut self, i: u32) {
        let found = self.table.find(self.entries[i as usize].key);
        debug_assert!(found.is_some_and(|(_, j)| j == i), "entry not indexed");
        if let Some((pos, _)) = found {
            self.table.remove_at(pos);
        }
        self.detach(i);
    }

    /// Take a free slot (or the next unused one) for a new entry.
    #[inline]
    fn alloc(&mut self, key: u64, expires: u64) -> u32 {
        let e = Entry {
            key,
            expires,
            links: [UNLINKED; 2],
            bucket: NIL,
        };
        if self.free != NIL {
            let i = self.free;
            self.free = self.entries[i as usize].links[Chain::Policy as usize].next;
            self.entries[i as usize] = e;
            i
        } else {
            assert!(self.entries.len() < MAX_ENTRIES, "cache exceeds u32 indexing");
            let i = self.entries.len() as u32;
            reserve_more(&mut self.entries, self.limit);
            self.entries.push(e);
            i
        }
    }

    /// Link a new entry into the lists.
    #[inline]
    fn attach(&mut self, i: u32) {
        match self.policy {
            EvictionPolicy::Lfu => self.lfu_attach(i),
            _ => push_head(&mut self.entries, &mut self.order, Chain::Policy, i),
        }
        if self.track_age {
            push_head(&mut self.entries, &mut self.age, Chain::Age, i);
        }
        self.len += 1;
    }

    /// Unlink entry `i` from the lists and free its slot.
    #[inline]
    fn detach(&mut self, i: u32) {
        match self.policy {
            EvictionPolicy::Lfu => self.lfu_detach(i),
            _ => unlink(&mut self.entries, &mut self.order, Chain::Policy, i),
        }
        if self.track_age {
            unlink(&mut self.entries, &mut self.age, Chain::Age, i);
        }
        self.entries[i as usize].links[Chain::Policy as usize].next = self.free;
        self.free = i;
        self.len -= 1;
    }

    /// A live entry was inserted again.
    fn refresh(&mut self, i: u32) {
        match self.policy {
            EvictionPolicy::Lfu => self.bump(i),
            _ => move_to_head(&mut self.entries, &mut self.order, Chain::Policy, i),
        }
        if self.track_age {
            move_to_head(&mut self.entries, &mut self.age, Chain::Age, i);
        }
    }

    /// LFU: a new entry joins the count-1 bucket as its most recent.
    fn lfu_attach(&mut self, i: u32) {
        let min = self.min_bucket;
        let b = if min != NIL && self.buckets[min as usize].count == 1 {
            min
        } else {
            self.new_bucket(1, NIL, min)
        };
        self.entries[i as usize].bucket = b;
        push_head(&mut self.entries, &mut self.buckets[b as usize].list, Chain::Policy, i);
    }

    /// LFU: take entry `i` out of its bucket, dropping the bucket if empty.
    fn lfu_detach(&mut self, i: u32) {
        let b = self.entries[i as usize].bucket;
        let list = &mut self.buckets[b as usize].list;
        unlink(&mut self.entries, list, Chain::Policy, i);
        if list.head == NIL {
            self.drop_bucket(b);
        }
    }

    /// LFU: one more use of entry `i`: move it to the head (most recent) of
    /// the bucket for count + 1.
    fn bump(&mut self, i: u32) {
        let b = self.entries[i as usize].bucket;
        let Bucket { count, list, next, .. } = self.buckets[b as usize];
        let Some(up) = count.checked_add(1) else {
            // Saturated count: only recency changes.
            move_to_head(&mut self.entries, &mut self.buckets[b as usize].list, Chain::Policy, i);
            return;
        };
        if next != NIL && self.buckets[next as usize].count == up {
            self.lfu_detach(i);
            self.entries[i as usize].bucket = next;
            push_head(
                &mut self.entries,
                &mut self.buckets[next as usize].list,
                Chain::Policy,
                i,
            );
        } else if list.head == list.tail {
            // `i` is alone in its bucket and no bucket holds count + 1:
            // relabel the bucket; the chain stays ordered.
            self.buckets[b as usize].count = up;
        } else {
            // `b` keeps other entries, so buckets stay ≤ entries.
            let nb = self.new_bucket(up, b, next);
            unlink(&mut self.entries, &mut self.buckets[b as usize].list, Chain::Policy, i);
            self.entries[i as usize].bucket = nb;
            push_head(&mut self.entries, &mut self.buckets[nb as usize].list, Chain::Policy, i);
        }
    }

    /// A new empty bucket for `count`, spliced between `prev` and `next`.
    fn new_bucket(&mut self, count: u64, prev: u32, next: u32) -> u32 {
        let node = Bucket {
            count,
            list: Ends::EMPTY,
            prev,
            next,
        };
        let b = if self.free_bucket != NIL {
            let b = self.free_bucket;
            self.free_bucket = self.buckets[b as usize].next;
            self.buckets[b as usize] = node;
            b
        } else {
            let b = self.buckets.len() as u32;
            reserve_more(&mut self.buckets, self.limit);
            self.buckets.push(node);
            b
        };
        if prev == NIL {
            self.min_bucket = b;
        } else {
            self.buckets[prev as usize].next = b;
        }
        if next != NIL {
            self.buckets[next as usize].prev = b;
        }
        b
    }

    /// Unlink the (empty) bucket `b` from the chain and free it.
    fn drop_bucket(&mut self, b: u32) {
        let Bucket { prev, next, .. } = self.buckets[b as usize];
        if prev == NIL {
            self.min_bucket = next;
        } else {
            self.buckets[prev as usize].next = next;
        }
        if next != NIL {
            self.buckets[next as usize].prev = prev;
        }
        self.buckets[b as usize].next = self.free_bucket;
        self.free_bucket = b;
    }
}
