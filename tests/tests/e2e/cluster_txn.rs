//! Transactions in a ZooKeeper cluster of three Spate brokers: the
//! coordinator of a transactional id is the leader of its partition of
//! `__transaction_state` (created through ZooKeeper with three replicas
//! on the first FindCoordinator); a confluent-kafka transactional producer
//! writes to a topic whose partitions are led by different brokers, so the
//! coordinator writes some markers itself and sends the others to their
//! leaders (WriteTxnMarkers). It commits one transaction and aborts
//! another; a read_committed consumer sees exactly the committed records.
//! Then the coordinator is killed with SIGKILL and the same producer
//! commits a third transaction at the new coordinator, which loaded the
//! id from the log its follower copied.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use spate_e2e::cluster::{three_brokers, FAILOVER};
use spate_e2e::txn::{leaders, read_committed, values, PRODUCE};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, wait_until, Server};

const TOPIC: &str = "orders";
const TXN_ID: &str = "cluster-txn";
const PARTITIONS: i32 = 3;

fn live_brokers(b: &Server) -> Option<usize> {
    let out = b.spate(&["cluster", "info", "--json"], b"");
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(v["brokers"].as_array()?.len())
}

/// The partition of `__transaction_state` (50 partitions) holding `id`:
/// Java's `String.hashCode`, its sign bit cleared, modulo 50, as Kafka.
fn txn_partition(id: &str) -> usize {
    let h = id
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    (h & 0x7fff_ffff) as usize % 50
}

#[test]
fn committed_transactions_are_read_and_aborted_ones_are_not_across_brokers_and_a_coordinator_death()
{
    let zk = ZooKeeper::start();
    let (mut brokers, _controller) = three_brokers(&zk);
    let any = &brokers[&1];
    wait_until("three live brokers", Duration::from_secs(20), &[], || {
        live_brokers(any).filter(|n| *n == 3)
    });
    let out = any.spate(
        &[
            "topic",
            "create",
            TOPIC,
            "--partitions",
            &PARTITIONS.to_string(),
            "--replication-factor",
            "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let led = wait_until(
        "leaders of every partition",
        Duration::from_secs(20),
        &[],
        || leaders(any, TOPIC),
    );
    let distinct: BTreeSet<i64> = led.iter().copied().collect();
    assert!(
        distinct.len() > 1,
        "partitions led by different brokers: {led:?}"
    );
    let all: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let all = all.join(",");

    let mut producer = Command::new(require("python3"))
        .args(["-c", PRODUCE, &all, TXN_ID])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut lines = BufReader::new(producer.stdout.take().expect("stdout")).lines();
    let mut next_line = || lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(next_line(), "phase1", "the producer committed and aborted");
    let committed = values("t1");
    wait_until("t1 read, t2 not", Duration::from_secs(30), &[], || {
        read_committed(&all).filter(|v| *v == committed)
    });

    // Kill the id's coordinator: the leader of its partition of
    // `__transaction_state`.
    let p = txn_partition(TXN_ID);
    let coordinator = wait_until(
        "a transaction coordinator",
        Duration::from_secs(20),
        &[],
        || leaders(any, "__transaction_state").map(|l| l[p]),
    );
    println!("the transaction coordinator: broker {coordinator}");
    // The transaction state reaches the followers (the coordinator
    // answers once it is in its own log).
    std::thread::sleep(Duration::from_secs(2));
    brokers.remove(&coordinator).expect("a broker").kill9();
    let survivors: BTreeMap<i64, &Server> = brokers.iter().map(|(id, b)| (*id, b)).collect();
    let first = *survivors.values().next().expect("a survivor");
    wait_until("two live brokers", FAILOVER, &[], || {
        live_brokers(first).filter(|n| *n == 2)
    });
    let moved = wait_until("a new coordinator", FAILOVER, &[], || {
        leaders(first, "__transaction_state")
            .map(|l| l[p])
            .filter(|l| *l != coordinator)
    });
    println!("the new transaction coordinator: broker {moved}");

    let stdin = producer.stdin.as_mut().expect("stdin");
    writeln!(stdin, "go").expect("the producer reads");
    assert_eq!(
        next_line(),
        "phase2",
        "the producer committed at the new coordinator"
    );
    assert!(producer.wait().expect("the producer ends").success());
    let rest: Vec<String> = survivors.values().map(|b| b.addr.clone()).collect();
    let rest = rest.join(",");
    let committed: BTreeSet<String> = values("t1").union(&values("t3")).cloned().collect();
    wait_until(
        "t1 and t3 read, t2 not",
        Duration::from_secs(30),
        &[],
        || read_committed(&rest).filter(|v| *v == committed),
    );
}
