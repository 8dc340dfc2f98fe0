//! `VecMap` and `VecSet` against `BTreeMap` and `BTreeSet`: the same random
//! operations on both, the same answers and contents after each.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use proptest::prelude::*;

use super::{VecMap, VecSet};

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u16),
    Remove(u8),
    Get(u8),
    EntryDefault(u8, u16),
    EntryModify(u8),
    EntryRemove(u8),
    Retain(u8),
    Range(Bound<u8>, Bound<u8>),
    RangeMut(u8, u8),
    PopFirst,
    PopLast,
    SplitOff(u8),
    Append(Vec<(u8, u16)>),
    Clear,
}

fn bound() -> impl Strategy<Value = Bound<u8>> {
    prop_oneof![
        Just(Bound::Unbounded),
        any::<u8>().prop_map(Bound::Included),
        any::<u8>().prop_map(Bound::Excluded),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    // Keys from a small range, so that hits and misses both happen.
    let key = || 0u8..64;
    prop_oneof![
        8 => (key(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
        3 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        2 => (key(), any::<u16>()).prop_map(|(k, v)| Op::EntryDefault(k, v)),
        2 => key().prop_map(Op::EntryModify),
        1 => key().prop_map(Op::EntryRemove),
        1 => (2u8..5).prop_map(Op::Retain),
        2 => (bound(), bound())
            .prop_filter("BTreeMap panics on a backwards range", |(s, e)| !backwards(*s, *e))
            .prop_map(|(s, e)| Op::Range(s, e)),
        1 => (key(), key()).prop_map(|(a, b)| Op::RangeMut(a.min(b), a.max(b))),
        1 => Just(Op::PopFirst),
        1 => Just(Op::PopLast),
        1 => key().prop_map(Op::SplitOff),
        1 => prop::collection::vec((key(), any::<u16>()), 0..8).prop_map(Op::Append),
        1 => Just(Op::Clear),
    ]
}

/// Whether `BTreeMap::range` would panic: start after end, or both equal
/// and excluded.
fn backwards(s: Bound<u8>, e: Bound<u8>) -> bool {
    use Bound::*;
    match (s, e) {
        (Included(a) | Excluded(a), Included(b) | Excluded(b)) if a > b => true,
        (Excluded(a), Excluded(b)) => a == b,
        _ => false,
    }
}

fn same_map(v: &VecMap<u8, u16>, b: &BTreeMap<u8, u16>) {
    assert_eq!(v.len(), b.len());
    assert_eq!(v.is_empty(), b.is_empty());
    assert!(v.iter().eq(b.iter()));
    assert!(v.iter().rev().eq(b.iter().rev()));
    assert!(v.keys().eq(b.keys()));
    assert!(v.values().eq(b.values()));
    assert_eq!(v.first_key_value(), b.first_key_value());
    assert_eq!(v.last_key_value(), b.last_key_value());
}

fn apply(v: &mut VecMap<u8, u16>, b: &mut BTreeMap<u8, u16>, op: &Op) {
    match op.clone() {
        Op::Insert(k, x) => assert_eq!(v.insert(k, x), b.insert(k, x)),
        Op::Remove(k) => assert_eq!(v.remove(&k), b.remove(&k)),
        Op::Get(k) => {
            assert_eq!(v.get(&k), b.get(&k));
            assert_eq!(v.get_key_value(&k), b.get_key_value(&k));
            assert_eq!(v.contains_key(&k), b.contains_key(&k));
            assert_eq!(v.get_mut(&k), b.get_mut(&k));
        }
        Op::EntryDefault(k, x) => {
            *v.entry(k).or_default() ^= x;
            *b.entry(k).or_default() ^= x;
        }
        Op::EntryModify(k) => {
            let f = |x: &mut u16| *x = x.wrapping_mul(3);
            assert_eq!(
                v.entry(k).and_modify(f).or_insert(7),
                b.entry(k).and_modify(f).or_insert(7)
            );
        }
        Op::EntryRemove(k) => {
            let a = match v.entry(k) {
                super::map::Entry::Occupied(e) => Some(e.remove()),
                super::map::Entry::Vacant(_) => None,
            };
            let c = match b.entry(k) {
                std::collections::btree_map::Entry::Occupied(e) => Some(e.remove()),
                std::collections::btree_map::Entry::Vacant(_) => None,
            };
            assert_eq!(a, c);
        }
        Op::Retain(m) => {
            let keep = |k: &u8, x: &mut u16| (u32::from(*k) + u32::from(*x)) % u32::from(m) != 0;
            v.retain(keep);
            b.retain(keep);
        }
        Op::Range(s, e) => {
            assert!(v.range((s, e)).eq(b.range((s, e))));
            assert!(v.range((s, e)).rev().eq(b.range((s, e)).rev()));
        }
        Op::RangeMut(s, e) => {
            v.range_mut(s..=e).for_each(|(_, x)| *x = x.wrapping_add(1));
            b.range_mut(s..=e).for_each(|(_, x)| *x = x.wrapping_add(1));
        }
        Op::PopFirst => assert_eq!(v.pop_first(), b.pop_first()),
        Op::PopLast => assert_eq!(v.pop_last(), b.pop_last()),
        Op::SplitOff(k) => {
            let (vs, bs) = (v.split_off(&k), b.split_off(&k));
            same_map(&vs, &bs);
            // Put half back, to keep the maps from shrinking for good.
            let (mut vs, mut bs) = (vs, bs);
            if k % 2 == 0 {
                v.append(&mut vs);
                b.append(&mut bs);
            }
        }
        Op::Append(entries) => {
            let mut vo: VecMap<u8, u16> = entries.iter().copied().collect();
            let mut bo: BTreeMap<u8, u16> = entries.iter().copied().collect();
            same_map(&vo, &bo);
            v.append(&mut vo);
            b.append(&mut bo);
            assert!(vo.is_empty() && bo.is_empty());
        }
        Op::Clear => {
            v.clear();
            b.clear();
        }
    }
}

proptest! {
    #[test]
    fn vec_map_does_what_btree_map_does(ops in prop::collection::vec(op(), 0..300)) {
        let mut v = VecMap::new();
        let mut b = BTreeMap::new();
        for op in &ops {
            apply(&mut v, &mut b, op);
            same_map(&v, &b);
        }
        let vi: Vec<_> = v.clone().into_iter().collect();
        let bi: Vec<_> = b.clone().into_iter().collect();
        prop_assert_eq!(vi, bi);
        prop_assert!(v.clone().into_keys().eq(b.clone().into_keys()));
        prop_assert!(v.clone().into_values().rev().eq(b.clone().into_values().rev()));
        prop_assert_eq!(format!("{v:?}"), format!("{b:?}"));
        prop_assert_eq!(serde_json::to_string(&v).unwrap(), serde_json::to_string(&b).unwrap());
        let back: VecMap<u8, u16> = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn vec_set_does_what_btree_set_does(
        ops in prop::collection::vec((0u8..6, 0u8..64, 0u8..64), 0..300),
        other in prop::collection::btree_set(0u8..64, 0..20),
    ) {
        let mut v = VecSet::new();
        let mut b = BTreeSet::new();
        let vo: VecSet<u8> = other.iter().copied().collect();
        for &(what, x, y) in &ops {
            match what {
                0 | 1 => prop_assert_eq!(v.insert(x), b.insert(x)),
                2 => prop_assert_eq!(v.remove(&x), b.remove(&x)),
                3 => prop_assert_eq!(v.replace(x), b.replace(x)),
                4 => {
                    let (s, e) = (x.min(y), x.max(y));
                    prop_assert!(v.range(s..e).eq(b.range(s..e)));
                    prop_assert!(v.range(s..).rev().eq(b.range(s..).rev()));
                }
                _ => {
                    prop_assert_eq!(v.pop_first(), b.pop_first());
                    v.retain(|i| i % 7 != x % 7);
                    b.retain(|i| i % 7 != x % 7);
                }
            }
            prop_assert!(v.iter().eq(b.iter()));
            prop_assert_eq!(v.len(), b.len());
            prop_assert_eq!(v.contains(&y), b.contains(&y));
            prop_assert_eq!(v.first(), b.first());
            prop_assert_eq!(v.last(), b.last());
        }
        prop_assert!(v.difference(&vo).eq(b.difference(&other)));
        prop_assert!(v.intersection(&vo).eq(b.intersection(&other)));
        prop_assert!(v.union(&vo).eq(b.union(&other)));
        prop_assert_eq!(v.is_subset(&vo), b.is_subset(&other));
        prop_assert_eq!(v.is_superset(&vo), b.is_superset(&other));
        prop_assert_eq!(v.is_disjoint(&vo), b.is_disjoint(&other));
        prop_assert_eq!(format!("{v:?}"), format!("{b:?}"));
        prop_assert_eq!(serde_json::to_string(&v).unwrap(), serde_json::to_string(&b).unwrap());
        let back: VecSet<u8> = serde_json::from_str("[5,3,5,1]").unwrap();
        prop_assert!(back.iter().eq([1, 3, 5].iter()));
        let mut split = v.clone();
        let tail = split.split_off(&32);
        let mut bsplit = b.clone();
        let btail = bsplit.split_off(&32);
        prop_assert!(split.iter().eq(bsplit.iter()) && tail.iter().eq(btail.iter()));
    }
}

#[test]
fn a_backwards_range_is_empty_not_a_panic() {
    let m: VecMap<u8, ()> = (0..10).map(|k| (k, ())).collect();
    let (from, to) = (7, 3);
    assert_eq!(m.range(from..to).count(), 0);
    let s: VecSet<u8> = (0..10).collect();
    assert_eq!(s.range((Bound::Excluded(4), Bound::Excluded(4))).count(), 0);
}

#[test]
fn equality_order_and_hash_follow_the_contents() {
    let a: VecMap<u8, u8> = [(2, 0), (1, 0)].into();
    let b: VecMap<u8, u8> = [(1, 0), (2, 0)].into();
    assert_eq!(a, b);
    let c: VecMap<u8, u8> = [(1, 0), (3, 0)].into();
    let (ba, bc): (BTreeMap<u8, u8>, BTreeMap<u8, u8>) =
        ([(2, 0), (1, 0)].into(), [(1, 0), (3, 0)].into());
    assert_eq!(a.cmp(&c), ba.cmp(&bc));
    assert_eq!(a[&2], 0);
}
