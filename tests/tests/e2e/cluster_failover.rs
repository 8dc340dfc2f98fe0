//! Kafka's quickstart step 7 against three Spate brokers and a real
//! ZooKeeper: a topic created with replication factor 3 and
//! `min.insync.replicas=2` through `spate topic create`, described with
//! its leader, replicas and ISR; an idempotent confluent-kafka producer
//! writing with acks=all while the leader is killed with SIGKILL; every
//! acknowledged record read back exactly once, in order, at the offset it
//! was acknowledged at; and the killed broker restarted over its data,
//! catching up and rejoining the ISR.

use std::collections::BTreeMap;
use std::time::Duration;

use spate_e2e::cluster::{check_read_back, describe, read_all, wait_live, AckedProducer, Node};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{wait_until, Server};

/// Followers leave the ISR after 5 s behind.
const LAG: &str = "replica.lag.time.max.ms=5000\n";

/// Short, so a killed broker's session ends in seconds.
#[test]
fn acknowledged_writes_survive_the_leaders_death_and_the_leader_comes_back_in_sync() {
    let zk = ZooKeeper::start();
    let nodes: BTreeMap<i64, Node> = (1..=3)
        .map(|id| (id, Node::new(&zk, id as i32, LAG)))
        .collect();
    let mut brokers: BTreeMap<i64, Server> = nodes.iter().map(|(id, n)| (*id, n.start())).collect();
    let any = &brokers[&1];
    // Every broker must know every other before a replication factor of
    // 3 can be placed.
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
    let first = wait_until(
        "the topic fully in sync",
        Duration::from_secs(20),
        &[],
        || describe(any, "replicated").filter(|d| d.isr.len() == 3 && d.replicas.len() == 3),
    );
    println!("created: {first:?}");
    let leader = first.leader;

    // Write while the leader dies.
    let bootstrap: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let producer = AckedProducer::start(&bootstrap.join(","), "replicated", 600);
    producer.wait_acked(100);
    brokers.remove(&leader).expect("the leader").kill9();
    println!("killed the leader, broker {leader}");
    let survivor = *brokers.keys().next().expect("a survivor");
    let after = wait_until("a new leader", Duration::from_secs(30), &[], || {
        describe(&brokers[&survivor], "replicated").filter(|d| d.leader != leader && d.leader >= 0)
    });
    println!("after the failover: {after:?}");
    assert!(!after.isr.contains(&leader), "{after:?}");
    let acked = producer.finish();

    // Every acknowledged record, exactly once, in order, where it was
    // acknowledged.
    let survivors: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let read = read_all(&survivors.join(","), "replicated");
    check_read_back(&read, &acked);

    // The old leader comes back over its data: it follows, catches up and
    // rejoins the ISR.
    brokers.insert(leader, nodes[&leader].start());
    let back = wait_until(
        "the old leader back in the ISR",
        Duration::from_secs(40),
        &[],
        || describe(&brokers[&survivor], "replicated").filter(|d| d.isr.len() == 3),
    );
    println!("after the restart: {back:?}");
    assert_eq!(back.leader, after.leader, "leadership stays where it moved");
}
