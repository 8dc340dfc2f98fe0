//! The "consumer" embedded protocol of classic consumer groups: the
//! subscription each member sends in JoinGroup, the assignment the leader
//! hands out in SyncGroup, and Kafka's range assignor.
//!
//! # Wire
//!
//! Both are a big-endian `int16` version followed by the
//! `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment` struct at
//! that version (never flexible). A reader meeting a version newer than it
//! knows decodes the fields it knows and ignores the bytes after them, as
//! Kafka's `ConsumerProtocol` does: newer versions only append fields.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::protocol::messages::consumer_protocol_assignment::{
    self, ConsumerProtocolAssignment,
};
use spate_core::protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use spate_core::protocol::{Message, Reader, Wire};

/// The protocol type of consumer groups.
pub(crate) const PROTOCOL_TYPE: &str = "consumer";

/// The name of the range assignor, as Java clients and librdkafka call it.
pub(crate) const RANGE: &str = "range";

/// The newest version of both structs this client knows.
const NEWEST: i16 = 3;

/// Partitions by topic, each list sorted.
pub(crate) type Partitions = BTreeMap<String, Vec<i32>>;

/// A subscription: the topics a member wants, and what it owns now.
pub(crate) fn encode_subscription(topics: &[String], owned: &Partitions, generation: i32) -> Bytes {
    let sub = ConsumerProtocolSubscription {
        topics: topics
            .iter()
            .map(|t| ByteString::from(t.as_str()))
            .collect(),
        owned_partitions: owned
            .iter()
            .map(|(t, ps)| {
                spate_core::protocol::messages::consumer_protocol_subscription::TopicPartition {
                    topic: ByteString::from(t.as_str()),
                    partitions: ps.as_slice().into(),
                    ..Default::default()
                }
            })
            .collect(),
        generation_id: generation,
        ..Default::default()
    };
    with_version(NEWEST, sub.encode_to_bytes(NEWEST))
}

/// Reads a member's subscription metadata.
pub(crate) fn decode_subscription(bytes: &Bytes) -> anyhow::Result<ConsumerProtocolSubscription> {
    let mut r = Reader::new(bytes);
    let version = known_version(&mut r, "subscription")?;
    ConsumerProtocolSubscription::decode(&mut r, version)
        .context("decoding a consumer subscription")
}

