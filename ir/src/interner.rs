//! A thread-safe, append-only interner: lock-free reads, a sharded mutex only when a new item arrives.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;

/// Shards of the index table: threads interning at once mostly take different locks.
const SHARDS: usize = 16;

/// Uniques values of `T` and hands out dense `u32` indices. Reads never lock, so printing and
/// verification can look types up from many threads at once; interning takes a short mutex on
/// one shard. Each value is stored once, in `items`; the shards hold only indices into it
/// (a map from values to indices would keep a second copy of every value, and allocate it).
pub(crate) struct Interner<T> {
    items: boxcar::Vec<T>,
    shards: [Mutex<HashTable<u32>>; SHARDS],
}

impl<T: Hash + Eq> Interner<T> {
    pub(crate) fn new() -> Self {
        Self { items: boxcar::Vec::new(), shards: std::array::from_fn(|_| Mutex::new(HashTable::new())) }
    }

    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, HashTable<u32>> {
        // The top bits choose the shard; hashbrown uses the low ones inside it.
        // A poisoned lock only means another thread panicked mid-insert of an unrelated key;
        // the table itself is still consistent because insertion is the last step.
        let shard = &self.shards[(hash >> 60) as usize % SHARDS];
        shard.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn intern(&self, value: T) -> u32 {
        let hash = FxBuildHasher.hash_one(&value);
        let mut table = self.shard(hash);
        if let Some(&index) = table.find(hash, |&i| self.items[i as usize] == value) {
            return index;
        }
        let index = u32::try_from(self.items.push(value)).expect("interner overflow");
        table.insert_unique(hash, index, |&i| FxBuildHasher.hash_one(&self.items[i as usize]));
        index
    }

    /// Returns the index of `value` if it was interned before, without inserting it.
    pub(crate) fn lookup_by<Q>(&self, value: &Q) -> Option<u32>
    where
        T: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = FxBuildHasher.hash_one(value);
        let table = self.shard(hash);
        table.find(hash, |&i| self.items[i as usize].borrow() == value).copied()
    }

    #[inline]
    pub(crate) fn get(&self, index: u32) -> &T {
        &self.items[index as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.items.count()
    }
}
