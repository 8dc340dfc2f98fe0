//! Requests to send: the playground's gallery examples, with values a
//! broker takes (acks -1, partition 0, a real topic, a valid batch, a
//! consumer's replica id -1) where the other variants fill every field with
//! arbitrary numbers.
//!
//! The values come from one policy over the schema tables, by field name
//! and by what the field names (its entity), then the spec's default:
//! `int`, `string`, `null`, `empty`. Tagged fields are left out (a
//! client sends them only to say something). Every topic is [`TOPIC`] and
//! every group [`GROUP`]: a client creates the topic first (the page sends
//! a Metadata request, which auto-creates it, as a producer would), and the
//! group appears on its first use.

use bytes::Bytes;

use super::{finish_request, Gen, Variant};
use crate::protocol::messages::ApiKey;
use crate::protocol::schema::{FieldSpec, FieldType, Prim, StructSpec};
use crate::protocol::{ErrorCode, Uuid};
use crate::records::{LegacyMessage, Record, RecordBatchBuilder};

/// The topic every sendable example names.
pub const TOPIC: &str = "spate-example";
/// The group of committed offsets (OffsetCommit, OffsetFetch, DeleteGroups).
pub const GROUP: &str = "spate-example-group";
/// The classic group members join (JoinGroup, SyncGroup, Heartbeat, LeaveGroup).
pub const MEMBERS_GROUP: &str = "spate-example-members";
/// The consumer-protocol group (ConsumerGroupHeartbeat, ConsumerGroupDescribe).
pub const CONSUMER_GROUP: &str = "spate-example-consumers";
/// The transactional id every sendable example names.
pub const TRANSACTIONAL_ID: &str = "spate-example-txn";

/// A request frame (size prefix included) of `key` at `version` that a
/// broker answers as a client would expect. `topic_id` is [`TOPIC`]'s id
/// on that broker (newer versions name topics by id), or [`Uuid::ZERO`].
pub fn sendable_request(key: ApiKey, version: i16, correlation_id: i32, topic_id: Uuid) -> Bytes {
    let mut g = Gen {
        topic_id,
        state: 1,
        variant: Variant::Mixed,
        flip: false,
        sendable: true,
        version,
        in_struct: "",
    };
    finish_request(&mut g, key, version, correlation_id)
}

/// The value of an integer field, by its name, then its spec default.
pub(super) fn int(f: &FieldSpec, default: Option<i64>) -> i64 {
    match f.name {
        "acks" => -1,
        "timeout_ms" | "timeout" => 5_000,
        "session_timeout_ms" => 10_000,
        "rebalance_timeout_ms" => 10_000,
        "transaction_timeout_ms" => 60_000,
        "max_wait_ms" => 10,
        "min_bytes" | "num_partitions" | "replication_factor" => 1,
        // CreatePartitions: one more than a new topic has.
        "count" => 2,
        "max_bytes" | "partition_max_bytes" => 1_048_576,
        "max_num_offsets" => 1,
        // ListOffsets: the latest offset.
        "timestamp" => -1,
        // A topic (DescribeConfigs, AlterConfigs, ACLs).
        "resource_type" | "resource_type_filter" => 2,
        // ACLs: a literal name; a filter matching any pattern.
        "resource_pattern_type" => 3,
        "pattern_type_filter" => 1,
        // ACLs: ALL, ALLOW.
        "operation" => 2,
        "permission_type" => 3,
        // A consumer-protocol member joins with epoch 0.
        "member_epoch" => 0,
        // SCRAM-SHA-256, with Kafka's smallest iteration count.
        "mechanism" => 1,
        "iterations" => 4096,
        // Kafka's convention for "none yet" and "any".
        n if n.ends_with("epoch") || n.ends_with("_id") => default.unwrap_or(-1),
        _ => default.unwrap_or(0),
    }
}

