//! Controlled shutdown (Kafka's `controlled.shutdown.enable`, on by
//! default) against three Spate brokers and a real ZooKeeper: the leader
//! of a replicated partition gets SIGTERM while an idempotent
//! confluent-kafka producer writes with acks=all. Leadership moves to
//! another ISR member before the broker's registration goes (seen in the
//! order of ZooKeeper's own change events), the broker exits cleanly,
//! and every acknowledged record is read back once, in order, at the
//! offset it was acknowledged at.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use spate_e2e::cluster::{
    check_read_back, describe, json_at, read_all, wait_live, AckedProducer, Node,
};
use spate_e2e::zookeeper::client::{AddWatchMode, EventType};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{wait_until, Server};

/// Followers leave the ISR after 5 s behind.
const LAG: &str = "replica.lag.time.max.ms=5000\n";

const STATE: &str = "/brokers/topics/replicated/partitions/0/state";

#[test]
fn sigterm_moves_leadership_before_the_registration_goes_and_loses_nothing_acknowledged() {
    let zk = ZooKeeper::start();
    let nodes: BTreeMap<i64, Node> = (1..=3)
        .map(|id| (id, Node::new(&zk, id as i32, LAG)))
        .collect();
    let mut brokers: BTreeMap<i64, Server> = nodes.iter().map(|(id, n)| (*id, n.start())).collect();
    let any = &brokers[&1];
    wait_live(any, 3);
    let out = any.spate(
        &[
            "topic",
            "create",
            "replicated",
            "--partitions",
            "1",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let leader = wait_until("the topic in sync", Duration::from_secs(20), &[], || {
        describe(any, "replicated").filter(|d| d.isr.len() == 3)
    })
    .leader;
    let before = json_at(&zk, STATE);
    println!("before: {before}");
    assert_eq!(before["leader"].as_i64(), Some(leader));
    let old_epoch = before["leader_epoch"].as_i64().expect("leader_epoch");

    let bootstrap: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let producer = AckedProducer::start(&bootstrap.join(","), "replicated", 600);
    producer.wait_acked(100);

    // ZooKeeper delivers one session's watch events in the order of the
    // changes: the state znode's change must come before the deletion.
    let mut watcher = zk
        .block_on(
            zk.client()
                .watch("/brokers", AddWatchMode::PersistentRecursive),
        )
        .expect("a persistent watch");
    let b = brokers.remove(&leader).expect("the leader");
    let stopping = std::thread::spawn(move || b.terminate());
    println!("SIGTERM to the leader, broker {leader}");
    let registration = format!("/brokers/ids/{leader}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = zk
            .block_on(async { tokio::time::timeout(left, watcher.changed()).await })
            .unwrap_or_else(|_| panic!("{registration} did not go; events: {seen:?}"));
        seen.push((event.event_type, event.path.clone()));
        if event.event_type == EventType::NodeDeleted && event.path == registration {
            break;
        }
    }
    println!("events: {seen:?}");
    let moved = seen
        .iter()
        .position(|(t, p)| *t == EventType::NodeDataChanged && p == STATE);
    assert!(
        moved.is_some_and(|i| i + 1 < seen.len()),
        "the state changed before the registration went: {seen:?}"
    );
    assert!(
        stopping.join().expect("the stopping thread"),
        "a clean exit"
    );
    let after = json_at(&zk, STATE);
    println!("after: {after}");
    let new_leader = after["leader"].as_i64().expect("leader");
    assert!(new_leader != leader && new_leader > 0, "{after}");
    assert!(after["leader_epoch"].as_i64() > Some(old_epoch), "{after}");

    let acked = producer.finish();
    let survivors: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let read = read_all(&survivors.join(","), "replicated");
    check_read_back(&read, &acked);
}

#[test]
fn a_controller_shutting_down_moves_its_own_leadership_before_it_resigns() {
    let zk = ZooKeeper::start();
    let nodes: BTreeMap<i64, Node> = (1..=3)
        .map(|id| (id, Node::new(&zk, id as i32, LAG)))
        .collect();
    let mut brokers: BTreeMap<i64, Server> = nodes.iter().map(|(id, n)| (*id, n.start())).collect();
    let any = &brokers[&1];
    wait_live(any, 3);
    // Three partitions on three brokers: each leads one.
    let out = any.spate(
        &[
            "topic",
            "create",
            "spread",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let state = |p: i32| format!("/brokers/topics/spread/partitions/{p}/state");
    let controller = spate_e2e::cluster::controller(&zk, "").expect("a controller");
    let led = wait_until(
        "every partition in sync",
        Duration::from_secs(20),
        &[],
        || {
            let mut led = None;
            for p in 0..3 {
                let v: Value = serde_json::from_slice(&zk.get(&state(p))?.data).ok()?;
                if v["isr"].as_array()?.len() != 3 {
                    return None;
                }
                if v["leader"].as_i64() == Some(controller) {
                    led = Some(p);
                }
            }
            led
        },
    );
    println!("controller {controller} leads spread-{led}");
    let mut watcher = zk
        .block_on(zk.client().watch("/", AddWatchMode::PersistentRecursive))
        .expect("a persistent watch");
    let b = brokers.remove(&controller).expect("the controller");
    let stopping = std::thread::spawn(move || b.terminate());
    let registration = format!("/brokers/ids/{controller}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = zk
            .block_on(async { tokio::time::timeout(left, watcher.changed()).await })
            .unwrap_or_else(|_| panic!("{registration} did not go; events: {seen:?}"));
        seen.push((event.event_type, event.path.clone()));
        if event.event_type == EventType::NodeDeleted && event.path == registration {
            break;
        }
    }
    println!("events: {seen:?}");
    let moved = seen
        .iter()
        .position(|(t, p)| *t == EventType::NodeDataChanged && *p == state(led));
    let resigned = seen
        .iter()
        .position(|(t, p)| *t == EventType::NodeDeleted && p == "/controller");
    assert!(
        moved.is_some() && moved < resigned,
        "the partition moved before the controller resigned: {seen:?}"
    );
    assert!(
        stopping.join().expect("the stopping thread"),
        "a clean exit"
    );
    let after = json_at(&zk, &state(led));
    assert!(after["leader"].as_i64() != Some(controller), "{after}");
}
