//! Transactions over the three partitions of `orders`, as the cluster
//! tests run them: a confluent-kafka transactional producer and a
//! read_committed reader (Python scripts), and the topic's leaders.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::{require, Server};

/// A transactional producer: commits `t1`, aborts `t2` (two records per
/// partition each), says `phase1`, waits for a line on stdin, commits
/// `t3`, says `phase2`.
pub const PRODUCE: &str = "import sys\n\
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

/// Reads every partition of `orders` from its start with read_committed up
/// to the end (the last stable offset) and prints each value.
pub const READ: &str = "import sys\n\
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

/// The leader of each partition of `topic`, as `spate topic describe`
/// shows them (`None` while one has none).
pub fn leaders(b: &Server, topic: &str) -> Option<Vec<i64>> {
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

/// The committed values a read_committed consumer reads from `bootstrap`.
pub fn read_committed(bootstrap: &str) -> Option<BTreeSet<String>> {
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
pub fn values(name: &str) -> BTreeSet<String> {
    (0..3)
        .flat_map(|p| (0..2).map(move |i| format!("{name}-{p}-{i}")))
        .collect()
}
