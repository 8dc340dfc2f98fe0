//! CreatePartitions in ZooKeeper mode, as Kafka's ZooKeeper-era broker
//! runs it (`ZkAdminManager.createPartitions`, `AdminZkClient`'s
//! `createNewPartitionsAssignment`, `DelayedCreatePartitions`): the
//! controller broker checks the request, places the new replicas, hands
//! the whole assignment to the driver (`Output::CreatePartitions`), and
//! holds the answer until the driver reported and the controller's
//! UpdateMetadata names a leader for every partition, or the timeout.

mod sim;

use sim::pair::{live, update_metadata, zk_broker};
use sim::{Event, Sim};
use spate_core::broker::{NewPartitions, Output};
use spate_core::protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsTopic,
};
use spate_core::protocol::messages::create_partitions_response::CreatePartitionsResponse;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};

const ADMIN: u64 = 10;
const TOPIC_ID: Uuid = Uuid([5; 16]);

/// UpdateMetadata from controller `controller`: brokers 1-3 alive and
/// topic `t` with these partitions, each (leader, replicas).
fn update(sim: &mut Sim, controller: i32, partitions: &[(i32, &[i32])]) {
    let topic = UpdateMetadataTopicState {
        topic_name: "t".into(),
        topic_id: TOPIC_ID,
        partition_states: (partitions.iter().enumerate())
            .map(|(p, &(leader, replicas))| UpdateMetadataPartitionState {
                partition_index: p as i32,
                controller_epoch: 1,
                leader,
                isr: replicas.to_vec().into(),
                replicas: replicas.to_vec().into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    update_metadata(sim, controller, (1..=3).map(live).collect(), vec![topic]);
}

/// A broker whose controller (`controller`) told it of topic `t`, two
/// partitions with replicas [2, 3] and [3, 1].
fn with_topic(controller: i32) -> Sim {
    let mut sim = zk_broker();
    update(&mut sim, controller, &[(2, &[2, 3]), (3, &[3, 1])]);
    sim
}

fn request(count: i32, assignments: Option<Vec<Vec<i32>>>, timeout_ms: i32) -> RequestBody {
    RequestBody::CreatePartitions(CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: "t".into(),
            count,
            assignments: assignments.map(|a| {
                a.into_iter()
                    .map(|b| CreatePartitionsAssignment {
                        broker_ids: b.into(),
                        ..Default::default()
                    })
                    .collect()
            }),
            ..Default::default()
        }],
        timeout_ms,
        ..Default::default()
    })
}

fn answered(sim: &mut Sim) -> Option<CreatePartitionsResponse> {
    match sim.take(ADMIN).as_slice() {
        [] => None,
        [Event::Response(_, ResponseBody::CreatePartitions(r))] => Some(r.clone()),
        other => panic!("{other:?}"),
    }
}

fn code_of(r: &CreatePartitionsResponse) -> (i16, Option<String>) {
    let t = &r.results[0];
    (t.error_code, t.error_message.as_deref().map(str::to_string))
}

