//! A consumer group in a ZooKeeper cluster of three Spate brokers: its
//! coordinator is the leader of the group's partition of
//! `__consumer_offsets` (created through ZooKeeper with three replicas on
//! the first FindCoordinator); a confluent-kafka consumer commits there,
//! the coordinator is killed with SIGKILL, and a consumer of the same
//! group resumes from the committed offset at the new coordinator, which
//! loaded it from the log its follower copied. A broker that joins with
//! another `offsets.topic.num.partitions` maps groups to the topic's real
//! partitions, as every other broker does.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::cluster::{properties, three_brokers, FAILOVER};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, wait_until, Server};

const TOPIC: &str = "events";
const GROUP: &str = "resumers";

/// Runs a confluent-kafka script with `args`; its stdout lines.
fn python(script: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(require("python3"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Produces `n` records to partition 0 of TOPIC with acks=all.
const PRODUCE: &str = "import sys\n\
from confluent_kafka import Producer\n\
p = Producer({'bootstrap.servers': sys.argv[1], 'acks': 'all'})\n\
for i in range(int(sys.argv[2])):\n\
\x20   p.produce('events', str(i).encode(), partition=0)\n\
p.flush(60)\n\
print(len(p))\n";

/// Consumes `n` records of TOPIC in the group, commits after each
/// synchronously, prints each offset, then the group's coordinator (from
/// DescribeConsumerGroups) and leaves.
const CONSUME: &str = "import sys\n\
from confluent_kafka import Consumer\n\
from confluent_kafka.admin import AdminClient\n\
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2], \
'enable.auto.commit': False, 'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000})\n\
c.subscribe(['events'])\n\
got = 0\n\
while got < int(sys.argv[3]):\n\
\x20   m = c.poll(60)\n\
\x20   if m is None:\n\
\x20       sys.exit('nothing within 60 s')\n\
\x20   if m.error():\n\
\x20       sys.exit(str(m.error()))\n\
\x20   print('got', m.offset(), flush=True)\n\
\x20   c.commit(message=m, asynchronous=False)\n\
\x20   got += 1\n\
a = AdminClient({'bootstrap.servers': sys.argv[1]})\n\
d = a.describe_consumer_groups([sys.argv[2]])[sys.argv[2]].result(30)\n\
print('coordinator', d.coordinator.id, flush=True)\n\
c.close()\n";

fn live_brokers(b: &Server) -> Option<usize> {
    let out = b.spate(&["cluster", "info", "--json"], b"");
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(v["brokers"].as_array()?.len())
}

fn offsets_seen(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("got "))
        .map(|o| o.parse().expect("an offset"))
        .collect()
}

#[test]
fn a_group_resumes_from_its_committed_offset_after_its_coordinator_is_killed() {
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
            "1",
            "--replication-factor",
            "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let all: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let all = all.join(",");
    assert_eq!(python(PRODUCE, &[&all, "20"]), ["0"], "all 20 delivered");

    let first = python(CONSUME, &[&all, GROUP, "5"]);
    assert_eq!(offsets_seen(&first), [0, 1, 2, 3, 4], "{first:?}");
    let coordinator: i64 = first
        .iter()
        .find_map(|l| l.strip_prefix("coordinator "))
        .expect("a coordinator line")
        .parse()
        .expect("an id");
    println!("the group's coordinator: broker {coordinator}");
    // Killed at once: a commit is answered only once the followers of the
    // group's partition have it.
    brokers.remove(&coordinator).expect("a broker").kill9();

    let survivors: BTreeMap<i64, &Server> = brokers.iter().map(|(id, b)| (*id, b)).collect();
    let rest: Vec<String> = survivors.values().map(|b| b.addr.clone()).collect();
    let rest = rest.join(",");
    wait_until("two live brokers", FAILOVER, &[], || {
        live_brokers(survivors.values().next().expect("a survivor")).filter(|n| *n == 2)
    });
    let second = python(CONSUME, &[&rest, GROUP, "3"]);
    assert_eq!(
        offsets_seen(&second),
        [5, 6, 7],
        "resumed after the last commit: {second:?}"
    );
    let moved: i64 = second
        .iter()
        .find_map(|l| l.strip_prefix("coordinator "))
        .expect("a coordinator line")
        .parse()
        .expect("an id");
    assert_ne!(moved, coordinator, "the coordinator moved");
}

/// The coordinator broker `b` names for `group` (FindCoordinator, through
/// `spate group describe`).
fn coordinator_named_by(b: &Server, group: &str) -> Option<i64> {
    let out = b.spate(&["group", "describe", group, "--json"], b"");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let g = v.as_array().map_or(&v, |a| &a[0]);
    g["coordinator"]["node_id"].as_i64()
}

#[test]
fn a_broker_maps_groups_to_the_offsets_topic_as_it_exists_not_as_it_would_create_it() {
    let zk = ZooKeeper::start();
    let small = "offsets.topic.num.partitions=3\noffsets.topic.replication.factor=2\n";
    let first: BTreeMap<i64, Server> = (1..=2)
        .map(|id| {
            let props = format!("{}{small}", properties(&zk.connect(), id as i32));
            (id, Server::start_with_properties(&props, &[]))
        })
        .collect();
    let groups: Vec<String> = (0..12).map(|i| format!("g{i}")).collect();
    // The first FindCoordinator creates __consumer_offsets with 3 partitions.
    let named: Vec<i64> = groups
        .iter()
        .map(|g| {
            wait_until("a coordinator", FAILOVER, &[], || {
                coordinator_named_by(&first[&1], g)
            })
        })
        .collect();
    // A broker configured for 50 partitions joins later.
    let third = Server::start_with_properties(&properties(&zk.connect(), 3), &[]);
    for (g, expected) in groups.iter().zip(&named) {
        let got = wait_until("broker 3 to name a coordinator", FAILOVER, &[], || {
            coordinator_named_by(&third, g)
        });
        assert_eq!(got, *expected, "group {g}: broker 3 and broker 1 disagree");
    }
}
