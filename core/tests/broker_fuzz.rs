//! Property test: arbitrary interleavings of connects, frames (example
//! requests of every API and version, valid produces, random and corrupted
//! bytes), disconnects and time jumps never make the broker panic, and
//! after every step its logs keep their invariants: offsets increasing
//! batch after batch (dense unless compaction removed records), log start never past log end, every
//! response on a connection in request order.
//!
//! Transactional steps (InitProducerId for a few transactional ids,
//! AddPartitionsToTxn, transactional produces, EndTxn, AddOffsetsToTxn and
//! TxnOffsetCommit, WriteTxnMarkers) use producer ids and epochs learned
//! from the answers, or guessed. After every step a read_committed Fetch of
//! every partition checks the transaction invariants: nothing returned at
//! or past the last stable offset, which is at most the high watermark,
//! and the aborted transactions listed match the log: a consumer filtering
//! with them (as Kafka's does) drops exactly the transactional batches
//! whose producer's next marker in the log is an ABORT.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use spate_core::broker::{Broker, Config, Output, PeerInfo, OFFSETS_TOPIC};
use spate_core::example::{example_request, Variant};
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::add_offsets_to_txn_request::AddOffsetsToTxnRequest;
use spate_core::protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::end_txn_request::EndTxnRequest;
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use spate_core::protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest,
};
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};
use spate_core::records::{BatchHeader, BatchView, Record, RecordBatchBuilder};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

const T0: i64 = 1_700_000_000_000;

#[derive(Debug, Clone)]
enum Step {
    Connect(u8),
    Disconnect(u8),
    /// An example request of API `key % ALL`, at a version picked by `v`.
    Example {
        conn: u8,
        key: u8,
        v: u8,
        variant: u8,
        corrupt: Option<(u16, u8)>,
    },
    /// A valid produce of `n` records to topic `t`, partition `p`.
    Produce {
        conn: u8,
        t: u8,
        p: u8,
        n: u8,
        acks: i8,
    },
    Random {
        conn: u8,
        bytes: Vec<u8>,
    },
    Advance(u32),
    /// A transactional step for transactional id `x{id}`.
    Txn {
        conn: u8,
        id: u8,
        op: TxnOp,
        guess: Guess,
    },
}

/// The producer id and epoch a transactional step uses: the ones learned
/// for its transactional id, or a guess.
#[derive(Debug, Clone)]
enum Guess {
    Learned,
    /// The learned epoch moved by this much.
    Epoch(i8),
    /// A small producer id, epoch 0.
    Id(u8),
}

#[derive(Debug, Clone)]
enum TxnOp {
    /// InitProducerId v4 with one of a few timeouts.
    Init { timeout: u8 },
    /// AddPartitionsToTxn v3 (or v5 verify_only) of one partition.
    Add { t: u8, p: u8, verify: bool },
    /// A transactional produce of `n` records at Produce v9, v11 or v12.
    Produce { t: u8, p: u8, n: u8, v: u8 },
    /// EndTxn v3 or v5.
    End { commit: bool, v5: bool },
    /// AddOffsetsToTxn v3 for group `g`, then TxnOffsetCommit v3 (or v5 alone).
    Offsets { v5: bool, offset: u8 },
    /// WriteTxnMarkers for one partition, as an operator would.
    Markers { commit: bool, t: u8, p: u8 },
}

fn txn_op() -> impl Strategy<Value = TxnOp> {
    prop_oneof![
        2 => (0u8..3).prop_map(|timeout| TxnOp::Init { timeout }),
        3 => (0u8..3, 0u8..3, proptest::bool::weighted(0.2))
            .prop_map(|(t, p, verify)| TxnOp::Add { t, p, verify }),
        4 => (0u8..3, 0u8..3, 1u8..5, 0u8..3).prop_map(|(t, p, n, v)| TxnOp::Produce { t, p, n, v }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(commit, v5)| TxnOp::End { commit, v5 }),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(v5, offset)| TxnOp::Offsets { v5, offset }),
        1 => (any::<bool>(), 0u8..3, 0u8..3)
            .prop_map(|(commit, t, p)| TxnOp::Markers { commit, t, p }),
    ]
}

