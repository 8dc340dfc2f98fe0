//! `__consumer_offsets` is compacted like any topic with
//! `cleanup.policy=compact`: repeated commits leave the latest per group
//! and partition, and the coordinator rebuilds the same offsets from the
//! compacted log after a restart.

mod sim;

use sim::Sim;
use spate_core::broker::Config;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestTopic,
};
use spate_core::protocol::{RequestBody, ResponseBody};
use spate_core::records::BatchView;
use spate_core::storage::{Storage, TopicPartition};

fn commit(s: &mut Sim, group: &str, partition: i32, offset: i64) {
    let req = RequestBody::OffsetCommit(OffsetCommitRequest {
        group_id: group.into(),
        generation_id_or_member_epoch: -1,
        member_id: "".into(),
        topics: vec![OffsetCommitRequestTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitRequestPartition {
                partition_index: partition,
                committed_offset: offset,
                committed_leader_epoch: 0,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    match s.call(1, 8, req) {
        ResponseBody::OffsetCommit(r) => assert_eq!(r.topics[0].partitions[0].error_code, 0),
        other => panic!("{other:?}"),
    }
}

fn fetched(s: &mut Sim, group: &str, partitions: &[i32]) -> Vec<i64> {
    let req = RequestBody::OffsetFetch(OffsetFetchRequest {
        group_id: group.into(),
        topics: Some(vec![OffsetFetchRequestTopic {
            name: "t".into(),
            partition_indexes: partitions.to_vec().into(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    match s.call(2, 5, req) {
        ResponseBody::OffsetFetch(r) => r.topics[0]
            .partitions
            .iter()
            .map(|p| p.committed_offset)
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// Records in every `__consumer_offsets` partition.
fn offsets_records(s: &Sim) -> usize {
    let st = s.broker.storage();
    st.logs()
        .into_iter()
        .filter(|tp| tp.topic == "__consumer_offsets")
        .map(|tp: TopicPartition| {
            let mut n = 0;
            for c in st.read(&tp, 0, usize::MAX).unwrap() {
                let mut at = 0;
                while at < c.len() {
                    let v = BatchView::parse(&c[at..], at).unwrap();
                    n += v.header.records_count as usize;
                    at += v.size;
                }
            }
            n
        })
        .sum()
}

#[test]
fn consumer_offsets_is_compacted_and_reloads_the_latest_commits() {
    let mut s = Sim::with(Config::default(), Default::default());
    s.create_topic("t", 3);
    for round in 0..30 {
        for p in 0..3 {
            commit(&mut s, "solo", p, round * 10 + i64::from(p));
        }
    }
    let before = offsets_records(&s);
    assert_eq!(before, 90);
    s.advance(2 * 15_000);
    let after = offsets_records(&s);
    assert!(after <= 4, "compacted to {after} records");
    assert_eq!(fetched(&mut s, "solo", &[0, 1, 2]), vec![290, 291, 292]);
    let mut s2 = s.restart();
    assert_eq!(fetched(&mut s2, "solo", &[0, 1, 2]), vec![290, 291, 292]);
}
