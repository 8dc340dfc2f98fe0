//! DescribeCluster and DescribeTopicPartitions.

use spate_core::protocol::messages::describe_cluster_request::DescribeClusterRequest;
use spate_core::protocol::messages::describe_topic_partitions_request::{
    Cursor, DescribeTopicPartitionsRequest, TopicRequest,
};
use spate_core::protocol::messages::describe_topic_partitions_response::DescribeTopicPartitionsResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use crate::sim::Sim;
use crate::util::*;

/// DescribeTopicPartitions v0.
fn describe_partitions(
    sim: &mut Sim,
    names: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let req = DescribeTopicPartitionsRequest {
        topics: names
            .iter()
            .map(|n| TopicRequest {
                name: (*n).into(),
                ..Default::default()
            })
            .collect(),
        response_partition_limit: limit,
        cursor: cursor.map(|(t, p)| Cursor {
            topic_name: t.into(),
            partition_index: p,
            ..Default::default()
        }),
        ..Default::default()
    };
    let ResponseBody::DescribeTopicPartitions(r) =
        sim.call(1, 0, RequestBody::DescribeTopicPartitions(req))
    else {
        panic!()
    };
    r
}

/// A topic as a page shows it: name, error, partition indexes.
type PageTopic = (String, i16, Vec<i32>);

/// The topics of a page, and the next cursor.
fn pages(r: &DescribeTopicPartitionsResponse) -> (Vec<PageTopic>, Option<(String, i32)>) {
    let topics = r
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_deref().unwrap_or("").to_string(),
                t.error_code,
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    (
        topics,
        r.next_cursor
            .as_ref()
            .map(|c| (c.topic_name.to_string(), c.partition_index)),
    )
}

// ---------------------------------------------------------------- tests

#[test]
fn describe_cluster_names_the_one_broker() {
    let mut sim = Sim::new();
    for v in 0..=2 {
        let req = DescribeClusterRequest {
            include_cluster_authorized_operations: v == 1,
            endpoint_type: 1,
            include_fenced_brokers: v == 2,
            ..Default::default()
        };
        let ResponseBody::DescribeCluster(r) = sim.call(1, v, RequestBody::DescribeCluster(req))
        else {
            panic!()
        };
        assert_eq!(
            (
                r.error_code,
                r.cluster_id.as_ref(),
                r.controller_id,
                r.endpoint_type
            ),
            (NONE, "spate-cluster-0000000000", 1, 1),
            "v{v}"
        );
        assert_eq!(
            r.brokers
                .iter()
                .map(|b| (b.broker_id, b.host.to_string(), b.port, b.is_fenced))
                .collect::<Vec<_>>(),
            vec![(1, "127.0.0.1".into(), 9092, false)]
        );
        // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
        assert_eq!(
            r.cluster_authorized_operations,
            if v == 1 { 8096 } else { i32::MIN }
        );
    }
    for (endpoint, code) in [
        (2, ErrorCode::MISMATCHED_ENDPOINT_TYPE),
        (0, ErrorCode::UNSUPPORTED_ENDPOINT_TYPE),
    ] {
        let req = DescribeClusterRequest {
            endpoint_type: endpoint,
            ..Default::default()
        };
        let ResponseBody::DescribeCluster(r) = sim.call(1, 1, RequestBody::DescribeCluster(req))
        else {
            panic!()
        };
        assert_eq!((r.error_code, r.brokers.len()), (code.code(), 0));
        assert!(r.error_message.is_some());
    }
}

#[test]
fn describe_topic_partitions_pages_with_a_cursor() {
    let mut sim = Sim::new();
    create(&mut sim, "c", 2, &[]);
    create(&mut sim, "a", 3, &[]);
    create(&mut sim, "b", 1, &[]);
    // Every topic, sorted, no cursor.
    let r = describe_partitions(&mut sim, &[], 2000, None);
    let (topics, cursor) = pages(&r);
    assert_eq!(
        topics,
        vec![
            ("a".into(), NONE, vec![0, 1, 2]),
            ("b".into(), NONE, vec![0]),
            ("c".into(), NONE, vec![0, 1])
        ]
    );
    assert_eq!(cursor, None);
    assert_eq!(r.topics[0].topic_id, metadata(&mut sim, "a").topic_id);
    assert_eq!(r.topics[0].topic_authorized_operations, 3576);
    let p = &r.topics[0].partitions[0];
    assert_eq!(
        (
            p.leader_id,
            p.leader_epoch,
            p.replica_nodes.to_vec(),
            p.isr_nodes.to_vec()
        ),
        (1, 0, vec![1], vec![1])
    );
    // Two at a time: the cursor names the first partition left out...
    let (topics, cursor) = pages(&describe_partitions(&mut sim, &[], 2, None));
    assert_eq!(
        (topics, cursor.clone()),
        (vec![("a".into(), NONE, vec![0, 1])], Some(("a".into(), 2)))
    );
    // ...or the next topic, when the limit ends a topic.
    let (topics, cursor) = pages(&describe_partitions(&mut sim, &[], 2, Some(("a", 2))));
    assert_eq!(
        (topics, cursor.clone()),
        (
            vec![("a".into(), NONE, vec![2]), ("b".into(), NONE, vec![0])],
            Some(("c".into(), 0))
        )
    );
    let (topics, cursor) = pages(&describe_partitions(&mut sim, &[], 2, Some(("c", 0))));
    assert_eq!(
        (topics, cursor),
        (vec![("c".into(), NONE, vec![0, 1])], None)
    );
}

#[test]
fn describe_topic_partitions_reports_unknown_topics_and_bad_cursors() {
    let mut sim = Sim::new();
    create(&mut sim, "b", 2, &[]);
    let (topics, cursor) = pages(&describe_partitions(
        &mut sim,
        &["zz", "b", "bad name!", "b"],
        10,
        None,
    ));
    let invalid_topic = ErrorCode::INVALID_TOPIC_EXCEPTION.code();
    assert_eq!(
        topics,
        vec![
            ("b".into(), NONE, vec![0, 1]),
            ("bad name!".into(), invalid_topic, vec![]),
            ("zz".into(), UNKNOWN, vec![])
        ]
    );
    assert_eq!(cursor, None);
    // Names before the cursor are skipped; the cursor's topic must be requested.
    let (topics, _) = pages(&describe_partitions(
        &mut sim,
        &["a", "b"],
        10,
        Some(("b", 1)),
    ));
    assert_eq!(topics, vec![("b".into(), NONE, vec![1])]);
    let (topics, _) = pages(&describe_partitions(
        &mut sim,
        &["a", "b"],
        10,
        Some(("c", 0)),
    ));
    assert_eq!(
        topics,
        vec![
            ("a".into(), INVALID_REQUEST, vec![]),
            ("b".into(), INVALID_REQUEST, vec![])
        ]
    );
    let (topics, _) = pages(&describe_partitions(&mut sim, &["b"], 10, Some(("b", -1))));
    assert_eq!(topics, vec![("b".into(), INVALID_REQUEST, vec![])]);
}
