//! Error answers a test asked for (`Broker::inject_error`): the response a
//! request of any API and version gets when the broker fails it as a
//! whole with one error code, as Kafka's `getErrorResponse` builds it.
//!
//! APIs whose answer carries an error per topic or partition (Produce,
//! Fetch, ListOffsets, Metadata, FindCoordinator v4+) put the code on
//! every topic and partition the request names; every other API that has
//! a top-level `error_code` gets a response with that code and every other
//! field at its default, made from the schema through the JSON codec, so
//! each version is right. An API with neither has no error answer
//! ([`can_answer`] says so before a fault is armed).

use bytes::Bytes;
use serde_json::json;

use crate::protocol::header::response_frame;
use crate::protocol::messages::{
    fetch_response::{FetchResponse, FetchableTopicResponse, PartitionData},
    find_coordinator_response::{Coordinator, FindCoordinatorResponse},
    list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsResponse, ListOffsetsTopicResponse,
    },
    metadata_response::{MetadataResponse, MetadataResponseTopic},
};
use crate::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody, Uuid};

/// Whether a request of `key` can be given an error answer.
pub(crate) fn can_answer(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::Produce
            | ApiKey::Fetch
            | ApiKey::ListOffsets
            | ApiKey::Metadata
            | ApiKey::FindCoordinator
    ) || top_level_error(key)
}

/// Whether `key`'s response has an `error_code` at its top in some version.
fn top_level_error(key: ApiKey) -> bool {
    key.response_spec()
        .root
        .fields
        .iter()
        .any(|f| f.name == "error_code")
}

/// The topic names and partitions a request names, where its API names
/// any: `(topic, partitions)`, topic ids resolved by `name_of`. `None`
/// partitions: the whole topic.
pub(crate) fn named(
    body: &RequestBody,
    name_of: &dyn Fn(&Uuid) -> Option<String>,
) -> Vec<(String, Option<Vec<i32>>)> {
    let by = |name: &str, id: &Uuid| {
        if name.is_empty() {
            name_of(id).unwrap_or_default()
        } else {
            name.to_string()
        }
    };
    match body {
        RequestBody::Produce(r) => r
            .topic_data
            .iter()
            .map(|t| {
                let ps = t.partition_data.iter().map(|p| p.index).collect();
                (by(&t.name, &t.topic_id), Some(ps))
            })
            .collect(),
        RequestBody::Fetch(r) => r
            .topics
            .iter()
            .map(|t| {
                let ps = t.partitions.iter().map(|p| p.partition).collect();
                (by(&t.topic, &t.topic_id), Some(ps))
            })
            .collect(),
        RequestBody::ListOffsets(r) => r
            .topics
            .iter()
            .map(|t| {
                let ps = t.partitions.iter().map(|p| p.partition_index).collect();
                (t.name.to_string(), Some(ps))
            })
            .collect(),
        RequestBody::Metadata(r) => r
            .topics
            .iter()
            .flatten()
            .map(|t| (by(t.name.as_deref().unwrap_or(""), &t.topic_id), None))
            .collect(),
        _ => Vec::new(),
    }
}

