//! ListOffsets and OffsetForLeaderEpoch.

use bytes::Bytes;
use spate_core::protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use spate_core::protocol::messages::offset_for_leader_epoch_response::EpochEndOffset;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::records::{
    compress, BatchRecords, Compression, Record, RecordBatch, RecordBatchBuilder,
};

use crate::sim::{self, Sim, T0};
use crate::util::*;

/// A v2 batch whose records carry these timestamps, optionally gzipped.
fn timed_batch(timestamps: &[i64], gzip: bool) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, timestamps[0]);
    for (i, ts) in timestamps.iter().enumerate() {
        b = b.record(Record::new(
            i as i32,
            ts - timestamps[0],
            None,
            Some(Bytes::from(format!("v{i}"))),
        ));
    }
    let plain = b.build().expect("batch");
    if !gzip {
        return plain;
    }
    let mut batch = RecordBatch::decode(&plain).expect("decodes");
    batch.header.attributes |= 1;
    let payload = compress(Compression::Gzip, &plain[61..]).expect("gzip");
    batch.records = BatchRecords::Compressed {
        compression: Compression::Gzip,
        payload,
    };
    batch.to_bytes().expect("encodes")
}

/// v0's old-style offsets.
fn legacy(sim: &mut Sim, topic: &str, timestamp: i64, max_num_offsets: i32) -> (i16, Vec<i64>) {
    let mut req = list_req(topic, &[(0, timestamp, -1)], 0);
    req.topics[0].partitions[0].max_num_offsets = max_num_offsets;
    let p = list_offsets(sim, 0, req).remove(0);
    (p.error_code, p.old_style_offsets.to_vec())
}

