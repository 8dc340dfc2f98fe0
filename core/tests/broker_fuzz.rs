//! Property test: arbitrary interleavings of connects, frames (example
//! requests of every API and version, valid produces, random and corrupted
//! bytes), disconnects and time jumps never make the broker panic, and
//! after every step its logs keep their invariants: offsets increasing
//! batch after batch (dense unless compaction removed records), log start never past log end, every
//! response on a connection in request order.

use bytes::Bytes;
use proptest::prelude::*;
use spate_core::broker::{Broker, Config, Output, PeerInfo};
use spate_core::example::{example_request, Variant};
use spate_core::protocol::header::encode_request;
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ApiKey, RequestBody};
use spate_core::records::{BatchView, Record, RecordBatchBuilder};
use spate_core::storage::{MemStorage, Storage};

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
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..4).prop_map(Step::Connect),
        (0u8..4).prop_map(Step::Disconnect),
        (
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
        (
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
        (0u8..4, proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(conn, bytes)| Step::Random { conn, bytes }),
        (0u32..120_000).prop_map(Step::Advance),
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_keeps_the_broker_whole(steps in proptest::collection::vec(step(), 1..60)) {
        let mut now = T0;
        let mut b = Broker::new(Config::default(), MemStorage::new(), now).expect("starts");
        // Three topics of three partitions to produce to.
        b.handle_connect(100, PeerInfo::default(), now);
        let topics: Vec<CreatableTopic> = (0..3)
            .map(|t| CreatableTopic { name: format!("t{t}").into(), num_partitions: 3, replication_factor: 1, ..Default::default() })
            .collect();
        b.handle_request(100, frame(1, RequestBody::CreateTopics(CreateTopicsRequest { topics, ..Default::default() }), 7), now);
        while b.poll_output().is_some() {}
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
            }
            while let Some(out) = b.poll_output() {
                match out {
                    Output::Response { conn, chunks } => {
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
                    Output::Close { conn, .. } => {
                        sent.remove(&conn);
                    }
                }
            }
            check_logs(&b);
            if let Some(t) = b.poll_timeout() {
                prop_assert!(t >= now - 1, "deadlines are not in the past after handle_timeout");
            }
        }
    }
}
