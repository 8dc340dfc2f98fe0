//! What the page reads besides annotations: the API table, schema trees
//! with the project's field descriptions, and the broker's state.

use serde::Serialize;
use spate_core::broker::Broker;
use spate_core::protocol::docs;
use spate_core::protocol::schema::{FieldSpec, FieldType, StructSpec, Versions};
use spate_core::protocol::ApiKey;
use spate_core::storage::{Storage, TopicPartition};

/// One API: key, name and version ranges.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInfo {
    pub key: i16,
    pub name: &'static str,
    pub min_version: i16,
    pub max_version: i16,
    /// First flexible version, if any.
    pub flexible_from: Option<i16>,
}

/// Every API spate-core knows, by key.
pub fn apis() -> Vec<ApiInfo> {
    let mut v: Vec<ApiInfo> = ApiKey::ALL
        .iter()
        .map(|&k| ApiInfo {
            key: k as i16,
            name: k.name(),
            min_version: k.versions().min,
            max_version: k.versions().max,
            flexible_from: k.flexible_from(),
        })
        .collect();
    v.sort_by_key(|a| a.key);
    v
}

/// A field of a schema, with its children for structs.
#[derive(Debug, Serialize)]
pub struct FieldInfo {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: String,
    pub versions: Versions,
    pub nullable: Versions,
    pub tagged: Versions,
    pub tag: u32,
    pub description: String,
    /// Whether the description is the project's own (true) or built from
    /// the schema facts (false).
    pub written: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldInfo>,
}

fn field(f: &FieldSpec) -> FieldInfo {
    let (description, written) = match docs::describe(f.name) {
        Some(d) => (d.to_string(), true),
        None => (docs::fallback(f), false),
    };
    FieldInfo {
        name: f.name,
        ty: f.ty.display(),
        versions: f.versions,
        nullable: f.nullable,
        tagged: f.tagged,
        tag: f.tag,
        description,
        written,
        fields: match f.ty {
            FieldType::Struct(s) | FieldType::StructArray(s) => fields(s),
            FieldType::Prim(_) | FieldType::Array(_) => Vec::new(),
        },
    }
}

/// The fields of a struct, recursively.
pub fn fields(s: &StructSpec) -> Vec<FieldInfo> {
    s.fields.iter().map(field).collect()
}

/// Header and body fields of one side of an API.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaInfo {
    pub name: &'static str,
    pub versions: Versions,
    pub flexible: Versions,
    pub header: Vec<FieldInfo>,
    pub body: Vec<FieldInfo>,
}

/// One partition log as the state panel shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionState {
    pub partition: i32,
    pub log_start_offset: i64,
    /// The high watermark (a single broker: the log end offset).
    pub high_watermark: i64,
    /// Where read_committed consumers stop: the first offset of the
    /// earliest open transaction, or the high watermark.
    pub last_stable_offset: i64,
    pub bytes: u64,
}

/// One topic.
#[derive(Debug, Serialize)]
pub struct TopicState {
    pub name: String,
    pub id: String,
    pub internal: bool,
    pub partitions: Vec<PartitionState>,
}

/// A consumer group.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupState {
    pub name: String,
    /// `classic` or `consumer`.
    pub group_type: String,
    pub state: String,
    /// Generation (classic) or group epoch (consumer).
    pub epoch: i32,
    pub members: Vec<String>,
    /// Committed offsets: `{topic, partition, offset}`.
    pub offsets: Vec<CommittedOffset>,
}

/// One committed offset of a group.
#[derive(Debug, Serialize)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A transactional id and its transaction.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionState {
    pub transactional_id: String,
    /// Kafka's state name: `Empty`, `Ongoing`, `CompleteCommit`, ...
    pub state: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    /// When the open transaction started, -1 if none is open.
    pub start_ms: i64,
    /// The partitions of the open transaction, as `topic-partition`.
    pub partitions: Vec<String>,
}

/// The broker's state.
#[derive(Debug, Serialize)]
pub struct State {
    pub topics: Vec<TopicState>,
    /// Consumer groups, with members and committed offsets.
    pub groups: Vec<GroupState>,
    /// Transactional ids and their transactions.
    pub transactions: Vec<TransactionState>,
}

/// Reads the state from a broker.
pub fn state<S: Storage>(b: &Broker<S>) -> State {
    let mut topics: Vec<TopicState> = b
        .topics()
        .into_iter()
        .map(|(name, id, count)| {
            let partitions = (0..count)
                .map(|p| {
                    let tp = TopicPartition::new(name.clone(), p);
                    let s = b.storage();
                    PartitionState {
                        partition: p,
                        log_start_offset: s.start_offset(&tp),
                        high_watermark: s.end_offset(&tp),
                        last_stable_offset: b.last_stable_offset(&tp),
                        bytes: s.size(&tp),
                    }
                })
                .collect();
            TopicState {
                internal: name.starts_with("__"),
                id: id.to_string(),
                name,
                partitions,
            }
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let groups = b
        .groups()
        .into_iter()
        .map(|g| GroupState {
            name: g.id,
            group_type: g.group_type.to_string(),
            state: g.state.to_string(),
            epoch: g.epoch,
            members: g.members,
            offsets: g
                .offsets
                .into_iter()
                .map(|(topic, partition, offset)| CommittedOffset {
                    topic,
                    partition,
                    offset,
                })
                .collect(),
        })
        .collect();
    let transactions = b
        .transactions()
        .into_iter()
        .map(|t| TransactionState {
            transactional_id: t.id,
            state: t.state.to_string(),
            producer_id: t.producer_id,
            producer_epoch: t.producer_epoch,
            timeout_ms: t.timeout_ms,
            start_ms: t.start_ms,
            partitions: t
                .partitions
                .into_iter()
                .map(|(topic, p)| format!("{topic}-{p}"))
                .collect(),
        })
        .collect();
    State {
        topics,
        groups,
        transactions,
    }
}
