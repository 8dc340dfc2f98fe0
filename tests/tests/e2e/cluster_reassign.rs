//! Partition reassignment (KIP-455) in a ZooKeeper cluster of three Spate
//! brokers, against a real ZooKeeper and real clients: kafkajs'
//! `admin.alterPartitionReassignments` and `listPartitionReassignments`
//! (sent to the controller) and `spate topic reassign`.
//!
//! A move is held in progress by freezing (SIGSTOP, shorter than the
//! ZooKeeper session) one of the brokers it adds, so that the listing and
//! the assignment znode can be seen mid-way: full replica set, adding and
//! removing replicas. Once it thaws, the move completes: the partition is
//! led from its new replicas, every record is still there at its offset,
//! and the removed replica's log directory is deleted from its disk.
//! A move that takes the leader away, made while an idempotent acks=all
//! producer writes, loses no acknowledged record; and a move whose
//! controller is killed mid-way is finished by the next controller, from
//! what the assignment znode holds.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::cluster::{
    check_read_back, controller, describe, json_at, kept, kill, log_dirs, read_all, wait,
    wait_live, AckedProducer, Described, Kept,
};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, workspace, Server};

/// Three brokers and the controller's id.
fn cluster(zk: &ZooKeeper) -> (BTreeMap<i64, Kept>, i64) {
    let brokers: BTreeMap<i64, Kept> = (1..=3).map(|id| (id, kept(zk, id as i32))).collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(zk, "")
    });
    wait_live(&brokers[&1].server, 3);
    (brokers, c)
}

