//! Requests and checks shared by the transaction tests: one helper per
//! API, transactional batches, and reading markers back from a fetch.

use bytes::Bytes;
use spate_core::protocol::messages::add_offsets_to_txn_request::AddOffsetsToTxnRequest;
use spate_core::protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use spate_core::protocol::messages::add_partitions_to_txn_response::AddPartitionsToTxnTopicResult;
use spate_core::protocol::messages::describe_producers_request::{
    DescribeProducersRequest, TopicRequest,
};
use spate_core::protocol::messages::describe_producers_response::ProducerState;
use spate_core::protocol::messages::describe_transactions_request::DescribeTransactionsRequest;
use spate_core::protocol::messages::describe_transactions_response::TransactionState;
use spate_core::protocol::messages::end_txn_request::EndTxnRequest;
use spate_core::protocol::messages::end_txn_response::EndTxnResponse;
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::fetch_response::PartitionData;
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use spate_core::protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestTopic,
};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::produce_response::PartitionProduceResponse;
use spate_core::protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use spate_core::protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest,
};
use spate_core::protocol::{RequestBody, ResponseBody};
use spate_core::records::{BatchView, ControlRecord, ControlRecordType, Record, RecordBatch};
use spate_core::records::{EndTxnMarker, RecordBatchBuilder};
use spate_core::storage::{Storage, TopicPartition};

use crate::sim::{Sim, T0};

/// The connection transactional producers use.
pub const PRODUCER: u64 = 7;

/// A Sim with topics `a` and `b` of two partitions each.
pub fn two_topics() -> Sim {
    let mut s = Sim::new();
    s.create_topic("a", 2);
    s.create_topic("b", 2);
    s
}

/// InitProducerId at `version` for `txn` (timeout `timeout`), with the
/// id and epoch the client has (-1, -1 for none): (error, id, epoch).
pub fn init_with<S: Storage>(
    s: &mut Sim<S>,
    version: i16,
    txn: &str,
    timeout: i32,
    current: (i64, i16),
) -> (i16, i64, i16) {
    find_coordinator(s, txn);
    let req = InitProducerIdRequest {
        transactional_id: Some(txn.into()),
        transaction_timeout_ms: timeout,
        producer_id: current.0,
        producer_epoch: current.1,
        ..Default::default()
    };
    match s.call(PRODUCER, version, RequestBody::InitProducerId(req)) {
        ResponseBody::InitProducerId(r) => (r.error_code, r.producer_id, r.producer_epoch),
        other => panic!("{other:?}"),
    }
}

/// FindCoordinator v3 for transactional id `txn`, as a client asks
/// before InitProducerId (it creates `__transaction_state`).
pub fn find_coordinator<S: Storage>(s: &mut Sim<S>, txn: &str) {
    let r = crate::sim::coordinator::find_coordinator(s, 5, txn, 1);
    assert_eq!(r.error_code, 0, "{r:?}");
}

/// InitProducerId v4 for `txn` with a 60 s timeout; panics on an error.
pub fn init<S: Storage>(s: &mut Sim<S>, txn: &str) -> (i64, i16) {
    let (code, id, epoch) = init_with(s, 4, txn, 60_000, (-1, -1));
    assert_eq!(code, 0, "InitProducerId {txn}");
    (id, epoch)
}

fn topics(parts: &[(&str, i32)]) -> Vec<AddPartitionsToTxnTopic> {
    let mut out: Vec<AddPartitionsToTxnTopic> = Vec::new();
    for &(t, p) in parts {
        match out.last_mut() {
            Some(last) if last.name == t => {
                let mut ps = last.partitions.to_vec();
                ps.push(p);
                last.partitions = ps.into();
            }
            _ => out.push(AddPartitionsToTxnTopic {
                name: t.into(),
                partitions: vec![p].into(),
                ..Default::default()
            }),
        }
    }
    out
}

/// Flattens topic results to (topic, partition, error).
pub fn flat(results: &[AddPartitionsToTxnTopicResult]) -> Vec<(String, i32, i16)> {
    results
        .iter()
        .flat_map(|t| {
            t.results_by_partition.iter().map(|p| {
                (
                    t.name.to_string(),
                    p.partition_index,
                    p.partition_error_code,
                )
            })
        })
        .collect()
}

