//! A KRaft log directory as Apache Kafka 4 leaves it, written with Spate's
//! own encoder: the fixture in `tests/fixtures/kraft-log-dir/` is this
//! function's output, and a test checks that they agree byte for byte.
//!
//! # Layout
//!
//! ```text
//! meta.properties                         version=1, node.id=1, cluster.id, directory.id
//! __cluster_metadata-0/
//!   00000000000000000000.log              a Raft control batch (LeaderChange), then one
//!                                         batch of FeatureLevelRecord, TopicRecord and two
//!                                         PartitionRecords (v1, with directories) for `orders`
//!   partition.metadata                    the metadata topic's id (Kafka's reserved 0..01)
//! orders-0/
//!   00000000000000000000.log              two producer batches: offsets 0-2 and 3-4
//!   leader-epoch-checkpoint               Kafka's epoch cache file (0 entries ignored by Spate)
//!   partition.metadata                    version 0, the topic id
//! orders-1/
//!   00000000000000000000.log              empty
//!   partition.metadata
//! ```
//!
//! Metadata record values are framed as Kafka's metadata serde writes
//! them: frame version 1, api key (the record type), version, body.

use std::io;
use std::path::Path;

use bytes::Bytes;
use spate_core::protocol::messages::leader_change_message::{LeaderChangeMessage, Voter};
use spate_core::protocol::messages::metadata::{
    feature_level_record::FeatureLevelRecord, partition_record::PartitionRecord,
    topic_record::TopicRecord,
};
use spate_core::protocol::wire::{put_uvarint, Writer};
use spate_core::protocol::{Message, Uuid};
use spate_core::records::{Record, RecordBatchBuilder};

/// The fixture's cluster id.
pub const CLUSTER_ID: &str = "SpAtEfIxTuReClUsTeR0Aw";
/// The id of topic `orders`.
pub const ORDERS_ID: Uuid = Uuid([
    0x4f, 0x52, 0x44, 0x45, 0x52, 0x53, 0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x2d, 0x69, 0x64, 0x21,
]);
/// The log directory's id.
pub const DIRECTORY_ID: Uuid = Uuid([7; 16]);
/// Record timestamps.
pub const TS: i64 = 1_760_000_000_000;

fn framed<M: Message>(api_key: u64, version: i16, m: &M) -> Bytes {
    let mut w = Writer::new();
    put_uvarint(&mut w, 1);
    put_uvarint(&mut w, api_key);
    put_uvarint(&mut w, version as u64);
    m.encode(&mut w, version).expect("record encodes");
    w.freeze()
}

fn partition_metadata(id: Uuid) -> String {
    format!("version: 0\ntopic_id: {id}\n")
}

/// The two record batches of `orders-0`, as a producer sent them and Kafka stored them.
pub fn orders_batches() -> Vec<Bytes> {
    let mut out = Vec::new();
    for (base, n) in [(0i64, 3i32), (3, 2)] {
        let mut b = RecordBatchBuilder::new(base, TS + base)
            .partition_leader_epoch(0)
            .producer(1000, 0, base as i32);
        for i in 0..n {
            let o = base + i64::from(i);
            b = b.record(
                Record::new(
                    i,
                    i64::from(i),
                    Some(Bytes::from(format!("key-{o}"))),
                    Some(Bytes::from(format!("order {o}"))),
                )
                .with_header("origin", Some(Bytes::from_static(b"kafka"))),
            );
        }
        out.push(b.build().expect("batch"));
    }
    out
}

/// Writes the fixture into `dir` (which must exist and be empty).
pub fn write(dir: &Path) -> io::Result<()> {
    std::fs::write(
        dir.join("meta.properties"),
        format!("#\n#Written by Spate's fixture builder in Kafka 4's format\nnode.id=1\ndirectory.id={DIRECTORY_ID}\nversion=1\ncluster.id={CLUSTER_ID}\n"),
    )?;
    // __cluster_metadata-0
    let meta = dir.join("__cluster_metadata-0");
    std::fs::create_dir_all(&meta)?;
    let leader_change = LeaderChangeMessage {
        version: 0,
        leader_id: 1,
        voters: vec![Voter {
            voter_id: 1,
            ..Default::default()
        }],
        granting_voters: vec![Voter {
            voter_id: 1,
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut key = Vec::new();
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&2i16.to_be_bytes()); // LEADER_CHANGE
    let control = RecordBatchBuilder::new(0, TS)
        .partition_leader_epoch(1)
        .control(true)
        .record(Record::new(
            0,
            0,
            Some(Bytes::from(key)),
            Some(leader_change.encode_to_bytes(0).expect("encodes")),
        ))
        .build()
        .expect("control batch");
    let mut records = vec![framed(
        12,
        0,
        &FeatureLevelRecord {
            name: "metadata.version".into(),
            feature_level: 27,
            ..Default::default()
        },
    )];
    records.push(framed(
        2,
        0,
        &TopicRecord {
            name: "orders".into(),
            topic_id: ORDERS_ID,
            ..Default::default()
        },
    ));
    for p in 0..2 {
        records.push(framed(
            3,
            1,
            &PartitionRecord {
                partition_id: p,
                topic_id: ORDERS_ID,
                replicas: vec![1].into(),
                isr: vec![1].into(),
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                directories: vec![DIRECTORY_ID].into(),
                ..Default::default()
            },
        ));
    }
    let mut b = RecordBatchBuilder::new(1, TS).partition_leader_epoch(1);
    for (i, v) in records.into_iter().enumerate() {
        b = b.record(Record::new(i as i32, 0, None, Some(v)));
    }
    let data = b.build().expect("metadata batch");
    let mut log = control.to_vec();
    log.extend_from_slice(&data);
    std::fs::write(meta.join("00000000000000000000.log"), log)?;
    let mut reserved = [0u8; 16];
    reserved[15] = 1;
    std::fs::write(
        meta.join("partition.metadata"),
        partition_metadata(Uuid(reserved)),
    )?;
    // orders-0 and orders-1
    for p in 0..2 {
        let d = dir.join(format!("orders-{p}"));
        std::fs::create_dir_all(&d)?;
        let log: Vec<u8> = if p == 0 {
            orders_batches().iter().flat_map(|b| b.to_vec()).collect()
        } else {
            Vec::new()
        };
        std::fs::write(d.join("00000000000000000000.log"), log)?;
        std::fs::write(d.join("partition.metadata"), partition_metadata(ORDERS_ID))?;
        if p == 0 {
            std::fs::write(d.join("leader-epoch-checkpoint"), "0\n1\n0 0\n")?;
        }
    }
    Ok(())
}
