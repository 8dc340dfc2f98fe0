//! CreateTopics in ZooKeeper mode, as Kafka's ZooKeeper-era broker runs it
//! (`ZkAdminManager`, `DelayedCreatePartitions`): the broker checks the
//! request, assigns replicas over the live brokers, hands the topics to
//! the driver to write to ZooKeeper (`Output::CreateTopics`), and holds
//! the response until the driver has reported and the controller's
//! UpdateMetadata names a leader for every partition, or the request's
//! timeout. Metadata auto-creation goes the same way, answered at once.

mod sim;

use std::collections::BTreeSet;

use sim::pair::{live, update_metadata, zk_broker, zk_config};
use sim::{Event, Sim};
use spate_core::broker::{Config, NewTopic, METADATA_TOPIC};
use spate_core::protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use spate_core::protocol::messages::create_topics_response::{
    CreatableTopicResult, CreateTopicsResponse,
};
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::metadata_response::MetadataResponse;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

/// The admin client's connection.
const ADMIN: u64 = 10;

/// A broker in ZooKeeper mode that the controller (itself, broker 1) told
/// of live brokers `ids`.
fn cluster_of(config: Config, brokers: &[(i32, Option<&str>)]) -> Sim {
    let mut sim = Sim::with(config, MemStorage::new());
    update(&mut sim, 1, brokers, &[]);
    sim
}

fn three() -> Sim {
    cluster_of(zk_config(), &[(1, None), (2, None), (3, None)])
}