fn guess() -> impl Strategy<Value = Guess> {
    prop_oneof![
        6 => Just(Guess::Learned),
        1 => (-1i8..=1).prop_map(Guess::Epoch),
        1 => (0u8..4).prop_map(Guess::Id),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0u8..4).prop_map(Step::Connect),
        1 => (0u8..4).prop_map(Step::Disconnect),
        1 => (
            0u8..4,
            any::<u8>(),
            any::<u8>(),
            0u8..3,
            proptest::option::of((any::<u16>(), any::<u8>()))
        )
            .prop_map(|(conn, key, v, variant, corrupt)| Step::Example {
                conn,
                key,
                v,
                variant,
                corrupt
            }),
        1 => (
            0u8..4,
            0u8..3,
            0u8..3,
            1u8..20,
            prop_oneof![Just(-1i8), Just(0), Just(1)]
        )
            .prop_map(|(conn, t, p, n, acks)| Step::Produce {
                conn,
                t,
                p,
                n,
                acks
            }),
        1 => (0u8..4, proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(conn, bytes)| Step::Random { conn, bytes }),
        1 => (0u32..120_000).prop_map(Step::Advance),
        // Transactional steps weigh as much as all the others together.
        6 => (0u8..4, 0u8..3, txn_op(), guess())
            .prop_map(|(conn, id, op, guess)| Step::Txn { conn, id, op, guess }),
    ]
}

fn frame(corr: i32, body: RequestBody, version: i16) -> Bytes {
    let header = RequestHeader {
        request_api_key: body.api_key() as i16,
        request_api_version: version,
        correlation_id: corr,
        client_id: Some("fuzz".into()),
        ..Default::default()
    };
    encode_request(&header, &body).expect("encodes").slice(4..)
}

fn check_logs(b: &Broker<MemStorage>) {
    let s = b.storage();
    for tp in s.logs() {
        let start = s.start_offset(&tp);
        let end = s.end_offset(&tp);
        assert!(start <= end, "{tp}: start {start} > end {end}");
        let chunks = s.read(&tp, start, usize::MAX).expect("read");
        let mut next: Option<i64> = None;
        for c in &chunks {
            let v = BatchView::parse(c, 0).expect("stored batches are valid");
            if let Some(n) = next {
                // Compaction (an example request may set
                // cleanup.policy=compact) leaves gaps; nothing overlaps.
                assert!(v.header.base_offset >= n, "{tp}: offsets increase");
            }
            next = Some(v.header.last_offset() + 1);
        }
        if let Some(n) = next {
            assert_eq!(n, end, "{tp}: the last batch ends at the log end");
        }
    }
}

/// Transactional ids, the timeouts their producers ask for, the group
/// their offsets go to.
fn txn_id(id: u8) -> String {
    format!("x{id}")
}
const TIMEOUTS: [i32; 3] = [300, 5_000, 60_000];
const GROUP: &str = "g";
/// The connection the invariant checks fetch on.
const CHECK: u64 = 200;

/// What answers will teach.
#[derive(Debug, Clone, Copy)]
enum Teach {
    /// InitProducerId (or EndTxn v5) for a transactional id: its producer.
    Producer(u8),
    /// A produce of `n` records: the next sequence of (id, epoch, t, p).
    Sequence((i64, i16, u8, u8), i32),
    Nothing,
}

/// What the transactional steps know: producers learned from answers,
/// their next sequences, and the requests whose answers are awaited.
#[derive(Debug, Default)]
struct Learned {
    producers: BTreeMap<u8, (i64, i16)>,
    seqs: BTreeMap<(i64, i16, u8, u8), i32>,
    pending: BTreeMap<(u64, i32), (ApiKey, i16, Teach)>,
}

impl Learned {
    fn producer(&self, id: u8, guess: &Guess) -> (i64, i16) {
        let known = self.producers.get(&id).copied().unwrap_or((0, 0));
        match guess {
            Guess::Learned => known,
            Guess::Epoch(d) => (known.0, known.1.saturating_add(i16::from(*d))),
            Guess::Id(i) => (i64::from(*i), 0),
        }
    }

