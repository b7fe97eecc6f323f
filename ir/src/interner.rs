//! A thread-safe, append-only interner: lock-free reads, a mutex only when a new item arrives.

use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Uniques values of `T` and hands out dense `u32` indices. Reads never lock, so printing and
/// verification can look types up from many threads at once; interning takes a short mutex.
pub(crate) struct Interner<T> {
    items: boxcar::Vec<T>,
    map: Mutex<FxHashMap<T, u32>>,
}

impl<T: Hash + Eq + Clone> Interner<T> {
    pub(crate) fn new() -> Self {
        Self { items: boxcar::Vec::new(), map: Mutex::new(FxHashMap::default()) }
    }

    pub(crate) fn intern(&self, value: T) -> u32 {
        // A poisoned lock only means another thread panicked mid-insert of an unrelated key;
        // the map itself is still consistent because insertion is the last step.
        let mut map = self.map.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(&index) = map.get(&value) {
            return index;
        }
        let index = u32::try_from(self.items.push(value.clone())).expect("interner overflow");
        map.insert(value, index);
        index
    }

    /// Returns the index of `value` if it was interned before, without inserting it.
    pub(crate) fn lookup_by<Q>(&self, value: &Q) -> Option<u32>
    where
        T: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.lock().unwrap_or_else(|poison| poison.into_inner());
        map.get(value).copied()
    }

    #[inline]
    pub(crate) fn get(&self, index: u32) -> &T {
        &self.items[index as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.items.count()
    }
}
