//! Partition leadership in ZooKeeper mode: the controller's LeaderAndIsr
//! makes this broker leader or follower of partitions, StopReplica stops
//! (and deletes) them, and UpdateMetadata's partition states tell every
//! broker who leads what. Produce and Fetch follow: a leader serves them,
//! a follower answers NOT_LEADER_OR_FOLLOWER naming the leader (KIP-951
//! in the versions that carry it). Stale epochs change nothing; malformed
//! requests never panic; a single broker is untouched.

mod sim;

use bytes::Bytes;
use proptest::prelude::*;
use sim::pair::{live, zk_broker, CONTROLLER};
use sim::{batch, Sim};
use spate_core::protocol::messages::fetch_request::{
    FetchPartition, FetchRequest, FetchTopic, ReplicaState,
};
use spate_core::protocol::messages::fetch_response::FetchResponse;
use spate_core::protocol::messages::leader_and_isr_request::{
    LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrTopicState,
};
use spate_core::protocol::messages::leader_and_isr_response::LeaderAndIsrResponse;
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::messages::metadata_response::MetadataResponsePartition;
use spate_core::protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaRequest, StopReplicaTopicState,
};
use spate_core::protocol::messages::stop_replica_response::StopReplicaResponse;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataPartitionState, UpdateMetadataRequest, UpdateMetadataTopicState,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::{Storage, TopicPartition};

/// The id of topic `t` in these tests.
const TOPIC_ID: Uuid = Uuid([9; 16]);