/// AddPartitionsToTxn v0-3: (topic, partition, error) per partition.
pub fn add_v3<S: Storage>(
    s: &mut Sim<S>,
    version: i16,
    txn: &str,
    producer: (i64, i16),
    parts: &[(&str, i32)],
) -> Vec<(String, i32, i16)> {
    let req = AddPartitionsToTxnRequest {
        v3_and_below_transactional_id: txn.into(),
        v3_and_below_producer_id: producer.0,
        v3_and_below_producer_epoch: producer.1,
        v3_and_below_topics: topics(parts),
        ..Default::default()
    };
    match s.call(PRODUCER, version, RequestBody::AddPartitionsToTxn(req)) {
        ResponseBody::AddPartitionsToTxn(r) => flat(&r.results_by_topic_v3_and_below),
        other => panic!("{other:?}"),
    }
}

/// Adds `parts` (v3); panics unless every one is added.
pub fn add<S: Storage>(s: &mut Sim<S>, txn: &str, producer: (i64, i16), parts: &[(&str, i32)]) {
    for (t, p, code) in add_v3(s, 3, txn, producer, parts) {
        assert_eq!(code, 0, "add {t}-{p} to {txn}");
    }
}

/// One transaction of a batched (v4+) AddPartitionsToTxn.
pub fn txn_entry(
    txn: &str,
    producer: (i64, i16),
    verify_only: bool,
    parts: &[(&str, i32)],
) -> AddPartitionsToTxnTransaction {
    AddPartitionsToTxnTransaction {
        transactional_id: txn.into(),
        producer_id: producer.0,
        producer_epoch: producer.1,
        verify_only,
        topics: topics(parts),
        ..Default::default()
    }
}

/// A transactional batch of `n` records `"{prefix}-{i}"` from `producer`,
/// first sequence `seq`.
pub fn txn_batch(producer: (i64, i16), seq: i32, n: i32, prefix: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, T0)
        .producer(producer.0, producer.1, seq)
        .transactional(true);
    for i in 0..n {
        b = b.record(Record::new(
            i,
            i64::from(i),
            None,
            Some(Bytes::from(format!("{prefix}-{i}"))),
        ));
    }
    b.build().expect("batch")
}