/// Creates `topic` with one partition and one replica, writes `n`
/// records to it, and returns the broker that holds it.
fn single_replica_topic(any: &Server, topic: &str, n: usize) -> i64 {
    let out = any.spate(
        &[
            "topic",
            "create",
            topic,
            "--partitions",
            "1",
            "--replication-factor",
            "1",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let d = wait("the topic's leader", Duration::from_secs(20), || {
        describe(any, topic).filter(|d| d.leader > 0)
    });
    let lines: String = (0..n).map(|i| format!("r{i}\n")).collect();
    let out = any.spate(&["produce", topic, "--acks", "all"], lines.as_bytes());
    assert!(out.status.success(), "{out:?}");
    d.replicas[0]
}

/// The assignment znode's replicas, adding and removing replicas of
/// partition 0 of `topic`.
fn assignment(zk: &ZooKeeper, topic: &str) -> (Value, Value, Value) {
    let v = json_at(zk, &format!("/brokers/topics/{topic}"));
    (
        v["partitions"]["0"].clone(),
        v["adding_replicas"]["0"].clone(),
        v["removing_replicas"]["0"].clone(),
    )
}

/// Runs `tests/js/reassign.js`: kafkajs moves partition 0 of `topic` to
/// `replicas` and lists the moves; its JSON lines.
fn kafkajs_reassign(bootstrap: &str, topic: &str, replicas: &[i64]) -> Vec<Value> {
    let ids: Vec<String> = replicas.iter().map(ToString::to_string).collect();
    let out = Command::new(require("node"))
        .arg(workspace().join("tests/js/reassign.js"))
        .args([bootstrap, topic, &ids.join(",")])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "reassign.js failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn kafkajs_moves_a_partition_to_two_other_brokers_and_no_record_is_lost() {
    let zk = ZooKeeper::start();
    let (brokers, c) = cluster(&zk);
    let any = &brokers[&c].server;
    let origin = single_replica_topic(any, "moved", 100);
    let target: Vec<i64> = (1..=3).filter(|&id| id != origin).collect();
    // Freeze an added broker that is not the controller, so the move
    // stays in progress until it thaws (well within its session).
    let frozen = *target.iter().find(|&&id| id != c).expect("one is not");
    let bootstrap = format!(
        "{},{}",
        brokers[&c].server.addr, brokers[&origin].server.addr
    );
    kill("-STOP", brokers[&frozen].server.pid());
    let said = kafkajs_reassign(&bootstrap, "moved", &target);
    let mid = assignment(&zk, "moved");
    kill("-CONT", brokers[&frozen].server.pid());
    println!("kafkajs: {said:?}; znode mid-way: {mid:?}");
    assert_eq!(said[0]["altered"], true, "{said:?}");
    let listed = &said[1]["listed"];
    assert_eq!(listed[0]["name"], "moved", "{said:?}");
    let p = &listed[0]["partitions"][0];
    let full: Vec<i64> = target.iter().copied().chain([origin]).collect();
    assert_eq!(p["replicas"], serde_json::json!(full), "{said:?}");
    assert_eq!(p["addingReplicas"], serde_json::json!(target), "{said:?}");
    assert_eq!(
        p["removingReplicas"],
        serde_json::json!([origin]),
        "{said:?}"
    );
    assert_eq!(
        mid,
        (
            serde_json::json!(full),
            serde_json::json!(target),
            serde_json::json!([origin])
        )
    );

    // The move completes: led by the first target replica, both in sync.
    let done = wait("the move to complete", Duration::from_secs(60), || {
        describe(any, "moved").filter(|d| d.replicas == target && d.isr.len() == 2)
    });
    // The ISR is in the order the replicas caught up.
    let mut isr = done.isr.clone();
    isr.sort_unstable();
    assert_eq!(
        Described { isr, ..done },
        Described {
            leader: target[0],
            replicas: target.clone(),
            isr: target.clone()
        }
    );
    wait(
        "the assignment znode to hold the target",
        Duration::from_secs(20),
        || {
            (assignment(&zk, "moved") == (serde_json::json!(target), Value::Null, Value::Null))
                .then_some(())
        },
    );
    let said = kafkajs_reassign(&bootstrap, "moved", &target);
    assert_eq!(
        said[1]["listed"],
        serde_json::json!([]),
        "nothing in progress: {said:?}"
    );

    // Every record, at its offset, from the new leader.
    let read = read_all(&brokers[&target[0]].server.addr, "moved");
    let expected: Vec<(i64, String)> = (0..100).map(|i| (i, format!("r{i}"))).collect();
    assert_eq!(read, expected);
    // The old replica's log is gone from its disk; the new ones have it.
    wait("the old replica deleted", Duration::from_secs(20), || {
        log_dirs(&brokers[&origin].node.data.0, "moved")
            .is_empty()
            .then_some(())
    });
    for id in &target {
        assert_eq!(log_dirs(&brokers[id].node.data.0, "moved"), ["moved-0"]);
    }
}

#[test]
fn spate_topic_reassign_cancels_a_move_and_runs_kafkas_reassignment_file() {
    let zk = ZooKeeper::start();
    let (brokers, c) = cluster(&zk);
    let any = &brokers[&c].server;
    let origin = single_replica_topic(any, "u", 20);
    let others: Vec<i64> = (1..=3).filter(|&id| id != origin).collect();
    let frozen = *others.iter().find(|&&id| id != c).expect("one is not");
    let spate = |args: &[&str]| {
        let out = any.spate(args, b"");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.success(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // Refused: a broker that does not exist.
    let (ok, out, err) = spate(&["topic", "reassign", "u", "--replicas", "7"]);
    assert!(!ok, "{out}");
    assert!(out.contains("INVALID_REPLICA_ASSIGNMENT"), "{out} {err}");

    // Started, listed, cancelled while the added broker is frozen.
    kill("-STOP", brokers[&frozen].server.pid());
    let f = frozen.to_string();
    let (ok, out, err) = spate(&["topic", "reassign", "u", "--replicas", &f]);
    let (_, listing, _) = spate(&["topic", "reassign", "--list", "--json"]);
    let (cancelled, cancel_out, cancel_err) = spate(&["topic", "reassign", "u", "--cancel"]);
    kill("-CONT", brokers[&frozen].server.pid());
    assert!(ok, "{out} {err}");
    assert!(out.contains("u-0: reassignment started"), "{out}");
    let v: Value = serde_json::from_str(&listing).expect("JSON");
    assert_eq!(
        v["reassignments"],
        serde_json::json!([{ "topic": "u", "partition": 0, "replicas": [frozen, origin],
                             "adding": [frozen], "removing": [origin] }]),
        "{listing}"
    );
    assert!(cancelled, "{cancel_out} {cancel_err}");
    assert!(
        cancel_out.contains("u-0: reassignment cancelled"),
        "{cancel_out}"
    );
    let (_, out, _) = spate(&["topic", "reassign", "--list"]);
    assert!(out.contains("no partition is being reassigned"), "{out}");
    wait(
        "the cancelled move settled",
        Duration::from_secs(30),
        || describe(any, "u").filter(|d| d.replicas == [origin] && d.leader == origin),
    );
    // The thawed broker heard StopReplica and deleted what it had copied.
    wait("the added replica deleted", Duration::from_secs(30), || {
        log_dirs(&brokers[&frozen].node.data.0, "u")
            .is_empty()
            .then_some(())
    });
    let (ok, out, _) = spate(&["topic", "reassign", "u", "--cancel"]);
    assert!(!ok && out.contains("NO_REASSIGNMENT_IN_PROGRESS"), "{out}");

    // Kafka's reassignment file, waited for: u moves to both others.
    let dir = spate_e2e::TempDir::new("reassign");
    let file = dir.0.join("move.json");
    std::fs::write(
        &file,
        serde_json::json!({ "version": 1, "partitions": [
            { "topic": "u", "partition": 0, "replicas": others, "log_dirs": ["any", "any"] }
        ]})
        .to_string(),
    )
    .expect("writing the file");
    let (ok, out, err) = spate(&[
        "topic",
        "reassign",
        "--reassignment-json-file",
        &file.to_string_lossy(),
        "--wait",
        "60",
    ]);
    assert!(ok, "{out} {err}");
    assert!(out.contains("u-0: reassignment complete"), "{out}");
    let d = describe(any, "u").expect("described");
    assert_eq!(d.replicas, others);
    let read = read_all(&brokers[&others[0]].server.addr, "u");
    assert_eq!(read.len(), 20);
    assert_eq!(read[19], (19, "r19".to_string()));
}

#[test]
fn moving_the_leader_away_under_an_acks_all_producer_loses_nothing() {
    let zk = ZooKeeper::start();
    let (brokers, c) = cluster(&zk);
    let any = &brokers[&c].server;
    let out = any.spate(
        &[
            "topic",
            "create",
            "busy",
            "--partitions",
            "1",
            "--replication-factor",
            "2",
            "--config",
            "min.insync.replicas=2",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let before = wait("busy in sync", Duration::from_secs(20), || {
        describe(any, "busy").filter(|d| d.isr.len() == 2 && d.leader > 0)
    });
    let leader = before.leader;
    let follower = *before.replicas.iter().find(|&&r| r != leader).expect("two");
    let third = (1..=3)
        .find(|id| !before.replicas.contains(id))
        .expect("three");
    let target = [follower, third];

    let bootstrap: Vec<String> = brokers.values().map(|b| b.server.addr.clone()).collect();
    let producer = AckedProducer::start(&bootstrap.join(","), "busy", 600);
    producer.wait_acked(100);
    let ids = format!("{follower},{third}");
    let out = any.spate(
        &[
            "topic",
            "reassign",
            "busy",
            "--replicas",
            &ids,
            "--wait",
            "60",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let after = describe(any, "busy").expect("described");
    println!("moved from {before:?} to {after:?}");
    assert_eq!(after.replicas, target);
    assert_eq!(
        after.leader, follower,
        "the first target replica in the ISR leads"
    );

    let acked = producer.finish();
    let read = read_all(&brokers[&follower].server.addr, "busy");
    check_read_back(&read, &acked);
    wait(
        "the old leader's replica deleted",
        Duration::from_secs(20),
        || {
            log_dirs(&brokers[&leader].node.data.0, "busy")
                .is_empty()
                .then_some(())
        },
    );
}

#[test]
fn a_new_controller_finishes_a_move_its_predecessor_started() {
    let zk = ZooKeeper::start();
    let (mut brokers, c) = cluster(&zk);
    let origin = single_replica_topic(&brokers[&c].server, "resumed", 50);
    let target: Vec<i64> = (1..=3).filter(|&id| id != origin).collect();
    let frozen = *target.iter().find(|&&id| id != c).expect("one is not");
    kill("-STOP", brokers[&frozen].server.pid());
    let ids = format!("{},{}", target[0], target[1]);
    let out = brokers[&c]
        .server
        .spate(&["topic", "reassign", "resumed", "--replicas", &ids], b"");
    // The controller dies with the move in progress.
    kill("-KILL", brokers[&c].server.pid());
    kill("-CONT", brokers[&frozen].server.pid());
    assert!(out.status.success(), "{out:?}");
    let full: Vec<i64> = target.iter().copied().chain([origin]).collect();
    assert_eq!(
        assignment(&zk, "resumed"),
        (
            serde_json::json!(full),
            serde_json::json!(target),
            serde_json::json!([origin])
        ),
        "the move is in the znode"
    );
    let next = wait("a new controller", Duration::from_secs(20), || {
        controller(&zk, "").filter(|&n| n != c)
    });
    println!("controller {c} killed mid-move; {next} took over");
    brokers.get_mut(&c).expect("the old controller").restart();
    let any = &brokers[&next].server;
    let done = wait("the move to complete", Duration::from_secs(60), || {
        describe(any, "resumed").filter(|d| d.replicas == target && d.isr.len() == 2)
    });
    assert!(target.contains(&done.leader), "{done:?}");
    wait(
        "the assignment znode to hold the target",
        Duration::from_secs(20),
        || {
            (assignment(&zk, "resumed") == (serde_json::json!(target), Value::Null, Value::Null))
                .then_some(())
        },
    );
    let read = read_all(&brokers[&done.leader].server.addr, "resumed");
    let expected: Vec<(i64, String)> = (0..50).map(|i| (i, format!("r{i}"))).collect();
    assert_eq!(read, expected);
}
