//! The transaction admin requests behind `spate transactions`, each sent
//! where Kafka's admin client sends it, the answers turned into plain rows:
//!
//! - [`list`]: ListTransactions at every broker (each lists the
//!   transactional ids it coordinates);
//! - [`describe`]: FindCoordinator (key type 1) for a transactional id,
//!   then DescribeTransactions at that coordinator;
//! - [`producers`]: DescribeProducers at each partition's leader, which
//!   knows the partition's producer state (sequences, open transactions);
//! - [`abort`]: WriteTxnMarkers at a partition's leader, an abort marker
//!   for one producer, written without the coordinator (how a hanging
//!   transaction is ended).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use bytestring::ByteString;
use spate_core::protocol::messages::describe_producers_request::{
    DescribeProducersRequest, TopicRequest,
};
use spate_core::protocol::messages::describe_transactions_request::DescribeTransactionsRequest;
use spate_core::protocol::messages::list_transactions_request::ListTransactionsRequest;
use spate_core::protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::coordinator::{self, KeyType};
use super::{check, Client};

/// A topic partition.
pub(crate) type Tp = (String, i32);

/// At most this many partitions in one DescribeProducers, as Kafka's tool.
const BATCH: usize = 500;

/// What ListTransactions is asked to keep.
#[derive(Debug, Default)]
pub(crate) struct ListFilter {
    /// Only these states (all when empty).
    pub(crate) states: Vec<String>,
    /// Only these producer ids (all when empty).
    pub(crate) producer_ids: Vec<i64>,
    /// Only transactions running longer than this (v1 and later).
    pub(crate) duration_ms: Option<i64>,
}

/// One transactional id as ListTransactions names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) struct Listing {
    /// The transactional id.
    pub(crate) transactional_id: String,
    /// The node id of the broker that coordinates it.
    pub(crate) coordinator: i32,
    /// Its current producer id.
    pub(crate) producer_id: i64,
    /// Its state (Empty, Ongoing, PrepareCommit, CompleteCommit, ...).
    pub(crate) state: String,
}

/// ListTransactions at every broker, sorted by transactional id. Filter
/// states the brokers do not know are reported on stderr.
pub(crate) fn list(client: &mut Client, filter: &ListFilter) -> anyhow::Result<Vec<Listing>> {
    let meta = client.metadata(Some(&[]))?;
    let mut nodes: Vec<i32> = meta.brokers.iter().map(|b| b.node_id).collect();
    nodes.sort_unstable();
    let mut rows = Vec::new();
    for node in nodes {
        let conn = client.leader(node)?;
        if filter.duration_ms.is_some() && conn.version(ApiKey::ListTransactions)? < 1 {
            bail!(
                "the broker at {} cannot filter transactions by duration (ListTransactions v1)",
                conn.addr()
            );
        }
        let req = ListTransactionsRequest {
            state_filters: filter
                .states
                .iter()
                .map(|s| ByteString::from(s.as_str()))
                .collect(),
            producer_id_filters: filter.producer_ids.iter().copied().collect(),
            duration_filter: filter.duration_ms.unwrap_or(-1),
            ..Default::default()
        };
        let ResponseBody::ListTransactions(resp) = conn.send(RequestBody::ListTransactions(req))?
        else {
            bail!("ListTransactions answered with another API");
        };
        check("listing transactions", resp.error_code, None)?;
        if !resp.unknown_state_filters.is_empty() {
            let unknown: Vec<&str> = resp.unknown_state_filters.iter().map(|s| &**s).collect();
            eprintln!(
                "warning: broker {node} knows no transaction state {}",
                unknown.join(", ")
            );
        }
        for t in resp.transaction_states {
            rows.push(Listing {
                transactional_id: t.transactional_id.to_string(),
                coordinator: node,
                producer_id: t.producer_id,
                state: t.transaction_state.to_string(),
            });
        }
    }
    rows.sort();
    Ok(rows)
}

/// A transactional id as DescribeTransactions tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Description {
    /// The node id of its coordinator.
    pub(crate) coordinator_id: i32,
    /// The transactional id.
    pub(crate) transactional_id: String,
    /// Its producer id.
    pub(crate) producer_id: i64,
    /// Its producer epoch.
    pub(crate) producer_epoch: i16,
    /// Its state.
    pub(crate) state: String,
    /// The producer's `transaction.timeout.ms`.
    pub(crate) timeout_ms: i32,
    /// When the current transaction started (ms since the epoch), -1 when
    /// none is open.
    pub(crate) start_time_ms: i64,
    /// The partitions of the current transaction (in PrepareCommit and
    /// PrepareAbort, those still without a marker), sorted.
    pub(crate) partitions: Vec<Tp>,
}