/// Produce at `version` of `records` to `topic`-`partition` with the
/// request's transactional id `txn`.
pub fn produce<S: Storage>(
    s: &mut Sim<S>,
    version: i16,
    txn: Option<&str>,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let req = ProduceRequest {
        transactional_id: txn.map(Into::into),
        acks: -1,
        timeout_ms: 1000,
        topic_data: vec![TopicProduceData {
            name: topic.into(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(records.into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(PRODUCER, version, RequestBody::Produce(req)) {
        ResponseBody::Produce(mut r) => r.responses.remove(0).partition_responses.remove(0),
        other => panic!("{other:?}"),
    }
}

/// A transactional produce (v9) that must succeed; its base offset.
pub fn produce_ok<S: Storage>(
    s: &mut Sim<S>,
    txn: &str,
    producer: (i64, i16),
    seq: i32,
    (topic, partition): (&str, i32),
    n: i32,
) -> i64 {
    let b = txn_batch(producer, seq, n, txn);
    let r = produce(s, 9, Some(txn), topic, partition, b);
    assert_eq!(r.error_code, 0, "produce to {topic}-{partition}: {r:?}");
    r.base_offset
}

/// EndTxn at `version`.
pub fn end_with<S: Storage>(
    s: &mut Sim<S>,
    version: i16,
    txn: &str,
    producer: (i64, i16),
    commit: bool,
) -> EndTxnResponse {
    let req = EndTxnRequest {
        transactional_id: txn.into(),
        producer_id: producer.0,
        producer_epoch: producer.1,
        committed: commit,
        ..Default::default()
    };
    match s.call(PRODUCER, version, RequestBody::EndTxn(req)) {
        ResponseBody::EndTxn(r) => r,
        other => panic!("{other:?}"),
    }
}

/// EndTxn v3: its error.
pub fn end<S: Storage>(s: &mut Sim<S>, txn: &str, producer: (i64, i16), commit: bool) -> i16 {
    end_with(s, 3, txn, producer, commit).error_code
}

/// Fetch v12 of one partition from `offset`, read_committed or not.
pub fn fetch<S: Storage>(
    s: &mut Sim<S>,
    topic: &str,
    partition: i32,
    offset: i64,
    committed: bool,
) -> PartitionData {
    let req = FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 24,
        isolation_level: i8::from(committed),
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.into(),
            partitions: vec![FetchPartition {
                partition,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                current_leader_epoch: -1,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(1, 12, RequestBody::Fetch(req)) {
        ResponseBody::Fetch(mut r) => {
            assert_eq!(r.error_code, 0);
            r.responses.remove(0).partitions.remove(0)
        }
        other => panic!("{other:?}"),
    }
}

/// The batches of a fetched partition.
pub fn batches(p: &PartitionData) -> Vec<RecordBatch> {
    let bytes = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let size = BatchView::parse(&bytes[at..], at).expect("batch").size;
        out.push(RecordBatch::decode(&bytes.slice(at..at + size)).expect("decodes"));
        at += size;
    }
    out
}

/// What a batch is, for comparing logs: a marker's kind and coordinator
/// epoch, or data's value strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A transaction marker at an offset: producer id, COMMIT?, coordinator epoch.
    Marker(i64, i64, bool, i32),
    /// Data at a base offset: producer id, transactional?, values.
    Data(i64, i64, bool, Vec<String>),
}

/// The batches of a fetched partition, as [`Entry`]s.
pub fn entries(p: &PartitionData) -> Vec<Entry> {
    batches(p)
        .into_iter()
        .map(|b| {
            let h = &b.header;
            let recs = b.records().expect("uncompressed");
            if h.is_control() {
                let key = recs[0].key.clone().expect("control key");
                let kind = ControlRecord::decode(&key).expect("control record").kind;
                assert_eq!(recs.len(), 1, "one control record");
                assert!(h.is_transactional(), "a marker is transactional");
                let value = recs[0].value.clone().expect("marker value");
                let epoch = EndTxnMarker::decode(&value)
                    .expect("marker")
                    .coordinator_epoch;
                let commit = match kind {
                    ControlRecordType::Commit => true,
                    ControlRecordType::Abort => false,
                    other => panic!("{other:?}"),
                };
                Entry::Marker(h.base_offset, h.producer_id, commit, epoch)
            } else {
                let values = recs
                    .iter()
                    .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"")).into())
                    .collect();
                Entry::Data(h.base_offset, h.producer_id, h.is_transactional(), values)
            }
        })
        .collect()
}

/// The values a read_committed consumer keeps from a fetch: data batches
/// minus those of the aborted transactions listed, control batches
/// dropped (Kafka's consumer-side filtering).
pub fn committed_values(p: &PartitionData) -> Vec<String> {
    let aborted = p.aborted_transactions.clone().unwrap_or_default();
    let mut skipping: std::collections::BTreeSet<i64> = Default::default();
    let mut out = Vec::new();
    for b in batches(p) {
        let h = &b.header;
        if h.is_control() {
            skipping.remove(&h.producer_id);
            continue;
        }
        if h.is_transactional()
            && aborted
                .iter()
                .any(|a| a.producer_id == h.producer_id && a.first_offset <= h.base_offset)
        {
            skipping.insert(h.producer_id);
        }
        if h.is_transactional() && skipping.contains(&h.producer_id) {
            continue;
        }
        for r in b.records().expect("uncompressed") {
            out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"")).into());
        }
    }
    out
}

/// ListOffsets v5 latest (-1) of one partition at `isolation`.
pub fn latest<S: Storage>(s: &mut Sim<S>, topic: &str, partition: i32, isolation: i8) -> i64 {
    let req = ListOffsetsRequest {
        replica_id: -1,
        isolation_level: isolation,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: partition,
                current_leader_epoch: -1,
                timestamp: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(2, 5, RequestBody::ListOffsets(req)) {
        ResponseBody::ListOffsets(r) => {
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.error_code, 0);
            p.offset
        }
        other => panic!("{other:?}"),
    }
}

/// DescribeTransactions of one id.
pub fn describe<S: Storage>(s: &mut Sim<S>, txn: &str) -> TransactionState {
    let req = DescribeTransactionsRequest {
        transactional_ids: vec![txn.into()],
        ..Default::default()
    };
    match s.call(3, 0, RequestBody::DescribeTransactions(req)) {
        ResponseBody::DescribeTransactions(mut r) => r.transaction_states.remove(0),
        other => panic!("{other:?}"),
    }
}

/// The state name of `txn`.
pub fn state<S: Storage>(s: &mut Sim<S>, txn: &str) -> String {
    describe(s, txn).transaction_state.to_string()
}

