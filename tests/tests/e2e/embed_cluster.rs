//! `spate::Cluster`, several brokers of one ZooKeeper-mode cluster inside
//! the test process, and its `move_leader`: a confluent-kafka
//! (librdkafka) idempotent producer writes with acks=all while the
//! partition's leader moves to another broker, twice, once to a broker
//! that was not a replica; every message is delivered exactly once and in
//! order, the new leader is the one that takes them, and a consumer
//! reads all of them back; once found, the controller is asked alone. A
//! real ZooKeeper (Debian's package) holds the cluster.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use spate::{Cluster, ClusterConfig, Topic};
use spate_e2e::require;
use spate_e2e::zookeeper::ZooKeeper;

const TOPIC: &str = "moving";

/// Produces `per` messages numbered from 0 on each line of stdin
/// ("go"), continuing the numbers; prints "sent N" once each lot is
/// delivered, and on "read", reads the partition back and prints every
/// value in offset order on one line.
const CLIENT: &str = "import sys\n\
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING\n\
boot, topic, per = sys.argv[1], sys.argv[2], int(sys.argv[3])\n\
errors = []\n\
def report(err, msg):\n\
\x20   if err is not None: errors.append(str(err))\n\
p = Producer({'bootstrap.servers': boot, 'acks': 'all', 'enable.idempotence': True,\n\
\x20   'linger.ms': 5, 'message.timeout.ms': 60000, 'topic.metadata.refresh.interval.ms': 1000})\n\
n = 0\n\
for line in sys.stdin:\n\
\x20   if line.strip() == 'go':\n\
\x20       for _ in range(per):\n\
\x20           p.produce(topic, str(n).encode(), partition=0, on_delivery=report)\n\
\x20           n += 1\n\
\x20           p.poll(0)\n\
\x20       left = p.flush(60)\n\
\x20       if left or errors:\n\
\x20           sys.exit('undelivered %d, errors %s' % (left, errors[:5]))\n\
\x20       print('sent', n, flush=True)\n\
\x20   elif line.strip() == 'read':\n\
\x20       c = Consumer({'bootstrap.servers': boot, 'group.id': 'mover-reader',\n\
\x20           'enable.auto.commit': False, 'enable.partition.eof': True})\n\
\x20       c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])\n\
\x20       got = []\n\
\x20       while True:\n\
\x20           m = c.poll(30)\n\
\x20           if m is None: sys.exit('nothing within 30 s after %d' % len(got))\n\
\x20           if m.error():\n\
\x20               if m.error().code() == -191: break\n\
\x20               sys.exit(str(m.error()))\n\
\x20           got.append(m.value().decode())\n\
\x20       c.close()\n\
\x20       print('read', ' '.join(got), flush=True)\n";

#[test]
fn a_producer_follows_its_partition_leader_as_it_moves() {
    let python = require("python3");
    let zk = ZooKeeper::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut cluster = rt
        .block_on(Cluster::start(ClusterConfig {
            brokers: 3,
            zookeeper: format!("{}/embedded", zk.connect()),
            topics: vec![Topic::new(TOPIC, 1)],
            replication_factor: Some(2),
            ..ClusterConfig::default()
        }))
        .expect("the cluster starts");
    assert_eq!(cluster.ids(), [1, 2, 3]);
    assert_eq!(cluster.bootstrap().split(',').count(), 3);

    let mut client = Command::new(python)
        .args(["-c", CLIENT, &cluster.bootstrap(), TOPIC, "200"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut to = client.stdin.take().unwrap();
    let mut from = BufReader::new(client.stdout.take().unwrap());
    let mut say = |what: &str| -> String {
        writeln!(to, "{what}").unwrap();
        let mut line = String::new();
        from.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the client exited after `{what}`");
        line.trim().to_string()
    };
    assert_eq!(say("go"), "sent 200");

    // To the other replica, then to the broker that held none.
    let mut seen = Vec::new();
    for round in 0..2 {
        let leader = rt.block_on(cluster.leader(TOPIC, 0)).unwrap();
        seen.push(leader);
        let to = if round == 0 {
            // The other replica of the two.
            *cluster
                .ids()
                .iter()
                .find(|&&b| b != leader)
                .expect("another broker")
        } else {
            *cluster
                .ids()
                .iter()
                .find(|b| !seen.contains(b))
                .expect("a broker that has not led")
        };
        rt.block_on(cluster.move_leader(TOPIC, 0, to))
            .expect("the leader moves");
        assert_eq!(rt.block_on(cluster.leader(TOPIC, 0)).unwrap(), to);
        let new = cluster.broker(to).unwrap();
        rt.block_on(new.observe(true)).unwrap();
        assert_eq!(say("go"), format!("sent {}", 200 * (round + 2)));
        let produced = rt.block_on(new.observed()).unwrap();
        rt.block_on(new.observe(false)).unwrap();
        let produces = produced.iter().filter(|r| r["api"] == "Produce").count();
        assert!(
            produces > 0,
            "the producer wrote to broker {to}, the new leader"
        );
    }
    seen.push(rt.block_on(cluster.leader(TOPIC, 0)).unwrap());
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "each broker led in turn: {seen:?}");

    // The controller, once found, is remembered: each question is one
    // Metadata request, to the controller alone.
    let ids = cluster.ids();
    for &id in &ids {
        rt.block_on(cluster.broker(id).unwrap().observe(true))
            .unwrap();
    }
    for _ in 0..3 {
        rt.block_on(cluster.leader(TOPIC, 0)).unwrap();
    }
    let mut asked = Vec::new();
    for &id in &ids {
        let b = cluster.broker(id).unwrap();
        let got = rt.block_on(b.observed()).unwrap();
        rt.block_on(b.observe(false)).unwrap();
        let own = got
            .iter()
            .filter(|r| r["api"] == "Metadata" && r["header"]["client_id"] == "spate-embedded");
        asked.extend(own.map(|_| id));
    }
    assert_eq!(asked.len(), 3, "one Metadata per question: {asked:?}");
    assert!(asked.iter().all(|&id| id == asked[0]), "{asked:?}");

    let nine = rt.block_on(cluster.move_leader(TOPIC, 0, 9)).unwrap_err();
    assert!(nine.to_string().contains("no broker 9"), "{nine}");
    let missing = rt.block_on(cluster.move_leader("nope", 0, 1)).unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");

    let read = say("read");
    let want: Vec<String> = (0..600).map(|n| n.to_string()).collect();
    assert_eq!(
        read,
        format!("read {}", want.join(" ")),
        "every message once, in order"
    );
    drop(to);
    assert!(client.wait().unwrap().success());
    rt.block_on(cluster.close()).expect("the cluster closes");
    rt.block_on(cluster.close())
        .expect("closing again is harmless");
}