/// FindCoordinator then DescribeTransactions for `id`; `None` when the
/// coordinator answers TRANSACTIONAL_ID_NOT_FOUND.
pub(crate) fn describe(client: &mut Client, id: &str) -> anyhow::Result<Option<Description>> {
    let coord = coordinator::find_for(client, KeyType::Transaction, id)?;
    let conn = client.broker(coord.node_id, &coord.addr)?;
    let req = DescribeTransactionsRequest {
        transactional_ids: vec![ByteString::from(id)],
        ..Default::default()
    };
    let ResponseBody::DescribeTransactions(resp) =
        conn.send(RequestBody::DescribeTransactions(req))?
    else {
        bail!("DescribeTransactions answered with another API");
    };
    let t = resp
        .transaction_states
        .into_iter()
        .find(|t| t.transactional_id == id)
        .ok_or_else(|| anyhow!("DescribeTransactions did not answer for `{id}`"))?;
    match ErrorCode(t.error_code) {
        ErrorCode::NONE => {}
        ErrorCode::TRANSACTIONAL_ID_NOT_FOUND => return Ok(None),
        _ => check(
            &format!("describing transactional id `{id}`"),
            t.error_code,
            None,
        )?,
    }
    let mut partitions: Vec<Tp> = t
        .topics
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|p| (topic.topic.to_string(), p))
        })
        .collect();
    partitions.sort();
    Ok(Some(Description {
        coordinator_id: coord.node_id,
        transactional_id: t.transactional_id.to_string(),
        producer_id: t.producer_id,
        producer_epoch: t.producer_epoch,
        state: t.transaction_state.to_string(),
        timeout_ms: t.transaction_timeout_ms,
        start_time_ms: t.transaction_start_time_ms,
        partitions,
    }))
}

/// One active producer of a partition, as DescribeProducers tells it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Producer {
    /// The producer id.
    pub(crate) producer_id: i64,
    /// Its epoch.
    pub(crate) producer_epoch: i32,
    /// The coordinator epoch of its last transaction marker, -1 when none.
    pub(crate) coordinator_epoch: i32,
    /// The sequence number of its last record.
    pub(crate) last_sequence: i32,
    /// The timestamp of its last write.
    pub(crate) last_timestamp: i64,
    /// The offset its open transaction starts at, -1 when none is open.
    pub(crate) current_transaction_start_offset: i64,
}

