//! Tests of the cache: each policy's semantics, expiry and growth, a
//! property test against a naive cache, and the hit ratios of the Che
//! approximation and the TTL renewal formula.

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

fn agrees_with_naive(policy: EvictionPolicy, cap: usize, ttl: Option<u64>, ops: &[Op]) -> Result<(), TestCaseError> {
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
