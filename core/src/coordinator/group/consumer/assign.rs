//! Assignments of a consumer group: sets of partitions by topic id, the
//! set operations reconciliation needs, and the two server-side assignors
//! (`uniform`, the default, and `range`).

use crate::collections::{Map, Set};

use bytestring::ByteString;

use super::TopicMeta;
use crate::protocol::Uuid;

/// Partitions by topic id.
pub(crate) type Assign = Map<Uuid, Set<i32>>;

/// The assignors the broker runs.
pub(crate) const ASSIGNORS: [&str; 2] = ["uniform", "range"];

/// Whether every partition of `a` is in `b`.
pub(crate) fn subset(a: &Assign, b: &Assign) -> bool {
    a.iter()
        .all(|(t, ps)| ps.is_empty() || b.get(t).is_some_and(|bs| ps.is_subset(bs)))
}

/// The partitions in both.
pub(crate) fn intersect(a: &Assign, b: &Assign) -> Assign {
    let mut out = Assign::new();
    for (t, ps) in a {
        if let Some(bs) = b.get(t) {
            let common: Set<i32> = ps.intersection(bs).copied().collect();
            if !common.is_empty() {
                out.insert(*t, common);
            }
        }
    }
    out
}

/// The partitions of `a` not in `b`.
pub(crate) fn minus(a: &Assign, b: &Assign) -> Assign {
    let mut out = Assign::new();
    for (t, ps) in a {
        let rest: Set<i32> = match b.get(t) {
            Some(bs) => ps.difference(bs).copied().collect(),
            None => ps.clone(),
        };
        if !rest.is_empty() {
            out.insert(*t, rest);
        }
    }
    out
}

/// Kafka's range assignor, per topic: subscribed members in id order take
/// contiguous ranges, the first `partitions % members` one more.
pub(crate) fn range_assign(
    subs: &Map<ByteString, Set<Uuid>>,
    meta: &[TopicMeta],
) -> Map<ByteString, Assign> {
    let mut out: Map<ByteString, Assign> =
        subs.keys().map(|m| (m.clone(), Assign::new())).collect();
    for (_, id, n) in meta {
        let members: Vec<&ByteString> = subs
            .iter()
            .filter(|(_, ts)| ts.contains(id))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() {
            continue;
        }
        let (each, extra) = (*n as usize / members.len(), *n as usize % members.len());
        let mut p = 0;
        for (i, m) in members.iter().enumerate() {
            let take = each + usize::from(i < extra);
            let set: Set<i32> = (p..p + take as i32).collect();
            p += take as i32;
            if !set.is_empty() {
                out.entry((*m).clone()).or_default().insert(*id, set);
            }
        }
    }
    out
}

/// A balanced, sticky assignment: every subscribed partition goes to one
/// subscriber; partition counts differ by at most one between members with
/// the same subscription; a partition stays with its previous owner when
/// that keeps the balance.
pub(crate) fn uniform_assign(
    subs: &Map<ByteString, Set<Uuid>>,
    meta: &[TopicMeta],
    previous: &Map<ByteString, Assign>,
) -> Map<ByteString, Assign> {
    let mut out: Map<ByteString, Assign> =
        subs.keys().map(|m| (m.clone(), Assign::new())).collect();
    let mut count: Map<ByteString, usize> = subs.keys().map(|m| (m.clone(), 0)).collect();
    let partitions: Vec<(Uuid, i32)> = meta
        .iter()
        .filter(|(_, id, _)| subs.values().any(|ts| ts.contains(id)))
        .flat_map(|(_, id, n)| (0..*n).map(move |p| (*id, p)))
        .collect();
    if subs.is_empty() || partitions.is_empty() {
        return out;
    }
    let floor = partitions.len() / subs.len();
    let mut ceil_slots = partitions.len() % subs.len();
    let mut placed: Set<(Uuid, i32)> = Set::new();
    // Sticky: previous owners keep up to their fair share.
    for round in 0..2 {
        for (m, prev) in previous {
            let Some(topics) = subs.get(m) else { continue };
            for (t, ps) in prev {
                if !topics.contains(t) {
                    continue;
                }
                for p in ps {
                    let key = (*t, *p);
                    if placed.contains(&key) || !partitions.contains(&key) {
                        continue;
                    }
                    let c = count[m];
                    let ok = if round == 0 {
                        c < floor
                    } else if c == floor && ceil_slots > 0 {
                        ceil_slots -= 1;
                        true
                    } else {
                        false
                    };
                    if ok {
                        placed.insert(key);
                        out.entry(m.clone())
                            .or_default()
                            .entry(*t)
                            .or_default()
                            .insert(*p);
                        *count.get_mut(m).unwrap_or(&mut 0) += 1;
                    }
                }
            }
        }
    }
    // The rest: each to the subscriber holding the fewest.
    for key in partitions {
        if placed.contains(&key) {
            continue;
        }
        let best = subs
            .iter()
            .filter(|(_, ts)| ts.contains(&key.0))
            .map(|(m, _)| m)
            .min_by_key(|m| (count[*m], (*m).clone()));
        if let Some(m) = best {
            out.entry(m.clone())
                .or_default()
                .entry(key.0)
                .or_default()
                .insert(key.1);
            *count.get_mut(m).unwrap_or(&mut 0) += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Vec<TopicMeta> {
        vec![
            ("a".into(), Uuid([1; 16]), 6),
            ("b".into(), Uuid([2; 16]), 3),
        ]
    }

    fn subs(members: &[(&str, &[u8])]) -> Map<ByteString, Set<Uuid>> {
        members
            .iter()
            .map(|(m, ts)| ((*m).into(), ts.iter().map(|t| Uuid([*t; 16])).collect()))
            .collect()
    }

    fn sizes(a: &Map<ByteString, Assign>) -> Vec<usize> {
        a.values().map(|x| x.values().map(Set::len).sum()).collect()
    }

    #[test]
    fn uniform_is_balanced_complete_and_sticky() {
        let s = subs(&[("m1", &[1, 2]), ("m2", &[1, 2]), ("m3", &[1, 2])]);
        let first = uniform_assign(&s, &meta(), &Map::new());
        assert_eq!(sizes(&first), vec![3, 3, 3]);
        // m3 leaves: m1 and m2 keep everything they had.
        let s2 = subs(&[("m1", &[1, 2]), ("m2", &[1, 2])]);
        let second = uniform_assign(&s2, &meta(), &first);
        let mut sz = sizes(&second);
        sz.sort();
        assert_eq!(sz, vec![4, 5]);
        for m in ["m1", "m2"] {
            assert!(subset(&first[m], &second[m]), "{m} kept its partitions");
        }
    }

    #[test]
    fn range_splits_each_topic() {
        let s = subs(&[("m1", &[1]), ("m2", &[1, 2])]);
        let r = range_assign(&s, &meta());
        assert_eq!(r["m1"][&Uuid([1; 16])], (0..3).collect());
        assert_eq!(r["m2"][&Uuid([1; 16])], (3..6).collect());
        assert_eq!(r["m2"][&Uuid([2; 16])], (0..3).collect());
    }
}
