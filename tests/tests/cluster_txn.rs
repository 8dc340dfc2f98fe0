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
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, wait_until, Server};

const TOPIC: &str = "orders";
const TXN_ID: &str = "cluster-txn";
const PARTITIONS: i32 = 3;

/// A transactional producer: commits `t1`, aborts `t2` (two records per
/// partition each), says `phase1`, waits for a line on stdin, commits
/// `t3`, says `phase2`.
const PRODUCE: &str = "import sys\n\
from confluent_kafka import Producer\n\
p = Producer({'bootstrap.servers': sys.argv[1], 'transactional.id': sys.argv[2], \
'linger.ms': 5})\n\
p.init_transactions(60)\n\
def txn(name, commit):\n\
\x20   p.begin_transaction()\n\
\x20   for part in range(3):\n\
\x20       for i in range(2):\n\
\x20           p.produce('orders', f'{name}-{part}-{i}'.encode(), partition=part)\n\
\x20   p.flush(60)\n\
\x20   if commit:\n\
\x20       p.commit_transaction(60)\n\
\x20   else:\n\
\x20       p.abort_transaction(60)\n\
txn('t1', True)\n\
txn('t2', False)\n\
print('phase1', flush=True)\n\
sys.stdin.readline()\n\
txn('t3', True)\n\
print('phase2', flush=True)\n";

/// Reads every partition of TOPIC from its start with read_committed up
/// to the end (the last stable offset) and prints each value.
const READ: &str = "import sys\n\
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING\n\
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'reader', \
'enable.auto.commit': False, 'enable.partition.eof': True, \
'isolation.level': 'read_committed'})\n\
c.assign([TopicPartition('orders', p, OFFSET_BEGINNING) for p in range(3)])\n\
ended = set()\n\
while len(ended) < 3:\n\
\x20   m = c.poll(20)\n\
\x20   if m is None:\n\
\x20       sys.exit('no message or end within 20 s')\n\
\x20   if m.error():\n\
\x20       if m.error().code() == -191:\n\
\x20           ended.add(m.partition())\n\
\x20           continue\n\
\x20       sys.exit(str(m.error()))\n\
\x20   print(m.value().decode())\n\
c.close()\n";

fn live_brokers(b: &Server) -> Option<usize> {
    let out = b.spate(&["cluster", "info", "--json"], b"");
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(v["brokers"].as_array()?.len())
}

/// The leader of each partition of `topic`, as `spate topic describe`
/// shows them (`None` while one has none).
fn leaders(b: &Server, topic: &str) -> Option<Vec<i64>> {
    let out = b.spate(&["topic", "describe", topic, "--json"], b"");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["partitions"]
        .as_array()?
        .iter()
        .map(|p| p["leader"].as_i64().filter(|l| *l >= 0))
        .collect()
}

/// The partition of `__transaction_state` (50 partitions) holding `id`:
/// Java's `String.hashCode`, its sign bit cleared, modulo 50, as Kafka.
fn txn_partition(id: &str) -> usize {
    let h = id
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    (h & 0x7fff_ffff) as usize % 50
}

/// The committed values a read_committed consumer reads from `bootstrap`.
fn read_committed(bootstrap: &str) -> Option<BTreeSet<String>> {
    let out = Command::new(require("python3"))
        .args(["-c", READ, bootstrap])
        .output()
        .expect("python3 runs");
    if !out.status.success() {
        eprintln!("read: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// The values of transaction `name`: two per partition.
fn values(name: &str) -> BTreeSet<String> {
    (0..PARTITIONS)
        .flat_map(|p| (0..2).map(move |i| format!("{name}-{p}-{i}")))
        .collect()
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
