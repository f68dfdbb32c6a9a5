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

use std::fmt;
use tenantsim_engine::SimTime;

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

/// "No entry / no bucket" in the `u32` links.
const NIL: u32 = u32::MAX;
/// Most entries a cache can index with `u32` (every index is below `NIL`).
const MAX_ENTRIES: usize = NIL as usize;
/// Smallest hash table (slots).
const MIN_TABLE: usize = 8;
/// 2^64 / golden ratio: Fibonacci hashing multiplier.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

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

/// Links of an entry in one list.
#[derive(Clone, Copy, Debug)]
struct Link {
    prev: u32,
    next: u32,
}

const UNLINKED: Link = Link { prev: NIL, next: NIL };

/// The two lists an entry can be on, as indices into [`Entry::links`].
#[derive(Clone, Copy, Debug)]
enum Chain {
    /// The policy order: LRU recency, FIFO/None insertion order, or the
    /// recency order inside the entry's LFU bucket. A free slot's `next`
    /// links the free list.
    Policy = 0,
    /// Insertion order, kept only for LRU and LFU with a TTL (for FIFO and
    /// None the policy list already is insertion order).
    Age = 1,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    /// First instant (ns) at which the entry is expired; unused without TTL.
    expires: u64,
    links: [Link; 2],
    /// LFU: the frequency bucket holding the entry.
    bucket: u32,
}

/// The ends of a list; `head` is the newest (most recent) end.
#[derive(Clone, Copy, Debug)]
struct Ends {
    head: u32,
    tail: u32,
}

impl Ends {
    const EMPTY: Ends = Ends { head: NIL, tail: NIL };
}

/// An LFU frequency bucket: the entries used exactly `count` times, most
/// recent at the head. Buckets form a chain by increasing count; only
/// non-empty buckets are on it, so there are never more buckets than
/// entries.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    count: u64,
    list: Ends,
    /// Neighbours in the chain (lower, higher count); `next` also links the
    /// bucket free list.
    prev: u32,
    next: u32,
}