/// OffsetForLeaderEpoch for one partition.
fn epoch_end(
    sim: &mut Sim,
    version: i16,
    topic: &str,
    partition: i32,
    current: i32,
    asked: i32,
) -> EpochEndOffset {
    let req = OffsetForLeaderEpochRequest {
        replica_id: -1,
        topics: vec![OffsetForLeaderTopic {
            topic: topic.into(),
            partitions: vec![OffsetForLeaderPartition {
                partition,
                current_leader_epoch: current,
                leader_epoch: asked,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::OffsetForLeaderEpoch(r) =
        sim.call(1, version, RequestBody::OffsetForLeaderEpoch(req))
    else {
        panic!()
    };
    r.topics[0].partitions[0].clone()
}

/// Offsets 0-2 plain at +100/+500/+200, 3-5 gzipped at +50/+700/+700,
/// 6-7 plain at +700/+10 (all from T0).
fn timed_topic(sim: &mut Sim) {
    create(sim, "t", 1, &[]);
    produce(
        sim,
        "t",
        0,
        timed_batch(&[T0 + 100, T0 + 500, T0 + 200], false),
    );
    produce(
        sim,
        "t",
        0,
        timed_batch(&[T0 + 50, T0 + 700, T0 + 700], true),
    );
    produce(sim, "t", 0, timed_batch(&[T0 + 700, T0 + 10], false));
}

#[test]
fn list_offsets_finds_offsets_by_time_in_every_version() {
    let mut sim = Sim::new();
    timed_topic(&mut sim);
    // v1: no leader epoch; latest, earliest, timestamps (first record at or after).
    assert_eq!(lookup(&mut sim, 1, "t", 0, -1), (NONE, -1, 8, -1));
    assert_eq!(lookup(&mut sim, 1, "t", 0, -2), (NONE, -1, 0, -1));
    assert_eq!(
        lookup(&mut sim, 1, "t", 0, T0 + 150),
        (NONE, T0 + 500, 1, -1)
    );
    assert_eq!(
        lookup(&mut sim, 1, "t", 0, T0 + 600),
        (NONE, T0 + 700, 4, -1),
        "inside the gzipped batch"
    );
    assert_eq!(
        lookup(&mut sim, 1, "t", 0, T0 + 701),
        (NONE, -1, -1, -1),
        "nothing that late"
    );
    let unsupported = ErrorCode::UNSUPPORTED_VERSION.code();
    assert_eq!(
        lookup(&mut sim, 1, "t", 0, -3).0,
        unsupported,
        "max timestamp needs v7"
    );
    assert_eq!(lookup(&mut sim, 6, "t", 0, -3).0, unsupported);
    // v4+: leader epoch.
    assert_eq!(lookup(&mut sim, 4, "t", 0, -1), (NONE, -1, 8, 0));
    assert_eq!(lookup(&mut sim, 4, "t", 0, T0), (NONE, T0 + 100, 0, 0));
    // v7: max timestamp is the first record with the largest timestamp.
    assert_eq!(lookup(&mut sim, 7, "t", 0, -3), (NONE, T0 + 700, 4, 0));
    assert_eq!(
        lookup(&mut sim, 7, "t", 0, -4).0,
        unsupported,
        "earliest local needs v8"
    );
    // v8: earliest local = earliest; v9, v10: latest tiered is -1 with epoch -1.
    assert_eq!(lookup(&mut sim, 8, "t", 0, -4), (NONE, -1, 0, 0));
    assert_eq!(
        lookup(&mut sim, 8, "t", 0, -5).0,
        unsupported,
        "latest tiered needs v9"
    );
    assert_eq!(lookup(&mut sim, 9, "t", 0, -5), (NONE, -1, -1, -1));
    assert_eq!(lookup(&mut sim, 10, "t", 0, -5), (NONE, -1, -1, -1));
    assert_eq!(lookup(&mut sim, 10, "t", 0, -6).0, unsupported);
    // read_committed sees the last stable offset, which is the log end here.
    let p = list_offsets(&mut sim, 5, list_req("t", &[(0, -1, -1)], 1)).remove(0);
    assert_eq!(p.offset, 8);
    // Empty partitions: latest and earliest 0, max timestamp not found.
    create(&mut sim, "empty", 1, &[]);
    assert_eq!(lookup(&mut sim, 10, "empty", 0, -1), (NONE, -1, 0, 0));
    assert_eq!(lookup(&mut sim, 10, "empty", 0, -3), (NONE, -1, -1, -1));
    assert_eq!(lookup(&mut sim, 10, "empty", 0, T0), (NONE, -1, -1, -1));
    // After DeleteRecords, lookups skip the records below the log start.
    delete_records(&mut sim, 2, "t", 0, 4);
    assert_eq!(lookup(&mut sim, 10, "t", 0, T0), (NONE, T0 + 700, 4, 0));
    assert_eq!(lookup(&mut sim, 10, "t", 0, -2), (NONE, -1, 4, 0));
}

#[test]
fn list_offsets_errors() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    assert_eq!(lookup(&mut sim, 1, "nope", 0, -1), (UNKNOWN, -1, -1, -1));
    assert_eq!(lookup(&mut sim, 10, "t", 3, -1).0, UNKNOWN);
    // A partition named twice (v1+).
    let ps = list_offsets(&mut sim, 3, list_req("t", &[(0, -1, -1), (0, -2, -1)], 0));
    assert_eq!(
        ps.iter().map(|p| p.error_code).collect::<Vec<_>>(),
        vec![INVALID_REQUEST, INVALID_REQUEST]
    );
    // Current leader epoch (v4+): newer is unknown, older is fenced.
    let ps = list_offsets(&mut sim, 4, list_req("t", &[(0, -1, 1)], 0));
    assert_eq!(ps[0].error_code, ErrorCode::UNKNOWN_LEADER_EPOCH.code());
    let ps = list_offsets(&mut sim, 10, list_req("t", &[(0, -1, -2)], 0));
    assert_eq!(ps[0].error_code, ErrorCode::FENCED_LEADER_EPOCH.code());
    let ps = list_offsets(&mut sim, 10, list_req("t", &[(0, -1, 0)], 0));
    assert_eq!((ps[0].error_code, ps[0].offset), (NONE, 0));
}

#[test]
fn list_offsets_v0_answers_with_legacy_segment_offsets() {
    let mut sim = Sim::new();
    create(&mut sim, "empty", 1, &[]);
    assert_eq!(legacy(&mut sim, "empty", -1, 5), (NONE, vec![0]));
    timed_topic(&mut sim);
    sim.advance(10_000);
    assert_eq!(legacy(&mut sim, "t", -1, 1), (NONE, vec![8]));
    assert_eq!(legacy(&mut sim, "t", -1, 5), (NONE, vec![8, 0]));
    assert_eq!(legacy(&mut sim, "t", -2, 5), (NONE, vec![0]));
    // The log's one segment was last written at +700; the log end is stamped now.
    assert_eq!(legacy(&mut sim, "t", T0 + 800, 5), (NONE, vec![0]));
    assert_eq!(legacy(&mut sim, "t", T0 + 20_000, 5), (NONE, vec![8, 0]));
    assert_eq!(legacy(&mut sim, "t", T0, 5), (NONE, vec![]));
    assert_eq!(
        legacy(&mut sim, "t", -3, 5),
        (ErrorCode::UNSUPPORTED_VERSION.code(), vec![])
    );
    assert_eq!(legacy(&mut sim, "nope", -1, 5), (UNKNOWN, vec![]));
}

#[test]
fn offset_for_leader_epoch_answers_from_the_one_epoch() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    produce(&mut sim, "t", 0, sim::batch(5, "e"));
    // v0 has no leader epoch in the response.
    let e = epoch_end(&mut sim, 0, "t", 0, -1, 0);
    assert_eq!((e.error_code, e.leader_epoch, e.end_offset), (NONE, -1, 5));
    // v2: the current epoch ends at the log end; later or undefined epochs are undefined.
    let e = epoch_end(&mut sim, 2, "t", 0, 0, 0);
    assert_eq!((e.error_code, e.leader_epoch, e.end_offset), (NONE, 0, 5));
    for asked in [1, -1] {
        let e = epoch_end(&mut sim, 2, "t", 0, -1, asked);
        assert_eq!(
            (e.error_code, e.leader_epoch, e.end_offset),
            (NONE, -1, -1),
            "epoch {asked}"
        );
    }
    // v4: the current leader epoch is checked first.
    let e = epoch_end(&mut sim, 4, "t", 0, 3, 0);
    assert_eq!(e.error_code, ErrorCode::UNKNOWN_LEADER_EPOCH.code());
    let e = epoch_end(&mut sim, 4, "t", 0, -2, 0);
    assert_eq!(e.error_code, ErrorCode::FENCED_LEADER_EPOCH.code());
    let e = epoch_end(&mut sim, 4, "nope", 0, -1, 0);
    assert_eq!(
        (e.error_code, e.leader_epoch, e.end_offset),
        (UNKNOWN, -1, -1)
    );
    assert_eq!(epoch_end(&mut sim, 4, "t", 1, -1, 0).error_code, UNKNOWN);
}
