//! Topic deletion against the in-memory ZooKeeper of `tests.rs`, with
//! StopReplica answered at once or held until a test answers it.

use super::*;

#[test]
fn a_deleted_topic_is_told_gone_stopped_on_its_replicas_then_removed() {
    let mut world = World::default();
    let mut c = started(&mut world);
    world.take();
    c.handle_deletions(["t".to_string(), "nope".to_string()].into());
    world.run(&mut c);
    assert_eq!(
        world.take(),
        [
            "dropped nope",
            "um 1 t-0 leader -2 e-2 isr [1, 2, 3]",
            "um 2 t-0 leader -2 e-2 isr [1, 2, 3]",
            "um 3 t-0 leader -2 e-2 isr [1, 2, 3]",
            "stop 1 t-0 delete true",
            "stop 2 t-0 delete true",
            "stop 3 t-0 delete true",
            "deleted t",
        ]
    );
    assert!(world.znodes.is_empty());
    assert_eq!(c.state(&tp(0)), None, "forgotten");
    assert!(c.deleting().is_empty());
    // Created again under the same name, it starts afresh.
    c.handle_topics(vec![topic("t", &[&[2, 3]])]);
    world.run(&mut c);
    assert_eq!(world.znodes[&tp(0)].state.leader, 2);
    assert_eq!(world.znodes[&tp(0)].version, 0);
}

#[test]
fn a_topic_with_a_replica_on_a_dead_broker_waits_to_be_deleted() {
    let mut world = World::default();
    let mut c = started(&mut world);
    c.handle_brokers(live(&[1, 2]));
    world.run(&mut c);
    world.take();
    c.handle_deletions(["t".to_string()].into());
    world.run(&mut c);
    assert_eq!(world.take(), Vec::<String>::new(), "broker 3 is dead");
    assert!(c.deleting().contains("t"));
    c.handle_brokers(live(&[1, 2, 3]));
    world.run(&mut c);
    let sent = world.take();
    assert!(
        sent.contains(&"stop 3 t-0 delete true".to_string()),
        "{sent:?}"
    );
    assert_eq!(sent.last().map(String::as_str), Some("deleted t"));
}

#[test]
fn a_deleted_topic_is_removed_only_once_every_replica_answered_its_stop_replica() {
    let mut world = World {
        hold_stops: true,
        ..World::default()
    };
    let mut c = started(&mut world);
    world.take();
    c.handle_deletions(["t".to_string()].into());
    world.run(&mut c);
    let sent = world.take();
    assert_eq!(
        sent.last().map(String::as_str),
        Some("stop 3 t-0 delete true")
    );
    assert!(!sent.contains(&"deleted t".to_string()), "{sent:?}");
    // Answers to another StopReplica (a controlled shutdown's, at the
    // leader epoch) tell nothing of the deletion.
    c.handle_stop_replica_answered(1, vec![(tp(0), 0, ErrorCode::NONE)]);
    world.run(&mut c);
    world.answer_held(&mut c, 1);
    world.answer_held(&mut c, 2);
    assert!(world.take().is_empty(), "broker 3 has not answered");
    assert!(c.deleting().contains("t"));
    assert!(world.znodes.contains_key(&tp(0)));
    world.answer_held(&mut c, 3);
    assert_eq!(world.take(), ["deleted t"]);
    assert!(c.deleting().is_empty());
    assert!(world.znodes.is_empty());
}

#[test]
fn a_replica_whose_deletion_fails_is_stopped_again_at_the_retry() {
    let mut world = World::default();
    let mut c = started(&mut world);
    world.take();
    world.failing.insert((2, tp(0)));
    c.handle_deletions(["t".to_string()].into());
    world.run(&mut c);
    let sent = world.take();
    assert!(!sent.contains(&"deleted t".to_string()), "{sent:?}");
    assert!(c.deletions_failed());
    // Still failing: asked again, not deleted.
    c.handle_retry_deletions();
    world.run(&mut c);
    assert_eq!(world.take(), ["stop 2 t-0 delete true"]);
    assert!(c.deleting().contains("t"));
    // Nothing failed since: a retry asks nothing.
    world.failing.clear();
    c.handle_retry_deletions();
    c.handle_retry_deletions();
    world.run(&mut c);
    assert_eq!(world.take(), ["stop 2 t-0 delete true", "deleted t"]);
    assert!(!c.deletions_failed());
    assert!(world.znodes.is_empty());
}

#[test]
fn a_broker_that_leaves_before_answering_is_stopped_again_when_back() {
    let mut world = World {
        hold_stops: true,
        ..World::default()
    };
    let mut c = started(&mut world);
    world.take();
    c.handle_deletions(["t".to_string()].into());
    world.run(&mut c);
    world.take();
    world.answer_held(&mut c, 1);
    world.answer_held(&mut c, 2);
    // Broker 3 goes, and its request with its channel.
    world.held.clear();
    c.handle_brokers(live(&[1, 2]));
    world.run(&mut c);
    assert!(
        world.take().is_empty(),
        "a deleted topic is decided no more"
    );
    c.handle_brokers(live(&[1, 2, 3]));
    world.run(&mut c);
    let sent = world.take();
    assert!(
        sent.iter().all(|l| !l.starts_with("lai")),
        "the returning broker hears nothing of the topic but: {sent:?}"
    );
    assert!(sent.contains(&"um 3 -".to_string()), "{sent:?}");
    assert_eq!(
        sent.last().map(String::as_str),
        Some("stop 3 t-0 delete true")
    );
    world.answer_held(&mut c, 3);
    assert_eq!(world.take(), ["deleted t"]);
}

#[test]
fn a_broker_that_registered_again_is_stopped_again_at_once() {
    let mut world = World {
        hold_stops: true,
        ..World::default()
    };
    let mut c = started(&mut world);
    world.take();
    c.handle_deletions(["t".to_string()].into());
    world.run(&mut c);
    world.take();
    world.answer_held(&mut c, 1);
    world.answer_held(&mut c, 2);
    // Broker 3 bounced: its new channel never had the request.
    world.held.clear();
    c.handle_broker_restarted(3);
    world.run(&mut c);
    assert_eq!(world.take(), ["stop 3 t-0 delete true"]);
    // Brokers that answered are not asked again.
    c.handle_broker_restarted(1);
    world.run(&mut c);
    assert!(world.take().is_empty());
    world.answer_held(&mut c, 3);
    assert_eq!(world.take(), ["deleted t"]);
}
