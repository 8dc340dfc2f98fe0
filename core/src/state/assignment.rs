//! Where the replicas of a new topic go, in ZooKeeper mode: Kafka's
//! `AdminUtils.assignReplicasToBrokers`, which its ZooKeeper-era broker
//! runs for CreateTopics and auto-creation.
//!
//! # The rules
//!
//! Three goals, in Kafka's order: spread the replicas evenly over the
//! brokers; spread the other replicas of the partitions a broker leads
//! over the other brokers; when every broker has a rack, put a
//! partition's replicas on different racks where possible.
//!
//! Without racks, the brokers are listed by id. Partition `p`'s first
//! replica (its preferred leader) is broker `(p + start) % n` of the list;
//! the others follow it at a distance of `1 + (shift + j) % (n - 1)` for
//! the `j`-th of them, and `shift` grows by one each time `p` wraps round
//! the list, so that later rounds do not repeat the same followers. Five
//! brokers, start 0, shift 0 (the `p` of each replica):
//!
//! ```text
//!   broker    0    1    2    3    4
//!   first     p0   p1   p2   p3   p4
//!             p5   p6   p7   p8   p9
//!   second    p4   p0   p1   p2   p3
//!             p8   p9   p5   p6   p7
//!   third     p3   p4   p0   p1   p2
//!             p7   p8   p9   p5   p6
//! ```
//!
//! With racks on every broker, the list alternates racks (racks sorted by
//! name, each rack's brokers by id: rack `a` = {1, 2}, `b` = {3} gives
//! `1, 3, 2`), the first replica is taken as above, and each other replica
//! walks the list from the same distance (`shift` counted in whole rounds
//! of racks), skipping a broker whose rack already has a replica while
//! some rack has none, and a broker that already has one while some
//! broker has none. So a partition reaches every rack before any rack
//! gets a second replica.
//!
//! Brokers some of which have a rack and some not are an error (Kafka's
//! `AdminOperationException`, which its broker answers as
//! UNKNOWN_SERVER_ERROR without a message).
//!
//! Kafka draws `start` and `shift` at random; the core has no randomness,
//! so its caller draws them from the id generator
//! ([`super::ids::Ids`], seeded by `Config::seed`).

use crate::collections::{Map, Set};

use crate::protocol::{ErrorCode, Uuid};

/// A topic for the driver to create in ZooKeeper (ZooKeeper mode), as
/// `Output::CreateTopics` hands it over: the driver writes its configs to
/// `/config/topics/<name>` and its assignment, with its id, to
/// `/brokers/topics/<name>`, and the controller takes it from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// The topic's name.
    pub name: String,
    /// Its id, fresh from the broker's id generator (Kafka writes one into
    /// the topic znode from inter-broker protocol 2.8).
    pub id: Uuid,
    /// Partition index (0..n) to its replicas' broker ids, the preferred
    /// leader first.
    pub assignment: Map<i32, Vec<i32>>,
    /// The configs the request set, in its order (defaults are not
    /// written, as Kafka writes only what was set).
    pub configs: Vec<(String, String)>,
}

/// Partitions to add to a topic in ZooKeeper mode (Kafka's
/// `AdminZkClient.addPartitions`): the driver rewrites
/// `/brokers/topics/<name>` with `assignment`, only if it still holds
/// `existing` partitions, and the controller elects the new ones' leaders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartitions {
    /// The topic.
    pub name: String,
    /// Its id (kept in the rewritten znode).
    pub id: Uuid,
    /// How many partitions it has now.
    pub existing: i32,
    /// Every partition's replicas, the existing ones and the new.
    pub assignment: Map<i32, Vec<i32>>,
}

/// A live broker, as the assignment sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate<'a> {
    pub id: i32,
    pub rack: Option<&'a str>,
}

/// Where the assignment starts: Kafka's random start index and replica
/// shift, each taken modulo the number of brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Start {
    pub index: u64,
    pub shift: u64,
    /// The id of the first partition assigned (Kafka's `startPartitionId`:
    /// the existing count when partitions are added, else 0).
    pub first: i32,
}

