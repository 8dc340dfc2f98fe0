//! The znodes of topics and partitions, as a Kafka 2.8+ ZooKeeper-mode
//! cluster writes them (the controller's input and output).
//!
//! # Format
//!
//! ```text
//! /brokers/topics/<topic>        {"partitions":{"0":[1,2,3],"1":[2,3,1]},"topic_id":"<22-char base64>",
//!                                 "adding_replicas":{},"removing_replicas":{},"version":3}
//! /brokers/topics/<topic>/partitions/<p>/state
//!                                {"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}
//! ```
//!
//! Readers take assignments of every version Kafka wrote (1 and 2 have no
//! `topic_id`; their topics get the zero id; 1 has no `adding_replicas`
//! and `removing_replicas`, the partitions being reassigned and the
//! replicas each gains and loses) and ignore keys they do not know. `leader_recovery_state` (Kafka 3.2+, only written while a leader
//! recovers from an unclean election) is read and dropped: unclean
//! election is never used here.
//!
//! The controller's driver ([`super::control`]) reads the topics and
//! reads and writes the states.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use spate_core::coordinator::controller::{LeaderIsr, TopicAssignment};
use spate_core::protocol::Uuid;
use spate_core::storage::TopicPartition;

use crate::storage::parse_uuid;

/// The topics' parent.
pub(crate) const TOPICS: &str = "/brokers/topics";

/// `/brokers/topics/<topic>`.
pub(crate) fn topic_path(topic: &str) -> String {
    format!("{TOPICS}/{topic}")
}

/// `/brokers/topics/<topic>/partitions/<p>/state`.
pub(crate) fn state_path(tp: &TopicPartition) -> String {
    format!("{TOPICS}/{}/partitions/{}/state", tp.topic, tp.partition)
}

/// A topic's assignment, version 3 (with its id, as Kafka 2.8+ writes).
pub(crate) fn encode_topic(t: &TopicAssignment) -> Vec<u8> {
    #[derive(Serialize)]
    struct TopicJson {
        partitions: BTreeMap<String, Vec<i32>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic_id: Option<String>,
        adding_replicas: BTreeMap<String, Vec<i32>>,
        removing_replicas: BTreeMap<String, Vec<i32>>,
        version: i32,
    }
    let keyed = |m: &BTreeMap<i32, Vec<i32>>| -> BTreeMap<String, Vec<i32>> {
        m.iter().map(|(p, r)| (p.to_string(), r.clone())).collect()
    };
    let json = TopicJson {
        partitions: keyed(&t.partitions),
        topic_id: (t.id != Uuid::ZERO).then(|| t.id.to_string()),
        adding_replicas: keyed(&t.adding),
        removing_replicas: keyed(&t.removing),
        version: 3,
    };
    serde_json::to_vec(&json).unwrap_or_default()
}

/// Reads `/brokers/topics/<name>`.
pub(crate) fn decode_topic(name: &str, bytes: &[u8]) -> Result<TopicAssignment, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let id = match v.get("topic_id").and_then(Value::as_str) {
        Some(s) => parse_uuid(s).ok_or_else(|| format!("bad topic_id {s:?}"))?,
        None => Uuid::ZERO,
    };
    let mut partitions = BTreeMap::new();
    let listed = v
        .get("partitions")
        .and_then(Value::as_object)
        .ok_or("no partitions")?;
    for (p, replicas) in listed {
        let p: i32 = p.parse().map_err(|_| format!("bad partition {p:?}"))?;
        partitions.insert(p, ints(replicas).ok_or("bad replicas")?);
    }
    // Version 2+ (Kafka 2.4+): the reassignments in progress.
    let moving = |key: &str| -> Result<BTreeMap<i32, Vec<i32>>, String> {
        let mut out = BTreeMap::new();
        for (p, replicas) in v.get(key).and_then(Value::as_object).into_iter().flatten() {
            let p: i32 = p
                .parse()
                .map_err(|_| format!("bad partition {p:?} in {key}"))?;
            let replicas = ints(replicas).ok_or_else(|| format!("bad {key}"))?;
            if !replicas.is_empty() {
                out.insert(p, replicas);
            }
        }
        Ok(out)
    };
    Ok(TopicAssignment {
        name: name.to_string(),
        id,
        partitions,
        adding: moving("adding_replicas")?,
        removing: moving("removing_replicas")?,
    })
}

/// Where DeleteTopics marks topics for the controller to delete.
pub(crate) const DELETE_TOPICS: &str = "/admin/delete_topics";

/// `/admin/delete_topics/<topic>`.
pub(crate) fn deletion_path(topic: &str) -> String {
    format!("{DELETE_TOPICS}/{topic}")
}