/// UpdateMetadata v7 from controller `controller` (epoch 1): `brokers`
/// alive, and for each named topic the leader of each partition (replicas
/// all three brokers).
fn update(
    sim: &mut Sim,
    controller: i32,
    brokers: &[(i32, Option<&str>)],
    topics: &[(&str, Uuid, &[i32])],
) {
    let live_brokers = brokers
        .iter()
        .map(|&(id, rack)| UpdateMetadataBroker {
            rack: rack.map(Into::into),
            ..live(id)
        })
        .collect();
    let topic_states = topics
        .iter()
        .map(|&(name, id, leaders)| UpdateMetadataTopicState {
            topic_name: name.into(),
            topic_id: id,
            partition_states: leaders
                .iter()
                .enumerate()
                .map(|(p, &leader)| UpdateMetadataPartitionState {
                    partition_index: p as i32,
                    controller_epoch: 1,
                    leader,
                    leader_epoch: 0,
                    isr: vec![1, 2, 3].into(),
                    replicas: vec![1, 2, 3].into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    update_metadata(sim, controller, live_brokers, topic_states);
}

/// Leaders for every partition of every topic, as the controller tells
/// them once it has elected them.
fn elect(sim: &mut Sim, topics: &[&NewTopic]) {
    let leaders: Vec<Vec<i32>> = topics
        .iter()
        .map(|t| t.assignment.values().map(|r| r[0]).collect())
        .collect();
    let states: Vec<(&str, Uuid, &[i32])> = topics
        .iter()
        .zip(&leaders)
        .map(|(t, l)| (t.name.as_str(), t.id, l.as_slice()))
        .collect();
    let brokers = [(1, None), (2, None), (3, None)];
    update(sim, 1, &brokers, &states);
}

fn topic(name: &str, partitions: i32, rf: i16) -> CreatableTopic {
    CreatableTopic {
        name: name.into(),
        num_partitions: partitions,
        replication_factor: rf,
        ..Default::default()
    }
}

fn request(topics: Vec<CreatableTopic>, timeout_ms: i32) -> RequestBody {
    RequestBody::CreateTopics(CreateTopicsRequest {
        topics,
        timeout_ms,
        ..Default::default()
    })
}

/// The CreateTopics response `conn` received, if it received one.
fn answered(sim: &mut Sim, conn: u64) -> Option<CreateTopicsResponse> {
    let events = sim.take(conn);
    match events.as_slice() {
        [] => None,
        [Event::Response(_, ResponseBody::CreateTopics(r))] => Some(r.clone()),
        other => panic!("{other:?}"),
    }
}

fn only(r: &CreateTopicsResponse) -> &CreatableTopicResult {
    assert_eq!(r.topics.len(), 1, "{r:?}");
    &r.topics[0]
}

/// The one request for the driver, taken.
fn to_write(sim: &mut Sim) -> (u64, Vec<NewTopic>) {
    assert_eq!(sim.creating.len(), 1, "{:?}", sim.creating);
    sim.creating.remove(0)
}

fn written(sim: &mut Sim, request: u64, topics: &[NewTopic]) {
    let results = topics.iter().map(|t| (t.name.clone(), Ok(()))).collect();
    sim.topics_created(request, results);
}

fn metadata_end(sim: &Sim) -> i64 {
    sim.broker
        .storage()
        .end_offset(&TopicPartition::new(METADATA_TOPIC, 0))
}

#[test]
fn the_answer_waits_for_the_writes_and_for_every_leader() {
    let mut sim = three();
    let log = metadata_end(&sim);
    sim.send(ADMIN, 7, request(vec![topic("orders", 3, 3)], 30_000));
    assert_eq!(answered(&mut sim, ADMIN), None);
    let (req, topics) = to_write(&mut sim);
    let [t] = topics.as_slice() else {
        panic!("{topics:?}")
    };
    assert_eq!(t.name, "orders");
    assert_ne!(t.id, Uuid::ZERO);
    assert!(t.configs.is_empty());
    assert_eq!(t.assignment.keys().copied().collect::<Vec<_>>(), [0, 1, 2]);
    for replicas in t.assignment.values() {
        let distinct: BTreeSet<i32> = replicas.iter().copied().collect();
        assert_eq!(distinct, BTreeSet::from([1, 2, 3]), "{replicas:?}");
    }
    let leaders: BTreeSet<i32> = t.assignment.values().map(|r| r[0]).collect();
    assert_eq!(leaders.len(), 3, "one partition led by each broker");
    assert_eq!(metadata_end(&sim), log, "nothing in __cluster_metadata");

    // Written, but no leader yet.
    written(&mut sim, req, &topics);
    assert_eq!(answered(&mut sim, ADMIN), None);
    // Leaders for two partitions of three: still waiting.
    let first_two: Vec<i32> = t.assignment.values().take(2).map(|r| r[0]).collect();
    update(
        &mut sim,
        1,
        &[(1, None), (2, None), (3, None)],
        &[("orders", t.id, &first_two)],
    );
    assert_eq!(answered(&mut sim, ADMIN), None);
    elect(&mut sim, &[t]);
    let r = answered(&mut sim, ADMIN).expect("answered once every partition has a leader");
    let o = only(&r);
    assert_eq!(o.error_code, 0, "{o:?}");
    assert_eq!(o.error_message, None);
    assert_eq!(o.topic_id, t.id);
    assert_eq!((o.num_partitions, o.replication_factor), (3, 3));
    assert!(o
        .configs
        .as_ref()
        .unwrap()
        .iter()
        .any(|c| &*c.name == "cleanup.policy"));
    assert_eq!(metadata_end(&sim), log);
    // Answered once: the deadline brings nothing more.
    sim.advance(60_000);
    assert!(sim.take(ADMIN).is_empty());
}

#[test]
fn topics_still_without_leaders_time_out() {
    let mut sim = three();
    sim.send(
        ADMIN,
        7,
        request(vec![topic("a", 1, 2), topic("b", 1, 2)], 5_000),
    );
    let (req, topics) = to_write(&mut sim);
    written(&mut sim, req, &topics);
    // Only `a` gets its leader.
    elect(&mut sim, &[&topics[0]]);
    assert_eq!(answered(&mut sim, ADMIN), None);
    sim.advance(4_999);
    assert_eq!(answered(&mut sim, ADMIN), None);
    sim.advance(1);
    let r = answered(&mut sim, ADMIN).expect("answered at the deadline");
    assert_eq!(r.topics[0].error_code, 0);
    let b = &r.topics[1];
    assert_eq!(b.error_code, ErrorCode::REQUEST_TIMED_OUT.code());
    assert_eq!(b.error_message, None);
    // Kafka keeps the id of a topic it wrote, and resets the rest.
    assert_eq!(b.topic_id, topics[1].id);
    assert_eq!((b.num_partitions, b.replication_factor), (-1, -1));
}

#[test]
fn a_driver_that_has_not_reported_by_the_deadline_times_out_too() {
    let mut sim = three();
    sim.send(ADMIN, 7, request(vec![topic("slow", 1, 1)], 1_000));
    let (req, topics) = to_write(&mut sim);
    sim.advance(1_000);
    let r = answered(&mut sim, ADMIN).unwrap();
    assert_eq!(only(&r).error_code, ErrorCode::REQUEST_TIMED_OUT.code());
    // The late report finds nothing to answer.
    written(&mut sim, req, &topics);
    assert_eq!(answered(&mut sim, ADMIN), None);
}

#[test]
fn a_zero_timeout_answers_once_written_without_waiting_for_leaders() {
    // Kafka's `timeout <= 0`: no wait for leaders, and a written topic is
    // REQUEST_TIMED_OUT (created, not known to be ready).
    let mut sim = three();
    sim.send(ADMIN, 7, request(vec![topic("now", 2, 3)], 0));
    assert_eq!(answered(&mut sim, ADMIN), None, "the writes come first");
    let (req, topics) = to_write(&mut sim);
    written(&mut sim, req, &topics);
    let r = answered(&mut sim, ADMIN).unwrap();
    assert_eq!(only(&r).error_code, ErrorCode::REQUEST_TIMED_OUT.code());
    assert_eq!(only(&r).topic_id, topics[0].id);
}

#[test]
fn too_many_replicas_are_refused_at_once_with_kafkas_message() {
    let mut sim = three();
    let r = sim.call(ADMIN, 7, request(vec![topic("big", 1, 4)], 30_000));
    let ResponseBody::CreateTopics(r) = r else {
        panic!("{r:?}")
    };
    let o = only(&r);
    assert_eq!(o.error_code, ErrorCode::INVALID_REPLICATION_FACTOR.code());
    assert_eq!(
        o.error_message.as_deref(),
        Some("Replication factor: 4 larger than available brokers: 3.")
    );
    assert_eq!((o.num_partitions, o.replication_factor), (-1, -1));
    for rf in [0, -2] {
        let r = sim.call(ADMIN, 7, request(vec![topic("big", 1, rf)], 30_000));
        let ResponseBody::CreateTopics(r) = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            only(&r).error_code,
            ErrorCode::INVALID_REPLICATION_FACTOR.code()
        );
    }
    assert!(sim.creating.is_empty());
}

#[test]
fn existing_duplicate_and_concurrent_topics_are_refused() {
    let mut sim = three();
    update(
        &mut sim,
        1,
        &[(1, None), (2, None), (3, None)],
        &[("known", Uuid([4; 16]), &[2])],
    );
    // Known from the controller, and twice in one request.
    sim.send(
        ADMIN,
        7,
        request(
            vec![
                topic("known", 1, 1),
                topic("twice", 1, 1),
                topic("twice", 1, 1),
            ],
            30_000,
        ),
    );
    let r = answered(&mut sim, ADMIN).unwrap();
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::TOPIC_ALREADY_EXISTS.code()
    );
    assert_eq!(
        r.topics[0].error_message.as_deref(),
        Some("Topic 'known' already exists.")
    );
    for t in &r.topics[1..] {
        assert_eq!(t.error_code, ErrorCode::INVALID_REQUEST.code());
        assert_eq!(
            t.error_message.as_deref(),
            Some("Found multiple entries for this topic.")
        );
    }
    assert!(sim.creating.is_empty());

    // Being created by another request.
    sim.send(ADMIN, 7, request(vec![topic("x", 1, 1)], 30_000));
    let (req, topics) = to_write(&mut sim);
    let r = sim.call(11, 7, request(vec![topic("x", 1, 1)], 30_000));
    let ResponseBody::CreateTopics(r) = r else {
        panic!("{r:?}")
    };
    assert_eq!(only(&r).error_code, ErrorCode::TOPIC_ALREADY_EXISTS.code());

    // ZooKeeper already had it: the driver says so.
    sim.topics_created(
        req,
        vec![("x".into(), Err(ErrorCode::TOPIC_ALREADY_EXISTS))],
    );
    let r = answered(&mut sim, ADMIN).unwrap();
    let o = only(&r);
    assert_eq!(o.error_code, ErrorCode::TOPIC_ALREADY_EXISTS.code());
    assert_eq!(
        o.error_message.as_deref(),
        Some("Topic 'x' already exists.")
    );
    assert_eq!(o.topic_id, Uuid::ZERO);
    let _ = topics;
}

#[test]
fn failed_topics_answer_with_the_written_ones() {
    let mut sim = three();
    sim.send(
        ADMIN,
        7,
        request(vec![topic("bad", 1, 9), topic("good", 1, 1)], 30_000),
    );
    let (req, topics) = to_write(&mut sim);
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].name, "good");
    written(&mut sim, req, &topics);
    elect(&mut sim, &[&topics[0]]);
    let r = answered(&mut sim, ADMIN).unwrap();
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::INVALID_REPLICATION_FACTOR.code()
    );
    assert_eq!(r.topics[1].error_code, 0);
}

