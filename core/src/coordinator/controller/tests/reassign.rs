//! Partition reassignment against the in-memory ZooKeeper of `tests.rs`.

use super::*;

/// A controller in term 1 over brokers 1-3 with topic `t` of one
/// partition on `replicas`, created and told.
fn on(world: &mut World, replicas: &[BrokerId]) -> Controller {
    let mut c = Controller::new();
    c.handle_elected(1, live(&[1, 2, 3]), vec![], Map::new());
    c.handle_topics(vec![topic("t", &[replicas])]);
    world.run(&mut c);
    world.take();
    c
}

/// The partition's leader changes its ISR to `isr` (as a leader does when
/// a follower catches up): the state znode moves on one version, same
/// leader epoch, and the controller hears of it.
fn leader_sets_isr(world: &mut World, c: &mut Controller, isr: &[BrokerId]) {
    let s = world.znodes.get_mut(&tp(0)).expect("state");
    s.state.isr = isr.to_vec();
    s.version += 1;
    let s = s.clone();
    c.handle_isr_changed(&tp(0), Some(s));
    world.run(c);
}

fn sent_to(world: &mut World, kind: &str) -> Vec<String> {
    world
        .take()
        .into_iter()
        .filter(|l| l.starts_with(kind))
        .collect()
}

fn listed(c: &Controller) -> Vec<(Vec<BrokerId>, Vec<BrokerId>, Vec<BrokerId>)> {
    c.reassignments(None)
        .into_iter()
        .map(|l| (l.replicas, l.adding, l.removing))
        .collect()
}

#[test]
fn a_partition_moves_to_new_brokers_through_the_full_set_and_the_old_replica_is_deleted() {
    let mut world = World::default();
    let mut c = on(&mut world, &[1]);
    c.handle_reassign(7, vec![(tp(0), Some(vec![2, 3]))], true);
    world.run(&mut c);
    let sent = world.take();
    assert!(
        sent.contains(&"assign t {0: [2, 3, 1]} adding {0: [2, 3]} removing {0: [1]}".to_string()),
        "the full set is written first: {sent:?}"
    );
    assert!(
        sent.contains(&"reassigned 7 [t-0 NONE]".to_string()),
        "{sent:?}"
    );
    // The epoch went up with the leader and ISR as they were, and every
    // replica of the full set heard of it.
    let s = &world.znodes[&tp(0)].state;
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (1, 1, vec![1]));
    let lai: Vec<&String> = sent.iter().filter(|l| l.starts_with("lai")).collect();
    assert_eq!(
        lai,
        [
            "lai 1 t-0 leader 1 e1 isr [1]",
            "lai 2 t-0 leader 1 e1 isr [1]",
            "lai 3 t-0 leader 1 e1 isr [1]"
        ]
    );
    assert_eq!(listed(&c), [(vec![2, 3, 1], vec![2, 3], vec![1])]);

    // One new replica caught up: nothing moves yet.
    leader_sets_isr(&mut world, &mut c, &[1, 2]);
    assert_eq!(world.znodes[&tp(0)].state.leader_epoch, 1);
    assert!(sent_to(&mut world, "lai").is_empty());
    assert_eq!(listed(&c).len(), 1);

    // Both did: the first target replica leads, the old one leaves the
    // ISR, is stopped with deletion, and the assignment is the target.
    leader_sets_isr(&mut world, &mut c, &[1, 2, 3]);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!(
        (s.leader, s.leader_epoch, s.isr.clone()),
        (2, 2, vec![2, 3])
    );
    let sent = world.take();
    let ours: Vec<&String> = sent
        .iter()
        .filter(|l| l.starts_with("lai") || l.starts_with("stop") || l.starts_with("assign"))
        .collect();
    assert_eq!(
        ours,
        [
            "lai 2 t-0 leader 2 e2 isr [2, 3]",
            "lai 3 t-0 leader 2 e2 isr [2, 3]",
            "stop 1 t-0 delete true",
            "assign t {0: [2, 3]} adding {} removing {}",
        ]
    );
    assert!(listed(&c).is_empty());
    assert!(!c.reassigning("t"));
}

#[test]
fn a_leader_in_the_target_keeps_leading_and_a_shrink_needs_no_catching_up() {
    let mut world = World::default();
    let mut c = on(&mut world, &[1, 2, 3]);
    c.handle_reassign(1, vec![(tp(0), Some(vec![2, 1]))], true);
    world.run(&mut c);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!((s.leader, s.isr.clone()), (1, vec![1, 2]));
    let sent = world.take();
    assert!(
        sent.contains(&"stop 3 t-0 delete true".to_string()),
        "{sent:?}"
    );
    assert!(
        sent.contains(&"assign t {0: [2, 1]} adding {} removing {}".to_string()),
        "{sent:?}"
    );
    assert!(sent.contains(&"reassigned 1 [t-0 NONE]".to_string()));
    assert!(!c.reassigning("t"));
}