/// DescribeProducers of one partition.
pub fn producers<S: Storage>(s: &mut Sim<S>, topic: &str, partition: i32) -> Vec<ProducerState> {
    let req = DescribeProducersRequest {
        topics: vec![TopicRequest {
            name: topic.into(),
            partition_indexes: vec![partition].into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(3, 0, RequestBody::DescribeProducers(req)) {
        ResponseBody::DescribeProducers(mut r) => {
            let p = r.topics.remove(0).partitions.remove(0);
            assert_eq!(p.error_code, 0);
            p.active_producers
        }
        other => panic!("{other:?}"),
    }
}

/// WriteTxnMarkers v1 of one marker: (topic, partition, error) each.
pub fn write_markers<S: Storage>(
    s: &mut Sim<S>,
    producer: (i64, i16),
    commit: bool,
    coordinator_epoch: i32,
    parts: &[(&str, i32)],
) -> Vec<(String, i32, i16)> {
    let req = WriteTxnMarkersRequest {
        markers: vec![WritableTxnMarker {
            producer_id: producer.0,
            producer_epoch: producer.1,
            transaction_result: commit,
            coordinator_epoch,
            topics: parts
                .iter()
                .map(|(t, p)| WritableTxnMarkerTopic {
                    name: (*t).into(),
                    partition_indexes: vec![*p].into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(3, 1, RequestBody::WriteTxnMarkers(req)) {
        ResponseBody::WriteTxnMarkers(r) => r.markers[0]
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.name.to_string(), p.partition_index, p.error_code))
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// AddOffsetsToTxn v3: its error.
pub fn add_offsets<S: Storage>(
    s: &mut Sim<S>,
    txn: &str,
    producer: (i64, i16),
    group: &str,
) -> i16 {
    let req = AddOffsetsToTxnRequest {
        transactional_id: txn.into(),
        producer_id: producer.0,
        producer_epoch: producer.1,
        group_id: group.into(),
        ..Default::default()
    };
    match s.call(PRODUCER, 3, RequestBody::AddOffsetsToTxn(req)) {
        ResponseBody::AddOffsetsToTxn(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

/// TxnOffsetCommit at `version` of `offset` for `t`-0 in `group`, as
/// member `member` of `generation`: the partition's error.
#[allow(clippy::too_many_arguments)]
pub fn txn_commit<S: Storage>(
    s: &mut Sim<S>,
    version: i16,
    txn: &str,
    producer: (i64, i16),
    group: &str,
    generation: i32,
    member: &str,
    offset: i64,
) -> i16 {
    let req = TxnOffsetCommitRequest {
        transactional_id: txn.into(),
        group_id: group.into(),
        producer_id: producer.0,
        producer_epoch: producer.1,
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
        topics: vec![TxnOffsetCommitRequestTopic {
            name: "t".into(),
            partitions: vec![TxnOffsetCommitRequestPartition {
                partition_index: 0,
                committed_offset: offset,
                committed_leader_epoch: -1,
                committed_metadata: Some("txn".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(PRODUCER, version, RequestBody::TxnOffsetCommit(req)) {
        ResponseBody::TxnOffsetCommit(r) => r.topics[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

/// OffsetFetch v7 of `t`-0 in `group`, requiring stable offsets or not:
/// (offset, partition error).
pub fn fetch_offset<S: Storage>(s: &mut Sim<S>, group: &str, stable: bool) -> (i64, i16) {
    let req = OffsetFetchRequest {
        group_id: group.into(),
        topics: Some(vec![OffsetFetchRequestTopic {
            name: "t".into(),
            partition_indexes: vec![0].into(),
            ..Default::default()
        }]),
        require_stable: stable,
        ..Default::default()
    };
    match s.call(4, 7, RequestBody::OffsetFetch(req)) {
        ResponseBody::OffsetFetch(r) => {
            assert_eq!(r.error_code, 0);
            let p = &r.topics[0].partitions[0];
            (p.committed_offset, p.error_code)
        }
        other => panic!("{other:?}"),
    }
}

/// The partition of `__consumer_offsets` (50 partitions) for `group`:
/// Java's `String.hashCode`, non-negative, modulo 50.
pub fn offsets_partition(group: &str) -> i32 {
    let h = group
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    (if h == i32::MIN { 0 } else { h.abs() }) % 50
}

/// A topic-partition.
pub fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}