/// Partition index to its replicas, the first the preferred leader.
pub(crate) type Assignment = Map<i32, Vec<i32>>;

/// Why an assignment cannot be made: the error code and Kafka's message.
pub(crate) type AssignError = (ErrorCode, Option<String>);

/// Assigns `partitions` partitions of `replication_factor` replicas each
/// to `brokers` (in any order; a repeated id counts once), as Kafka's
/// `assignReplicasToBrokers` does with the given start.
pub(crate) fn assign(
    brokers: &[Candidate<'_>],
    partitions: i32,
    replication_factor: i32,
    start: Start,
) -> Result<Assignment, AssignError> {
    let mut by_id: Map<i32, Option<&str>> = Map::new();
    for b in brokers {
        by_id.insert(b.id, b.rack);
    }
    if partitions <= 0 {
        return Err((
            ErrorCode::INVALID_PARTITIONS,
            Some("Number of partitions must be larger than 0.".into()),
        ));
    }
    if replication_factor <= 0 {
        return Err((
            ErrorCode::INVALID_REPLICATION_FACTOR,
            Some("Replication factor must be larger than 0.".into()),
        ));
    }
    if replication_factor as usize > by_id.len() {
        return Err((
            ErrorCode::INVALID_REPLICATION_FACTOR,
            Some(format!(
                "Replication factor: {replication_factor} larger than available brokers: {}.",
                by_id.len()
            )),
        ));
    }
    let rf = replication_factor as usize;
    if by_id.values().all(Option::is_none) {
        let list: Vec<i32> = by_id.keys().copied().collect();
        return Ok(rack_unaware(&list, partitions, rf, start));
    }
    let mut racks: Map<i32, &str> = Map::new();
    for (&id, rack) in &by_id {
        match rack {
            Some(r) => racks.insert(id, r),
            None => return Err((ErrorCode::UNKNOWN_SERVER_ERROR, None)),
        };
    }
    Ok(rack_aware(&racks, partitions, rf, start))
}

/// The index of the `j`-th follower of the replica at `first`, `shift`
/// along, in a list of `n` (Kafka's `replicaIndex`).
fn follower_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    (first + 1 + (shift + j) % (n - 1)) % n
}

fn rack_unaware(list: &[i32], partitions: i32, rf: usize, start: Start) -> Assignment {
    let n = list.len();
    let index = (start.index % n as u64) as usize;
    let mut shift = (start.shift % n as u64) as usize;
    let mut out = Assignment::new();
    let from = start.first.max(0) as usize;
    for p in from..from + partitions as usize {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + index) % n;
        let mut replicas = vec![list[first]];
        for j in 0..rf - 1 {
            replicas.push(list[follower_index(first, shift, j, n)]);
        }
        out.insert(p as i32, replicas);
    }
    out
}

/// The brokers listed rack by rack in turn: racks by name, each rack's
/// brokers by id (Kafka's `getRackAlternatedBrokerList`).
fn rack_alternated(racks: &Map<i32, &str>) -> Vec<i32> {
    let mut by_rack: Map<&str, std::vec::IntoIter<i32>> = Map::new();
    let mut grouped: Map<&str, Vec<i32>> = Map::new();
    for (&id, &rack) in racks {
        grouped.entry(rack).or_default().push(id);
    }
    for (rack, ids) in grouped {
        by_rack.insert(rack, ids.into_iter());
    }
    let mut out = Vec::with_capacity(racks.len());
    while out.len() < racks.len() {
        for ids in by_rack.values_mut() {
            if let Some(id) = ids.next() {
                out.push(id);
            }
        }
    }
    out
}

