//! Many instantiations of Vec, BTreeMap, HashMap, BinaryHeap and the sorts over integer
//! types, printing a checksum of each, so that merging their copies can be checked.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;

trait Key: Copy + Ord + Hash + Debug {
    fn make(i: u32) -> Self;
    fn fold(self) -> u64;
}

macro_rules! key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn make(i: u32) -> Self {
                (i.wrapping_mul(2_654_435_761) >> 7) as $t
            }
            fn fold(self) -> u64 {
                self as u64
            }
        }
    )*};
}
key!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

fn work<T: Key>(n: u32) -> u64 {
    let mut v: Vec<T> = (0..n).map(T::make).collect();
    v.sort();
    let median = v[v.len() / 2].fold();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.dedup();
    let mut counts: HashMap<T, u64> = HashMap::new();
    for (i, x) in v.iter().enumerate() {
        *counts.entry(*x).or_default() += i as u64;
    }
    let mut ordered: BTreeMap<T, u64> = BTreeMap::new();
    for (k, c) in &counts {
        ordered.insert(*k, *c);
    }
    let set: BTreeSet<T> = v.iter().copied().collect();
    let mut ring: VecDeque<T> = v.iter().copied().collect();
    ring.rotate_left(ring.len() / 3);
    let mut heap: BinaryHeap<T> = v.iter().copied().collect();
    let mut top = 0u64;
    for _ in 0..5 {
        top = top.wrapping_mul(31).wrapping_add(heap.pop().map_or(0, Key::fold));
    }
    let found = v.binary_search_by(|x| T::make(7).cmp(x)).is_ok() as u64;
    let first = format!("{:?}", ordered.iter().next());
    let sum: u64 = ordered.values().fold(0, |a, &b| a.wrapping_add(b));
    median ^ sum ^ top ^ found ^ (set.len() as u64) ^ (ring.front().map_or(0, |x| x.fold()) << 3) ^ first.len() as u64
}

fn main() {
    let results = [
        ("u8", work::<u8>(300)),
        ("u16", work::<u16>(400)),
        ("u32", work::<u32>(500)),
        ("u64", work::<u64>(600)),
        ("u128", work::<u128>(300)),
        ("usize", work::<usize>(500)),
        ("i8", work::<i8>(300)),
        ("i16", work::<i16>(400)),
        ("i32", work::<i32>(500)),
        ("i64", work::<i64>(600)),
        ("i128", work::<i128>(300)),
        ("isize", work::<isize>(500)),
    ];
    for (name, r) in results {
        println!("{name}: {r:016x}");
    }
}