/// UpdateMetadata v7 from controller epoch `epoch`: brokers 1-3 alive and
/// the given states of topic `t`, each (partition, leader, leader epoch,
/// replicas).
fn update_metadata(sim: &mut Sim, epoch: i32, parts: &[(i32, i32, i32, &[i32])]) -> i16 {
    let req = UpdateMetadataRequest {
        controller_id: 2,
        controller_epoch: epoch,
        broker_epoch: -1,
        live_brokers: (1..=3).map(live).collect(),
        topic_states: vec![UpdateMetadataTopicState {
            topic_name: "t".into(),
            topic_id: TOPIC_ID,
            partition_states: parts
                .iter()
                .map(
                    |&(p, leader, leader_epoch, replicas)| UpdateMetadataPartitionState {
                        partition_index: p,
                        controller_epoch: epoch,
                        leader,
                        leader_epoch,
                        isr: replicas.to_vec().into(),
                        zk_version: leader_epoch,
                        replicas: replicas.to_vec().into(),
                        offline_replicas: vec![].into(),
                        ..Default::default()
                    },
                )
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    match sim.call(CONTROLLER, 7, RequestBody::UpdateMetadata(req)) {
        ResponseBody::UpdateMetadata(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

/// A LeaderAndIsr for partition `p` of topic `t`. Its ISR is the leader
/// alone, as after an election whose followers have not caught up: these
/// tests are about leadership, and with the leader alone in sync its high
/// watermark is its log end and acks=all produces answer at once
/// (`tests/replication.rs` covers followers in the ISR).
fn lisr(
    controller_epoch: i32,
    p: i32,
    leader: i32,
    leader_epoch: i32,
    replicas: &[i32],
) -> LeaderAndIsrRequest {
    LeaderAndIsrRequest {
        controller_id: 2,
        controller_epoch,
        broker_epoch: -1,
        topic_states: vec![LeaderAndIsrTopicState {
            topic_name: "t".into(),
            topic_id: TOPIC_ID,
            partition_states: vec![LeaderAndIsrPartitionState {
                topic_name: "t".into(),
                partition_index: p,
                controller_epoch,
                leader,
                leader_epoch,
                isr: vec![leader].into(),
                partition_epoch: leader_epoch,
                replicas: replicas.to_vec().into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ungrouped_partition_states: vec![LeaderAndIsrPartitionState {
            topic_name: "t".into(),
            partition_index: p,
            controller_epoch,
            leader,
            leader_epoch,
            isr: vec![leader].into(),
            partition_epoch: leader_epoch,
            replicas: replicas.to_vec().into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Sends a LeaderAndIsr at `version`, keeping what that version can say.
fn send_lisr(sim: &mut Sim, version: i16, mut req: LeaderAndIsrRequest) -> LeaderAndIsrResponse {
    if version < 2 {
        req.topic_states.clear();
    } else {
        req.ungrouped_partition_states.clear();
        for t in &mut req.topic_states {
            for p in &mut t.partition_states {
                p.topic_name = "".into();
            }
            if version < 5 {
                t.topic_id = Uuid::ZERO;
            }
        }
    }
    match sim.call(CONTROLLER, version, RequestBody::LeaderAndIsr(req)) {
        ResponseBody::LeaderAndIsr(r) => r,
        other => panic!("{other:?}"),
    }
}

/// The one partition error of a LeaderAndIsr response, at any version.
fn lisr_error(r: &LeaderAndIsrResponse) -> i16 {
    r.partition_errors
        .iter()
        .chain(r.topics.iter().flat_map(|t| &t.partition_errors))
        .map(|e| e.error_code)
        .next()
        .expect("a partition error")
}

fn stop(
    sim: &mut Sim,
    version: i16,
    epoch: i32,
    leader_epoch: i32,
    delete: bool,
) -> StopReplicaResponse {
    use spate_core::protocol::messages::stop_replica_request::{
        StopReplicaPartitionV0, StopReplicaTopicV1,
    };
    let mut req = StopReplicaRequest {
        controller_id: 2,
        controller_epoch: epoch,
        broker_epoch: -1,
        ..Default::default()
    };
    match version {
        0 => {
            req.delete_partitions = delete;
            req.ungrouped_partitions = vec![StopReplicaPartitionV0 {
                topic_name: "t".into(),
                partition_index: 0,
                ..Default::default()
            }];
        }
        1 | 2 => {
            req.delete_partitions = delete;
            req.topics = vec![StopReplicaTopicV1 {
                name: "t".into(),
                partition_indexes: vec![0].into(),
                ..Default::default()
            }];
        }
        _ => {
            req.topic_states = vec![StopReplicaTopicState {
                topic_name: "t".into(),
                partition_states: vec![StopReplicaPartitionState {
                    partition_index: 0,
                    leader_epoch,
                    delete_partition: delete,
                    ..Default::default()
                }],
                ..Default::default()
            }]
        }
    }
    match sim.call(CONTROLLER, version, RequestBody::StopReplica(req)) {
        ResponseBody::StopReplica(r) => r,
        other => panic!("{other:?}"),
    }
}

/// Partition `p` of topic `t` as Metadata v12 reports it.
fn metadata_partition(sim: &mut Sim, p: i32) -> MetadataResponsePartition {
    let req = MetadataRequest {
        topics: None,
        ..Default::default()
    };
    let ResponseBody::Metadata(r) = sim.call(1, 12, RequestBody::Metadata(req)) else {
        panic!()
    };
    let t = r
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some("t"))
        .expect("topic t");
    t.partitions
        .iter()
        .find(|x| x.partition_index == p)
        .expect("partition")
        .clone()
}

/// A consumer's Fetch of `t`-0 from offset 0 (by name before v13, by id
/// after), with `current_leader_epoch`.
fn fetch(sim: &mut Sim, version: i16, current_leader_epoch: i32) -> FetchResponse {
    let req = FetchRequest {
        replica_id: -1,
        replica_state: ReplicaState {
            replica_id: -1,
            ..Default::default()
        },
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: "t".into(),
            topic_id: TOPIC_ID,
            partitions: vec![FetchPartition {
                partition: 0,
                current_leader_epoch,
                fetch_offset: 0,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match sim.call(1, version, RequestBody::Fetch(req)) {
        ResponseBody::Fetch(r) => r,
        other => panic!("{other:?}"),
    }
}

fn records_of(r: &FetchResponse) -> usize {
    r.responses[0].partitions[0]
        .records
        .as_ref()
        .map_or(0, |r| r.to_bytes().len())
}

// ---------------------------------------------------------------- tests

#[test]
fn leader_and_isr_makes_this_broker_leader_at_every_version() {
    for version in 0..=7 {
        let mut sim = zk_broker();
        assert_eq!(update_metadata(&mut sim, 1, &[(0, 1, 3, &[1, 2])]), 0);
        let r = send_lisr(&mut sim, version, lisr(1, 0, 1, 3, &[1, 2]));
        assert_eq!((r.error_code, lisr_error(&r)), (0, 0), "v{version}");
        if version >= 5 {
            assert_eq!(r.topics[0].topic_id, TOPIC_ID);
        } else {
            assert_eq!(&*r.partition_errors[0].topic_name, "t");
        }
        assert!(sim
            .broker
            .storage()
            .logs()
            .contains(&TopicPartition::new("t", 0)));
        let p = sim.produce_to(2, 9, "t", 0, batch(2, "a"));
        assert_eq!((p.error_code, p.base_offset), (0, 0), "v{version}");
        let f = fetch(&mut sim, 12, 3);
        assert_eq!(f.responses[0].partitions[0].error_code, 0);
        assert!(records_of(&f) > 0);
        // The consumer's epoch is checked against the one LeaderAndIsr set.
        let stale = fetch(&mut sim, 12, 2).responses[0].partitions[0].error_code;
        assert_eq!(stale, ErrorCode::FENCED_LEADER_EPOCH.code());
        let future = fetch(&mut sim, 12, 4).responses[0].partitions[0].error_code;
        assert_eq!(future, ErrorCode::UNKNOWN_LEADER_EPOCH.code());
        let m = metadata_partition(&mut sim, 0);
        assert_eq!(
            (
                m.error_code,
                m.leader_id,
                m.leader_epoch,
                m.replica_nodes.to_vec(),
                m.isr_nodes.to_vec()
            ),
            (0, 1, 3, vec![1, 2], vec![1, 2])
        );
    }
}

#[test]
fn a_follower_sends_produce_and_fetch_to_the_leader() {
    let mut sim = zk_broker();
    assert_eq!(update_metadata(&mut sim, 1, &[(0, 2, 4, &[2, 1])]), 0);
    let r = send_lisr(&mut sim, 7, lisr(1, 0, 2, 4, &[2, 1]));
    assert_eq!(lisr_error(&r), 0);
    let not_leader = ErrorCode::NOT_LEADER_OR_FOLLOWER.code();
    // Produce before v10 says only the error.
    let p = sim.produce_to(2, 9, "t", 0, batch(1, "a"));
    assert_eq!(p.error_code, not_leader);
    assert_eq!(p.current_leader.leader_id, -1);
    // v10+: the current leader, and its endpoint.
    let ResponseBody::Produce(r) = sim.call(2, 10, sim::produce_request("t", 0, batch(1, "a"), -1))
    else {
        panic!()
    };
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, not_leader);
    assert_eq!(
        (p.current_leader.leader_id, p.current_leader.leader_epoch),
        (2, 4)
    );
    assert_eq!(r.node_endpoints.len(), 1);
    assert_eq!(
        (
            r.node_endpoints[0].node_id,
            &*r.node_endpoints[0].host,
            r.node_endpoints[0].port
        ),
        (2, "b2.example", 9092)
    );
    // Fetch v12: the error; v16: the leader and its endpoint.
    let f = fetch(&mut sim, 12, -1);
    assert_eq!(f.responses[0].partitions[0].error_code, not_leader);
    let f = fetch(&mut sim, 16, -1);
    let part = &f.responses[0].partitions[0];
    assert_eq!(part.error_code, not_leader);
    assert_eq!(
        (
            part.current_leader.leader_id,
            part.current_leader.leader_epoch
        ),
        (2, 4)
    );
    assert_eq!(f.node_endpoints.len(), 1);
    assert_eq!(f.node_endpoints[0].node_id, 2);
    // Nothing was appended.
    assert_eq!(
        sim.broker
            .storage()
            .end_offset(&TopicPartition::new("t", 0)),
        0
    );
    // Metadata reports the controller's leader.
    assert_eq!(metadata_partition(&mut sim, 0).leader_id, 2);
}

#[test]
fn leader_then_follower_with_a_newer_epoch() {
    let mut sim = zk_broker();
    assert_eq!(
        lisr_error(&send_lisr(&mut sim, 7, lisr(1, 0, 1, 1, &[1, 2]))),
        0
    );
    sim.produce_ok(9, "t", 0, batch(1, "a"));
    assert_eq!(
        lisr_error(&send_lisr(&mut sim, 7, lisr(1, 0, 2, 2, &[1, 2]))),
        0
    );
    let p = sim.produce_to(2, 9, "t", 0, batch(1, "b"));
    assert_eq!(p.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.code());
    // The log stays: a follower keeps its replica.
    assert_eq!(
        sim.broker
            .storage()
            .end_offset(&TopicPartition::new("t", 0)),
        1
    );
}

#[test]
fn a_stale_controller_epoch_is_refused_and_changes_nothing() {
    let mut sim = zk_broker();
    assert_eq!(update_metadata(&mut sim, 5, &[]), 0);
    for version in [0, 4, 7] {
        let r = send_lisr(&mut sim, version, lisr(4, 0, 1, 1, &[1]));
        assert_eq!(
            r.error_code,
            ErrorCode::STALE_CONTROLLER_EPOCH.code(),
            "v{version}"
        );
        assert_eq!(lisr_error(&r), ErrorCode::STALE_CONTROLLER_EPOCH.code());
    }
    assert!(sim.broker.storage().logs().iter().all(|tp| tp.topic != "t"));
    let p = sim.produce_to(2, 9, "t", 0, batch(1, "a"));
    assert_eq!(p.error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code());
    // StopReplica from an old controller: the request's error, no partitions.
    assert_eq!(
        lisr_error(&send_lisr(&mut sim, 7, lisr(5, 0, 1, 1, &[1]))),
        0
    );
    let r = stop(&mut sim, 3, 4, 1, true);
    assert_eq!(r.error_code, ErrorCode::STALE_CONTROLLER_EPOCH.code());
    assert!(r.partition_errors.is_empty());
    assert!(sim
        .broker
        .storage()
        .logs()
        .contains(&TopicPartition::new("t", 0)));
}

#[test]
fn a_stale_leader_epoch_is_refused_and_changes_nothing() {
    let mut sim = zk_broker();
    assert_eq!(
        lisr_error(&send_lisr(&mut sim, 7, lisr(1, 0, 1, 5, &[1, 2]))),
        0
    );
    for epoch in [4, 5] {
        let r = send_lisr(&mut sim, 7, lisr(1, 0, 2, epoch, &[1, 2]));
        assert_eq!(r.error_code, 0);
        assert_eq!(
            lisr_error(&r),
            ErrorCode::STALE_CONTROLLER_EPOCH.code(),
            "epoch {epoch}"
        );
    }
    // Still the leader at epoch 5.
    sim.produce_ok(9, "t", 0, batch(1, "a"));
    assert_eq!(
        fetch(&mut sim, 12, 5).responses[0].partitions[0].error_code,
        0
    );
    // StopReplica with an older leader epoch is fenced.
    let r = stop(&mut sim, 3, 1, 4, true);
    assert_eq!(
        r.partition_errors[0].error_code,
        ErrorCode::FENCED_LEADER_EPOCH.code()
    );
    assert!(sim
        .broker
        .storage()
        .logs()
        .contains(&TopicPartition::new("t", 0)));
}

#[test]
fn a_broker_not_among_the_replicas_refuses() {
    let mut sim = zk_broker();
    let r = send_lisr(&mut sim, 7, lisr(1, 0, 2, 1, &[2, 3]));
    assert_eq!(lisr_error(&r), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code());
    assert!(sim.broker.storage().logs().iter().all(|tp| tp.topic != "t"));
}

#[test]
fn another_topic_id_is_inconsistent() {
    let mut sim = zk_broker();
    assert_eq!(
        lisr_error(&send_lisr(&mut sim, 7, lisr(1, 0, 1, 1, &[1]))),
        0
    );
    let mut req = lisr(1, 0, 1, 2, &[1]);
    req.topic_states[0].topic_id = Uuid([7; 16]);
    let r = send_lisr(&mut sim, 7, req);
    assert_eq!(lisr_error(&r), ErrorCode::INCONSISTENT_TOPIC_ID.code());
}

#[test]
fn stop_replica_with_delete_removes_the_log() {
    for version in 0..=4 {
        let mut sim = zk_broker();
        assert_eq!(
            lisr_error(&send_lisr(&mut sim, 7, lisr(1, 0, 1, 1, &[1]))),
            0
        );
        sim.produce_ok(9, "t", 0, batch(1, "a"));
        // Without delete: stopped, the log stays.
        let r = stop(&mut sim, version, 1, 1, false);
        assert_eq!(
            (r.error_code, r.partition_errors.len()),
            (0, 1),
            "v{version}"
        );
        assert!(sim
            .broker
            .storage()
            .logs()
            .contains(&TopicPartition::new("t", 0)));
        let r = stop(&mut sim, version, 1, -2, true);
        assert_eq!(r.partition_errors[0].error_code, 0, "v{version}");
        assert!(
            !sim.broker
                .storage()
                .logs()
                .contains(&TopicPartition::new("t", 0)),
            "v{version}"
        );
        // Nothing tells of the partition any more.
        let p = sim.produce_to(2, 9, "t", 0, batch(1, "b"));
        assert_eq!(
            p.error_code,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
            "v{version}"
        );
    }
}

#[test]
fn update_metadata_partition_states_drive_metadata_for_partitions_not_hosted() {
    let mut sim = zk_broker();
    let code = update_metadata(&mut sim, 1, &[(0, 2, 3, &[2, 3]), (1, 4, 1, &[4, 3])]);
    assert_eq!(code, 0);
    let m = metadata_partition(&mut sim, 0);
    assert_eq!(
        (
            m.error_code,
            m.leader_id,
            m.leader_epoch,
            m.replica_nodes.to_vec()
        ),
        (0, 2, 3, vec![2, 3])
    );
    // Broker 4 is not alive.
    let m = metadata_partition(&mut sim, 1);
    assert_eq!(
        (m.error_code, m.leader_id, m.leader_epoch),
        (ErrorCode::LEADER_NOT_AVAILABLE.code(), -1, 1)
    );
    // Not hosted here: the client is sent to the leader.
    let p = sim.produce_to(2, 9, "t", 0, batch(1, "a"));
    assert_eq!(p.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.code());
    // A deleted partition (leader -2) goes; with the last, the topic.
    assert_eq!(
        update_metadata(&mut sim, 1, &[(0, -2, 3, &[2, 3]), (1, -2, 1, &[4, 3])]),
        0
    );
    let p = sim.produce_to(2, 9, "t", 0, batch(1, "a"));
    assert_eq!(p.error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code());
}

#[test]
fn topics_of_the_brokers_own_log_are_still_led_here() {
    // In ZooKeeper mode CreateTopics goes through ZooKeeper
    // (tests/zk_create_topics.rs); a topic of the broker's own log is one
    // it created alone, before it joined a cluster.
    let mut single = Sim::new();
    single.create_topic("local", 1);
    let mut sim = single.restart_with(zk_broker().broker.config().clone());
    sim.produce_ok(9, "local", 0, batch(1, "a"));
}

#[test]
fn a_single_broker_refuses_the_controllers_apis() {
    let mut sim = Sim::new();
    for k in [ApiKey::LeaderAndIsr, ApiKey::StopReplica] {
        let frame = spate_core::example::example_request(
            k,
            k.versions().max,
            1,
            spate_core::example::Variant::Full,
        );
        sim.send_raw(10, frame.slice(4..));
        assert!(
            matches!(sim.take(10).as_slice(), [sim::Event::Closed(_)]),
            "{k:?}"
        );
    }
}

proptest! {
    #[test]
    fn malformed_controller_requests_never_panic(
        key in prop_oneof![Just(ApiKey::LeaderAndIsr), Just(ApiKey::StopReplica)],
        version in 0i16..=7,
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut sim = zk_broker();
        let mut frame = Vec::new();
        frame.extend_from_slice(&(key as i16).to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&7i32.to_be_bytes());
        frame.extend_from_slice(&(-1i16).to_be_bytes());
        frame.extend_from_slice(&body);
        sim.send_raw(20, Bytes::from(frame));
        let _ = sim.take(20);
        // The broker still answers.
        let _ = metadata_partition_or_none(&mut sim);
    }
}

/// Metadata still answers (whatever it says).
fn metadata_partition_or_none(sim: &mut Sim) -> usize {
    let ResponseBody::Metadata(r) = sim.call(
        1,
        12,
        RequestBody::Metadata(MetadataRequest {
            topics: None,
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    r.topics.len()
}