#[inline]
fn push_head(entries: &mut [Entry], ends: &mut Ends, chain: Chain, i: u32) {
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
fn unlink(entries: &mut [Entry], ends: &mut Ends, chain: Chain, i: u32) {
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
fn move_to_head(entries: &mut [Entry], ends: &mut Ends, chain: Chain, i: u32) {
    if ends.head != i {
        unlink(entries, ends, chain, i);
        push_head(entries, ends, chain, i);
    }
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

/// One hash-table slot: a key and its slab index (`NIL`: empty).
#[derive(Clone, Copy, Debug)]
struct Slot {
    key: u64,
    idx: u32,
}

const EMPTY_SLOT: Slot = Slot { key: 0, idx: NIL };

/// Open addressing with linear probing over a power-of-two number of
/// slots, kept at most half full. Deletion shifts later members of the
/// probe run back (no tombstones), so lookups never slow down with churn.
#[derive(Clone, Debug)]
struct Table {
    slots: Vec<Slot>,
    mask: usize,
    /// 64 - log2(slots): the hash's top bits index the table.
    shift: u32,
}

impl Table {
    /// A table that holds `items` keys at load ≤ 1/2.
    fn for_items(items: usize) -> Self {
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
    fn home(&self, key: u64) -> usize {
        ((key ^ (key >> 32)).wrapping_mul(GOLDEN) >> self.shift) as usize
    }

    /// Position and slab index of `key`. Terminates: the table always has
    /// an empty slot.
    #[inline]
    fn find(&self, key: u64) -> Option<(usize, u32)> {
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
    fn insert_new(&mut self, key: u64, idx: u32) {
        let mut p = self.home(key);
        while self.slots[p].idx != NIL {
            p = (p + 1) & self.mask;
        }
        self.slots[p] = Slot { key, idx };
    }

    /// Empty slot `hole`, moving back any later member of its probe run
    /// whose home lies at or before the hole.
    #[inline]
    fn remove_at(&mut self, mut hole: usize) {
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

    fn clear(&mut self) {
        self.slots.fill(EMPTY_SLOT);
    }

    /// Double the slots (unbounded caches only).
    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; n]);
        self.mask = n - 1;
        self.shift = 64 - n.trailing_zeros();
        for s in old.into_iter().filter(|s| s.idx != NIL) {
            self.insert_new(s.key, s.idx);
        }
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

#[cfg(test)]
mod tests {
    use super::EvictionPolicy as P;
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn shrink_drops_the_entries_eviction_would_pick_first() {
        let t = |s: u64| SimTime::from_secs(s);
        for policy in [P::Lru, P::Fifo, P::Lfu, P::None] {
            let mut c = Cache::new(10, policy, None);
            for k in 0..10 {
                c.insert(k, t(k));
            }
            // Key 0 used again: most recent (LRU) and most frequent (LFU).
            c.get(0, t(20));
            assert_eq!(c.shrink_to(4), 6, "{policy:?}");
            assert_eq!(c.len(), 4);
            let kept: Vec<u64> = (0..10).filter(|k| c.get(*k, t(30))).collect();
            match policy {
                P::Lru | P::Lfu => assert_eq!(kept, vec![0, 7, 8, 9], "{policy:?}"),
                P::Fifo | P::None => assert_eq!(kept, vec![6, 7, 8, 9], "{policy:?}"),
            }
            assert_eq!(c.shrink_to(10), 0);
            assert_eq!(c.shrink_to(0), 4);
            assert!(c.is_empty());
        }
    }

    fn t(ns: u64) -> SimTime {
        SimTime::from_nanos(ns)
    }

    #[test]
    fn stale_copies_are_kept_for_the_grace_then_reclaimed() {
        let s = SimTime::from_secs;
        let mut c = Cache::new(100, P::Lru, Some(s(10)));
        c.keep_stale_for(s(60));
        c.insert(1, s(0));
        assert!(!c.holds_stale(1, s(5)), "fresh is not stale");
        assert!(c.holds_stale(1, s(20)));
        // Reclaiming on insert would drop key 1 without the grace.
        c.insert(2, s(20));
        assert!(c.holds_stale(1, s(20)));
        // Past expiry + grace: no longer servable, and reclaimed.
        assert!(!c.holds_stale(1, s(80)));
        c.insert(3, s(80));
        assert_eq!(c.len(), 2);
        assert!(!c.holds_stale(1, s(80)) && c.holds_stale(2, s(80)));
    }

    /// Demand paging: look each key up at successive instants and fill on a
    /// miss. Returns the number of misses.
    fn misses(cache: &mut Cache, refs: &[u64]) -> usize {
        let mut misses = 0;
        for (n, &k) in refs.iter().enumerate() {
            let now = t(n as u64);
            if !cache.get(k, now) {
                cache.insert(k, now);
                misses += 1;
            }
        }
        misses
    }

    /// Walk every structure and check it against the others.
    fn check_invariants(c: &Cache) {
        // Table: every stored key is reachable from its home slot, and
        // points at a slab entry with that key.
        let mut indexed = HashSet::new();
        for (p, s) in c.table.slots.iter().enumerate() {
            if s.idx == NIL {
                continue;
            }
            assert_eq!(c.entries[s.idx as usize].key, s.key);
            assert!(indexed.insert(s.idx), "slab index stored twice");
            let mut q = c.table.home(s.key);
            while q != p {
                assert_ne!(c.table.slots[q].idx, NIL, "key unreachable from home");
                q = (q + 1) & c.table.mask;
            }
        }
        assert_eq!(indexed.len(), c.len);
        assert!(c.len * 2 <= c.table.slots.len(), "table over half full");
        assert!(c.len <= c.limit);
        // Free list covers exactly the rest of the slab.
        let mut free = 0;
        let mut f = c.free;
        while f != NIL {
            assert!(!indexed.contains(&f));
            free += 1;
            f = c.entries[f as usize].links[0].next;
        }
        assert_eq!(free + c.len, c.entries.len());
        let walk = |ends: Ends, chain: Chain| -> Vec<u32> {
            let mut out = vec![];
            let (mut i, mut prev) = (ends.head, NIL);
            while i != NIL {
                assert_eq!(c.entries[i as usize].links[chain as usize].prev, prev);
                out.push(i);
                prev = i;
                i = c.entries[i as usize].links[chain as usize].next;
            }
            assert_eq!(ends.tail, prev);
            out
        };
        let as_set = |v: &[u32]| v.iter().copied().collect::<HashSet<u32>>();
        if c.policy == P::Lfu {
            let (mut b, mut prev, mut last_count, mut total) = (c.min_bucket, NIL, 0, 0);
            while b != NIL {
                let bk = c.buckets[b as usize];
                assert_eq!(bk.prev, prev);
                assert!(bk.count > last_count, "bucket chain not increasing");
                let members = walk(bk.list, Chain::Policy);
                assert!(!members.is_empty(), "empty bucket on the chain");
                for &i in &members {
                    assert_eq!(c.entries[i as usize].bucket, b);
                    assert!(indexed.contains(&i));
                }
                total += members.len();
                last_count = bk.count;
                prev = b;
                b = bk.next;
            }
            assert_eq!(total, c.len);
        } else {
            let order = walk(c.order, Chain::Policy);
            assert_eq!(order.len(), c.len);
            assert_eq!(as_set(&order), indexed);
        }
        if c.track_age {
            let age = walk(c.age, Chain::Age);
            assert_eq!(age.len(), c.len);
            assert_eq!(as_set(&age), indexed);
        }
    }

    #[test]
    fn lru_classic_sequence() {
        // Silberschatz's reference string with 3 frames: LRU takes 12 faults
        // (FIFO 15, see below).
        let refs = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
        let mut c = Cache::new(3, P::Lru, None);
        assert_eq!(misses(&mut c, &refs), 12);
        // The three most recently used keys remain.
        assert!(c.get(7, t(99)) && c.get(0, t(99)) && c.get(1, t(99)));
        assert!(!c.get(2, t(99)));

        // Step by step: a hit protects an entry, the least recent goes.
        let mut c = Cache::new(3, P::Lru, None);
        for k in [1, 2, 3] {
            assert!(!c.insert(k, T0));
        }
        assert!(c.get(1, T0)); // recency, oldest first: 2 3 1
        assert!(c.insert(4, T0)); // evicts 2
        assert!(!c.get(2, T0));
        assert!(c.get(3, T0) && c.get(1, T0) && c.get(4, T0)); // 3 1 4
        assert!(c.insert(5, T0)); // evicts 3
        assert!(!c.get(3, T0));
        assert!(c.get(1, T0) && c.get(4, T0) && c.get(5, T0));
        assert_eq!(c.len(), 3);
        check_invariants(&c);
    }

    const T0: SimTime = SimTime::ZERO;

    #[test]
    fn fifo_ignores_hits() {
        let mut c = Cache::new(2, P::Fifo, None);
        c.insert(1, T0);
        c.insert(2, T0);
        assert!(c.get(1, T0)); // would save 1 under LRU
        assert!(c.insert(3, T0)); // FIFO evicts 1 anyway
        assert!(!c.get(1, T0));
        assert!(c.get(2, T0) && c.get(3, T0));
        // Re-inserting a live key makes it the newest.
        assert!(!c.insert(2, T0));
        assert!(c.insert(4, T0)); // evicts 3, not 2
        assert!(c.get(2, T0) && !c.get(3, T0));

        let refs = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
        assert_eq!(misses(&mut Cache::new(3, P::Fifo, None), &refs), 15);
        // Belady's anomaly, which only a policy blind to hits shows: more
        // frames, more faults. LRU (a stack algorithm) cannot do this.
        let belady = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
        assert_eq!(misses(&mut Cache::new(3, P::Fifo, None), &belady), 9);
        assert_eq!(misses(&mut Cache::new(4, P::Fifo, None), &belady), 10);
        assert_eq!(misses(&mut Cache::new(3, P::Lru, None), &belady), 10);
        assert_eq!(misses(&mut Cache::new(4, P::Lru, None), &belady), 8);
    }

    #[test]
    fn lfu_keeps_hot_keys_and_breaks_ties_by_recency() {
        let mut c = Cache::new(4, P::Lfu, None);
        for hot in [1, 2] {
            c.insert(hot, T0);
            for _ in 0..5 {
                assert!(c.get(hot, T0));
            }
        }
        // A scan of one-off keys churns the remaining two slots only.
        for cold in 100..1_000 {
            if !c.get(cold, T0) {
                c.insert(cold, T0);
            }
            check_invariants(&c);
        }
        assert!(c.get(1, T0) && c.get(2, T0));
        assert!(c.get(999, T0) && c.get(998, T0));
        assert_eq!(c.len(), 4);

        // Ties: lowest count first, then least recently used.
        let mut c = Cache::new(3, P::Lfu, None);
        for k in [1, 2, 3] {
            c.insert(k, T0);
        }
        assert!(c.get(1, T0)); // counts 1:2, 2:1, 3:1
        assert!(c.insert(4, T0)); // 2 and 3 tie at 1; 2 is less recent
        assert!(!c.get(2, T0));
        assert!(c.insert(5, T0)); // 3 and 4 tie at 1; 3 goes
        assert!(!c.get(3, T0));
        assert!(c.get(4, T0) && c.get(4, T0)); // 4:3, 1:2, 5:1
        assert!(c.insert(6, T0)); // evicts 5
        assert!(!c.get(5, T0));
        assert!(c.get(6, T0)); // 6:2 now ties with 1:2 and is more recent
        assert!(c.insert(7, T0)); // evicts 1
        assert!(!c.get(1, T0) && c.get(4, T0) && c.get(6, T0) && c.get(7, T0));
        // Overwriting a live key counts as a use.
        let mut c = Cache::new(2, P::Lfu, None);
        c.insert(1, T0);
        c.insert(2, T0);
        c.insert(1, T0); // 1:2
        assert!(c.insert(3, T0)); // evicts 2
        assert!(c.get(1, T0) && !c.get(2, T0));
        check_invariants(&c);
    }

    #[test]
    fn ttl_expires_exactly_at_insertion_plus_ttl() {
        for policy in [P::Lru, P::Fifo, P::Lfu, P::None] {
            let mut c = Cache::new(4, policy, Some(t(10)));
            c.insert(1, t(100));
            assert!(c.get(1, t(100)));
            assert!(c.get(1, t(109)), "{policy:?}: live until ttl");
            assert!(!c.get(1, t(110)), "{policy:?}: expired at insert + ttl");
            assert_eq!(c.len(), 0, "{policy:?}: expired entry removed on lookup");
            // Hits do not extend the lifetime, an insert does.
            c.insert(2, t(200));
            assert!(c.get(2, t(205)));
            assert!(!c.get(2, t(210)));
            c.insert(3, t(300));
            c.insert(3, t(305)); // refresh: lives until 315
            assert!(c.get(3, t(314)));
            assert!(!c.get(3, t(315)));
            // A zero TTL never gives a hit.
            let mut z = Cache::new(4, policy, Some(SimTime::ZERO));
            z.insert(1, t(5));
            assert!(!z.get(1, t(5)));
            check_invariants(&c);
        }
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        // LRU would evict 2 (1 was used more recently), but 1 has expired.
        let mut c = Cache::new(2, P::Lru, Some(t(10)));
        c.insert(1, t(0));
        c.insert(2, t(5));
        assert!(c.get(1, t(6)));
        assert!(!c.insert(3, t(10)), "dropping an expired entry is no eviction");
        assert!(c.get(2, t(11)) && c.get(3, t(11)));
        // Same for LFU: the hot key has expired, the cold one has not.
        let mut c = Cache::new(2, P::Lfu, Some(t(10)));
        c.insert(1, t(0));
        for n in 1..5 {
            assert!(c.get(1, t(n)));
        }
        c.insert(2, t(5));
        assert!(!c.insert(3, t(10)));
        assert!(c.get(2, t(11)) && c.get(3, t(11)) && !c.get(1, t(11)));
        // A live eviction reports true.
        assert!(c.insert(4, t(12)));
        check_invariants(&c);
    }

    #[test]
    fn ttl_only_cache_grows_and_reclaims() {
        // No TTL: it keeps every distinct key, beyond its sizing hint.
        let mut c = Cache::new(4, P::None, None);
        assert_eq!(c.capacity(), usize::MAX);
        for k in 0..1_000 {
            assert!(!c.insert(k * 7919, t(k)));
        }
        assert_eq!(c.len(), 1_000);
        assert!((0..1_000).all(|k| c.get(k * 7919, t(1_000_000))));
        check_invariants(&c);
        // With a TTL, inserts reclaim expired entries: it stays the size of
        // its live set however many distinct keys pass through.
        let mut c = Cache::new(0, P::None, Some(t(100)));
        for k in 0..100_000 {
            c.insert(k, t(k));
            assert!(c.len() <= 101);
        }
        check_invariants(&c);
    }

    #[test]
    fn invalidate_removes_one_key() {
        for policy in [P::Lru, P::Fifo, P::Lfu, P::None] {
            let mut c = Cache::new(3, policy, None);
            c.insert(1, T0);
            c.insert(2, T0);
            assert!(c.invalidate(1));
            assert!(!c.invalidate(1));
            assert!(!c.invalidate(42));
            assert!(!c.get(1, T0) && c.get(2, T0));
            assert_eq!(c.len(), 1);
            // The freed slot is reused: two more fit without eviction.
            assert!(!c.insert(3, T0) && !c.insert(4, T0));
            assert_eq!(c.len(), 3);
            check_invariants(&c);
        }
    }

    #[test]
    fn clear_empties_and_the_cache_still_works() {
        for policy in [P::Lru, P::Fifo, P::Lfu, P::None] {
            let mut c = Cache::new(3, policy, Some(t(50)));
            for k in 0..10 {
                if !c.get(k % 4, t(k)) {
                    c.insert(k % 4, t(k));
                }
            }
            c.clear();
            assert!(c.is_empty());
            assert!((0..4).all(|k| !c.get(k, t(20))));
            assert!(!c.insert(9, t(20)) && c.get(9, t(21)));
            assert_eq!(c.len(), 1);
            check_invariants(&c);
        }
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        for policy in [P::Lru, P::Fifo, P::Lfu] {
            let mut c = Cache::new(0, policy, None);
            assert_eq!(c.capacity(), 0);
            assert!(!c.insert(1, T0));
            assert!(!c.get(1, T0));
            assert!(c.is_empty());
            assert!(!c.invalidate(1));
            check_invariants(&c);
        }
    }

    #[test]
    fn hash_table_matches_a_hash_set_under_churn() {
        // Clustered keys (tenant in the high half) to exercise probe runs
        // and backward-shift deletion.
        let mut table = Table::for_items(64);
        let mut set = HashSet::new();
        let mut rng = XorShift(7);
        for n in 0..200_000u32 {
            let key = ((rng.next_u64() % 4) << 32) | (rng.next_u64() % 48);
            if set.contains(&key) {
                let found = table.find(key);
                assert!(found.is_some());
                if let Some((pos, _)) = found {
                    table.remove_at(pos);
                }
                set.remove(&key);
            } else {
                assert!(table.find(key).is_none());
                if set.len() < 64 {
                    table.insert_new(key, n);
                    set.insert(key);
                }
            }
        }
        for &k in &set {
            assert!(table.find(k).is_some());
        }
    }

    #[test]
    fn bounded_cache_never_reallocates() {
        for policy in [P::Lru, P::Fifo, P::Lfu] {
            let mut c = Cache::new(1_000, policy, Some(t(5_000)));
            let footprint = |c: &Cache| {
                (
                    c.entries.as_ptr(),
                    c.entries.capacity(),
                    c.table.slots.as_ptr(),
                    c.table.slots.capacity(),
                    c.buckets.as_ptr(),
                    c.buckets.capacity(),
                )
            };
            let before = footprint(&c);
            let mut rng = XorShift(11);
            for n in 0..200_000 {
                let r = rng.next_u64();
                let key = r % 3_000;
                match r >> 60 {
                    0 => {
                        c.invalidate(key);
                    }
                    _ if !c.get(key, t(n)) => {
                        c.insert(key, t(n));
                    }
                    _ => {}
                }
            }
            assert_eq!(c.len(), 1_000);
            assert_eq!(footprint(&c), before, "{policy:?} reallocated");
        }
    }

    #[test]
    fn large_cache_grows_while_filling_then_stops_allocating() {
        let cap = 2 * PREALLOC_LIMIT + 3;
        let mut c = Cache::new(cap, P::Lru, None);
        assert_eq!(c.entries.capacity(), PREALLOC_LIMIT);
        for k in 0..cap as u64 {
            assert!(!c.insert(k, T0));
        }
        assert_eq!(c.len(), cap);
        // The slab stops exactly at capacity; the table at load ≤ 1/2.
        assert_eq!(c.entries.capacity(), cap);
        assert_eq!(c.table.slots.len(), Table::for_items(cap).slots.len());
        let footprint = (c.entries.as_ptr(), c.table.slots.as_ptr(), c.table.slots.capacity());
        for k in 0..100_000 {
            assert!(c.insert(cap as u64 + k, T0));
            assert!(c.get(cap as u64 + k, T0));
        }
        assert_eq!(
            (c.entries.as_ptr(), c.table.slots.as_ptr(), c.table.slots.capacity()),
            footprint
        );
        assert_eq!(c.entries.capacity(), cap);
        assert!(!c.get(0, T0) && c.get(cap as u64 - 1, T0));
    }

    // ---- Reference model -------------------------------------------------

    /// A naive cache: a Vec scanned linearly, victims found by minimum.
    struct Naive {
        policy: EvictionPolicy,
        cap: usize,
        ttl: Option<u64>,
        clock: u64,
        entries: Vec<NaiveEntry>,
    }

    struct NaiveEntry {
        key: u64,
        expires: u64,
        count: u64,
        last_use: u64,
        inserted: u64,
    }

    impl Naive {
        fn bounded(&self) -> bool {
            self.policy != P::None
        }
        fn expired(&self, p: usize, now: u64) -> bool {
            self.ttl.is_some() && now >= self.entries[p].expires
        }
        fn find(&self, key: u64) -> Option<usize> {
            self.entries.iter().position(|e| e.key == key)
        }
        fn get(&mut self, key: u64, now: u64) -> bool {
            let Some(p) = self.find(key) else {
                return false;
            };
            if self.expired(p, now) {
                self.entries.remove(p);
                return false;
            }
            self.clock += 1;
            let e = &mut self.entries[p];
            match self.policy {
                P::Lru => e.last_use = self.clock,
                P::Lfu => {
                    e.count += 1;
                    e.last_use = self.clock;
                }
                P::Fifo | P::None => {}
            }
            true
        }
        fn insert(&mut self, key: u64, now: u64) -> bool {
            if self.bounded() && self.cap == 0 {
                return false;
            }
            for _ in 0..RECLAIM_PER_INSERT {
                let oldest = (0..self.entries.len()).min_by_key(|&p| self.entries[p].inserted);
                match oldest {
                    Some(p) if self.expired(p, now) => {
                        self.entries.remove(p);
                    }
                    _ => break,
                }
            }
            self.clock += 1;
            let expires = self.ttl.map_or(u64::MAX, |d| now.saturating_add(d));
            if let Some(p) = self.find(key) {
                if !self.expired(p, now) {
                    let e = &mut self.entries[p];
                    e.expires = expires;
                    e.inserted = self.clock;
                    e.last_use = self.clock;
                    e.count += 1;
                    return false;
                }
                self.entries.remove(p);
            }
            let mut evicted = false;
            if self.bounded() && self.entries.len() >= self.cap {
                let rank = |e: &NaiveEntry| match self.policy {
                    P::Lru => (0, e.last_use),
                    P::Fifo => (0, e.inserted),
                    P::Lfu => (e.count, e.last_use),
                    P::None => unreachable!(),
                };
                let victim = (0..self.entries.len()).min_by_key(|&p| rank(&self.entries[p]));
                if let Some(p) = victim {
                    evicted = !self.expired(p, now);
                    self.entries.remove(p);
                }
            }
            self.entries.push(NaiveEntry {
                key,
                expires,
                count: 1,
                last_use: self.clock,
                inserted: self.clock,
            });
            evicted
        }
        fn invalidate(&mut self, key: u64) -> bool {
            self.find(key).map(|p| self.entries.remove(p)).is_some()
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Get(u64),
        Insert(u64),
        Invalidate(u64),
        Clear,
        Advance(u64),
        /// Time going backwards: not what the simulator does, but answers
        /// must stay exact (the model mirrors the structures' order).
        Rewind(u64),
    }

    fn key() -> impl Strategy<Value = u64> {
        // Mostly a small id range, plus keys differing only in the tenant
        // half, so probe runs and collisions happen.
        prop_oneof![4 => 0u64..10, 1 => (0u64..3).prop_map(|tenant| (tenant << 32) | 5)]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            30 => key().prop_map(Op::Get),
            30 => key().prop_map(Op::Insert),
            6 => key().prop_map(Op::Invalidate),
            1 => Just(Op::Clear),
            15 => (0u64..6).prop_map(Op::Advance),
            2 => (0u64..15).prop_map(Op::Rewind),
        ]
    }

    fn agrees_with_naive(
        policy: EvictionPolicy,
        cap: usize,
        ttl: Option<u64>,
        ops: &[Op],
    ) -> Result<(), TestCaseError> {
        let mut cache = Cache::new(cap, policy, ttl.map(SimTime::from_nanos));
        let mut naive = Naive {
            policy,
            cap,
            ttl,
            clock: 0,
            entries: vec![],
        };
        let mut now = 0;
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Get(k) => {
                    prop_assert_eq!(cache.get(k, t(now)), naive.get(k, now), "op {}: {:?}", n, op)
                }
                Op::Insert(k) => prop_assert_eq!(cache.insert(k, t(now)), naive.insert(k, now), "op {}: {:?}", n, op),
                Op::Invalidate(k) => {
                    prop_assert_eq!(cache.invalidate(k), naive.invalidate(k), "op {}: {:?}", n, op)
                }
                Op::Clear => {
                    cache.clear();
                    naive.entries.clear();
                }
                Op::Advance(d) => now += d,
                Op::Rewind(d) => now = now.saturating_sub(d),
            }
            prop_assert_eq!(cache.len(), naive.entries.len(), "op {}: {:?}", n, op);
            if policy != P::None {
                prop_assert!(cache.len() <= cap);
            }
            check_invariants(&cache);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn lru_agrees_with_naive_model(
            cap in 0usize..6,
            ttl in proptest::option::of(0u64..20),
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            agrees_with_naive(P::Lru, cap, ttl, &ops)?;
        }

        #[test]
        fn fifo_agrees_with_naive_model(
            cap in 0usize..6,
            ttl in proptest::option::of(0u64..20),
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            agrees_with_naive(P::Fifo, cap, ttl, &ops)?;
        }

        #[test]
        fn lfu_agrees_with_naive_model(
            cap in 0usize..6,
            ttl in proptest::option::of(0u64..20),
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            agrees_with_naive(P::Lfu, cap, ttl, &ops)?;
        }

        #[test]
        fn ttl_only_agrees_with_naive_model(
            hint in 0usize..6,
            ttl in proptest::option::of(0u64..20),
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            agrees_with_naive(P::None, hint, ttl, &ops)?;
        }
    }

    // ---- Statistical checks against analytic models ---------------------

    /// xorshift64* (Vigna): tiny, seedable, good enough for sampling.
    struct XorShift(u64);

    impl XorShift {
        fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Zipf(s) popularity over `n` keys, sampled by inverting its CDF.
    struct Zipf {
        p: Vec<f64>,
        cdf: Vec<f64>,
    }

    impl Zipf {
        fn new(n: usize, s: f64) -> Self {
            let w: Vec<f64> = (1..=n).map(|i| (i as f64).powf(-s)).collect();
            let total: f64 = w.iter().sum();
            let p: Vec<f64> = w.iter().map(|x| x / total).collect();
            let mut acc = 0.0;
            let cdf = p
                .iter()
                .map(|x| {
                    acc += x;
                    acc
                })
                .collect();
            Zipf { p, cdf }
        }
        fn sample(&self, rng: &mut XorShift) -> u64 {
            let u = rng.uniform();
            let i = self.cdf.partition_point(|&c| c <= u);
            // Rounding can leave the last CDF value just under 1.
            i.min(self.p.len() - 1) as u64
        }
    }

    /// Che's approximation for LRU under the IRM: the characteristic time
    /// T solves sum_i (1 - e^{-p_i T}) = C; the hit ratio is
    /// sum_i p_i (1 - e^{-p_i T}).
    fn che_lru_hit_ratio(p: &[f64], c: f64) -> f64 {
        let occupancy = |t: f64| p.iter().map(|&q| -(-q * t).exp_m1()).sum::<f64>();
        let (mut lo, mut hi) = (0.0, 1.0);
        while occupancy(hi) < c {
            hi *= 2.0;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if occupancy(mid) < c {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let t = 0.5 * (lo + hi);
        p.iter().map(|&q| q * -(-q * t).exp_m1()).sum()
    }

    const KEYS: usize = 10_000;
    const REQUESTS: u64 = 500_000;
    /// Requests before measuring: the cold start lasts about one
    /// characteristic time (a few thousand requests here).
    const WARMUP: u64 = 50_000;
    /// Keys carry a tenant namespace in the high half, as in the model.
    const TENANT: u64 = 3 << 32;

    // Why 1 percentage point: Che's approximation is asymptotically exact
    // as C grows, and at C = 1000 its error is negligible (over 10 seeds
    // the simulated LRU ratio averaged 43.64% against Che's 43.67%); the
    // TTL formula is exact for Poisson arrivals. What is left is sampling
    // noise: 450k measured requests give a standard error of about 0.1 pp
    // (0.09 pp across those seeds; hits are correlated, so a little above
    // the binomial sqrt(h(1-h)/n) ≈ 0.07 pp). 1 pp is thus ~10 standard
    // errors, so the tests do not flake, and still tight enough to catch a
    // wrong policy: FIFO on this workload gets 39.4%, 4.2 pp below LRU.

    #[test]
    fn lru_hit_ratio_matches_che_approximation() {
        let zipf = Zipf::new(KEYS, 0.8);
        let mut rng = XorShift(0x5EED_CAFE_F00D_0001);
        let mut c = Cache::new(1_000, P::Lru, None);
        let mut hits = 0u64;
        for n in 0..REQUESTS {
            let key = TENANT | zipf.sample(&mut rng);
            let hit = c.get(key, t(n));
            if !hit {
                c.insert(key, t(n));
            }
            if n >= WARMUP && hit {
                hits += 1;
            }
        }
        let simulated = hits as f64 / (REQUESTS - WARMUP) as f64;
        let che = che_lru_hit_ratio(&zipf.p, 1_000.0);
        assert!(
            (simulated - che).abs() < 0.01,
            "LRU hit ratio {simulated:.4} vs Che {che:.4}"
        );
    }

    #[test]
    fn ttl_only_hit_ratio_matches_renewal_formula() {
        // Poisson arrivals at total rate λ, key i at λ_i = p_i λ. After a
        // miss the key stays for T, collecting λ_i T hits on average, then
        // the next request misses: hit ratio λ_i T / (1 + λ_i T) per key.
        let zipf = Zipf::new(KEYS, 0.8);
        let lambda = 10_000.0; // requests per second
        let ttl_s = 0.5; // λT = 5000; warm-up spans 10 T
        let mut rng = XorShift(0x5EED_CAFE_F00D_0002);
        let mut c = Cache::new(0, P::None, Some(SimTime::from_secs_f64(ttl_s)));
        let (mut now, mut hits) = (0u64, 0u64);
        for n in 0..REQUESTS {
            now += (-(1.0 - rng.uniform()).ln() / lambda * 1e9).round() as u64;
            let key = TENANT | zipf.sample(&mut rng);
            let hit = c.get(key, t(now));
            if !hit {
                c.insert(key, t(now));
            }
            if n >= WARMUP && hit {
                hits += 1;
            }
        }
        let simulated = hits as f64 / (REQUESTS - WARMUP) as f64;
        let expected: f64 = zipf
            .p
            .iter()
            .map(|&q| {
                let x = q * lambda * ttl_s;
                q * x / (1.0 + x)
            })
            .sum();
        assert!(
            (simulated - expected).abs() < 0.01,
            "TTL hit ratio {simulated:.4} vs formula {expected:.4}"
        );
        assert!(c.len() < KEYS);
    }
}