/// The value of a string field.
pub(super) fn string(f: &FieldSpec, in_struct: &str) -> String {
    match (f.entity, f.name, in_struct) {
        (Some("topicName"), ..) | (_, "resource_name", _) => TOPIC.into(),
        (Some("groupId"), _, s) => match s {
            "JoinGroupRequest" | "SyncGroupRequest" | "HeartbeatRequest" | "LeaveGroupRequest" => {
                MEMBERS_GROUP.into()
            }
            "ConsumerGroupHeartbeatRequest" | "ConsumerGroupDescribeRequest" => {
                CONSUMER_GROUP.into()
            }
            _ => GROUP.into(),
        },
        // A consumer-protocol member names itself.
        (_, "member_id", "ConsumerGroupHeartbeatRequest") => "spate-example-member".into(),
        (_, "name", "ScramCredentialUpsertion") => "alice".into(),
        (Some("transactionalId"), ..) => TRANSACTIONAL_ID.into(),
        (_, "protocol_type", _) => "consumer".into(),
        (_, "name", "JoinGroupRequestProtocol") => "range".into(),
        (_, "name", "AlterableConfig" | "CreatableTopicConfig") => "retention.ms".into(),
        (_, "value", "AlterableConfig" | "CreatableTopicConfig") => "86400000".into(),
        (_, "principal", _) => "User:alice".into(),
        (_, "host", _) => "*".into(),
        (_, "mechanism", _) => "PLAIN".into(),
        // ApiVersions v3+: Kafka checks both against a pattern.
        (_, "client_software_name", _) => "spate-playground".into(),
        (_, "client_software_version", _) => "1.0".into(),
        // Empty: "not yet assigned" (member ids) or "none".
        _ => String::new(),
    }
}

/// Whether a nullable field is sent as null: strings but the names a
/// request is about and config values (a produce is then not
/// transactional, a member has no static id); DescribeConfigs' keys and
/// DescribeUserScramCredentials' users (null: all of them); and
/// CreatePartitions' assignments (null: the broker places them).
pub(super) fn null(f: &FieldSpec) -> bool {
    match f.ty {
        FieldType::Prim(Prim::String) => {
            !(matches!(f.entity, Some("topicName" | "groupId")) || f.name == "value")
        }
        _ => matches!(f.name, "configuration_keys" | "users" | "assignments"),
    }
}

/// How many bytes a `bytes` field holds: a SCRAM salt and salted
/// password; nothing elsewhere (a consumer's protocol metadata may be
/// empty).
pub(super) fn bytes_len(f: &FieldSpec) -> usize {
    match f.name {
        "salt" => 16,
        "salted_password" => 32,
        _ => 0,
    }
}

/// Whether an array is sent empty: replica assignments (CreateTopics takes
/// them instead of a partition count), the configs of a new topic.
pub(super) fn empty(f: &FieldSpec, in_struct: &str) -> bool {
    matches!(
        (f.name, in_struct),
        ("assignments", "CreatableTopic") | ("configs", "CreatableTopic")
    ) || f.name.ends_with("_filters")
        || f.name == "deletions"
}

/// Three records, in the format the Produce version takes: a RecordBatch
/// v2 from v3, a MessageSet of magic 1 in v2, of magic 0 before.
pub(super) fn records(version: i16) -> Bytes {
    let value = |i: i64| Some(Bytes::from(format!("hello {i}")));
    let key = |i: i64| Some(Bytes::from(format!("key-{i}")));
    if version >= 3 {
        let mut b = RecordBatchBuilder::new(0, 1_700_000_000_000);
        for i in 0..3 {
            b = b.record(Record::new(i as i32, i, key(i), value(i)));
        }
        return b.build().unwrap_or_default();
    }
    let ts = (version == 2).then_some(1_700_000_000_000);
    let set: Vec<LegacyMessage> = (0..3)
        .map(|i| LegacyMessage::new(i, ts, key(i), value(i)))
        .collect();
    crate::records::encode_message_set(&set).unwrap_or_default()
}

