//! Admin and offset APIs through the real codec: DeleteTopics,
//! CreatePartitions, DeleteRecords here; ListOffsets and
//! OffsetForLeaderEpoch in `admin/offsets.rs`; DescribeCluster and
//! DescribeTopicPartitions in `admin/describe.rs`; at their oldest, a middle and
//! their newest versions, and what a restart keeps.

#[path = "admin/describe.rs"]
mod describe;
#[path = "admin/offsets.rs"]
mod offsets;
mod sim;
#[path = "admin/util.rs"]
mod util;

use sim::Sim;
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsTopic,
};
use spate_core::protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use spate_core::protocol::messages::delete_topics_request::{
    DeleteTopicState, DeleteTopicsRequest,
};
use spate_core::protocol::messages::delete_topics_response::DeletableTopicResult;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::Storage;
use util::*;

/// DeleteTopics; the answers.
fn delete_topics(
    sim: &mut Sim,
    version: i16,
    req: DeleteTopicsRequest,
) -> Vec<DeletableTopicResult> {
    let ResponseBody::DeleteTopics(r) = sim.call(1, version, RequestBody::DeleteTopics(req)) else {
        panic!()
    };
    r.responses
}

/// DeleteTopics by name (v0-5).
fn by_names(names: &[&str]) -> DeleteTopicsRequest {
    DeleteTopicsRequest {
        topic_names: names.iter().map(|n| (*n).into()).collect(),
        timeout_ms: 1000,
        ..Default::default()
    }
}

/// DeleteTopics by name or id (v6+).
fn by_refs(refs: &[(Option<&str>, Uuid)]) -> DeleteTopicsRequest {
    let topics = refs
        .iter()
        .map(|(n, id)| DeleteTopicState {
            name: n.map(Into::into),
            topic_id: *id,
            ..Default::default()
        })
        .collect();
    DeleteTopicsRequest {
        topics,
        timeout_ms: 1000,
        ..Default::default()
    }
}

/// (name, error) of each answer.
fn summary(r: &[DeletableTopicResult]) -> Vec<(Option<String>, i16)> {
    r.iter()
        .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.error_code))
        .collect()
}

/// CreatePartitions; the answers.
fn grow(
    sim: &mut Sim,
    version: i16,
    topics: Vec<CreatePartitionsTopic>,
    validate_only: bool,
) -> Vec<CreatePartitionsTopicResult> {
    let req = CreatePartitionsRequest {
        topics,
        timeout_ms: 1000,
        validate_only,
        ..Default::default()
    };
    let ResponseBody::CreatePartitions(r) =
        sim.call(1, version, RequestBody::CreatePartitions(req))
    else {
        panic!()
    };
    r.results
}