#[test]
fn driver_failures_answer_at_once_without_an_id() {
    let mut sim = three();
    sim.send(
        ADMIN,
        7,
        request(vec![topic("lost", 1, 1), topic("broken", 1, 1)], 30_000),
    );
    let (req, _) = to_write(&mut sim);
    // `lost` is left out of the report; `broken` failed to be written.
    sim.topics_created(
        req,
        vec![("broken".into(), Err(ErrorCode::KAFKA_STORAGE_ERROR))],
    );
    let r = answered(&mut sim, ADMIN).expect("nothing left to wait for");
    let codes: Vec<(i16, Uuid)> = r
        .topics
        .iter()
        .map(|t| (t.error_code, t.topic_id))
        .collect();
    assert_eq!(
        codes,
        [
            (ErrorCode::UNKNOWN_SERVER_ERROR.code(), Uuid::ZERO),
            (ErrorCode::KAFKA_STORAGE_ERROR.code(), Uuid::ZERO)
        ]
    );
}

#[test]
fn validate_only_asks_nothing_of_the_driver() {
    let mut sim = three();
    let ResponseBody::CreateTopics(r) = sim.call(
        ADMIN,
        7,
        RequestBody::CreateTopics(CreateTopicsRequest {
            topics: vec![topic("v", 4, 2)],
            timeout_ms: 30_000,
            validate_only: true,
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    let o = only(&r);
    assert_eq!(o.error_code, 0);
    assert_eq!((o.num_partitions, o.replication_factor), (4, 2));
    assert_eq!(o.topic_id, Uuid::ZERO);
    assert!(sim.creating.is_empty());
}

#[test]
fn a_closed_connection_takes_its_held_request_with_it() {
    let mut sim = three();
    sim.send(ADMIN, 7, request(vec![topic("gone", 1, 3)], 5_000));
    let (req, topics) = to_write(&mut sim);
    sim.disconnect(ADMIN);
    written(&mut sim, req, &topics);
    elect(&mut sim, &[&topics[0]]);
    sim.advance(10_000);
    assert!(sim.take(ADMIN).is_empty());
    // The broker goes on serving.
    sim.send(11, 7, request(vec![topic("next", 1, 1)], 0));
    assert_eq!(sim.creating.len(), 1);
}

#[test]
fn later_requests_on_the_connection_wait_behind_the_held_one() {
    let mut sim = three();
    sim.send(ADMIN, 7, request(vec![topic("first", 1, 2)], 30_000));
    let (req, topics) = to_write(&mut sim);
    let metadata = RequestBody::Metadata(MetadataRequest {
        topics: None,
        ..Default::default()
    });
    sim.send(ADMIN, 12, metadata.clone());
    assert!(sim.take(ADMIN).is_empty());
    // Other connections are served meanwhile.
    let ResponseBody::Metadata(_) = sim.call(11, 12, metadata) else {
        panic!()
    };
    written(&mut sim, req, &topics);
    assert!(sim.take(ADMIN).is_empty());
    elect(&mut sim, &[&topics[0]]);
    let events = sim.take(ADMIN);
    let [Event::Response(_, ResponseBody::CreateTopics(c)), Event::Response(_, ResponseBody::Metadata(m))] =
        events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(only(c).error_code, 0);
    assert!(m.topics.iter().any(|t| t.name.as_deref() == Some("first")));
}

#[test]
fn only_the_controller_creates_topics() {
    let mut sim = zk_broker();
    update(&mut sim, 2, &[(1, None), (2, None)], &[]);
    let ResponseBody::CreateTopics(r) = sim.call(ADMIN, 7, request(vec![topic("t", 1, 1)], 0))
    else {
        panic!()
    };
    assert_eq!(only(&r).error_code, ErrorCode::NOT_CONTROLLER.code());
    assert!(sim.creating.is_empty());
}

#[test]
fn defaults_and_manual_assignments() {
    let mut sim = cluster_of(
        Config {
            default_partitions: 5,
            default_replication_factor: 2,
            ..zk_config()
        },
        &[(1, None), (2, None), (3, None)],
    );
    let mut manual = topic("manual", -1, -1);
    manual.assignments = [(0, vec![3, 1]), (1, vec![1, 7])]
        .into_iter()
        .map(|(p, b)| CreatableReplicaAssignment {
            partition_index: p,
            broker_ids: b.into(),
            ..Default::default()
        })
        .collect();
    manual.configs = vec![CreatableTopicConfig {
        name: "retention.ms".into(),
        value: Some("1000".into()),
        ..Default::default()
    }];
    let mut both = manual.clone();
    both.name = "both".into();
    both.num_partitions = 2;
    sim.send(
        ADMIN,
        7,
        request(vec![topic("defaults", -1, -1), manual, both], 30_000),
    );
    let (_, topics) = to_write(&mut sim);
    let d = &topics[0];
    assert_eq!(d.assignment.len(), 5);
    assert!(d.assignment.values().all(|r| r.len() == 2));
    let m = &topics[1];
    assert_eq!(m.assignment[&0], [3, 1]);
    assert_eq!(
        m.assignment[&1],
        [1, 7],
        "as in Kafka, brokers are not checked"
    );
    assert_eq!(
        m.configs,
        [("retention.ms".to_string(), "1000".to_string())]
    );
    assert_eq!(topics.len(), 2, "`both` is refused");
}

#[test]
fn racks_spread_the_replicas() {
    let mut sim = cluster_of(
        zk_config(),
        &[
            (1, Some("a")),
            (2, Some("a")),
            (3, Some("b")),
            (4, Some("b")),
        ],
    );
    sim.send(ADMIN, 7, request(vec![topic("r", 8, 2)], 30_000));
    let (_, topics) = to_write(&mut sim);
    let rack = |b: i32| if b <= 2 { "a" } else { "b" };
    for replicas in topics[0].assignment.values() {
        assert_ne!(rack(replicas[0]), rack(replicas[1]), "{replicas:?}");
    }
    // Some brokers with racks, some without: Kafka's
    // AdminOperationException, UNKNOWN_SERVER_ERROR without a message.
    let mut mixed = cluster_of(zk_config(), &[(1, Some("a")), (2, None)]);
    let ResponseBody::CreateTopics(r) = mixed.call(ADMIN, 7, request(vec![topic("m", 1, 1)], 0))
    else {
        panic!()
    };
    assert_eq!(only(&r).error_code, ErrorCode::UNKNOWN_SERVER_ERROR.code());
    assert_eq!(only(&r).error_message, None);
}

#[test]
fn internal_topics_stay_on_the_brokers_own_controller() {
    let mut sim = three();
    let log = metadata_end(&sim);
    let ResponseBody::CreateTopics(r) = sim.call(
        ADMIN,
        7,
        request(vec![topic("__transaction_state", 1, 1)], 30_000),
    ) else {
        panic!()
    };
    assert_eq!(only(&r).error_code, 0);
    assert!(sim.creating.is_empty());
    assert!(metadata_end(&sim) > log);
}

fn metadata_auto(sim: &mut Sim, conn: u64, name: &str) -> MetadataResponse {
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(name.into()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: true,
        ..Default::default()
    };
    match sim.call(conn, 12, RequestBody::Metadata(req)) {
        ResponseBody::Metadata(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn metadata_auto_creates_through_the_driver_and_answers_at_once() {
    let mut sim = cluster_of(
        Config {
            default_partitions: 2,
            default_replication_factor: 3,
            ..zk_config()
        },
        &[(1, None), (2, None), (3, None)],
    );
    let log = metadata_end(&sim);
    let r = metadata_auto(&mut sim, 11, "auto");
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::LEADER_NOT_AVAILABLE.code()
    );
    assert!(r.topics[0].partitions.is_empty());
    let (req, topics) = to_write(&mut sim);
    assert_eq!(topics[0].name, "auto");
    assert_eq!(topics[0].assignment.len(), 2);
    assert!(topics[0].assignment.values().all(|r| r.len() == 3));
    assert_eq!(metadata_end(&sim), log);
    // Asked again before the driver reported: not created twice.
    let r = metadata_auto(&mut sim, 11, "auto");
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::LEADER_NOT_AVAILABLE.code()
    );
    assert!(sim.creating.is_empty());
    written(&mut sim, req, &topics);
    elect(&mut sim, &[&topics[0]]);
    let r = metadata_auto(&mut sim, 11, "auto");
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 2);

    // Too few brokers for the default replication factor.
    let mut small = cluster_of(
        Config {
            default_replication_factor: 3,
            ..zk_config()
        },
        &[(1, None)],
    );
    let r = metadata_auto(&mut small, 11, "auto");
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::INVALID_REPLICATION_FACTOR.code()
    );
    assert!(small.creating.is_empty());
}

#[test]
fn assignments_follow_the_seed() {
    let run = |seed: u64| {
        let mut sim = cluster_of(
            Config {
                seed,
                ..zk_config()
            },
            &[(1, None), (2, None), (3, None)],
        );
        sim.send(ADMIN, 7, request(vec![topic("s", 6, 2)], 0));
        to_write(&mut sim).1.remove(0)
    };
    assert_eq!(run(7), run(7));
    let differ = (8..40).any(|s| run(s).assignment != run(7).assignment);
    assert!(differ, "the start is drawn from the seed");
}