/// What a client sends before the example of `key` so that it can
/// succeed, in order: `(api, version, why)`. The example topic must exist
/// for a request that names a topic (a Metadata request auto-creates it,
/// as a producer's first one does), must not for CreateTopics (a
/// DeleteTopics request removes it), and must have one partition for
/// CreatePartitions (which asks for two). `partitions`: how many
/// partitions [`TOPIC`] has now, `None` when it does not exist.
pub fn setup(key: ApiKey, partitions: Option<i32>) -> Vec<(ApiKey, i16, &'static str)> {
    let delete = |why| {
        (
            ApiKey::DeleteTopics,
            ApiKey::DeleteTopics.versions().max,
            why,
        )
    };
    let create = (
        ApiKey::Metadata,
        ApiKey::Metadata.versions().max,
        "it auto-created spate-example, as a client's first Metadata request does",
    );
    match (key, partitions) {
        (ApiKey::CreateTopics, Some(_)) => vec![delete(
            "it deleted spate-example, which CreateTopics creates",
        )],
        (ApiKey::CreateTopics | ApiKey::Metadata, _) => vec![],
        (ApiKey::CreatePartitions, Some(n)) if n != 1 => vec![
            delete("it deleted spate-example, which had more than one partition"),
            create,
        ],
        // The group must exist: committing an offset creates it, empty.
        (ApiKey::DeleteGroups | ApiKey::OffsetDelete, p) => {
            let commit = (
                ApiKey::OffsetCommit,
                ApiKey::OffsetCommit.versions().max,
                "it committed an offset, so that spate-example-group exists",
            );
            p.map_or_else(|| vec![create, commit], |_| vec![commit])
        }
        (ApiKey::ConsumerGroupDescribe, _) => vec![(
            ApiKey::ConsumerGroupHeartbeat,
            ApiKey::ConsumerGroupHeartbeat.versions().max,
            "its member joined, so that spate-example-consumers exists",
        )],
        (_, None) if names_a_topic(key.request_spec().root) => vec![create],
        _ => vec![],
    }
}

fn names_a_topic(s: &StructSpec) -> bool {
    s.fields.iter().any(|f| {
        f.entity == Some("topicName")
            || matches!(f.ty, FieldType::Struct(s) | FieldType::StructArray(s) if names_a_topic(s))
    })
}

/// The error the example of `key` at `version` is about, and why it comes,
/// when it does not succeed on its own: it needs what only a client's
/// earlier answers give it (a member id, a producer id and epoch), or a
/// broker set up otherwise than the playground's (SASL, an authorizer).
/// An API the broker does not serve is not listed here: the broker closes
/// the connection, as Kafka does.
pub fn expected(key: ApiKey, version: i16) -> Option<(ErrorCode, &'static str)> {
    use ApiKey as K;
    Some(match key {
        K::JoinGroup if version >= 4 => (
            ErrorCode::MEMBER_ID_REQUIRED,
            "a new member is first given its id, then joins again with it",
        ),
        K::Heartbeat | K::SyncGroup | K::LeaveGroup => (
            ErrorCode::UNKNOWN_MEMBER_ID,
            "the member id comes from JoinGroup, and this one has none",
        ),
        K::SaslHandshake | K::SaslAuthenticate => (
            ErrorCode::ILLEGAL_SASL_STATE,
            "the page's listener is PLAINTEXT, without SASL",
        ),
        K::AddPartitionsToTxn | K::AddOffsetsToTxn | K::EndTxn => (
            ErrorCode::INVALID_PRODUCER_ID_MAPPING,
            "a transaction's producer id and epoch come from InitProducerId",
        ),
        K::TxnOffsetCommit => (
            ErrorCode::INVALID_PRODUCER_EPOCH,
            "a transaction's producer id and epoch come from InitProducerId",
        ),
        K::DescribeAcls | K::CreateAcls | K::DeleteAcls => (
            ErrorCode::SECURITY_DISABLED,
            "the page's broker has no authorizer",
        ),
        K::DescribeTransactions => (
            ErrorCode::TRANSACTIONAL_ID_NOT_FOUND,
            "no producer has used spate-example-txn yet",
        ),
        K::PushTelemetry => (
            ErrorCode::INVALID_REQUEST,
            "a client pushes metrics under the id GetTelemetrySubscriptions gives it",
        ),
        _ => return None,
    })
}