/// One topic to grow to `count` partitions.
fn grow_to(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> CreatePartitionsTopic {
    let assignments = assignments.map(|a| {
        a.into_iter()
            .map(|ids| CreatePartitionsAssignment {
                broker_ids: ids.into(),
                ..Default::default()
            })
            .collect()
    });
    CreatePartitionsTopic {
        name: name.into(),
        count,
        assignments,
        ..Default::default()
    }
}
#[test]
fn api_versions_advertises_every_version_of_the_admin_apis() {
    let mut sim = Sim::new();
    let ResponseBody::ApiVersions(r) = sim.call(
        1,
        3,
        RequestBody::ApiVersions(ApiVersionsRequest {
            client_software_name: "sim".into(),
            client_software_version: "1".into(),
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    for (key, max) in [
        (ApiKey::ListOffsets, 10),
        (ApiKey::DeleteTopics, 6),
        (ApiKey::DeleteRecords, 2),
        (ApiKey::OffsetForLeaderEpoch, 4),
        (ApiKey::CreatePartitions, 3),
        (ApiKey::DescribeCluster, 2),
        (ApiKey::DescribeTopicPartitions, 0),
    ] {
        let k = r
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .unwrap_or_else(|| panic!("{key:?} advertised"));
        assert_eq!((k.min_version, k.max_version), (0, max), "{key:?}");
    }
}

#[test]
fn delete_topics_by_name_answers_like_kafka() {
    let mut sim = Sim::new();
    for t in ["a", "b", "c"] {
        create(&mut sim, t, 2, &[]);
    }
    // v0: one answer per name, no messages.
    let r = delete_topics(&mut sim, 0, by_names(&["a", "nope"]));
    assert_eq!(
        summary(&r),
        vec![(Some("a".into()), NONE), (Some("nope".into()), UNKNOWN)]
    );
    assert_eq!(r[1].error_message, None);
    assert_eq!(metadata(&mut sim, "a").error_code, UNKNOWN);
    assert!(
        !sim.broker.storage().logs().iter().any(|tp| tp.topic == "a"),
        "logs deleted"
    );
    // v3: a name given twice is answered once, and nothing is deleted.
    let r = delete_topics(&mut sim, 3, by_names(&["b", "b"]));
    assert_eq!(summary(&r), vec![(Some("b".into()), INVALID_REQUEST)]);
    assert_eq!(metadata(&mut sim, "b").error_code, NONE);
    // v5 carries messages; the metadata log is not a topic.
    let r = delete_topics(&mut sim, 5, by_names(&["nope", "__cluster_metadata"]));
    assert_eq!(
        summary(&r),
        vec![
            (Some("nope".into()), UNKNOWN),
            (Some("__cluster_metadata".into()), UNKNOWN)
        ]
    );
    assert_eq!(
        r[0].error_message.as_deref(),
        Some("This server does not host this topic-partition.")
    );
    // The metadata log still works.
    create(&mut sim, "after", 1, &[]);
    assert_eq!(metadata(&mut sim, "after").error_code, NONE);
}

#[test]
fn delete_topics_by_id_answers_like_kafka() {
    let mut sim = Sim::new();
    for t in ["a", "b", "c"] {
        create(&mut sim, t, 1, &[]);
    }
    let (a, b) = (
        metadata(&mut sim, "a").topic_id,
        metadata(&mut sim, "b").topic_id,
    );
    let ghost = Uuid([7; 16]);
    let r = delete_topics(
        &mut sim,
        6,
        by_refs(&[(None, a), (None, ghost), (None, Uuid::ZERO), (Some("c"), b)]),
    );
    assert_eq!(
        summary(&r),
        vec![
            (Some("a".into()), NONE),
            (None, ErrorCode::UNKNOWN_TOPIC_ID.code()),
            (None, INVALID_REQUEST),
            (Some("c".into()), INVALID_REQUEST)
        ]
    );
    assert_eq!(r[0].topic_id, a);
    assert_eq!(
        r[1].error_message.as_deref(),
        Some("This server does not host this topic ID.")
    );
    assert_eq!(
        r[2].error_message.as_deref(),
        Some("Neither topic name nor id were specified.")
    );
    assert_eq!(
        r[3].error_message.as_deref(),
        Some("You may not specify both topic name and topic id.")
    );
    assert_eq!(metadata(&mut sim, "a").error_code, UNKNOWN);
    // An id twice: answered once; a name and its own id: one INVALID_REQUEST.
    let r = delete_topics(&mut sim, 6, by_refs(&[(None, b), (None, b)]));
    assert_eq!(summary(&r), vec![(None, INVALID_REQUEST)]);
    assert_eq!(r[0].error_message.as_deref(), Some("Duplicate topic id."));
    let r = delete_topics(&mut sim, 6, by_refs(&[(None, b), (Some("b"), Uuid::ZERO)]));
    assert_eq!(summary(&r), vec![(Some("b".into()), INVALID_REQUEST)]);
    assert_eq!(r[0].topic_id, b);
    assert_eq!(metadata(&mut sim, "b").error_code, NONE, "nothing deleted");
    // By name in v6 too.
    let r = delete_topics(&mut sim, 6, by_refs(&[(Some("b"), Uuid::ZERO)]));
    assert_eq!(
        (summary(&r), r[0].topic_id),
        (vec![(Some("b".into()), NONE)], b)
    );
}

#[test]
fn create_partitions_grows_topics_and_refuses_like_kafka() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    // v0: grow to 3; the new partitions take records.
    let r = grow(&mut sim, 0, vec![grow_to("t", 3, None)], false);
    assert_eq!((r[0].error_code, r[0].error_message.clone()), (NONE, None));
    assert_eq!(metadata(&mut sim, "t").partitions.len(), 3);
    assert_eq!(produce(&mut sim, "t", 2, sim::batch(2, "x")), 0);
    // v1: not an increase, unknown, duplicates.
    let r = grow(
        &mut sim,
        1,
        vec![
            grow_to("t", 3, None),
            grow_to("nope", 5, None),
            grow_to("d", 2, None),
            grow_to("d", 3, None),
        ],
        false,
    );
    let codes: Vec<(String, i16)> = r
        .iter()
        .map(|t| (t.name.to_string(), t.error_code))
        .collect();
    let invalid = ErrorCode::INVALID_PARTITIONS.code();
    assert_eq!(
        codes,
        vec![
            ("t".into(), invalid),
            ("nope".into(), UNKNOWN),
            ("d".into(), INVALID_REQUEST)
        ]
    );
    assert_eq!(
        r[0].error_message.as_deref(),
        Some("Topic already has 3 partition(s).")
    );
    assert_eq!(r[1].error_message, None);
    assert_eq!(r[2].error_message.as_deref(), Some("Duplicate topic name."));
    let r = grow(&mut sim, 1, vec![grow_to("t", 2, None)], false);
    assert_eq!(r[0].error_code, invalid);
    assert_eq!(
        r[0].error_message.as_deref(),
        Some("The topic t currently has 3 partition(s); 2 would not be an increase.")
    );
    // v3: assignments must name this broker (node 1) alone, one per new partition.
    let bad = ErrorCode::INVALID_REPLICA_ASSIGNMENT.code();
    for assignment in [
        vec![vec![1]],
        vec![vec![2], vec![1]],
        vec![vec![1, 1], vec![1]],
        vec![vec![], vec![1]],
    ] {
        let r = grow(
            &mut sim,
            3,
            vec![grow_to("t", 5, Some(assignment.clone()))],
            false,
        );
        assert_eq!(r[0].error_code, bad, "{assignment:?}");
    }
    // validate_only changes nothing; a real request then does it.
    let r = grow(
        &mut sim,
        3,
        vec![grow_to("t", 5, Some(vec![vec![1], vec![1]]))],
        true,
    );
    assert_eq!(r[0].error_code, NONE);
    assert_eq!(metadata(&mut sim, "t").partitions.len(), 3);
    let r = grow(
        &mut sim,
        3,
        vec![grow_to("t", 5, Some(vec![vec![1], vec![1]]))],
        false,
    );
    assert_eq!(r[0].error_code, NONE);
    let m = metadata(&mut sim, "t");
    assert_eq!(
        m.partitions
            .iter()
            .map(|p| (p.partition_index, p.leader_id, p.leader_epoch))
            .collect::<Vec<_>>(),
        (0..5).map(|i| (i, 1, 0)).collect::<Vec<_>>()
    );
    // One request may add at most 10,000 partitions.
    let r = grow(&mut sim, 3, vec![grow_to("t", 20_000, None)], false);
    assert_eq!(r[0].error_code, ErrorCode::POLICY_VIOLATION.code());
}

#[test]
fn delete_records_moves_the_low_watermark() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    for _ in 0..3 {
        produce(&mut sim, "t", 0, sim::batch(3, "r"));
    }
    assert_eq!(delete_records(&mut sim, 0, "t", 0, 4), (4, NONE));
    assert_eq!(lookup(&mut sim, 1, "t", 0, -2).2, 4, "earliest follows");
    // Below the log start: nothing changes.
    assert_eq!(delete_records(&mut sim, 1, "t", 0, 2), (4, NONE));
    // Past the high watermark, or negative: refused.
    let out_of_range = ErrorCode::OFFSET_OUT_OF_RANGE.code();
    assert_eq!(delete_records(&mut sim, 1, "t", 0, 10), (-1, out_of_range));
    assert_eq!(delete_records(&mut sim, 2, "t", 0, -7), (-1, out_of_range));
    // -1: up to the high watermark.
    assert_eq!(delete_records(&mut sim, 2, "t", 0, -1), (9, NONE));
    assert_eq!(produce(&mut sim, "t", 0, sim::batch(1, "more")), 9);
    // Unknown topic or partition; internal topics; compacted topics.
    assert_eq!(delete_records(&mut sim, 2, "nope", 0, 0), (-1, UNKNOWN));
    assert_eq!(delete_records(&mut sim, 2, "t", 1, 0), (-1, UNKNOWN));
    assert_eq!(
        delete_records(&mut sim, 2, "__cluster_metadata", 0, 0),
        (-1, UNKNOWN)
    );
    create(&mut sim, "__consumer_offsets", 1, &[]);
    assert_eq!(
        delete_records(&mut sim, 2, "__consumer_offsets", 0, 0),
        (-1, ErrorCode::INVALID_TOPIC_EXCEPTION.code())
    );
    create(&mut sim, "compacted", 1, &[("cleanup.policy", "compact")]);
    assert_eq!(
        delete_records(&mut sim, 0, "compacted", 0, 0),
        (-1, ErrorCode::POLICY_VIOLATION.code())
    );
}
#[test]
fn a_restart_keeps_new_partitions_deleted_topics_and_deleted_records() {
    let mut sim = Sim::new();
    create(&mut sim, "grown", 1, &[]);
    create(&mut sim, "gone", 2, &[]);
    assert_eq!(
        grow(&mut sim, 3, vec![grow_to("grown", 4, None)], false)[0].error_code,
        NONE
    );
    produce(&mut sim, "grown", 3, sim::batch(4, "p3"));
    assert_eq!(delete_records(&mut sim, 2, "grown", 3, 2), (2, NONE));
    assert_eq!(
        summary(&delete_topics(
            &mut sim,
            6,
            by_refs(&[(Some("gone"), Uuid::ZERO)])
        )),
        vec![(Some("gone".into()), NONE)]
    );

    let mut again = sim.restart();
    assert_eq!(again.broker.topic_names(), vec!["grown".to_string()]);
    assert_eq!(metadata(&mut again, "grown").partitions.len(), 4);
    assert_eq!(metadata(&mut again, "gone").error_code, UNKNOWN);
    assert_eq!(lookup(&mut again, 10, "grown", 3, -2), (NONE, -1, 2, 0));
    assert_eq!(lookup(&mut again, 10, "grown", 3, -1), (NONE, -1, 4, 0));
    // The deleted name is free again, with a fresh id.
    create(&mut again, "gone", 1, &[]);
    assert_eq!(metadata(&mut again, "gone").partitions.len(), 1);
}