/// An assignment of `partitions`.
pub(crate) fn encode_assignment(partitions: &Partitions) -> Bytes {
    let a = ConsumerProtocolAssignment {
        assigned_partitions: partitions
            .iter()
            .map(|(t, ps)| consumer_protocol_assignment::TopicPartition {
                topic: ByteString::from(t.as_str()),
                partitions: ps.as_slice().into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    with_version(NEWEST, a.encode_to_bytes(NEWEST))
}

/// Reads an assignment; an empty byte string (what a leader sends a
/// member it gives nothing, and what some brokers return) is no partitions.
pub(crate) fn decode_assignment(bytes: &Bytes) -> anyhow::Result<Partitions> {
    if bytes.is_empty() {
        return Ok(Partitions::new());
    }
    let mut r = Reader::new(bytes);
    let version = known_version(&mut r, "assignment")?;
    let a = ConsumerProtocolAssignment::decode(&mut r, version)
        .context("decoding a consumer assignment")?;
    let mut out = Partitions::new();
    for tp in a.assigned_partitions {
        let ps = out.entry(tp.topic.to_string()).or_default();
        ps.extend(tp.partitions.iter());
        ps.sort_unstable();
        ps.dedup();
    }
    Ok(out)
}

/// The encoding of a struct preceded by its version.
fn with_version(version: i16, body: Result<Bytes, impl std::fmt::Debug>) -> Bytes {
    let mut out = version.to_be_bytes().to_vec();
    // Encoding these structs fails only on lengths over i32::MAX.
    out.extend_from_slice(&body.map(|b| b.to_vec()).unwrap_or_default());
    Bytes::from(out)
}

/// Reads the version prefix; versions newer than this client's are read as
/// the newest it knows.
fn known_version(r: &mut Reader<'_>, what: &str) -> anyhow::Result<i16> {
    let version = r
        .i16()
        .with_context(|| format!("reading a consumer {what} version"))?;
    if version < 0 {
        bail!("consumer {what} version {version} is invalid");
    }
    Ok(version.min(NEWEST))
}

/// Kafka's `RangeAssignor`: for each topic, the members subscribed to it,
/// sorted by member id, take consecutive ranges of its partitions; the
/// first `partitions % members` take one more.
///
/// `members` maps member id to subscribed topics; `partition_counts` maps a
/// topic to its number of partitions (topics missing from it are skipped).
/// Every member gets an entry, possibly empty.
pub(crate) fn range_assign(
    members: &BTreeMap<String, Vec<String>>,
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<String, Partitions> {
    let mut out: BTreeMap<String, Partitions> = members
        .keys()
        .map(|m| (m.clone(), Partitions::new()))
        .collect();
    let topics: BTreeSet<&String> = members.values().flatten().collect();
    for topic in topics {
        let Some(&count) = partition_counts.get(topic) else {
            continue;
        };
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, ts)| ts.contains(topic))
            .map(|(m, _)| m)
            .collect();
        let n = subscribers.len() as i32;
        if n == 0 || count <= 0 {
            continue;
        }
        let (each, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, m) in subscribers.into_iter().enumerate() {
            let take = each + i32::from((i as i32) < extra);
            if take > 0 {
                let ps: Vec<i32> = (next..next + take).collect();
                if let Some(a) = out.get_mut(m) {
                    a.insert(topic.clone(), ps);
                }
            }
            next += take;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        list.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    #[test]
    fn range_splits_like_kafka() {
        // Kafka's RangeAssignorTest.testTwoConsumersTwoTopicsSixPartitions:
        // t1 and t2 with 3 partitions each, c0 gets 0-1 of both, c1 gets 2.
        let m = members(&[("c0", &["t1", "t2"]), ("c1", &["t1", "t2"])]);
        let counts = BTreeMap::from([("t1".to_string(), 3), ("t2".to_string(), 3)]);
        let a = range_assign(&m, &counts);
        assert_eq!(a["c0"]["t1"], vec![0, 1]);
        assert_eq!(a["c0"]["t2"], vec![0, 1]);
        assert_eq!(a["c1"]["t1"], vec![2]);
        assert_eq!(a["c1"]["t2"], vec![2]);
    }

    #[test]
    fn range_gives_every_member_an_entry_and_only_subscribed_topics() {
        let m = members(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"]), ("d", &["u"])]);
        let counts = BTreeMap::from([("t".to_string(), 2), ("u".to_string(), 1)]);
        let a = range_assign(&m, &counts);
        assert_eq!(a["a"]["t"], vec![0]);
        assert_eq!(a["b"]["t"], vec![1]);
        assert!(a["c"].is_empty());
        assert_eq!(a["d"], Partitions::from([("u".to_string(), vec![0])]));
        // Six partitions over three members: two each.
        let m = members(&[("x", &["t"]), ("y", &["t"]), ("z", &["t"])]);
        let a = range_assign(&m, &BTreeMap::from([("t".to_string(), 6)]));
        let got: Vec<_> = a.values().map(|p| p["t"].clone()).collect();
        assert_eq!(got, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    }

    #[test]
    fn subscription_and_assignment_round_trip() {
        let owned = Partitions::from([("t".to_string(), vec![1, 3])]);
        let bytes = encode_subscription(&["t".to_string()], &owned, 7);
        assert_eq!(&bytes[..2], &[0, 3], "version prefix");
        let sub = decode_subscription(&bytes).unwrap();
        assert_eq!(sub.topics, vec![ByteString::from("t")]);
        assert_eq!(sub.generation_id, 7);
        assert_eq!(sub.owned_partitions[0].partitions.to_vec(), vec![1, 3]);
        let parts = Partitions::from([("t".to_string(), vec![0, 2]), ("u".to_string(), vec![5])]);
        assert_eq!(
            decode_assignment(&encode_assignment(&parts)).unwrap(),
            parts
        );
        assert!(decode_assignment(&Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn reads_what_librdkafka_and_newer_clients_send() {
        // Version 0 subscription (topics, user data), as librdkafka 1.x sent.
        let v0 = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]);
        let sub = decode_subscription(&v0).unwrap();
        assert_eq!(sub.topics, vec![ByteString::from("t")]);
        // A future version 9 with an appended field: read as version 3, the
        // trailing bytes ignored.
        let mut future = encode_subscription(&["t".to_string()], &Partitions::new(), 1).to_vec();
        future[1] = 9;
        future.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            decode_subscription(&Bytes::from(future))
                .unwrap()
                .generation_id,
            1
        );
        // Garbage is an error, not a panic.
        assert!(decode_subscription(&Bytes::from_static(&[0, 3, 0xff])).is_err());
        assert!(decode_assignment(&Bytes::from_static(&[0xff, 0xff])).is_err());
    }
}
