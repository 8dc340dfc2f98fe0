//! The topic admin APIs under the authorizer.

use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::delete_topics_request::DeleteTopicsRequest;
use spate_core::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::acl::{Operation, ResourceType};

use super::{allow, sim, ALICE};

const DENIED: i16 = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code();

fn create(s: &mut crate::sim::Sim, name: &str) -> (i16, i16, i32) {
    let req = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.into(),
            num_partitions: 1,
            replication_factor: -1,
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    match s.call(ALICE, 7, RequestBody::CreateTopics(req)) {
        ResponseBody::CreateTopics(r) => {
            let t = &r.topics[0];
            (t.error_code, t.topic_config_error_code, t.num_partitions)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn create_topics_needs_create_and_shows_configs_with_describe_configs() {
    let mut s = sim();
    assert_eq!(create(&mut s, "a").0, DENIED);
    assert!(!s.broker.topic_names().contains(&"a".to_string()));
    allow(&mut s, ResourceType::Topic, "a", Operation::Create);
    // Created, but its configs are not the caller's to see.
    assert_eq!(create(&mut s, "a"), (0, DENIED, -1));
    allow(
        &mut s,
        ResourceType::Cluster,
        "kafka-cluster",
        Operation::Create,
    );
    allow(&mut s, ResourceType::Topic, "b", Operation::DescribeConfigs);
    assert_eq!(create(&mut s, "b"), (0, 0, 1));
}

#[test]
fn delete_topics_needs_delete_before_existence_is_told() {
    let mut s = sim();
    s.create_topic("t", 1);
    let delete = |s: &mut crate::sim::Sim, name: &str| {
        let req = DeleteTopicsRequest {
            topic_names: vec![name.into()],
            timeout_ms: 1000,
            ..Default::default()
        };
        match s.call(ALICE, 4, RequestBody::DeleteTopics(req)) {
            ResponseBody::DeleteTopics(r) => r.responses[0].error_code,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(delete(&mut s, "t"), DENIED);
    assert_eq!(delete(&mut s, "missing"), DENIED);
    allow(&mut s, ResourceType::Topic, "t", Operation::Delete);
    assert_eq!(delete(&mut s, "t"), 0);
    assert!(!s.broker.topic_names().contains(&"t".to_string()));
}

#[test]
fn list_offsets_needs_describe() {
    let mut s = sim();
    s.create_topic("t", 1);
    let list = |s: &mut crate::sim::Sim| {
        let req = ListOffsetsRequest {
            replica_id: -1,
            topics: vec![ListOffsetsTopic {
                name: "t".into(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: 0,
                    timestamp: -1,
                    current_leader_epoch: -1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        match s.call(ALICE, 5, RequestBody::ListOffsets(req)) {
            ResponseBody::ListOffsets(r) => r.topics[0].partitions[0].error_code,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(list(&mut s), DENIED);
    allow(&mut s, ResourceType::Topic, "t", Operation::Describe);
    assert_eq!(list(&mut s), 0);
}

#[test]
fn describe_configs_needs_describe_configs_on_the_topic_or_the_cluster() {
    use spate_core::protocol::messages::describe_configs_request::{
        DescribeConfigsRequest, DescribeConfigsResource,
    };
    let mut s = sim();
    s.create_topic("t", 1);
    let describe = |s: &mut crate::sim::Sim| {
        let req = DescribeConfigsRequest {
            resources: vec![
                DescribeConfigsResource {
                    resource_type: 2,
                    resource_name: "t".into(),
                    ..Default::default()
                },
                DescribeConfigsResource {
                    resource_type: 4,
                    resource_name: "1".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        match s.call(ALICE, 4, RequestBody::DescribeConfigs(req)) {
            ResponseBody::DescribeConfigs(r) => (r.results[0].error_code, r.results[1].error_code),
            other => panic!("{other:?}"),
        }
    };
    let cluster = ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code();
    assert_eq!(describe(&mut s), (DENIED, cluster));
    // ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    allow(&mut s, ResourceType::Topic, "t", Operation::AlterConfigs);
    allow(
        &mut s,
        ResourceType::Cluster,
        "kafka-cluster",
        Operation::DescribeConfigs,
    );
    let (topic, broker) = describe(&mut s);
    assert_eq!(topic, 0);
    assert_ne!(broker, cluster);
}