/// The frame (size prefix included, in chunks) that fails `body`, a
/// request at `version` with `correlation_id`, with `code`; `None` when
/// the API (or this version of it) has no error answer.
pub(crate) fn answer(
    body: &RequestBody,
    version: i16,
    correlation_id: i32,
    code: ErrorCode,
) -> Option<Vec<Bytes>> {
    let typed = match body {
        RequestBody::Produce(r) => Some(ResponseBody::Produce(produce_failed(r, code.0))),
        RequestBody::Fetch(r) => Some(ResponseBody::Fetch(FetchResponse {
            responses: r
                .topics
                .iter()
                .map(|t| FetchableTopicResponse {
                    topic: t.topic.clone(),
                    topic_id: t.topic_id,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| PartitionData {
                            partition_index: p.partition,
                            error_code: code.0,
                            high_watermark: -1,
                            last_stable_offset: -1,
                            log_start_offset: -1,
                            preferred_read_replica: -1,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })),
        RequestBody::ListOffsets(r) => Some(ResponseBody::ListOffsets(ListOffsetsResponse {
            topics: r
                .topics
                .iter()
                .map(|t| ListOffsetsTopicResponse {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| ListOffsetsPartitionResponse {
                            partition_index: p.partition_index,
                            error_code: code.0,
                            timestamp: -1,
                            offset: -1,
                            leader_epoch: -1,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })),
        RequestBody::Metadata(r) => Some(ResponseBody::Metadata(MetadataResponse {
            controller_id: -1,
            topics: r
                .topics
                .iter()
                .flatten()
                .map(|t| MetadataResponseTopic {
                    error_code: code.0,
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    topic_authorized_operations: i32::MIN,
                    ..Default::default()
                })
                .collect(),
            cluster_authorized_operations: i32::MIN,
            ..Default::default()
        })),
        RequestBody::FindCoordinator(r) if version >= 4 => {
            Some(ResponseBody::FindCoordinator(FindCoordinatorResponse {
                coordinators: r
                    .coordinator_keys
                    .iter()
                    .map(|k| Coordinator {
                        key: k.clone(),
                        node_id: -1,
                        error_code: code.0,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }))
        }
        _ => None,
    };
    if let Some(body) = typed {
        let encode = |w: &mut _, v| super::served::encode_response(&body, w, v);
        let frame = response_frame(correlation_id, body.api_key(), version, encode).ok()?;
        return Some(frame.into_chunks());
    }
    // Every other API: its top-level error code, the rest at defaults. The
    // codec refuses a field the version lacks, so a version without one
    // has no answer here.
    let key = body.api_key();
    if !top_level_error(key) {
        return None;
    }
    let doc = json!({
        "api": key as i16,
        "version": version,
        "side": "response",
        "header": {"correlation_id": correlation_id},
        "body": {"error_code": code.0},
    });
    crate::json::encode(&doc).ok().map(|b| vec![b])
}

/// The answer that fails every partition `req` names with `code`, as
/// Kafka's `PartitionResponse(error)`: no offsets, no append time.
pub(crate) fn produce_failed(
    req: &crate::protocol::messages::produce_request::ProduceRequest,
    code: i16,
) -> crate::protocol::messages::produce_response::ProduceResponse {
    crate::protocol::messages::produce_response::ProduceResponse {
        responses: req
            .topic_data
            .iter()
            .map(
                |t| crate::protocol::messages::produce_response::TopicProduceResponse {
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    partition_responses: t
                        .partition_data
                        .iter()
                        .map(|p| {
                            crate::protocol::messages::produce_response::PartitionProduceResponse {
                                index: p.index,
                                error_code: code,
                                base_offset: -1,
                                log_append_time_ms: -1,
                                log_start_offset: -1,
                                ..Default::default()
                            }
                        })
                        .collect(),
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::decode_response;
    use crate::protocol::messages::produce_request::{
        PartitionProduceData, ProduceRequest, TopicProduceData,
    };

    fn whole(chunks: Vec<Bytes>) -> Bytes {
        Bytes::from(chunks.concat()).slice(4..)
    }

    #[test]
    fn a_produce_answer_fails_every_partition_named() {
        let req = RequestBody::Produce(ProduceRequest {
            acks: -1,
            topic_data: vec![TopicProduceData {
                name: "t".into(),
                partition_data: vec![
                    PartitionProduceData {
                        index: 0,
                        ..Default::default()
                    },
                    PartitionProduceData {
                        index: 2,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        });
        let frame = whole(answer(&req, 9, 77, ErrorCode::NOT_LEADER_OR_FOLLOWER).unwrap());
        let (header, body) = decode_response(&frame, ApiKey::Produce, 9).unwrap();
        assert_eq!(header.correlation_id, 77);
        let ResponseBody::Produce(r) = body else {
            panic!("not a produce response")
        };
        let codes: Vec<_> = r.responses[0]
            .partition_responses
            .iter()
            .map(|p| (p.index, p.error_code))
            .collect();
        assert_eq!(codes, [(0, 6), (2, 6)]);
        assert_eq!(
            named(&req, &|_| None),
            [("t".to_string(), Some(vec![0, 2]))]
        );
    }

    #[test]
    fn other_apis_get_their_top_level_code_in_the_version_asked() {
        use crate::protocol::messages::heartbeat_request::HeartbeatRequest;
        let req = RequestBody::Heartbeat(HeartbeatRequest::default());
        for version in [0, 4] {
            let frame = whole(answer(&req, version, 5, ErrorCode::REBALANCE_IN_PROGRESS).unwrap());
            let (_, body) = decode_response(&frame, ApiKey::Heartbeat, version).unwrap();
            let ResponseBody::Heartbeat(r) = body else {
                panic!("not a heartbeat response")
            };
            assert_eq!(r.error_code, ErrorCode::REBALANCE_IN_PROGRESS.0);
        }
        assert!(can_answer(ApiKey::Heartbeat));
        // OffsetCommit fails per partition and has no answer built here.
        assert!(!can_answer(ApiKey::OffsetCommit));
    }
}
