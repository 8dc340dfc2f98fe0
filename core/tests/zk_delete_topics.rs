//! DeleteTopics in ZooKeeper mode, as Kafka's ZooKeeper-era broker runs it
//! (`KafkaApis.handleDeleteTopicsRequest`, `ZkAdminManager.deleteTopics`,
//! `DelayedDeleteTopics`): the controller broker checks the request, hands
//! the topics to the driver to mark under `/admin/delete_topics`
//! (`Output::DeleteTopics`), and holds the response until its metadata no
//! longer has them (the controller's UpdateMetadata with leader -2), or
//! the request's timeout.

mod sim;

use sim::pair::{leader_and_isr, live, stop_replica, update_metadata, zk_config, CONTROLLER};
use sim::{Event, Sim};
use spate_core::broker::{Config, Output};
use spate_core::protocol::messages::delete_topics_request::DeleteTopicsRequest;
use spate_core::protocol::messages::delete_topics_response::DeleteTopicsResponse;
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

/// The admin client's connection.
const ADMIN: u64 = 10;
const TOPIC_ID: Uuid = Uuid([9; 16]);

/// UpdateMetadata v7 from controller `controller`: brokers 1-3 alive, and
/// topic `t`'s partition 0 led by `leader` (-2: being deleted).
fn update(sim: &mut Sim, controller: i32, leader: Option<i32>) {
    let topics = leader.map(|leader| UpdateMetadataTopicState {
        topic_name: "t".into(),
        topic_id: TOPIC_ID,
        partition_states: vec![UpdateMetadataPartitionState {
            partition_index: 0,
            controller_epoch: 1,
            leader,
            leader_epoch: leader.min(0),
            isr: vec![1, 2, 3].into(),
            replicas: vec![1, 2, 3].into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    let live_brokers = (1..=3).map(live).collect();
    update_metadata(sim, controller, live_brokers, topics.into_iter().collect());
}

/// A broker told by controller `controller` that topic `t` exists, led
/// by broker 1.
fn with_topic(config: Config, controller: i32) -> Sim {
    let mut sim = Sim::with(config, MemStorage::new());
    update(&mut sim, controller, Some(1));
    sim
}

fn delete(names: &[&str], timeout_ms: i32) -> RequestBody {
    RequestBody::DeleteTopics(DeleteTopicsRequest {
        topic_names: names.iter().map(|&n| n.into()).collect(),
        timeout_ms,
        ..Default::default()
    })
}

fn answered(sim: &mut Sim, conn: u64) -> Option<DeleteTopicsResponse> {
    match sim.take(conn).as_slice() {
        [] => None,
        [Event::Response(_, ResponseBody::DeleteTopics(r))] => Some(r.clone()),
        other => panic!("{other:?}"),
    }
}

fn codes(r: &DeleteTopicsResponse) -> Vec<(String, i16)> {
    r.responses
        .iter()
        .map(|t| {
            let name = t.name.as_deref().unwrap_or("").to_string();
            (name, t.error_code)
        })
        .collect()
}

/// The topics the broker asked its driver to mark.
fn marked(sim: &mut Sim) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    sim.asked.retain(|o| match o {
        Output::DeleteTopics { topics } => {
            out.push(topics.clone());
            false
        }
        _ => true,
    });
    out
}

fn metadata_topics(sim: &mut Sim) -> Vec<String> {
    match sim.call(
        ADMIN,
        9,
        RequestBody::Metadata(MetadataRequest {
            topics: None,
            ..Default::default()
        }),
    ) {
        ResponseBody::Metadata(r) => r
            .topics
            .iter()
            .filter_map(|t| t.name.as_deref().map(str::to_string))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_answer_waits_until_the_controller_says_the_topic_is_gone() {
    let mut sim = with_topic(zk_config(), 1);
    sim.send(ADMIN, 5, delete(&["t", "nope"], 30_000));
    assert_eq!(answered(&mut sim, ADMIN), None, "held");
    assert_eq!(
        marked(&mut sim),
        [vec!["t".to_string()]],
        "only the known topic"
    );
    // Another partition state, not a deletion: still waiting.
    update(&mut sim, 1, Some(2));
    assert_eq!(answered(&mut sim, ADMIN), None);
    // The controller's UpdateMetadata with leader -2 drops it.
    update(&mut sim, 1, Some(-2));
    let r = answered(&mut sim, ADMIN).expect("answered once the topic is gone");
    assert_eq!(
        codes(&r),
        [
            ("t".to_string(), 0),
            (
                "nope".to_string(),
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
            )
        ]
    );
    assert!(!metadata_topics(&mut sim).contains(&"t".to_string()));
    // Answered once: the deadline brings nothing more.
    sim.advance(60_000);
    assert!(sim.take(ADMIN).is_empty());
}

#[test]
fn a_topic_still_there_at_the_deadline_times_out() {
    let mut sim = with_topic(zk_config(), 1);
    sim.send(ADMIN, 5, delete(&["t"], 5_000));
    assert_eq!(marked(&mut sim).len(), 1);
    sim.advance(4_999);
    assert_eq!(answered(&mut sim, ADMIN), None);
    sim.advance(1);
    let r = answered(&mut sim, ADMIN).expect("answered at the deadline");
    assert_eq!(
        codes(&r),
        [("t".to_string(), ErrorCode::REQUEST_TIMED_OUT.code())]
    );
}

#[test]
fn with_no_timeout_the_topic_is_marked_and_the_answer_is_a_timeout_at_once() {
    let mut sim = with_topic(zk_config(), 1);
    sim.send(ADMIN, 5, delete(&["t"], 0));
    let r = answered(&mut sim, ADMIN).expect("answered at once");
    assert_eq!(
        codes(&r),
        [("t".to_string(), ErrorCode::REQUEST_TIMED_OUT.code())]
    );
    assert_eq!(marked(&mut sim), [vec!["t".to_string()]]);
}

#[test]
fn only_the_controller_deletes_and_only_when_deletion_is_enabled() {
    let mut sim = with_topic(zk_config(), 2);
    sim.send(ADMIN, 5, delete(&["t", "nope"], 30_000));
    let r = answered(&mut sim, ADMIN).unwrap();
    let not = ErrorCode::NOT_CONTROLLER.code();
    assert_eq!(
        codes(&r),
        [("t".to_string(), not), ("nope".to_string(), not)]
    );
    assert!(marked(&mut sim).is_empty());

    let disabled = Config {
        delete_topic_enable: false,
        ..zk_config()
    };
    let mut sim = with_topic(disabled, 1);
    sim.send(ADMIN, 3, delete(&["t"], 30_000));
    let r = answered(&mut sim, ADMIN).unwrap();
    assert_eq!(
        codes(&r),
        [("t".to_string(), ErrorCode::TOPIC_DELETION_DISABLED.code())]
    );
    sim.send(ADMIN, 2, delete(&["t"], 30_000));
    let r = answered(&mut sim, ADMIN).unwrap();
    assert_eq!(
        codes(&r),
        [("t".to_string(), ErrorCode::INVALID_REQUEST.code())]
    );
    assert!(marked(&mut sim).is_empty());
    assert!(metadata_topics(&mut sim).contains(&"t".to_string()));
}

#[test]
fn a_request_of_only_unknown_topics_is_answered_at_once() {
    let mut sim = with_topic(zk_config(), 1);
    sim.send(ADMIN, 5, delete(&["nope"], 30_000));
    let r = answered(&mut sim, ADMIN).unwrap();
    let unknown = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code();
    assert_eq!(codes(&r), [("nope".to_string(), unknown)]);
    assert!(marked(&mut sim).is_empty());
}

#[test]
fn a_replica_deleted_by_the_controller_leaves_no_log_and_the_name_can_be_used_again() {
    let mut sim = with_topic(zk_config(), 1);
    let lisr = leader_and_isr(1, ("t", TOPIC_ID), &[0], (1, 0), &[1, 2, 3], &[1]);
    match sim.call(CONTROLLER, 5, RequestBody::LeaderAndIsr(lisr)) {
        ResponseBody::LeaderAndIsr(r) => assert_eq!(r.error_code, 0),
        other => panic!("{other:?}"),
    }
    let tp = TopicPartition::new("t", 0);
    assert!(sim.broker.storage().logs().contains(&tp));
    sim.send(ADMIN, 5, delete(&["t"], 30_000));
    assert_eq!(marked(&mut sim).len(), 1);
    // What the controller sends: UpdateMetadata with leader -2, then
    // StopReplica with delete=true at leader epoch -2.
    update(&mut sim, 1, Some(-2));
    let stop = stop_replica("t", 0, -2, true);
    match sim.call(CONTROLLER, 3, RequestBody::StopReplica(stop)) {
        ResponseBody::StopReplica(r) => {
            assert_eq!(r.error_code, 0);
            assert!(
                r.partition_errors.iter().all(|e| e.error_code == 0),
                "{r:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let r = answered(&mut sim, ADMIN).expect("answered");
    assert_eq!(codes(&r), [("t".to_string(), 0)]);
    assert!(
        !sim.broker.storage().logs().contains(&tp),
        "the log is gone"
    );
    assert!(!metadata_topics(&mut sim).contains(&"t".to_string()));
    // The controller names a new topic of the same name: known again.
    update(&mut sim, 1, Some(1));
    assert!(metadata_topics(&mut sim).contains(&"t".to_string()));
}