/// The driver's one CreatePartitions, taken.
fn to_write(sim: &mut Sim) -> (u64, Vec<NewPartitions>) {
    let mut found = Vec::new();
    sim.asked.retain(|o| match o {
        Output::CreatePartitions { request, topics } => {
            found.push((*request, topics.clone()));
            false
        }
        _ => true,
    });
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn new_partitions_are_placed_after_the_old_and_answered_once_led() {
    let mut sim = with_topic(1);
    sim.send(ADMIN, 3, request(5, None, 30_000));
    assert_eq!(answered(&mut sim), None, "held");
    let (req, topics) = to_write(&mut sim);
    let [t] = topics.as_slice() else {
        panic!("{topics:?}")
    };
    assert_eq!((t.name.as_str(), t.id, t.existing), ("t", TOPIC_ID, 2));
    // The old partitions as they were; the new ones as Kafka's
    // addPartitions places them: start index and shift 1 (broker 2,
    // partition 0's first replica, is second of [1, 2, 3]) from partition
    // 2, two replicas each: p2 leads on (2 + 1) % 3 = 0, follower one
    // further plus the shift; p3 wraps, so the shift grows.
    let rows: Vec<(i32, Vec<i32>)> = t.assignment.clone().into_iter().collect();
    assert_eq!(
        rows,
        [
            (0, vec![2, 3]),
            (1, vec![3, 1]),
            (2, vec![1, 3]),
            (3, vec![2, 3]),
            (4, vec![3, 1]),
        ]
    );
    sim.topics_created(req, vec![("t".into(), Ok(()))]);
    assert_eq!(answered(&mut sim), None, "no leaders yet");
    update(
        &mut sim,
        1,
        &[(2, &[2, 3]), (3, &[3, 1]), (1, &[1, 3]), (2, &[2, 3])],
    );
    assert_eq!(answered(&mut sim), None, "partition 4 has no leader yet");
    update(
        &mut sim,
        1,
        &[
            (2, &[2, 3]),
            (3, &[3, 1]),
            (1, &[1, 3]),
            (2, &[2, 3]),
            (3, &[3, 1]),
        ],
    );
    let r = answered(&mut sim).expect("answered once every partition is led");
    assert_eq!(code_of(&r), (0, None));
}

#[test]
fn kafkas_refusals() {
    let mut sim = with_topic(2);
    sim.send(ADMIN, 3, request(5, None, 30_000));
    let r = answered(&mut sim).unwrap();
    assert_eq!(code_of(&r).0, ErrorCode::NOT_CONTROLLER.code());

    let mut sim = with_topic(1);
    let refused = |sim: &mut Sim, body| {
        sim.send(ADMIN, 3, body);
        let r = answered(sim).expect("answered at once");
        code_of(&r)
    };
    let invalid = ErrorCode::INVALID_PARTITIONS.code();
    let bad = ErrorCode::INVALID_REPLICA_ASSIGNMENT.code();
    assert_eq!(
        refused(&mut sim, request(2, None, 30_000)),
        (invalid, Some("Topic already has 2 partitions.".into()))
    );
    assert_eq!(
        refused(&mut sim, request(1, None, 30_000)),
        (
            invalid,
            Some("Topic currently has 2 partitions, which is higher than the requested 1.".into())
        )
    );
    assert_eq!(
        refused(&mut sim, request(4, Some(vec![vec![1, 2]]), 30_000)),
        (
            bad,
            Some("Increasing the number of partitions by 2 but 1 assignments provided.".into())
        )
    );
    assert_eq!(
        refused(&mut sim, request(3, Some(vec![vec![1, 9]]), 30_000)),
        (
            bad,
            Some("Unknown broker(s) in replica assignment: 9.".into())
        )
    );
    assert_eq!(
        refused(&mut sim, request(3, Some(vec![vec![1, 1]]), 30_000)),
        (
            bad,
            Some(
                "Duplicate brokers not allowed in replica assignment: 1, 1 for partition id 2."
                    .into()
            )
        )
    );
    assert_eq!(
        refused(&mut sim, request(3, Some(vec![vec![1]]), 30_000)).0,
        bad,
        "one replica where partition 0 has two"
    );
    assert!(sim.asked.is_empty(), "{:?}", sim.asked);
    // A good assignment of its own goes to the driver as given.
    sim.send(ADMIN, 3, request(3, Some(vec![vec![3, 1]]), 30_000));
    let (_, topics) = to_write(&mut sim);
    assert_eq!(topics[0].assignment[&2], [3, 1]);
}

#[test]
fn a_failed_write_or_a_missing_leader_is_the_answer() {
    let mut sim = with_topic(1);
    sim.send(ADMIN, 3, request(3, None, 30_000));
    let (req, _) = to_write(&mut sim);
    sim.topics_created(req, vec![("t".into(), Err(ErrorCode::INVALID_PARTITIONS))]);
    let r = answered(&mut sim).expect("answered");
    assert_eq!(code_of(&r).0, ErrorCode::INVALID_PARTITIONS.code());

    sim.send(ADMIN, 3, request(3, None, 5_000));
    let (req, _) = to_write(&mut sim);
    sim.topics_created(req, vec![("t".into(), Ok(()))]);
    sim.advance(5_000);
    let r = answered(&mut sim).expect("answered at the deadline");
    assert_eq!(code_of(&r).0, ErrorCode::REQUEST_TIMED_OUT.code());

    // With no timeout: written, and answered at once.
    sim.send(ADMIN, 3, request(3, None, 0));
    let r = answered(&mut sim).expect("answered at once");
    assert_eq!(code_of(&r).0, ErrorCode::REQUEST_TIMED_OUT.code());
    to_write(&mut sim);
}
