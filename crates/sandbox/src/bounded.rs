//! Collections that keep at most a set number of entries, dropping the oldest first: what keeps
//! the sandbox's memory bounded however long it runs and however many payments it is sent
//! ([`SandboxBuilder::max_payments`](crate::SandboxBuilder::max_payments)).

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map of at most `limit` entries (at least one); inserting a new key into a full one evicts
/// the entry inserted first.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    /// The keys, oldest first.
    order: VecDeque<K>,
    limit: usize,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(limit: usize) -> Self {
        Self { map: HashMap::new(), order: VecDeque::new(), limit: limit.max(1) }
    }

    /// Inserts or replaces; a replaced entry keeps its age. Returns the entry evicted to make
    /// room, if any.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return None;
        }
        let evicted = if self.map.len() >= self.limit { self.pop_oldest() } else { None };
        self.order.push_back(key.clone());
        self.map.insert(key, value);
        evicted
    }

    fn pop_oldest(&mut self) -> Option<(K, V)> {
        let key = self.order.pop_front()?;
        let value = self.map.remove(&key)?;
        Some((key, value))
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key)
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key)
    }

    /// The values, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    /// The values, in no particular order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A set of at most `limit` values, the oldest evicted first; see [`BoundedMap`].
#[derive(Debug)]
pub(crate) struct BoundedSet<K>(BoundedMap<K, ()>);

impl<K: Eq + Hash + Clone> BoundedSet<K> {
    pub(crate) fn new(limit: usize) -> Self {
        Self(BoundedMap::new(limit))
    }

    /// Adds `key`; `false` when it was already there.
    pub(crate) fn insert(&mut self, key: K) -> bool {
        if self.0.contains_key(&key) {
            return false;
        }
        self.0.insert(key, ());
        true
    }

    pub(crate) fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_evicts_the_oldest_entry_and_a_replaced_one_keeps_its_age() {
        let mut map = BoundedMap::new(2);
        assert_eq!(map.insert("a", 1), None);
        assert_eq!(map.insert("b", 2), None);
        // Replacing does not make room nor refresh the entry.
        assert_eq!(map.insert("a", 10), None);
        assert_eq!(map.insert("c", 3), Some(("a", 10)));
        assert_eq!(map.len(), 2);
        assert!(!map.contains_key("a"));
        assert_eq!(map.get("b"), Some(&2));
        assert_eq!(map.insert("d", 4), Some(("b", 2)));
        assert_eq!((map.get("c"), map.get("d")), (Some(&3), Some(&4)));
    }

    #[test]
    fn a_limit_of_zero_keeps_one_entry() {
        let mut set = BoundedSet::new(0);
        assert!(set.insert(1));
        assert!(!set.insert(1));
        assert!(set.insert(2));
        assert!(!set.contains(&1) && set.contains(&2));
    }
}