fn rack_aware(racks: &Map<i32, &str>, partitions: i32, rf: usize, start: Start) -> Assignment {
    let num_racks = racks.values().collect::<Set<_>>().len();
    let list = rack_alternated(racks);
    let n = list.len();
    let index = (start.index % n as u64) as usize;
    let mut shift = (start.shift % n as u64) as usize;
    let mut out = Assignment::new();
    let from = start.first.max(0) as usize;
    for p in from..from + partitions as usize {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + index) % n;
        let leader = list[first];
        let mut replicas = vec![leader];
        let mut racks_used = Set::from([racks[&leader]]);
        let mut brokers_used = Set::from([leader]);
        let mut k = 0;
        for _ in 0..rf - 1 {
            loop {
                let b = list[follower_index(first, shift * num_racks, k, n)];
                let rack = racks[&b];
                k += 1;
                let rack_ok = !racks_used.contains(rack) || racks_used.len() == num_racks;
                let broker_ok = !brokers_used.contains(&b) || brokers_used.len() == n;
                if rack_ok && broker_ok {
                    replicas.push(b);
                    racks_used.insert(rack);
                    brokers_used.insert(b);
                    break;
                }
            }
        }
        out.insert(p as i32, replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(ids: &[i32]) -> Vec<Candidate<'static>> {
        ids.iter().map(|&id| Candidate { id, rack: None }).collect()
    }

    fn racked<'a>(brokers: &[(i32, &'a str)]) -> Vec<Candidate<'a>> {
        brokers
            .iter()
            .map(|&(id, rack)| Candidate {
                id,
                rack: Some(rack),
            })
            .collect()
    }

    fn at(index: u64, shift: u64) -> Start {
        Start {
            index,
            shift,
            first: 0,
        }
    }

    fn rows(a: &Assignment) -> Vec<Vec<i32>> {
        a.values().cloned().collect()
    }

    #[test]
    fn kafkas_table_without_racks() {
        // The table in the module docs: five brokers, start 0, shift 0.
        let a = assign(&plain(&[0, 1, 2, 3, 4]), 10, 3, at(0, 0)).unwrap();
        assert_eq!(
            rows(&a),
            [
                [0, 1, 2],
                [1, 2, 3],
                [2, 3, 4],
                [3, 4, 0],
                [4, 0, 1],
                // Round two: the shift grows by one.
                [0, 2, 3],
                [1, 3, 4],
                [2, 4, 0],
                [3, 0, 1],
                [4, 1, 2],
            ]
        );
    }

    #[test]
    fn added_partitions_start_their_shift_at_the_first_new_one() {
        // Kafka's addPartitions: ten partitions on five brokers, three
        // more with start index and shift 0 from partition 10, whose id
        // (a multiple of five) moves the shift to 1 at once.
        let start = Start {
            first: 10,
            ..at(0, 0)
        };
        let a = assign(&plain(&[0, 1, 2, 3, 4]), 3, 3, start).unwrap();
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), [10, 11, 12]);
        assert_eq!(rows(&a), [[0, 2, 3], [1, 3, 4], [2, 4, 0]]);
    }

    #[test]
    fn start_and_shift_move_leaders_and_followers() {
        // Brokers 1-3, start 1, shift 2, worked by hand: p0's leader is
        // list[1] = 2, its follower list[(1 + 1 + 2 % 2) % 3] = 3; p3
        // wraps, so the shift becomes 3 and the follower's distance 2.
        let a = assign(&plain(&[3, 1, 2]), 4, 2, at(1, 2)).unwrap();
        assert_eq!(rows(&a), [[2, 3], [3, 1], [1, 2], [2, 1]]);
        // Start and shift are taken modulo the brokers.
        assert_eq!(assign(&plain(&[1, 2, 3]), 4, 2, at(4, 5)).unwrap(), a);
    }

    #[test]
    fn leaders_and_replicas_spread_evenly() {
        let ids: Vec<i32> = (1..=6).collect();
        for (index, shift) in [(0, 0), (3, 1), (5, 4)] {
            let a = assign(&plain(&ids), 12, 3, at(index, shift)).unwrap();
            let mut leaders = Map::<i32, usize>::new();
            let mut replicas = Map::<i32, usize>::new();
            for r in a.values() {
                assert_eq!(r.iter().collect::<Set<_>>().len(), 3, "{r:?}");
                *leaders.entry(r[0]).or_default() += 1;
                for b in r {
                    *replicas.entry(*b).or_default() += 1;
                }
            }
            assert!(leaders.values().all(|&c| c == 2), "{leaders:?}");
            assert!(replicas.values().all(|&c| c == 6), "{replicas:?}");
        }
    }

    #[test]
    fn kafkas_rack_example() {
        // Kafka's doc example: racks alternate as 0, 3, 1, 5, 4, 2.
        let b = racked(&[
            (0, "rack1"),
            (1, "rack3"),
            (2, "rack3"),
            (3, "rack2"),
            (4, "rack2"),
            (5, "rack1"),
        ]);
        let racks: Map<i32, &str> = b.iter().map(|c| (c.id, c.rack.unwrap())).collect();
        assert_eq!(rack_alternated(&racks), [0, 3, 1, 5, 4, 2]);
        let a = assign(&b, 7, 3, at(0, 0)).unwrap();
        assert_eq!(
            rows(&a),
            [
                [0, 3, 1],
                [3, 1, 5],
                [1, 5, 4],
                [5, 4, 2],
                [4, 2, 0],
                [2, 0, 3],
                // Shifted, not a repeat of p0.
                [0, 4, 2],
            ]
        );
    }

    #[test]
    fn a_rack_that_already_has_a_replica_is_skipped() {
        // Racks a = {1, 2}, b = {3}: the list is 1, 3, 2. p2's leader is
        // 2 (rack a); the next in line, 1, is in rack a too and b has no
        // replica yet, so 3 is taken.
        let b = racked(&[(1, "a"), (2, "a"), (3, "b")]);
        let a = assign(&b, 4, 2, at(0, 0)).unwrap();
        assert_eq!(rows(&a), [[1, 3], [3, 2], [2, 3], [1, 3]]);
        // More replicas than racks: every rack first, then any broker.
        let a = assign(&b, 3, 3, at(0, 0)).unwrap();
        for r in a.values() {
            assert_eq!(r.iter().collect::<Set<_>>().len(), 3, "{r:?}");
        }
    }

    #[test]
    fn racks_are_spread_when_replicas_fit() {
        let b = racked(&[(1, "x"), (2, "x"), (3, "y"), (4, "y"), (5, "z"), (6, "z")]);
        for (index, shift) in [(0, 0), (2, 5), (4, 1)] {
            let a = assign(&b, 9, 3, at(index, shift)).unwrap();
            for r in a.values() {
                let racks: Set<&str> = r
                    .iter()
                    .map(|id| b.iter().find(|c| c.id == *id).unwrap().rack.unwrap())
                    .collect();
                assert_eq!(racks.len(), 3, "{r:?}");
            }
        }
    }

    #[test]
    fn kafkas_refusals() {
        assert_eq!(
            assign(&plain(&[1]), 1, 3, at(0, 0)),
            Err((
                ErrorCode::INVALID_REPLICATION_FACTOR,
                Some("Replication factor: 3 larger than available brokers: 1.".into())
            ))
        );
        assert_eq!(
            assign(&plain(&[1]), 1, 0, at(0, 0)).unwrap_err().0,
            ErrorCode::INVALID_REPLICATION_FACTOR
        );
        assert_eq!(
            assign(&plain(&[1]), 0, 1, at(0, 0)).unwrap_err().0,
            ErrorCode::INVALID_PARTITIONS
        );
        // Some brokers with racks, some without.
        let mixed = [
            Candidate {
                id: 1,
                rack: Some("a"),
            },
            Candidate { id: 2, rack: None },
        ];
        assert_eq!(
            assign(&mixed, 1, 1, at(0, 0)),
            Err((ErrorCode::UNKNOWN_SERVER_ERROR, None))
        );
        // A repeated broker counts once.
        assert_eq!(
            assign(&plain(&[1, 1]), 1, 2, at(0, 0)).unwrap_err().0,
            ErrorCode::INVALID_REPLICATION_FACTOR
        );
    }
}