/// DescribeProducers for `partitions` at their leaders: the active
/// producers of each, sorted by producer id. A partition the leader
/// answers with an error fails the whole call.
pub(crate) fn producers(
    client: &mut Client,
    partitions: &[Tp],
) -> anyhow::Result<BTreeMap<Tp, Vec<Producer>>> {
    let mut out = BTreeMap::new();
    for (leader, tps) in leaders(client, partitions)? {
        for chunk in tps.chunks(BATCH) {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (t, p) in chunk {
                by_topic.entry(t.as_str()).or_default().push(*p);
            }
            let req = DescribeProducersRequest {
                topics: by_topic
                    .into_iter()
                    .map(|(t, ps)| TopicRequest {
                        name: ByteString::from(t),
                        partition_indexes: ps.into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            let conn = client.leader(leader)?;
            let ResponseBody::DescribeProducers(resp) =
                conn.send(RequestBody::DescribeProducers(req))?
            else {
                bail!("DescribeProducers answered with another API");
            };
            for t in resp.topics {
                for p in t.partitions {
                    check(
                        &format!(
                            "describing the producers of {}-{}",
                            t.name, p.partition_index
                        ),
                        p.error_code,
                        p.error_message.as_ref(),
                    )?;
                    let mut rows: Vec<Producer> = p
                        .active_producers
                        .iter()
                        .map(|s| Producer {
                            producer_id: s.producer_id,
                            producer_epoch: s.producer_epoch,
                            coordinator_epoch: s.coordinator_epoch,
                            last_sequence: s.last_sequence,
                            last_timestamp: s.last_timestamp,
                            current_transaction_start_offset: s.current_txn_start_offset,
                        })
                        .collect();
                    rows.sort_by_key(|r| r.producer_id);
                    out.insert((t.name.to_string(), p.partition_index), rows);
                }
            }
        }
    }
    for tp in partitions {
        if !out.contains_key(tp) {
            bail!("DescribeProducers did not answer for {}-{}", tp.0, tp.1);
        }
    }
    Ok(out)
}

/// The abort marker of one producer's transaction on one partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Abort {
    /// The topic.
    pub(crate) topic: String,
    /// The partition.
    pub(crate) partition: i32,
    /// The producer whose transaction ends.
    pub(crate) producer_id: i64,
    /// Its epoch.
    pub(crate) producer_epoch: i16,
    /// The coordinator epoch the marker carries (0 or more: a producer
    /// that never had a marker shows -1, which the leader would refuse).
    pub(crate) coordinator_epoch: i32,
}

/// WriteTxnMarkers with an abort marker at the partition's leader.
pub(crate) fn abort(client: &mut Client, a: &Abort) -> anyhow::Result<()> {
    let tp = (a.topic.clone(), a.partition);
    let (leader, _) = leaders(client, std::slice::from_ref(&tp))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no leader for {}-{}", a.topic, a.partition))?;
    let req = WriteTxnMarkersRequest {
        markers: vec![WritableTxnMarker {
            producer_id: a.producer_id,
            producer_epoch: a.producer_epoch,
            transaction_result: false,
            topics: vec![WritableTxnMarkerTopic {
                name: ByteString::from(a.topic.as_str()),
                partition_indexes: [a.partition].into(),
                ..Default::default()
            }],
            coordinator_epoch: a.coordinator_epoch.max(0),
            ..Default::default()
        }],
        ..Default::default()
    };
    let conn = client.leader(leader)?;
    let ResponseBody::WriteTxnMarkers(resp) = conn.send(RequestBody::WriteTxnMarkers(req))? else {
        bail!("WriteTxnMarkers answered with another API");
    };
    let code = resp
        .markers
        .iter()
        .filter(|m| m.producer_id == a.producer_id)
        .flat_map(|m| m.topics.iter().filter(|t| t.name == a.topic.as_str()))
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == a.partition)
        .map(|p| p.error_code)
        .ok_or_else(|| {
            anyhow!(
                "WriteTxnMarkers did not answer for {}-{}",
                a.topic,
                a.partition
            )
        })?;
    check(
        &format!(
            "aborting the transaction of producer {} on {}-{}",
            a.producer_id, a.topic, a.partition
        ),
        code,
        None,
    )
}

/// The partitions grouped by their leader's node id. A topic or partition
/// that does not exist, or has no leader, is an error.
pub(crate) fn leaders(
    client: &mut Client,
    partitions: &[Tp],
) -> anyhow::Result<BTreeMap<i32, Vec<Tp>>> {
    let mut names: Vec<&str> = partitions.iter().map(|(t, _)| t.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let meta = client.metadata(Some(&names))?;
    let mut out: BTreeMap<i32, Vec<Tp>> = BTreeMap::new();
    for (t, p) in partitions {
        let topic = meta
            .topics
            .iter()
            .find(|m| m.name.as_deref() == Some(t.as_str()))
            .ok_or_else(|| anyhow!("topic `{t}` not found"))?;
        match ErrorCode(topic.error_code) {
            ErrorCode::NONE => {}
            e @ ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => bail!("topic `{t}` does not exist: {e}"),
            e => bail!("topic `{t}`: {e}"),
        }
        let part = topic
            .partitions
            .iter()
            .find(|m| m.partition_index == *p)
            .ok_or_else(|| {
                let e = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
                anyhow!("partition {t}-{p} does not exist: {e}")
            })?;
        if part.leader_id < 0 {
            bail!("partition {t}-{p} has no leader");
        }
        out.entry(part.leader_id).or_default().push((t.clone(), *p));
    }
    Ok(out)
}

/// Every partition of `topics` (every topic, internal ones included, when
/// `None`), sorted.
pub(crate) fn all_partitions(
    client: &mut Client,
    topics: Option<&[&str]>,
) -> anyhow::Result<Vec<Tp>> {
    let meta = client.metadata(topics)?;
    let mut out = Vec::new();
    for t in &meta.topics {
        let Some(name) = t.name.as_deref() else {
            continue;
        };
        match ErrorCode(t.error_code) {
            ErrorCode::NONE => {}
            e @ ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => {
                bail!("topic `{name}` does not exist: {e}")
            }
            e => bail!("topic `{name}`: {e}"),
        }
        out.extend(
            t.partitions
                .iter()
                .map(|p| (name.to_string(), p.partition_index)),
        );
    }
    out.sort();
    Ok(out)
}
