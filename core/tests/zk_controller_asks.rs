//! Requests only the controller answers, in ZooKeeper mode:
//! ControlledShutdown and ElectLeaders are held by the broker, handed to
//! the driver (`Output::AskController`), and answered in the request's
//! version once the driver reports; the connection's next request waits
//! behind them. Outside ZooKeeper mode neither is served.

mod sim;

use sim::pair::zk_broker;
use sim::{Event, Sim};
use spate_core::broker::{ControllerAnswer, ControllerAsk, Output};
use spate_core::protocol::messages::controlled_shutdown_request::ControlledShutdownRequest;
use spate_core::protocol::messages::elect_leaders_request::{ElectLeadersRequest, TopicPartitions};
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::TopicPartition;

const C: u64 = 7;

fn zk() -> Sim {
    let mut sim = zk_broker();
    sim.connect(C);
    sim
}

#[test]
fn a_controlled_shutdown_is_held_until_the_controller_answers() {
    let mut sim = zk();
    sim.send(
        C,
        3,
        RequestBody::ControlledShutdown(ControlledShutdownRequest {
            broker_id: 2,
            broker_epoch: 40,
            ..Default::default()
        }),
    );
    sim.send(C, 12, RequestBody::Metadata(MetadataRequest::default()));
    assert_eq!(
        sim.asked,
        [Output::AskController {
            conn: C,
            ask: ControllerAsk::ControlledShutdown {
                broker: 2,
                broker_epoch: 40
            }
        }]
    );
    assert!(sim.take(C).is_empty(), "held, and the next request waits");
    let left = vec![TopicPartition::new("t", 1)];
    sim.broker
        .handle_controller_answer(C, ControllerAnswer::ControlledShutdown(Ok(left)), sim.now);
    sim.drain();
    let events = sim.take(C);
    let [Event::Response(_, ResponseBody::ControlledShutdown(r)), Event::Response(_, ResponseBody::Metadata(_))] =
        events.as_slice()
    else {
        panic!("{events:?}");
    };
    assert_eq!(r.error_code, 0);
    let left: Vec<(String, i32)> = r
        .remaining_partitions
        .iter()
        .map(|p| (p.topic_name.to_string(), p.partition_index))
        .collect();
    assert_eq!(left, [("t".to_string(), 1)]);
}

#[test]
fn elect_leaders_is_answered_per_partition_by_topic() {
    let mut sim = zk();
    sim.send(
        C,
        2,
        RequestBody::ElectLeaders(ElectLeadersRequest {
            election_type: 0,
            topic_partitions: Some(vec![TopicPartitions {
                topic: "t".into(),
                partitions: vec![0, 1].into(),
                ..Default::default()
            }]),
            timeout_ms: 1000,
            ..Default::default()
        }),
    );
    let tp = |p| TopicPartition::new("t", p);
    assert_eq!(
        sim.asked,
        [Output::AskController {
            conn: C,
            ask: ControllerAsk::ElectLeaders {
                preferred: true,
                partitions: Some(vec![tp(0), tp(1)]),
                timeout_ms: 1000
            }
        }]
    );
    let results = vec![
        (tp(0), ErrorCode::NONE),
        (tp(1), ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE),
    ];
    sim.broker
        .handle_controller_answer(C, ControllerAnswer::ElectLeaders(results), sim.now);
    sim.drain();
    let ResponseBody::ElectLeaders(r) = sim.one(C) else {
        panic!("another response");
    };
    assert_eq!(r.error_code, 0);
    let [t] = r.replica_election_results.as_slice() else {
        panic!("{r:?}");
    };
    assert_eq!(t.topic, "t");
    let codes: Vec<(i32, i16)> = t
        .partition_result
        .iter()
        .map(|p| (p.partition_id, p.error_code))
        .collect();
    assert_eq!(
        codes,
        [
            (0, 0),
            (1, ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE.code())
        ]
    );
}

#[test]
fn outside_a_cluster_neither_is_served() {
    let mut sim = Sim::new();
    sim.connect(C);
    sim.send(
        C,
        3,
        RequestBody::ControlledShutdown(ControlledShutdownRequest::default()),
    );
    assert!(matches!(sim.take(C).as_slice(), [Event::Closed(_)]));
    assert!(sim.asked.is_empty());
}
