//! Helpers for tests of brokers in a ZooKeeper cluster: their
//! properties, the controller's znode, and what every broker reports.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::zookeeper::ZooKeeper;
use crate::{require, wait_until, Server, TempDir};

/// Short, so expiry tests take seconds (the server's tick is 500 ms).
pub const SESSION_MS: u64 = 4000;

/// Room for a session to expire and a new controller to be elected.
pub const FAILOVER: Duration = Duration::from_secs(20);

/// `server.properties` of broker `id` in the cluster at `connect`.
pub fn properties(connect: &str, id: i32) -> String {
    format!(
        "broker.id={id}\nzookeeper.connect={connect}\nzookeeper.session.timeout.ms={SESSION_MS}\n"
    )
}

/// Broker `id` of the cluster at `zk`, with a fresh data directory.
pub fn broker(zk: &ZooKeeper, id: i32) -> Server {
    Server::start_with_properties(&properties(&zk.connect(), id), &[])
}

/// A broker's data directory and `server.properties`, kept by the test
/// so that the broker can be started, killed and started again over its
/// data.
pub struct Node {
    /// Its data directory.
    pub data: TempDir,
    _config: TempDir,
    props: std::path::PathBuf,
}

impl Node {
    /// Broker `id` of the cluster at `zk` ([`properties`]), with `extra`
    /// properties (one `key=value` a line) and a fresh data directory.
    pub fn new(zk: &ZooKeeper, id: i32, extra: &str) -> Node {
        let config = TempDir::new("config");
        let props = config.0.join("server.properties");
        std::fs::write(&props, format!("{}{extra}", properties(&zk.connect(), id)))
            .expect("writing server.properties");
        Node {
            data: TempDir::new("data"),
            _config: config,
            props,
        }
    }

    /// Starts the broker over its data directory.
    pub fn start(&self) -> Server {
        Server::start_in(&self.data.0, &[&self.props.to_string_lossy()])
    }
}

/// A running broker and its [`Node`].
pub struct Kept {
    /// The broker.
    pub server: Server,
    /// Its data directory and properties.
    pub node: Node,
}

impl Kept {
    /// Starts the broker again over its data directory, with the same
    /// properties (after it was killed; the old process is dropped).
    pub fn restart(&mut self) {
        self.server = self.node.start();
    }
}

/// Broker `id` of the cluster at `zk`, with a fresh data directory the
/// test keeps.
pub fn kept(zk: &ZooKeeper, id: i32) -> Kept {
    let node = Node::new(zk, id, "");
    Kept {
        server: node.start(),
        node,
    }
}

/// Waits until broker `b` knows `n` live brokers (`spate cluster info`).
pub fn wait_live(b: &Server, n: usize) {
    wait(
        &format!("{n} live brokers"),
        Duration::from_secs(20),
        || {
            let out = b.spate(&["cluster", "info", "--json"], b"");
            let v: Value = serde_json::from_slice(&out.stdout).ok()?;
            (v["brokers"].as_array()?.len() == n).then_some(())
        },
    );
}

/// The log directories (`<topic>-<partition>`) of `topic` in the data
/// directory `dir`, sorted.
pub fn log_dirs(dir: &std::path::Path, topic: &str) -> Vec<String> {
    let prefix = format!("{topic}-");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.strip_prefix(&prefix)
                        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The JSON at `path` (which must exist).
pub fn json_at(zk: &ZooKeeper, path: &str) -> Value {
    let z = zk.get(path).unwrap_or_else(|| panic!("no {path}"));
    serde_json::from_slice(&z.data).unwrap_or_else(|e| panic!("{path}: {e}: {}", z.text()))
}

/// `/controller`'s broker id, if there is one.
pub fn controller(zk: &ZooKeeper, root: &str) -> Option<i64> {
    let z = zk.get(&format!("{root}/controller"))?;
    let v: Value = serde_json::from_slice(&z.data).expect("controller JSON");
    v["brokerid"].as_i64()
}

/// Waits up to `timeout` for `check` to give something.
pub fn wait<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    wait_until(what, timeout, &[], check)
}

/// Sends `signal` (`-STOP`, `-CONT`, ...) to process `pid`.
pub fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// What one broker's Metadata says: the brokers (id to `host:port`) and
/// the controller id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Broker id to `host:port`.
    pub brokers: BTreeMap<i64, String>,
    /// The controller's id.
    pub controller: i64,
}

/// The view of the broker at `addr`, as kcat (librdkafka) reads it
/// (`None`: no answer).
pub fn kcat_view(addr: &str) -> Option<View> {
    let out = Command::new(require("kcat"))
        .args(["-L", "-J", "-m", "5", "-b", addr])
        .output()
        .expect("kcat runs");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let brokers = v["brokers"]
        .as_array()?
        .iter()
        .map(|b| Some((b["id"].as_i64()?, b["name"].as_str()?.to_string())))
        .collect::<Option<_>>()?;
    Some(View {
        brokers,
        controller: v["controllerid"].as_i64()?,
    })
}

/// Waits until every broker of `brokers` lists exactly `brokers` and names
/// `controller`; returns how long that took.
pub fn agree(brokers: &BTreeMap<i64, Server>, controller: i64, timeout: Duration) -> Duration {
    let started = Instant::now();
    let want = View {
        brokers: brokers
            .iter()
            .map(|(id, b)| (*id, b.addr.clone()))
            .collect(),
        controller,
    };
    for b in brokers.values() {
        let mut last = None;
        wait_until(
            &format!("the broker at {} to report {want:?}", b.addr),
            timeout.saturating_sub(started.elapsed()),
            &[],
            || {
                last = kcat_view(&b.addr);
                (last.as_ref() == Some(&want)).then_some(())
            },
        );
    }
    started.elapsed()
}

