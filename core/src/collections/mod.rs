//! Sorted maps and sets: [`Map`] and [`Set`], which the crate keeps its
//! state in.
//!
//! By default they are the standard library's `BTreeMap` and `BTreeSet`.
//! With the `compact-maps` feature (the playground's WebAssembly, built by
//! `scripts/build-web`) they are [`VecMap`] and [`VecSet`]: the same
//! sorted contents and the subset of the B-tree API the crate uses, kept
//! in one sorted `Vec`. A B-tree's code (node splits and merges, cursors,
//! its own drop and clone) is made again for every key and value type, and
//! the crate has some 150 of them: 390 KB of the .wasm. A sorted `Vec`
//! needs a binary search and a `memmove` per type: 15 KB for all of them,
//! and the .wasm went from 1,909,404 to about 1,498,000 bytes.
//!
//! The price is an insert or remove in the middle that costs O(n) instead
//! of O(log n), which a browser tab's few topics and groups never notice
//! but a native broker's maps of partitions, offsets and producers would;
//! so the native build keeps the B-trees. Both are tested: `scripts/test`
//! runs the crate's whole test suite with the feature on and off, and
//! `tests.rs` here checks `VecMap` and `VecSet` against `BTreeMap` and
//! `BTreeSet` on random operations.
//!
//! The feature changes the types of public fields (`Config::plain_users`
//! and others are `Map`s), so code outside the crate that names them
//! should use these aliases, or build maps with `collect()` and
//! `Default`, which both types have.

pub mod map;
pub mod set;
#[cfg(test)]
mod tests;

pub use map::VecMap;
pub use set::VecSet;

/// The crate's sorted map: `BTreeMap`, or [`VecMap`] with `compact-maps`.
#[cfg(not(feature = "compact-maps"))]
pub type Map<K, V> = std::collections::BTreeMap<K, V>;
/// The crate's sorted map: `BTreeMap`, or [`VecMap`] with `compact-maps`.
#[cfg(feature = "compact-maps")]
pub type Map<K, V> = VecMap<K, V>;

/// The crate's sorted set: `BTreeSet`, or [`VecSet`] with `compact-maps`.
#[cfg(not(feature = "compact-maps"))]
pub type Set<T> = std::collections::BTreeSet<T>;
/// The crate's sorted set: `BTreeSet`, or [`VecSet`] with `compact-maps`.
#[cfg(feature = "compact-maps")]
pub type Set<T> = VecSet<T>;

/// The positions of `items` (sorted by `key`) inside `range`; empty, not
/// a panic, when the range ends before it starts.
fn span<E, T: ?Sized + Ord>(
    items: &[E],
    key: impl Fn(&E) -> &T,
    range: &impl std::ops::RangeBounds<T>,
) -> std::ops::Range<usize> {
    use std::ops::Bound::*;
    let at = |bound, end| match (bound, end) {
        (Unbounded, false) => 0,
        (Unbounded, true) => items.len(),
        // Where a start bound begins or an excluded end stops: the first
        // item at or after it.
        (Included(b), false) | (Excluded(b), true) => items.partition_point(|e| key(e) < b),
        (Excluded(b), false) | (Included(b), true) => items.partition_point(|e| key(e) <= b),
    };
    let start = at(range.start_bound(), false);
    let end = at(range.end_bound(), true).max(start);
    start..end
}