#[test]
fn a_cancellation_goes_back_to_the_original_replicas_and_deletes_the_added_one() {
    let mut world = World::default();
    let mut c = on(&mut world, &[1]);
    c.handle_reassign(1, vec![(tp(0), Some(vec![2]))], true);
    world.run(&mut c);
    world.take();
    c.handle_reassign(2, vec![(tp(0), None)], true);
    world.run(&mut c);
    let sent = world.take();
    assert!(
        sent.contains(&"reassigned 2 [t-0 NONE]".to_string()),
        "{sent:?}"
    );
    assert!(
        sent.contains(&"stop 2 t-0 delete true".to_string()),
        "{sent:?}"
    );
    assert_eq!(
        sent.last().map(String::as_str),
        Some("assign t {0: [1]} adding {} removing {}"),
        "{sent:?}"
    );
    assert!(listed(&c).is_empty());
    // Nothing left to cancel.
    c.handle_reassign(3, vec![(tp(0), None)], true);
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["reassigned 3 [t-0 NO_REASSIGNMENT_IN_PROGRESS]"]
    );
}

#[test]
fn bad_targets_are_refused_as_kafka_refuses_them() {
    let mut world = World::default();
    let mut c = on(&mut world, &[1]);
    c.handle_brokers(live(&[1, 2]));
    world.run(&mut c);
    world.take();
    c.handle_reassign(
        9,
        vec![
            (tp(0), Some(vec![])),
            (tp(0), Some(vec![2, 2])),
            (tp(0), Some(vec![-1])),
            (tp(0), Some(vec![3])),
            (TopicPartition::new("t", 5), Some(vec![2])),
            (TopicPartition::new("nope", 0), Some(vec![2])),
        ],
        true,
    );
    world.run(&mut c);
    assert_eq!(
        world.take(),
        [
            "reassigned 9 [t-0 INVALID_REPLICA_ASSIGNMENT, t-0 INVALID_REPLICA_ASSIGNMENT, \
          t-0 INVALID_REPLICA_ASSIGNMENT, t-0 INVALID_REPLICA_ASSIGNMENT, \
          t-5 UNKNOWN_TOPIC_OR_PARTITION, nope-0 UNKNOWN_TOPIC_OR_PARTITION]"
        ]
    );
    // Version 1 of the request may forbid changing the replica count.
    c.handle_reassign(11, vec![(tp(0), Some(vec![1, 2]))], false);
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["reassigned 11 [t-0 INVALID_REPLICATION_FACTOR]"]
    );
    assert!(listed(&c).is_empty());
    // A dead broker may stay in the target when it is already a replica.
    c.handle_brokers(live(&[2, 3]));
    world.run(&mut c);
    world.take();
    c.handle_reassign(10, vec![(tp(0), Some(vec![1, 2]))], true);
    world.run(&mut c);
    assert!(world
        .take()
        .contains(&"reassigned 10 [t-0 NONE]".to_string()));
}

#[test]
fn a_new_controller_resumes_a_reassignment_from_the_assignment_znode() {
    let mut world = World::default();
    let mut c = on(&mut world, &[1]);
    c.handle_reassign(1, vec![(tp(0), Some(vec![2]))], true);
    world.run(&mut c);
    world.take();
    let assignment = world.assignments["t"].clone();
    let state = world.znodes.clone();

    // Term 2 on another broker loads what ZooKeeper holds.
    let mut c2 = Controller::new();
    c2.handle_elected(2, live(&[1, 2, 3]), vec![assignment], state);
    world.run(&mut c2);
    assert_eq!(listed(&c2), [(vec![2, 1], vec![2], vec![1])]);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!((s.leader_epoch, s.controller_epoch), (2, 2), "bumped again");
    world.take();
    leader_sets_isr(&mut world, &mut c2, &[1, 2]);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!((s.leader, s.isr.clone()), (2, vec![2]));
    assert!(world.take().contains(&"stop 1 t-0 delete true".to_string()));
    assert!(world.assignments["t"].adding.is_empty());
    assert_eq!(world.assignments["t"].partitions[&0], [2]);
}

#[test]
fn a_topic_is_not_deleted_while_a_partition_of_it_moves() {
    let mut world = World::default();
    let mut c = on(&mut world, &[1]);
    c.handle_reassign(1, vec![(tp(0), Some(vec![2]))], true);
    world.run(&mut c);
    c.handle_deletions(["t".to_string()].into());
    world.run(&mut c);
    assert!(!world.take().iter().any(|l| l.starts_with("deleted")));
    // A reassignment of a topic being deleted is refused.
    c.handle_reassign(2, vec![(tp(0), Some(vec![3]))], true);
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["reassigned 2 [t-0 UNKNOWN_TOPIC_OR_PARTITION]"]
    );
    leader_sets_isr(&mut world, &mut c, &[1, 2]);
    assert!(world.take().contains(&"deleted t".to_string()));
}

#[test]
fn a_deposed_controller_answers_what_it_had_not_started_with_not_controller() {
    let mut c = Controller::new();
    c.handle_reassign(4, vec![(tp(0), Some(vec![2]))], true);
    assert_eq!(
        c.poll_output(),
        Some(Output::Reassigned {
            request: 4,
            results: vec![(tp(0), ErrorCode::NOT_CONTROLLER, None)],
            allow_rf_change: true
        })
    );
}
