//! The controller's StopReplica request (Kafka 2.x's, sent when a topic
//! is deleted, and to a broker shutting down for the partitions it
//! follows): [`stop_replica`] builds it for a [`Stop`] at the version the
//! target serves; [`super::sender`] sends it.

use bytestring::ByteString;
use spate_core::protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaPartitionV0, StopReplicaRequest, StopReplicaTopicState,
    StopReplicaTopicV1,
};

use spate_core::protocol::messages::stop_replica_response::StopReplicaResponse;
use spate_core::protocol::ErrorCode;
use spate_core::storage::TopicPartition;

use super::channel::Stop;

/// The StopReplica version Kafka's ZooKeeper controller sent from
/// inter-broker protocol 2.6 on (v4 only adds the KRaft migration flag).
pub(crate) const STOP_REPLICA_VERSION: i16 = 3;

/// The StopReplica request for `stop` at `version`: from v3 each
/// partition carries its leader epoch and the delete flag; before, the
/// flag is the request's and the partitions are listed by topic (v1-2) or
/// one by one (v0).
pub(crate) fn stop_replica(stop: &Stop, version: i16) -> StopReplicaRequest {
    let mut req = StopReplicaRequest {
        controller_id: stop.controller_id,
        controller_epoch: stop.controller_epoch,
        broker_epoch: stop.broker_epoch.0,
        // From v3 the flag is each partition's.
        delete_partitions: stop.delete && version < 3,
        ..Default::default()
    };
    let mut topics: Vec<(&str, Vec<(i32, i32)>)> = Vec::new();
    for (tp, epoch) in &stop.partitions {
        match topics.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, ps)) => ps.push((tp.partition, *epoch)),
            None => topics.push((&tp.topic, vec![(tp.partition, *epoch)])),
        }
    }
    match version {
        0 => {
            req.ungrouped_partitions = stop
                .partitions
                .iter()
                .map(|(tp, _)| StopReplicaPartitionV0 {
                    topic_name: ByteString::from(tp.topic.as_str()),
                    partition_index: tp.partition,
                    ..Default::default()
                })
                .collect();
        }
        1 | 2 => {
            req.topics = topics
                .into_iter()
                .map(|(t, ps)| StopReplicaTopicV1 {
                    name: ByteString::from(t),
                    partition_indexes: ps.into_iter().map(|(p, _)| p).collect::<Vec<_>>().into(),
                    ..Default::default()
                })
                .collect();
        }
        _ => {
            req.topic_states = topics
                .into_iter()
                .map(|(t, ps)| StopReplicaTopicState {
                    topic_name: ByteString::from(t),
                    partition_states: ps
                        .into_iter()
                        .map(|(p, leader_epoch)| StopReplicaPartitionState {
                            partition_index: p,
                            leader_epoch,
                            delete_partition: stop.delete,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect();
        }
    }
    req
}

/// What `stop`'s answer `r` says of each partition it named: its leader
/// epoch in the request and its error, as Kafka's controller reads it (a
/// partition the answer lists, with the request's error when that is not
/// NONE; every partition of the request when the request failed and lists
/// none, so that a deletion is retried rather than left waiting).
pub(crate) fn answers(
    stop: &Stop,
    r: &StopReplicaResponse,
) -> Vec<(TopicPartition, i32, ErrorCode)> {
    let request = ErrorCode(r.error_code);
    let listed = |tp: &TopicPartition| {
        r.partition_errors
            .iter()
            .find(|e| *e.topic_name == *tp.topic && e.partition_index == tp.partition)
            .map(|e| ErrorCode(e.error_code))
    };
    stop.partitions
        .iter()
        .filter_map(|(tp, epoch)| {
            let code = match (listed(tp), request) {
                (Some(_), code) if code != ErrorCode::NONE => code,
                (Some(code), _) => code,
                (None, ErrorCode::NONE) => return None,
                (None, code) => code,
            };
            Some((tp.clone(), *epoch, code))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use spate_core::protocol::header::encode_request;
    use spate_core::protocol::messages::request_header::RequestHeader;
    use spate_core::protocol::{ApiKey, RequestBody};

    use super::super::engine::BrokerEpoch;
    use super::*;

    #[test]
    fn stop_replica_names_each_partition_at_the_deletion_epoch_from_v3() {
        use spate_core::storage::TopicPartition;
        let stop = Stop {
            controller_id: 1,
            controller_epoch: 4,
            broker_epoch: BrokerEpoch(9),
            partitions: vec![
                (TopicPartition::new("t", 0), -2),
                (TopicPartition::new("t", 1), -2),
            ],
            delete: true,
        };
        for v in 0..=4 {
            let header = RequestHeader {
                request_api_key: ApiKey::StopReplica as i16,
                request_api_version: v,
                ..Default::default()
            };
            let body = RequestBody::StopReplica(stop_replica(&stop, v));
            encode_request(&header, &body).unwrap_or_else(|e| panic!("v{v}: {e}"));
        }
        let r = stop_replica(&stop, 3);
        assert_eq!(
            (r.controller_id, r.controller_epoch, r.broker_epoch),
            (1, 4, 9)
        );
        let [t] = r.topic_states.as_slice() else {
            panic!("{r:?}")
        };
        assert_eq!(&*t.topic_name, "t");
        let ps: Vec<(i32, i32, bool)> = t
            .partition_states
            .iter()
            .map(|p| (p.partition_index, p.leader_epoch, p.delete_partition))
            .collect();
        assert_eq!(ps, [(0, -2, true), (1, -2, true)]);
        let r = stop_replica(&stop, 1);
        assert!(r.delete_partitions);
        assert_eq!(r.topics[0].partition_indexes.to_vec(), [0, 1]);
        let r = stop_replica(&stop, 0);
        assert_eq!(r.ungrouped_partitions.len(), 2);
    }

    #[test]
    fn each_partition_is_answered_with_its_error_or_the_requests() {
        use spate_core::protocol::messages::stop_replica_response::StopReplicaPartitionError;
        use spate_core::storage::TopicPartition;
        let t = |p| TopicPartition::new("t", p);
        let stop = Stop {
            controller_id: 1,
            controller_epoch: 4,
            broker_epoch: BrokerEpoch(9),
            partitions: vec![(t(0), -2), (t(1), -2), (t(2), -2)],
            delete: true,
        };
        let error = |p, code: ErrorCode| StopReplicaPartitionError {
            topic_name: "t".into(),
            partition_index: p,
            error_code: code.code(),
            ..Default::default()
        };
        let r = StopReplicaResponse {
            partition_errors: vec![
                error(0, ErrorCode::NONE),
                error(1, ErrorCode::KAFKA_STORAGE_ERROR),
            ],
            ..Default::default()
        };
        assert_eq!(
            answers(&stop, &r),
            [
                (t(0), -2, ErrorCode::NONE),
                (t(1), -2, ErrorCode::KAFKA_STORAGE_ERROR)
            ],
            "t-2 is not answered for"
        );
        let refused = StopReplicaResponse {
            error_code: ErrorCode::STALE_CONTROLLER_EPOCH.code(),
            ..Default::default()
        };
        let got = answers(&stop, &refused);
        assert_eq!(got.len(), 3);
        assert!(got
            .iter()
            .all(|(_, _, e)| *e == ErrorCode::STALE_CONTROLLER_EPOCH));
    }

    #[test]
    fn a_shutdown_stop_groups_by_topic_with_leader_epochs_and_deletes_nothing() {
        use spate_core::storage::TopicPartition;
        let stop = Stop {
            controller_id: 1,
            controller_epoch: 4,
            broker_epoch: BrokerEpoch(77),
            partitions: vec![
                (TopicPartition::new("a", 0), 3),
                (TopicPartition::new("b", 2), 1),
                (TopicPartition::new("a", 1), 5),
            ],
            delete: false,
        };
        let r = stop_replica(&stop, 3);
        assert!(!r.delete_partitions);
        type Topic = (String, Vec<(i32, i32, bool)>);
        let got: Vec<Topic> = r
            .topic_states
            .iter()
            .map(|t| {
                let ps = t
                    .partition_states
                    .iter()
                    .map(|p| (p.partition_index, p.leader_epoch, p.delete_partition))
                    .collect();
                (t.topic_name.to_string(), ps)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), vec![(0, 3, false), (1, 5, false)]),
                ("b".to_string(), vec![(2, 1, false)]),
            ]
        );
    }
}