/// Brokers 1 to 3 of the cluster at `zk`, and the controller once one
/// is elected.
pub fn three_brokers(zk: &ZooKeeper) -> (BTreeMap<i64, Server>, i64) {
    let brokers: BTreeMap<i64, Server> = (1..=3).map(|id| (id, broker(zk, id as i32))).collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(zk, "")
    });
    (brokers, c)
}

/// One partition as `spate topic describe --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The leader's id (-1: none).
    pub leader: i64,
    /// The assigned replicas.
    pub replicas: Vec<i64>,
    /// The in-sync replicas.
    pub isr: Vec<i64>,
}

/// Partition 0 of `topic` as broker `b` describes it.
pub fn describe(b: &Server, topic: &str) -> Option<Described> {
    let out = b.spate(&["topic", "describe", topic, "--json"], b"");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let p = v["partitions"].as_array()?.first()?.clone();
    let ids = |v: &Value| -> Option<Vec<i64>> { v.as_array()?.iter().map(Value::as_i64).collect() };
    Some(Described {
        leader: p["leader"].as_i64()?,
        replicas: ids(&p["replicas"])?,
        isr: ids(&p["isr"])?,
    })
}

/// The values of partition 0 of `topic`, in offset order, with their
/// offsets, read by a confluent-kafka consumer from the beginning to the
/// end.
pub fn read_all(bootstrap: &str, topic: &str) -> Vec<(i64, String)> {
    let script = "import sys\n\
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING\n\
        c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'reader', \
        'enable.auto.commit': False, 'enable.partition.eof': True, 'debug': 'fetch'})\n\
        c.assign([TopicPartition(sys.argv[2], 0, OFFSET_BEGINNING)])\n\
        while True:\n\
        \x20   m = c.poll(20)\n\
        \x20   if m is None:\n\
        \x20       sys.exit('no message or end within 20 s')\n\
        \x20   if m.error():\n\
        \x20       if m.error().code() == -191:\n\
        \x20           break\n\
        \x20       sys.exit(str(m.error()))\n\
        \x20   print(m.offset(), m.value().decode())\n\
        c.close()\n";
    let out = Command::new(require("python3"))
        .args(["-c", script, bootstrap, topic])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "reading back failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (o, v) = l.split_once(' ').expect("OFFSET VALUE");
            (o.parse().expect("an offset"), v.to_string())
        })
        .collect()
}

/// An idempotent acks=all confluent-kafka producer
/// (`tests/py/acked_producer.py`) writing the records "0", "1", ... to
/// partition 0 of a topic, a few milliseconds apart, and saying at which
/// offset each was acknowledged.
pub struct AckedProducer {
    watched: crate::Watched,
    count: usize,
}

impl AckedProducer {
    /// Starts writing `count` records to `topic` at `bootstrap`, 10 ms apart.
    pub fn start(bootstrap: &str, topic: &str, count: usize) -> AckedProducer {
        let mut cmd = Command::new(require("python3"));
        cmd.arg(crate::workspace().join("tests/py/acked_producer.py"))
            .args([bootstrap, topic, &count.to_string(), "10"]);
        AckedProducer {
            watched: crate::Watched::spawn("producer", cmd),
            count,
        }
    }

    /// Waits until `n` records are acknowledged.
    pub fn wait_acked(&self, n: usize) {
        wait(
            &format!("{n} acknowledged records"),
            Duration::from_secs(30),
            || {
                let acked = self
                    .watched
                    .lines()
                    .iter()
                    .filter(|l| l.starts_with("acked"))
                    .count();
                (acked >= n).then_some(())
            },
        );
    }

    /// Waits for the producer to finish; every record must have been
    /// acknowledged (none given up on). Returns each record's offset.
    pub fn finish(mut self) -> BTreeMap<i64, i64> {
        let p = &mut self.watched;
        assert!(
            p.wait_exit(Duration::from_secs(180)).is_some(),
            "the producer did not finish\n{}",
            p.transcript()
        );
        let lines = p.lines();
        assert!(
            !lines.iter().any(|l| l.starts_with("failed")),
            "{}",
            p.transcript()
        );
        let acked: BTreeMap<i64, i64> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("acked "))
            .map(|l| {
                let (i, o) = l.split_once(' ').expect("I OFFSET");
                (i.parse().expect("i"), o.parse().expect("offset"))
            })
            .collect();
        assert_eq!(acked.len(), self.count, "{}", p.transcript());
        acked
    }
}

/// Checks what [`read_all`] read back against what an [`AckedProducer`]
/// was told: every record once, in order, dense, each at the offset it
/// was acknowledged at.
pub fn check_read_back(read: &[(i64, String)], acked: &BTreeMap<i64, i64>) {
    let values: Vec<i64> = read
        .iter()
        .map(|(_, v)| v.parse().expect("a number"))
        .collect();
    assert_eq!(
        values,
        (0..acked.len() as i64).collect::<Vec<_>>(),
        "dense, in order, once each"
    );
    for (offset, v) in read {
        let i: i64 = v.parse().expect("a number");
        assert_eq!(
            acked[&i], *offset,
            "record {i} acknowledged at another offset"
        );
    }
}