/// Where leaders leave word of ISR changes for the controller.
pub(crate) const ISR_CHANGES: &str = "/isr_change_notification";

/// The prefix of each notification (ZooKeeper appends a sequence number).
pub(crate) const ISR_CHANGE_PREFIX: &str = "/isr_change_notification/isr_change_";

/// An ISR change notification, as Kafka's leaders write it
/// (`{"version":1,"partitions":[{"topic":"t","partition":0}]}`).
pub(crate) fn encode_isr_change(partitions: &[TopicPartition]) -> Vec<u8> {
    let partitions: Vec<Value> = partitions
        .iter()
        .map(|tp| serde_json::json!({"topic": tp.topic, "partition": tp.partition}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": 1, "partitions": partitions}))
        .unwrap_or_default()
}

/// Reads an ISR change notification.
pub(crate) fn decode_isr_change(bytes: &[u8]) -> Result<Vec<TopicPartition>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    v.get("partitions")
        .and_then(Value::as_array)
        .ok_or("no partitions")?
        .iter()
        .map(|p| {
            let topic = p.get("topic").and_then(Value::as_str).ok_or("no topic")?;
            let partition = p
                .get("partition")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or("no partition")?;
            Ok(TopicPartition::new(topic, partition))
        })
        .collect()
}

/// Where config changes are announced to every broker.
pub(crate) const CONFIG_CHANGES: &str = "/config/changes";

/// The prefix of each announcement (ZooKeeper appends a sequence number).
pub(crate) const CONFIG_CHANGE_PREFIX: &str = "/config/changes/config_change_";

/// A config change announcement for a topic, as Kafka 2.x writes it
/// (`{"version":2,"entity_path":"topics/t"}`).
pub(crate) fn encode_config_change(topic: &str) -> Vec<u8> {
    let v = serde_json::json!({"version": 2, "entity_path": format!("topics/{topic}")});
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The topic a config change announcement names (`None`: another kind of
/// entity, or an announcement Spate does not read).
pub(crate) fn decode_config_change(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    match v.get("version").and_then(Value::as_i64) {
        Some(2) => v
            .get("entity_path")
            .and_then(Value::as_str)?
            .strip_prefix("topics/")
            .map(str::to_string),
        // Version 1 (Kafka before 0.10.1): entity type and name.
        _ => (v.get("entity_type").and_then(Value::as_str) == Some("topics"))
            .then(|| {
                v.get("entity_name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .flatten(),
    }
}

/// `/config/topics/<topic>`.
pub(crate) fn config_path(topic: &str) -> String {
    format!("/config/topics/{topic}")
}

/// A topic's configs, as Kafka's admin client writes them
/// (`{"version":1,"config":{"min.insync.replicas":"2"}}`).
pub(crate) fn encode_configs(configs: &[(String, String)]) -> Vec<u8> {
    let config: serde_json::Map<String, Value> = configs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    serde_json::to_vec(&serde_json::json!({ "version": 1, "config": config })).unwrap_or_default()
}

/// Reads `/config/topics/<topic>`: the configs set, in name order.
/// Values that are not strings are taken as their JSON text.
pub(crate) fn decode_configs(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let config = v
        .get("config")
        .and_then(Value::as_object)
        .ok_or("no config")?;
    let mut out: Vec<(String, String)> = config
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect();
    out.sort();
    Ok(out)
}

/// A partition state, version 1.
pub(crate) fn encode_state(s: &LeaderIsr) -> Vec<u8> {
    #[derive(Serialize)]
    struct StateJson<'a> {
        controller_epoch: i32,
        leader: i32,
        version: i32,
        leader_epoch: i32,
        isr: &'a [i32],
    }
    let json = StateJson {
        controller_epoch: s.controller_epoch,
        leader: s.leader,
        version: 1,
        leader_epoch: s.leader_epoch,
        isr: &s.isr,
    };
    serde_json::to_vec(&json).unwrap_or_default()
}

/// Reads a partition's `state`.
pub(crate) fn decode_state(bytes: &[u8]) -> Result<LeaderIsr, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let int = |key: &str| {
        v.get(key)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| format!("no {key}"))
    };
    Ok(LeaderIsr {
        leader: int("leader")?,
        leader_epoch: int("leader_epoch")?,
        isr: v.get("isr").and_then(ints).ok_or("no isr")?,
        controller_epoch: int("controller_epoch")?,
    })
}

fn ints(v: &Value) -> Option<Vec<i32>> {
    v.as_array()?
        .iter()
        .map(|n| n.as_i64().and_then(|n| i32::try_from(n).ok()))
        .collect()
}

/// How long a config change announcement is kept: Kafka's
/// `changeExpirationMs`, 15 minutes (not a setting in Kafka 2.x either).
pub(crate) const CHANGE_EXPIRATION_MS: i64 = 15 * 60 * 1000;

/// Whether an announcement created at `created_ms` is obsolete at
/// `now_ms` (both in milliseconds since the Unix epoch).
pub(crate) fn expired(now_ms: i64, created_ms: i64) -> bool {
    now_ms.saturating_sub(created_ms) > CHANGE_EXPIRATION_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_kafkas_version_3_and_older_versions_are_read() {
        let id = parse_uuid("vXbWSKKkSqKxyG3sBAV0Lg").unwrap();
        let t = TopicAssignment {
            name: "orders".into(),
            id,
            partitions: BTreeMap::from([(0, vec![1, 2, 3]), (1, vec![2, 3, 1])]),
            adding: BTreeMap::new(),
            removing: BTreeMap::new(),
        };
        let json = String::from_utf8(encode_topic(&t)).unwrap();
        assert_eq!(
            json,
            r#"{"partitions":{"0":[1,2,3],"1":[2,3,1]},"topic_id":"vXbWSKKkSqKxyG3sBAV0Lg","adding_replicas":{},"removing_replicas":{},"version":3}"#
        );
        assert_eq!(decode_topic("orders", json.as_bytes()), Ok(t));
        // Kafka 2.4's version 2, no id; version 1 without the reassignment keys.
        let v1 = br#"{"version":1,"partitions":{"0":[3],"10":[1]}}"#;
        let old = decode_topic("x", v1).unwrap();
        assert_eq!(old.id, Uuid::ZERO);
        assert_eq!(old.partitions[&10], [1]);
        assert!(decode_topic("x", br#"{"partitions":{"a":[1]}}"#).is_err());
    }

    #[test]
    fn a_reassignment_in_progress_is_kept_in_the_topic_znode() {
        let t = TopicAssignment {
            name: "t".into(),
            id: Uuid::ZERO,
            partitions: BTreeMap::from([(0, vec![4, 5, 1]), (1, vec![2])]),
            adding: BTreeMap::from([(0, vec![4, 5])]),
            removing: BTreeMap::from([(0, vec![1])]),
        };
        let json = String::from_utf8(encode_topic(&t)).unwrap();
        assert_eq!(
            json,
            r#"{"partitions":{"0":[4,5,1],"1":[2]},"adding_replicas":{"0":[4,5]},"removing_replicas":{"0":[1]},"version":3}"#
        );
        assert_eq!(decode_topic("t", json.as_bytes()), Ok(t));
    }

    #[test]
    fn a_partition_state_is_kafkas_version_1() {
        let s = LeaderIsr {
            leader: 2,
            leader_epoch: 7,
            isr: vec![2, 3],
            controller_epoch: 4,
        };
        let json = encode_state(&s);
        assert_eq!(
            json,
            br#"{"controller_epoch":4,"leader":2,"version":1,"leader_epoch":7,"isr":[2,3]}"#
        );
        assert_eq!(decode_state(&json), Ok(s));
        let recovering = br#"{"controller_epoch":1,"leader":-1,"version":1,"leader_epoch":3,"isr":[1],"leader_recovery_state":1}"#;
        assert_eq!(decode_state(recovering).unwrap().leader, -1);
        assert_eq!(
            state_path(&TopicPartition::new("t", 3)),
            "/brokers/topics/t/partitions/3/state"
        );
    }

    #[test]
    fn topic_configs_are_kafkas_entity_config_json() {
        let configs = vec![
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("min.insync.replicas".to_string(), "2".to_string()),
        ];
        let bytes = encode_configs(&configs);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version": 1, "config": {"cleanup.policy": "compact", "min.insync.replicas": "2"}})
        );
        assert_eq!(decode_configs(&bytes).unwrap(), configs);
        assert_eq!(
            decode_configs(br#"{"version":1,"config":{}}"#).unwrap(),
            Vec::<(String, String)>::new()
        );
        assert!(decode_configs(b"{}").is_err());
        assert_eq!(config_path("t"), "/config/topics/t");
    }

    #[test]
    fn isr_change_notifications_are_kafkas_json() {
        let tps = vec![TopicPartition::new("a", 0), TopicPartition::new("b", 3)];
        let bytes = encode_isr_change(&tps);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version": 1, "partitions": [{"topic": "a", "partition": 0}, {"topic": "b", "partition": 3}]})
        );
        assert_eq!(decode_isr_change(&bytes).unwrap(), tps);
        assert!(decode_isr_change(br#"{"partitions":[{"topic":"a"}]}"#).is_err());
    }
}
