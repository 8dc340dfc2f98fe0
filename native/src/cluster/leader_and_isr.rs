//! The controller's LeaderAndIsr request (Kafka 2.x's):
//! [`leader_and_isr`] builds it for an [`Assign`] at the version the
//! target serves ([`leader_and_isr_version`]); [`super::sender`] sends it.

use bytestring::ByteString;
use spate_core::coordinator::controller::PartitionView;
use spate_core::protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrTopicState,
};
use spate_core::protocol::ApiKey;

use super::channel::Assign;
use super::requests::{by_topic, version_for};

/// The LeaderAndIsr version Kafka's ZooKeeper controller sent from
/// inter-broker protocol 2.8 on (topic ids; v6 adds only the leader
/// recovery state of unclean elections, never used here).
const LEADER_AND_ISR_VERSION: i16 = 5;

/// The LeaderAndIsr version to send a broker that serves `min..=max` of
/// it: [`LEADER_AND_ISR_VERSION`], or the broker's newest when older.
pub(crate) fn leader_and_isr_version(served: Option<(i16, i16)>) -> anyhow::Result<i16> {
    version_for(ApiKey::LeaderAndIsr, LEADER_AND_ISR_VERSION, served)
}

/// The LeaderAndIsr request for `assign` at `version`: partitions grouped
/// by topic from v2 on, listed one by one before.
pub(crate) fn leader_and_isr(assign: &Assign, version: i16) -> LeaderAndIsrRequest {
    let state = |p: &PartitionView| LeaderAndIsrPartitionState {
        topic_name: ByteString::from(p.tp.topic.as_str()),
        partition_index: p.tp.partition,
        controller_epoch: p.state.controller_epoch,
        leader: p.state.leader,
        leader_epoch: p.state.leader_epoch,
        isr: p.state.isr.clone().into(),
        partition_epoch: p.version,
        replicas: p.replicas.clone().into(),
        adding_replicas: p.adding.clone().into(),
        removing_replicas: p.removing.clone().into(),
        ..Default::default()
    };
    let mut req = LeaderAndIsrRequest {
        controller_id: assign.controller_id,
        controller_epoch: assign.controller_epoch,
        broker_epoch: assign.broker_epoch.0,
        live_leaders: assign
            .leaders
            .iter()
            .map(|b| LeaderAndIsrLiveLeader {
                broker_id: b.id,
                host_name: ByteString::from(b.host.as_str()),
                port: b.port,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    if version < 2 {
        req.ungrouped_partition_states = assign.partitions.iter().map(state).collect();
    } else {
        req.topic_states = by_topic(&assign.partitions)
            .into_iter()
            .map(|(first, ps)| LeaderAndIsrTopicState {
                topic_name: ByteString::from(first.tp.topic.as_str()),
                topic_id: first.topic_id,
                partition_states: ps.into_iter().map(state).collect(),
                ..Default::default()
            })
            .collect();
    }
    req
}

#[cfg(test)]
mod tests {
    use spate_core::protocol::header::{decode_request, encode_request};
    use spate_core::protocol::messages::request_header::RequestHeader;
    use spate_core::protocol::RequestBody;

    use super::super::engine::{BrokerEpoch, BrokerInfo};
    use super::*;

    #[test]
    fn leader_and_isr_groups_by_topic_from_v2_and_carries_the_live_leaders() {
        use spate_core::coordinator::controller::LeaderIsr;
        use spate_core::protocol::Uuid;
        use spate_core::storage::TopicPartition;
        let view = |topic: &str, p: i32| PartitionView {
            tp: TopicPartition::new(topic, p),
            topic_id: Uuid([7; 16]),
            state: LeaderIsr {
                leader: 2,
                leader_epoch: 4,
                isr: vec![2, 3],
                controller_epoch: 6,
            },
            version: 9,
            replicas: vec![1, 2, 3],
            offline: vec![1],
            adding: Vec::new(),
            removing: Vec::new(),
        };
        let assign = Assign {
            controller_id: 1,
            controller_epoch: 6,
            broker_epoch: BrokerEpoch(55),
            partitions: vec![view("a", 0), view("a", 1), view("b", 0)],
            leaders: vec![BrokerInfo {
                id: 2,
                host: "h".into(),
                port: 9,
                rack: None,
                endpoints: Vec::new(),
            }],
        };
        assert_eq!(leader_and_isr_version(Some((0, 7))).unwrap(), 5);
        for version in [1, 5] {
            let header = RequestHeader {
                request_api_key: ApiKey::LeaderAndIsr as i16,
                request_api_version: version,
                correlation_id: 1,
                client_id: Some("1".into()),
                ..Default::default()
            };
            let body = RequestBody::LeaderAndIsr(leader_and_isr(&assign, version));
            let frame = encode_request(&header, &body).unwrap();
            let (_, body) = decode_request(&frame.slice(4..)).unwrap();
            let RequestBody::LeaderAndIsr(got) = body else {
                panic!("another API");
            };
            assert_eq!(got.live_leaders.len(), 1);
            assert_eq!(&*got.live_leaders[0].host_name, "h");
            let states: Vec<(String, i32, i32, i32)> = if version < 2 {
                got.ungrouped_partition_states
                    .iter()
                    .map(|p| {
                        (
                            p.topic_name.to_string(),
                            p.partition_index,
                            p.leader_epoch,
                            p.partition_epoch,
                        )
                    })
                    .collect()
            } else {
                assert_eq!(got.topic_states.len(), 2, "two topics");
                assert_eq!(got.topic_states[0].topic_id, Uuid([7; 16]));
                assert_eq!(got.broker_epoch, 55);
                got.topic_states
                    .iter()
                    .flat_map(|t| {
                        t.partition_states.iter().map(|p| {
                            (
                                t.topic_name.to_string(),
                                p.partition_index,
                                p.leader_epoch,
                                p.partition_epoch,
                            )
                        })
                    })
                    .collect()
            };
            assert_eq!(
                states,
                [
                    ("a".into(), 0, 4, 9),
                    ("a".into(), 1, 4, 9),
                    ("b".into(), 0, 4, 9)
                ],
                "v{version}"
            );
        }
    }
}
