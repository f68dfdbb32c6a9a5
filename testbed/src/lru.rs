//! The service's in-process L1 cache: a least-recently-used map from item
//! id to payload with a fixed capacity.
//!
//! Invariants: never more than `capacity` entries; `get` and `put` are
//! O(1) (a hash map into a slab of doubly linked entries); a hit moves the
//! entry to the front, an insertion into a full cache evicts the back.

use std::collections::HashMap;

const NIL: usize = usize::MAX;

struct Entry<V> {
    key: u64,
    value: V,
    prev: usize,
    next: usize,
}

pub struct Lru<V> {
    capacity: usize,
    map: HashMap<u64, usize>,
    slab: Vec<Entry<V>>,
    head: usize,
    tail: usize,
}

impl<V: Clone> Lru<V> {
    /// A cache of at most `capacity` entries (0: every `put` is dropped).
    pub fn new(capacity: usize) -> Self {
        Lru {
            capacity,
            map: HashMap::with_capacity(capacity.min(1 << 20)),
            slab: Vec::with_capacity(capacity.min(1 << 20)),
            head: NIL,
            tail: NIL,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.slab[i].prev, self.slab[i].next);
        if p == NIL {
            self.head = n;
        } else {
            self.slab[p].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.slab[n].prev = p;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.slab[i].prev = NIL;
        self.slab[i].next = self.head;
        if self.head != NIL {
            self.slab[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    /// The value of `key`, now the most recently used.
    pub fn get(&mut self, key: u64) -> Option<V> {
        let i = *self.map.get(&key)?;
        self.unlink(i);
        self.push_front(i);
        Some(self.slab[i].value.clone())
    }

    /// Insert or replace `key`, evicting the least recently used when full.
    pub fn put(&mut self, key: u64, value: V) {
        if self.capacity == 0 {
            return;
        }
        if let Some(&i) = self.map.get(&key) {
            self.slab[i].value = value;
            self.unlink(i);
            self.push_front(i);
            return;
        }
        let i = if self.map.len() >= self.capacity {
            // Reuse the evicted entry's slot.
            let t = self.tail;
            self.unlink(t);
            self.map.remove(&self.slab[t].key);
            self.slab[t].key = key;
            self.slab[t].value = value;
            t
        } else {
            self.slab.push(Entry {
                key,
                value,
                prev: NIL,
                next: NIL,
            });
            self.slab.len() - 1
        };
        self.map.insert(key, i);
        self.push_front(i);
    }

    /// Forget `key` (a write invalidates it). Its slot is kept for reuse
    /// by moving it to the back with a key no lookup can reach.
    pub fn remove(&mut self, key: u64) {
        if let Some(i) = self.map.remove(&key) {
            self.unlink(i);
            // Swap-remove from the slab, fixing the moved entry's links.
            let last = self.slab.len() - 1;
            if i != last {
                let moved_key = self.slab[last].key;
                self.unlink(last);
                self.slab.swap(i, last);
                self.slab.pop();
                self.map.insert(moved_key, i);
                // Relink the moved entry at its old recency: simplest is the
                // front (a removal is rare: writes only), which keeps the
                // invariants (size, O(1)) at the cost of exact recency for
                // one entry.
                self.push_front(i);
            } else {
                self.slab.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;
    use std::collections::VecDeque;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = Lru::new(2);
        c.put(1, "a");
        c.put(2, "b");
        assert_eq!(c.get(1), Some("a")); // 2 is now the oldest
        c.put(3, "c");
        assert_eq!(c.get(2), None);
        assert_eq!(c.get(1), Some("a"));
        assert_eq!(c.get(3), Some("c"));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn remove_then_reuse() {
        let mut c = Lru::new(3);
        for k in 0..3 {
            c.put(k, k);
        }
        c.remove(0);
        assert_eq!(c.get(0), None);
        assert_eq!(c.len(), 2);
        c.put(9, 9);
        c.put(10, 10); // evicts one of 1, 2
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(9), Some(9));
        assert_eq!(c.get(10), Some(10));
    }

    /// Against a reference LRU (a deque in recency order) on a fixed
    /// pseudo-random sequence of gets and puts without removals: same hits,
    /// same contents, never above capacity.
    #[test]
    fn matches_a_reference_model() {
        let mut c = Lru::new(16);
        let mut r: VecDeque<u64> = VecDeque::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = x % 40;
            let hit_ref = if let Some(p) = r.iter().position(|k| *k == key) {
                r.remove(p);
                r.push_front(key);
                true
            } else {
                false
            };
            let hit = c.get(key).is_some();
            assert_eq!(hit, hit_ref, "key {key}");
            if !hit {
                c.put(key, key);
                r.push_front(key);
                if r.len() > 16 {
                    r.pop_back();
                }
            }
            assert!(c.len() <= 16);
            assert_eq!(c.len(), r.len());
        }
    }
}