    /// Reads an answer this knows the request of.
    fn answer(&mut self, conn: u64, frame: &Bytes) {
        let Some(corr) = frame
            .get(4..8)
            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        else {
            return;
        };
        let Some((key, version, teach)) = self.pending.remove(&(conn, corr)) else {
            return;
        };
        let (_, body) = decode_response(&frame.slice(4..), key, version).expect("answer decodes");
        match (teach, body) {
            (Teach::Producer(id), ResponseBody::InitProducerId(r)) if r.error_code == 0 => {
                self.producers.insert(id, (r.producer_id, r.producer_epoch));
            }
            (Teach::Producer(id), ResponseBody::EndTxn(r)) if r.error_code == 0 => {
                self.producers.insert(id, (r.producer_id, r.producer_epoch));
            }
            (Teach::Sequence(k, n), ResponseBody::Produce(r)) => {
                let p = &r.responses[0].partition_responses[0];
                if p.error_code == 0 {
                    *self.seqs.entry(k).or_default() += n;
                }
            }
            _ => {}
        }
    }
}

/// The requests of a transactional step, each with its version and what
/// its answer teaches.
fn txn_requests(
    l: &Learned,
    id: u8,
    op: &TxnOp,
    guess: &Guess,
    now: i64,
) -> Vec<(RequestBody, i16, Teach)> {
    let txn = txn_id(id);
    let (pid, epoch) = l.producer(id, guess);
    let topic = |t: u8| format!("t{t}");
    let txn_offsets = |version: i16, offset: u8| {
        let req = TxnOffsetCommitRequest {
            transactional_id: txn.clone().into(),
            group_id: GROUP.into(),
            producer_id: pid,
            producer_epoch: epoch,
            generation_id: -1,
            topics: vec![TxnOffsetCommitRequestTopic {
                name: "t0".into(),
                partitions: vec![TxnOffsetCommitRequestPartition {
                    partition_index: 0,
                    committed_offset: i64::from(offset),
                    committed_leader_epoch: -1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        (RequestBody::TxnOffsetCommit(req), version, Teach::Nothing)
    };
    match *op {
        TxnOp::Init { timeout } => {
            let (cur_id, cur_epoch) = match guess {
                Guess::Learned => (-1, -1),
                _ => (pid, epoch),
            };
            let req = InitProducerIdRequest {
                transactional_id: Some(txn.into()),
                transaction_timeout_ms: TIMEOUTS[timeout as usize % 3],
                producer_id: cur_id,
                producer_epoch: cur_epoch,
                ..Default::default()
            };
            vec![(RequestBody::InitProducerId(req), 4, Teach::Producer(id))]
        }
        TxnOp::Add { t, p, verify } => {
            let topics = vec![AddPartitionsToTxnTopic {
                name: topic(t).into(),
                partitions: vec![i32::from(p)].into(),
                ..Default::default()
            }];
            let req = if verify {
                AddPartitionsToTxnRequest {
                    transactions: vec![AddPartitionsToTxnTransaction {
                        transactional_id: txn.into(),
                        producer_id: pid,
                        producer_epoch: epoch,
                        verify_only: true,
                        topics,
                        ..Default::default()
                    }],
                    ..Default::default()
                }
            } else {
                AddPartitionsToTxnRequest {
                    v3_and_below_transactional_id: txn.into(),
                    v3_and_below_producer_id: pid,
                    v3_and_below_producer_epoch: epoch,
                    v3_and_below_topics: topics,
                    ..Default::default()
                }
            };
            vec![(
                RequestBody::AddPartitionsToTxn(req),
                if verify { 5 } else { 3 },
                Teach::Nothing,
            )]
        }
        TxnOp::Produce { t, p, n, v } => {
            let key = (pid, epoch, t, p);
            let seq = l.seqs.get(&key).copied().unwrap_or(0);
            let mut bb = RecordBatchBuilder::new(0, now)
                .producer(pid, epoch, seq)
                .transactional(true);
            for i in 0..i32::from(n) {
                bb = bb.record(Record::new(
                    i,
                    0,
                    None,
                    Some(Bytes::from(format!("{txn}-{i}"))),
                ));
            }
            let req = ProduceRequest {
                transactional_id: Some(txn.into()),
                acks: -1,
                timeout_ms: 100,
                topic_data: vec![TopicProduceData {
                    name: topic(t).into(),
                    partition_data: vec![PartitionProduceData {
                        index: i32::from(p),
                        records: Some(bb.build().expect("batch").into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let version = [9, 11, 12][v as usize % 3];
            vec![(
                RequestBody::Produce(req),
                version,
                Teach::Sequence(key, i32::from(n)),
            )]
        }
        TxnOp::End { commit, v5 } => {
            let req = EndTxnRequest {
                transactional_id: txn.into(),
                producer_id: pid,
                producer_epoch: epoch,
                committed: commit,
                ..Default::default()
            };
            let teach = if v5 {
                Teach::Producer(id)
            } else {
                Teach::Nothing
            };
            vec![(RequestBody::EndTxn(req), if v5 { 5 } else { 3 }, teach)]
        }
        TxnOp::Offsets { v5: true, offset } => vec![txn_offsets(5, offset)],
        TxnOp::Offsets { v5: false, offset } => {
            let req = AddOffsetsToTxnRequest {
                transactional_id: txn.clone().into(),
                producer_id: pid,
                producer_epoch: epoch,
                group_id: GROUP.into(),
                ..Default::default()
            };
            vec![
                (RequestBody::AddOffsetsToTxn(req), 3, Teach::Nothing),
                txn_offsets(3, offset),
            ]
        }
        TxnOp::Markers { commit, t, p } => {
            let req = WriteTxnMarkersRequest {
                markers: vec![WritableTxnMarker {
                    producer_id: pid,
                    producer_epoch: epoch,
                    transaction_result: commit,
                    coordinator_epoch: 0,
                    topics: vec![WritableTxnMarkerTopic {
                        name: topic(t).into(),
                        partition_indexes: vec![i32::from(p)].into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            vec![(RequestBody::WriteTxnMarkers(req), 1, Teach::Nothing)]
        }
    }
}

/// The partition of `__consumer_offsets` (50 partitions) for `group`.
fn offsets_partition(group: &str) -> i32 {
    let h = group
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    (if h == i32::MIN { 0 } else { h.abs() }) % 50
}

/// The batches of `bytes`: (header, the control record's type if a control batch).
fn headers(bytes: &Bytes) -> Vec<(BatchHeader, Option<i16>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Ok(v) = BatchView::parse(&bytes[at..], at) else {
            break;
        };
        let kind = if v.header.is_control() {
            v.records()
                .next()
                .and_then(Result::ok)
                .and_then(|r| r.key)
                .and_then(|k| k.get(2..4))
                .map(|k| i16::from_be_bytes([k[0], k[1]]))
        } else {
            None
        };
        out.push((v.header, kind));
        at += v.size;
    }
    out
}

/// The transaction invariants of every partition (see the module docs),
/// through a read_committed Fetch on connection [`CHECK`].
fn check_txns(b: &mut Broker<MemStorage>, now: i64, corr: i32) -> Result<(), TestCaseError> {
    let mut parts: Vec<(String, i32)> = (0..3)
        .flat_map(|t| (0..3).map(move |p| (format!("t{t}"), p)))
        .collect();
    if b.topic_names().iter().any(|t| t == OFFSETS_TOPIC) {
        parts.push((OFFSETS_TOPIC.to_string(), offsets_partition(GROUP)));
    }
    let s = b.storage();
    let topics = parts
        .iter()
        .map(|(t, p)| FetchTopic {
            topic: t.clone().into(),
            partitions: vec![FetchPartition {
                partition: *p,
                fetch_offset: s.start_offset(&TopicPartition::new(t.as_str(), *p)),
                partition_max_bytes: 1 << 24,
                current_leader_epoch: -1,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    let req = FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: i32::MAX,
        isolation_level: 1,
        session_id: 0,
        session_epoch: -1,
        topics,
        ..Default::default()
    };
    b.handle_request(CHECK, frame(corr, RequestBody::Fetch(req), 12), now);
    let mut answer = None;
    while let Some(out) = b.poll_output() {
        match out {
            Output::Response {
                conn: CHECK,
                chunks,
            } => answer = Some(chunks.concat()),
            other => prop_assert!(
                false,
                "a check fetch answered another connection: {other:?}"
            ),
        }
    }
    let frame = Bytes::from(answer.expect("the check fetch is answered"));
    let Ok((_, ResponseBody::Fetch(r))) = decode_response(&frame.slice(4..), ApiKey::Fetch, 12)
    else {
        panic!("a fetch response");
    };
    let s = b.storage();
    for t in &r.responses {
        for p in &t.partitions {
            if p.error_code != 0 {
                continue;
            }
            let tp = TopicPartition::new(&*t.topic, p.partition_index);
            let (hw, lso) = (p.high_watermark, p.last_stable_offset);
            prop_assert_eq!(hw, s.end_offset(&tp), "{}: high watermark", tp);
            prop_assert!(
                lso <= hw,
                "{}: LSO {} past the high watermark {}",
                tp,
                lso,
                hw
            );
            // Every marker in the log: (offset, producer, ABORT?).
            let log = Bytes::from(
                s.read(&tp, s.start_offset(&tp), usize::MAX)
                    .expect("read")
                    .concat(),
            );
            let markers: Vec<(i64, i64, bool)> = headers(&log)
                .into_iter()
                .filter_map(|(h, kind)| kind.map(|k| (h.base_offset, h.producer_id, k == 0)))
                .collect();
            let records = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
            let mut aborted = p.aborted_transactions.clone().unwrap_or_default();
            aborted.sort_by_key(|a| a.first_offset);
            let mut aborted = aborted.into_iter().peekable();
            // Kafka's consumer: a producer's batches are skipped from the
            // first offset of an aborted transaction to its ABORT marker.
            let mut skipping = std::collections::BTreeSet::new();
            for (h, kind) in headers(&records) {
                let last = h.last_offset();
                prop_assert!(
                    last < lso,
                    "{}: batch {}..={} at or past the LSO {}",
                    tp,
                    h.base_offset,
                    last,
                    lso
                );
                while let Some(a) = aborted.next_if(|a| a.first_offset <= last) {
                    skipping.insert(a.producer_id);
                }
                if let Some(k) = kind {
                    if k == 0 {
                        skipping.remove(&h.producer_id);
                    }
                    continue;
                }
                if !h.is_transactional() {
                    continue;
                }
                let next = markers.iter().find(|m| m.0 > last && m.1 == h.producer_id);
                prop_assert!(
                    next.is_some(),
                    "{}: batch at {} of an open transaction returned",
                    tp,
                    h.base_offset
                );
                let aborts = next.is_some_and(|m| m.2);
                prop_assert_eq!(
                    skipping.contains(&h.producer_id),
                    aborts,
                    "{}: batch at {} of producer {}: skipped by the aborted list {:?} iff its next marker aborts",
                    tp, h.base_offset, h.producer_id, p.aborted_transactions
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_keeps_the_broker_whole(steps in proptest::collection::vec(step(), 1..60), zk_mode in any::<bool>()) {
        let mut now = T0;
        // The topics are made on a single broker; in ZooKeeper mode (where
        // CreateTopics goes through the driver) it then restarts as one of
        // a cluster, serving the controller's UpdateMetadata too.
        let mut b = Broker::new(Config::default(), MemStorage::new(), now).expect("starts");
        // Three topics of three partitions to produce to.
        b.handle_connect(100, PeerInfo::default(), now);
        let topics: Vec<CreatableTopic> = (0..3)
            .map(|t| CreatableTopic { name: format!("t{t}").into(), num_partitions: 3, replication_factor: 1, ..Default::default() })
            .collect();
        b.handle_request(100, frame(1, RequestBody::CreateTopics(CreateTopicsRequest { topics, ..Default::default() }), 7), now);
        // The coordinators, so that __transaction_state and __consumer_offsets exist.
        for (i, key_type) in [(2, 1i8), (3, 0)] {
            let req = FindCoordinatorRequest { key: GROUP.into(), key_type, ..Default::default() };
            b.handle_request(100, frame(i, RequestBody::FindCoordinator(req), 3), now);
        }
        while b.poll_output().is_some() {}
        if zk_mode {
            let storage = b.into_storage();
            let config = Config { zk_mode, ..Config::default() };
            b = Broker::new(config, storage, now).expect("restarts in ZooKeeper mode");
        }
        b.handle_connect(CHECK, PeerInfo::default(), now);
        let mut learned = Learned::default();
        let mut corr: i32 = 10;
        // Correlation ids sent and not yet answered, per connection, in order.
        let mut sent: std::collections::BTreeMap<u64, Vec<i32>> = Default::default();
        for s in steps {
            corr += 1;
            match s {
                Step::Connect(c) => b.handle_connect(u64::from(c), PeerInfo::default(), now),
                Step::Disconnect(c) => {
                    b.handle_disconnect(u64::from(c), now);
                    sent.remove(&u64::from(c));
                    learned.pending.retain(|k, _| k.0 != u64::from(c));
                }
                Step::Example { conn, key, v, variant, corrupt } => {
                    let k = ApiKey::ALL[key as usize % ApiKey::ALL.len()];
                    let vs = k.versions();
                    let version = vs.min + (i16::from(v) % (vs.max - vs.min + 1));
                    let variant = Variant::ALL[variant as usize % 3];
                    let mut f = example_request(k, version, u64::from(key), variant).slice(4..).to_vec();
                    f[4..8].copy_from_slice(&corr.to_be_bytes());
                    if let Some((at, byte)) = corrupt {
                        let i = at as usize % f.len();
                        if i >= 8 {
                            f[i] = byte;
                        }
                    }
                    sent.entry(u64::from(conn)).or_default().push(corr);
                    b.handle_request(u64::from(conn), Bytes::from(f), now);
                }
                Step::Produce { conn, t, p, n, acks } => {
                    let mut bb = RecordBatchBuilder::new(0, now);
                    for i in 0..i32::from(n) {
                        bb = bb.record(Record::new(i, 0, None, Some(Bytes::from(vec![b'x'; 10]))));
                    }
                    let body = RequestBody::Produce(ProduceRequest {
                        acks: i16::from(acks),
                        timeout_ms: 100,
                        topic_data: vec![TopicProduceData {
                            name: format!("t{t}").into(),
                            partition_data: vec![PartitionProduceData { index: i32::from(p), records: Some(bb.build().expect("batch").into()), ..Default::default() }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    });
                    if acks != 0 {
                        sent.entry(u64::from(conn)).or_default().push(corr);
                    }
                    b.handle_request(u64::from(conn), frame(corr, body, 9), now);
                }
                Step::Random { conn, bytes } => {
                    b.handle_request(u64::from(conn), Bytes::from(bytes), now);
                }
                Step::Advance(ms) => {
                    now += i64::from(ms);
                    b.handle_timeout(now);
                }
                Step::Txn { conn, id, op, guess } => {
                    let conn = u64::from(conn);
                    for (body, version, teach) in txn_requests(&learned, id, &op, &guess, now) {
                        corr += 1;
                        learned.pending.insert((conn, corr), (body.api_key(), version, teach));
                        sent.entry(conn).or_default().push(corr);
                        b.handle_request(conn, frame(corr, body, version), now);
                    }
                }
            }
            while let Some(out) = b.poll_output() {
                match out {
                    Output::Response { conn, chunks } => {
                        learned.answer(conn, &Bytes::from(chunks.concat()));
                        let first = &chunks[0];
                        prop_assert!(first.len() >= 8);
                        let got = i32::from_be_bytes([first[4], first[5], first[6], first[7]]);
                        let q = sent.entry(conn).or_default();
                        // Responses come in request order; requests the broker
                        // never answers (acks=0, closed) are skipped over.
                        let pos = q.iter().position(|&c| c == got);
                        prop_assert!(pos.is_some(), "response {got} on {conn} to a request not sent there");
                        q.drain(..=pos.unwrap_or(0));
                    }
                    Output::CreateTopics { request, .. } => {
                        prop_assert!(zk_mode, "a single broker asked its driver to create topics ({request})");
                    }
                    Output::Close { conn, .. } => {
                        sent.remove(&conn);
                        learned.pending.retain(|k, _| k.0 != conn);
                    }
                    Output::Replica { leader, .. } => {
                        prop_assert!(false, "a single broker fetched from {leader}");
                    }
                    Output::TxnMarkers { broker, .. } => {
                        prop_assert!(false, "a single broker sent markers to {broker}");
                    }
                    _ => {}
                }
            }
            check_logs(&b);
            corr += 1;
            check_txns(&mut b, now, corr)?;
            if let Some(t) = b.poll_timeout() {
                prop_assert!(t >= now - 1, "deadlines are not in the past after handle_timeout");
            }
        }
    }
}
