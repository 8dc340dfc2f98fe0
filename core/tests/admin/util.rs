//! Requests shared by the admin tests, typed and sent through the codec.

use bytes::Bytes;
use spate_core::protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use spate_core::protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
};
use spate_core::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use spate_core::protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::metadata_response::MetadataResponseTopic;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use crate::sim::Sim;

/// No error.
pub const NONE: i16 = 0;
/// UNKNOWN_TOPIC_OR_PARTITION.
pub const UNKNOWN: i16 = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code();
/// INVALID_REQUEST.
pub const INVALID_REQUEST: i16 = ErrorCode::INVALID_REQUEST.code();

/// Creates a topic (CreateTopics v7), which must succeed.
pub fn create(sim: &mut Sim, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let configs = configs
        .iter()
        .map(|(k, v)| CreatableTopicConfig {
            name: (*k).into(),
            value: Some((*v).into()),
            ..Default::default()
        })
        .collect();
    let topic = CreatableTopic {
        name: name.into(),
        num_partitions: partitions,
        replication_factor: -1,
        configs,
        ..Default::default()
    };
    let ResponseBody::CreateTopics(r) = sim.call(
        99,
        7,
        RequestBody::CreateTopics(CreateTopicsRequest {
            topics: vec![topic],
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, NONE, "create {name}");
}

/// The topic as Metadata v12 describes it.
pub fn metadata(sim: &mut Sim, name: &str) -> MetadataResponseTopic {
    let topics = Some(vec![MetadataRequestTopic {
        name: Some(name.into()),
        ..Default::default()
    }]);
    let req = MetadataRequest {
        topics,
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    let ResponseBody::Metadata(r) = sim.call(99, 12, RequestBody::Metadata(req)) else {
        panic!()
    };
    r.topics[0].clone()
}

/// Produces with acks=-1; the base offset.
pub fn produce(sim: &mut Sim, topic: &str, partition: i32, records: Bytes) -> i64 {
    let p = sim.produce_to(98, 9, topic, partition, records);
    assert_eq!(p.error_code, NONE, "produce to {topic}-{partition}");
    p.base_offset
}

/// DeleteRecords for one partition: (low watermark, error).
pub fn delete_records(
    sim: &mut Sim,
    version: i16,
    topic: &str,
    partition: i32,
    offset: i64,
) -> (i64, i16) {
    let req = DeleteRecordsRequest {
        topics: vec![DeleteRecordsTopic {
            name: topic.into(),
            partitions: vec![DeleteRecordsPartition {
                partition_index: partition,
                offset,
                ..Default::default()
            }],
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    let ResponseBody::DeleteRecords(r) = sim.call(1, version, RequestBody::DeleteRecords(req))
    else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    (p.low_watermark, p.error_code)
}

/// ListOffsets for partitions of one topic: (partition, timestamp, current leader epoch).
pub fn list_req(topic: &str, parts: &[(i32, i64, i32)], isolation: i8) -> ListOffsetsRequest {
    let partitions = parts
        .iter()
        .map(
            |&(partition_index, timestamp, current_leader_epoch)| ListOffsetsPartition {
                partition_index,
                timestamp,
                current_leader_epoch,
                max_num_offsets: 1,
                ..Default::default()
            },
        )
        .collect();
    ListOffsetsRequest {
        replica_id: -1,
        isolation_level: isolation,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The partitions of the one topic of a ListOffsets answer.
pub fn list_offsets(
    sim: &mut Sim,
    version: i16,
    req: ListOffsetsRequest,
) -> Vec<ListOffsetsPartitionResponse> {
    let ResponseBody::ListOffsets(r) = sim.call(1, version, RequestBody::ListOffsets(req)) else {
        panic!()
    };
    r.topics[0].partitions.clone()
}

/// (error, timestamp, offset, leader epoch) of one lookup.
pub fn lookup(
    sim: &mut Sim,
    version: i16,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> (i16, i64, i64, i32) {
    let p = list_offsets(
        sim,
        version,
        list_req(topic, &[(partition, timestamp, -1)], 0),
    )
    .remove(0);
    (p.error_code, p.timestamp, p.offset, p.leader_epoch)
}
