//! A map that forgets its least recently used entries once it holds too many, or too many bytes:
//! the persisted documents and the response cache are bounded by it.

use std::{
    collections::{BTreeMap, HashMap},
    hash::Hash,
};

/// What an entry costs in memory, roughly: its bytes, plus what keeping it costs.
pub trait Weigh {
    fn weight(&self) -> usize;
}

pub struct Lru<K, V> {
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<K, (V, u64)>,
    by_use: BTreeMap<u64, K>,
}

impl<K: Hash + Eq + Clone, V: Clone + Weigh> Lru<K, V> {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            max_entries,
            max_bytes,
            bytes: 0,
            tick: 0,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    /// The entry, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let (value, used) = self.entries.get_mut(key)?;
        self.by_use.remove(used);
        *used = tick;
        self.by_use.insert(tick, key.clone());
        Some(value.clone())
    }

    /// Keeps `value` under `key` (in place of what was there), then forgets the least recently
    /// used entries until both bounds hold. A value larger than the whole store is not kept.
    pub fn put(&mut self, key: K, value: V) {
        self.remove(&key);
        let weight = value.weight();
        if weight > self.max_bytes || self.max_entries == 0 {
            return;
        }
        self.tick += 1;
        self.bytes += weight;
        self.by_use.insert(self.tick, key.clone());
        self.entries.insert(key, (value, self.tick));
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some((value, _)) = self.entries.remove(&oldest) {
                self.bytes -= value.weight();
            }
        }
    }

    pub fn remove(&mut self, key: &K) {
        if let Some((value, used)) = self.entries.remove(key) {
            self.by_use.remove(&used);
            self.bytes -= value.weight();
        }
    }

    /// What the entries weigh together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Weigh for std::sync::Arc<str> {
    fn weight(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Blob(usize);

    impl Weigh for Blob {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_bounds_always_hold() {
        let mut lru = Lru::new(3, 100);
        lru.put(1, Blob(10));
        lru.put(2, Blob(10));
        lru.put(3, Blob(10));
        assert!(lru.get(&1).is_some());
        lru.put(4, Blob(10));
        assert!(lru.get(&2).is_none(), "the least recently used went");
        assert!(lru.get(&1).is_some() && lru.get(&3).is_some());
        lru.put(5, Blob(95));
        assert_eq!((lru.len(), lru.bytes()), (1, 95));
        lru.put(5, Blob(20));
        assert_eq!(lru.bytes(), 20, "a replaced entry no longer counts");
        lru.put(6, Blob(101));
        assert!(lru.get(&6).is_none(), "larger than the whole store");
        for n in 0..1000 {
            lru.put(n, Blob(n % 37));
            assert!(lru.len() <= 3 && lru.bytes() <= 100);
        }
    }
}
