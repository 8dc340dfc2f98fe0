//! A randomized fault run against three brokers on a real ZooKeeper:
//! while two idempotent confluent-kafka producers write with acks=all to
//! a topic of four partitions (replication factor 3,
//! `min.insync.replicas=2`), a seeded random schedule SIGKILLs brokers
//! and restarts them over their data, freezes them with SIGSTOP (some
//! past their ZooKeeper session), and freezes or kills and restarts
//! ZooKeeper itself, one fault at a time, each healed before the next,
//! so at least two brokers are always running.
//!
//! Then everything is healed, every partition's ISR must be full again,
//! and the run checks:
//!
//! - **acknowledged writes**: every record a producer was told was
//!   written is in the log at the offset it was acknowledged at, and no
//!   value is in a partition twice; a consumer reads back exactly what
//!   the logs hold;
//! - **replicas**: each partition's log, read from each broker's data
//!   directory (Kafka's segment files), is dense from offset 0, its
//!   leader epochs never go down, every batch's CRC holds, and the three
//!   replicas are identical batch for batch (offsets, leader epoch, CRC,
//!   producer, values);
//! - **one leader per epoch**: the logs of every broker are sampled all
//!   through the run, and a (partition, leader epoch, offset) must always
//!   hold the same batch wherever and whenever it is seen. A leader
//!   stamps its epoch on what it appends and writes an offset once per
//!   epoch, and followers copy byte for byte, so two brokers that both
//!   accepted writes as leader of one partition in one epoch (say two
//!   controllers handing out the same epoch, or a frozen leader that
//!   kept its epoch) leave two different batches under one key, even if
//!   truncation later erases one of them.
//!
//! `SPATE_FAULT_SEED` replays a run (the seed is always printed) and
//! `SPATE_FAULT_SECONDS` sets how long faults go on (60 s by default,
//! for CI); `scripts/faults` runs it longer. A failed run leaves the
//! full logs of every broker process and of ZooKeeper in
//! `target/faults/logs-SEED/` (`SPATE_FAULT_KEEP_LOGS=1`: every run).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use spate_e2e::cluster::kill;
use spate_e2e::logs::{read_partition, Batch, EpochLedger, Tail};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, spate, wait_until, workspace, Server, TempDir, Watched};

/// Short, so a killed or frozen broker's session ends in seconds.
const SESSION_MS: u64 = 4000;
const TOPIC: &str = "faults";
const PARTITIONS: i32 = 4;
const BROKERS: i32 = 3;
const PRODUCERS: usize = 2;

/// splitmix64: a small generator whose sequence depends on the seed only.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A duration between `lo` and `hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
    )
}

/// One broker: its data directory and properties, kept across restarts,
/// and the process while it runs. Killed processes are kept (dead) in
/// `gone`, so their logs are printed if the test fails.
struct Node {
    id: i32,
    dir: TempDir,
    _config: TempDir,
    props: PathBuf,
    server: Server,
    gone: Vec<Server>,
}

impl Node {
    fn new(zk: &ZooKeeper, id: i32) -> Node {
        let config = TempDir::new("config");
        let props = config.0.join("server.properties");
        std::fs::write(
            &props,
            format!(
                "broker.id={id}\nzookeeper.connect={}\nzookeeper.session.timeout.ms={SESSION_MS}\n\
                 replica.lag.time.max.ms=5000\n",
                zk.connect()
            ),
        )
        .expect("writing server.properties");
        let dir = TempDir::new("data");
        let server = start(&dir, &props, 0);
        Node {
            id,
            dir,
            _config: config,
            props,
            server,
            gone: Vec::new(),
        }
    }

    /// Starts the broker again over its data, on the port it had (as a
    /// restarted Kafka broker keeps its listener), so clients and the
    /// other brokers reconnect to the address they knew.
    fn restart(&mut self) {
        let fresh = start(&self.dir, &self.props, self.server.port());
        let dead = std::mem::replace(&mut self.server, fresh);
        self.gone.push(dead);
    }
}

/// Where a failed run leaves every log (`target/faults/logs-SEED/`).
static KEEP: OnceLock<PathBuf> = OnceLock::new();

/// Whether logs are kept: when the test fails, or always with
/// `SPATE_FAULT_KEEP_LOGS=1`.
fn keeping() -> bool {
    std::thread::panicking() || std::env::var_os("SPATE_FAULT_KEEP_LOGS").is_some_and(|v| v == "1")
}

/// Copies `src` into [`KEEP`] as `name` when [`keeping`].
fn keep(src: &std::path::Path, name: &str) {
    if let (true, Some(dir)) = (keeping(), KEEP.get()) {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::copy(src, dir.join(name));
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for (k, s) in self.gone.iter().chain([&self.server]).enumerate() {
            keep(&s.log_path(), &format!("broker-{}-run-{k}.log", self.id));
        }
    }
}

/// Keeps ZooKeeper's log of a failed run (dropped before the server).
struct KeepZkLog(PathBuf);

impl Drop for KeepZkLog {
    fn drop(&mut self) {
        keep(&self.0, "zookeeper.log");
        if let (true, Some(dir)) = (keeping(), KEEP.get()) {
            eprintln!(
                "the logs of every broker and of ZooKeeper are in {}",
                dir.display()
            );
        }
    }
}

/// `spate serve --listen 127.0.0.1:PORT --data-dir DIR PROPS` (port 0:
/// any free one).
fn start(dir: &TempDir, props: &std::path::Path, port: u16) -> Server {
    let mut cmd = Command::new(spate());
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&dir.0)
        .arg(props);
    Server::spawn(cmd)
}

/// The run so far: what it did, and the logs seen along the way.
struct Run {
    started: Instant,
    faults: usize,
    ledger: EpochLedger,
    tail: Tail,
}

impl Run {
    fn say(&mut self, what: &str) {
        self.faults += 1;
        println!(
            "[{:>6.1}s] fault {}: {what}",
            self.started.elapsed().as_secs_f64(),
            self.faults
        );
    }

    /// Reads what every broker appended to its logs since the last look
    /// (headers only: they are being written) into the ledger.
    fn observe(&mut self, nodes: &[Node]) {
        for n in nodes {
            for p in 0..PARTITIONS {
                let new = self.tail.new_batches(&n.dir.0, TOPIC, p);
                self.ledger.observe(n.id, p, &new);
            }
        }
    }

    /// Sleeps for `d`, sampling the logs every half second meanwhile.
    fn sleep(&mut self, nodes: &[Node], d: Duration) {
        let end = Instant::now() + d;
        loop {
            self.observe(nodes);
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(500)));
        }
    }
}

/// One partition as `spate topic describe --json` shows it.
fn describe(b: &Server) -> Option<BTreeMap<i64, (i64, Vec<i64>)>> {
    let out = b.spate(&["topic", "describe", TOPIC, "--json"], b"");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["partitions"]
        .as_array()?
        .iter()
        .map(|p| {
            let isr = p["isr"]
                .as_array()?
                .iter()
                .map(Value::as_i64)
                .collect::<Option<Vec<_>>>()?;
            Some((p["partition"].as_i64()?, (p["leader"].as_i64()?, isr)))
        })
        .collect()
}

/// Every partition's (offset, value) as a confluent-kafka consumer reads
/// them from the beginning to the end.
fn consume_all(bootstrap: &str) -> BTreeMap<i32, Vec<(i64, String)>> {
    let script = "import sys\n\
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING\n\
        n = int(sys.argv[3])\n\
        c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'fault-reader', \
        'enable.auto.commit': False, 'enable.partition.eof': True})\n\
        c.assign([TopicPartition(sys.argv[2], p, OFFSET_BEGINNING) for p in range(n)])\n\
        ended = set()\n\
        while len(ended) < n:\n\
        \x20   m = c.poll(30)\n\
        \x20   if m is None:\n\
        \x20       sys.exit('no message or end within 30 s; ended: %s' % sorted(ended))\n\
        \x20   if m.error():\n\
        \x20       if m.error().code() == -191:\n\
        \x20           ended.add(m.partition())\n\
        \x20           continue\n\
        \x20       sys.exit(str(m.error()))\n\
        \x20   print(m.partition(), m.offset(), m.value().decode())\n\
        c.close()\n";
    let out = Command::new(require("python3"))
        .args(["-c", script, bootstrap, TOPIC, &PARTITIONS.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "reading back failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut read: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = l.splitn(3, ' ');
        let (Some(p), Some(o), Some(v)) = (f.next(), f.next(), f.next()) else {
            panic!("unexpected consumer line {l:?}")
        };
        read.entry(p.parse().expect("a partition"))
            .or_default()
            .push((o.parse().expect("an offset"), v.to_string()));
    }
    read
}

/// Fails the test when a broker exited by itself (a crash, or a
/// refusal to come back) rather than by a fault of the run.
fn all_running(nodes: &mut [Node]) {
    for n in nodes {
        assert!(
            n.server.alive(),
            "broker {} exited on its own (its log follows)",
            n.id
        );
    }
}

/// " (the controller)" when ZooKeeper names broker `id` as the
/// controller now.
fn role(zk: &ZooKeeper, id: i32) -> &'static str {
    let controller = zk
        .data_now("/controller")
        .flatten()
        .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
        .and_then(|v| v["brokerid"].as_i64());
    if controller == Some(i64::from(id)) {
        " (the controller)"
    } else {
        ""
    }
}

/// Does one random fault and heals it.
fn fault(run: &mut Run, rng: &mut Rng, zk: &mut ZooKeeper, nodes: &mut [Node]) {
    all_running(nodes);
    let session = Duration::from_millis(SESSION_MS);
    match rng.below(10) {
        0..=2 => {
            let i = rng.below(nodes.len() as u64) as usize;
            let id = nodes[i].id;
            let was = role(zk, id);
            kill("-KILL", nodes[i].server.pid());
            let t = Instant::now();
            // A broker cannot register while its old registration lives.
            let path = format!("/brokers/ids/{id}");
            let mut last = None;
            while last != Some(false) {
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "broker {id}'s registration {path} did not go within 60 s of its SIGKILL \
                     (the last look found {})",
                    match last {
                        Some(_) => "it still there",
                        None => "no ZooKeeper session to look with",
                    }
                );
                last = zk.exists_now(&path);
                std::thread::sleep(Duration::from_millis(100));
            }
            let gone = t.elapsed();
            let down = rng.millis(0, 3000);
            run.sleep(nodes, down);
            nodes[i].restart();
            run.say(&format!(
                "SIGKILL broker {id}{was} (registration gone after {:.1} s), restarted over its \
                 data {:.1} s later",
                gone.as_secs_f64(),
                down.as_secs_f64()
            ));
        }
        3..=5 => {
            let i = rng.below(nodes.len() as u64) as usize;
            let id = nodes[i].id;
            // Half the freezes outlast the session.
            let d = if rng.below(2) == 0 {
                rng.millis(300, 2500)
            } else {
                session + rng.millis(1000, 5000)
            };
            let was = role(zk, id);
            kill("-STOP", nodes[i].server.pid());
            run.sleep(nodes, d);
            kill("-CONT", nodes[i].server.pid());
            run.say(&format!(
                "SIGSTOP broker {id}{was} for {:.1} s ({} the {} s session), SIGCONT",
                d.as_secs_f64(),
                if d > session { "past" } else { "within" },
                SESSION_MS / 1000
            ));
        }
        6..=7 => {
            let d = if rng.below(2) == 0 {
                rng.millis(500, 3000)
            } else {
                session + rng.millis(500, 4000)
            };
            kill("-STOP", zk.pid());
            run.sleep(nodes, d);
            kill("-CONT", zk.pid());
            run.say(&format!(
                "SIGSTOP ZooKeeper for {:.1} s, SIGCONT",
                d.as_secs_f64()
            ));
        }
        _ => {
            zk.kill9();
            let d = rng.millis(200, 6000);
            run.sleep(nodes, d);
            let t = Instant::now();
            zk.restart();
            run.say(&format!(
                "SIGKILL ZooKeeper, restarted over its data {:.1} s later (serving after {:.1} s)",
                d.as_secs_f64(),
                t.elapsed().as_secs_f64()
            ));
        }
    }
}

#[test]
fn acknowledged_writes_survive_random_faults_and_replicas_agree() {
    let seed = env_u64("SPATE_FAULT_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let budget = Duration::from_secs(env_u64("SPATE_FAULT_SECONDS").unwrap_or(60));
    println!(
        "fault run: seed {seed} (replay with SPATE_FAULT_SEED={seed}), faults for {} s",
        budget.as_secs()
    );
    let mut rng = Rng(seed);
    let _ = KEEP.set(workspace().join(format!("target/faults/logs-{seed}")));

    let mut zk = ZooKeeper::start();
    let _zk_log = KeepZkLog(zk.log_path());
    let mut nodes: Vec<Node> = (1..=BROKERS).map(|id| Node::new(&zk, id)).collect();
    let any = &nodes[0].server;
    wait_until("three live brokers", Duration::from_secs(30), &[], || {
        let out = any.spate(&["cluster", "info", "--json"], b"");
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["brokers"].as_array()?.len() == BROKERS as usize).then_some(())
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
            "--config",
            "min.insync.replicas=2",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    wait_until("the topic in sync", Duration::from_secs(30), &[], || {
        describe(any)
            .filter(|d| d.len() == PARTITIONS as usize && d.values().all(|(_, isr)| isr.len() == 3))
    });

    let bootstrap: Vec<String> = nodes.iter().map(|n| n.server.addr.clone()).collect();
    let bootstrap = bootstrap.join(",");
    let mut producers: Vec<Watched> = (0..PRODUCERS)
        .map(|i| {
            let mut cmd = Command::new(require("python3"));
            cmd.arg(workspace().join("tests/py/fault_producer.py"))
                .args([
                    &bootstrap,
                    TOPIC,
                    &PARTITIONS.to_string(),
                    &budget.as_secs().to_string(),
                    &format!("p{i}"),
                ]);
            Watched::spawn(&format!("producer p{i}"), cmd)
        })
        .collect();

    let mut run = Run {
        started: Instant::now(),
        faults: 0,
        ledger: EpochLedger::default(),
        tail: Tail::default(),
    };
    while run.started.elapsed() < budget {
        let pause = rng.millis(500, 3000);
        run.sleep(&nodes, pause);
        fault(&mut run, &mut rng, &mut zk, &mut nodes);
    }
    all_running(&mut nodes);
    println!(
        "[{:>6.1}s] faults over: {} done; every broker and ZooKeeper running",
        run.started.elapsed().as_secs_f64(),
        run.faults
    );

    // Heal: the producers settle what they sent, the ISRs fill up.
    for p in &mut producers {
        let status = p.wait_exit(Duration::from_secs(360));
        assert!(
            status.is_some(),
            "{} did not settle its records\n{}",
            p.name,
            p.transcript()
        );
    }
    let mut acked: Vec<(i32, i64, String)> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut sent = 0;
    for p in &producers {
        let lines = p.lines();
        assert!(
            lines.iter().any(|l| l.starts_with("done")),
            "{}",
            p.transcript()
        );
        for l in &lines {
            let mut f = l.splitn(4, ' ');
            match f.next() {
                Some("acked") => {
                    let (Some(part), Some(o), Some(v)) = (f.next(), f.next(), f.next()) else {
                        panic!("unexpected line {l:?}")
                    };
                    acked.push((
                        part.parse().expect("a partition"),
                        o.parse().expect("an offset"),
                        v.to_string(),
                    ));
                }
                Some("done") => sent += f.next().and_then(|n| n.parse().ok()).unwrap_or(0),
                Some("failed" | "unsettled") => failed.push(l.clone()),
                _ => {}
            }
        }
    }
    println!(
        "producers: {sent} sent, {} acknowledged, {} failed or unsettled",
        acked.len(),
        failed.len()
    );
    for l in failed.iter().take(10) {
        println!("  {l}");
    }
    assert!(!acked.is_empty(), "nothing was acknowledged");

    let isr = wait_until(
        "every partition's ISR full again after healing",
        Duration::from_secs(120),
        &[],
        || {
            describe(&nodes[0].server).filter(|d| {
                d.len() == PARTITIONS as usize
                    && d.values().all(|(l, isr)| *l >= 0 && isr.len() == 3)
            })
        },
    );
    println!("healed: (leader, ISR) per partition {isr:?}");

    // The replicas converge on the leader's log end.
    let mut last = String::new();
    let converged = (0..600).any(|_| {
        run.observe(&nodes);
        let heads: Vec<Vec<Option<(i64, i32, u32)>>> = nodes
            .iter()
            .map(|n| {
                (0..PARTITIONS)
                    .map(|p| match read_partition(&n.dir.0, TOPIC, p, false) {
                        Some(Ok(l)) => l.last().map(|b| (b.last_offset, b.leader_epoch, b.crc)),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        last = format!("{heads:?}");
        if heads.windows(2).all(|w| w[0] == w[1]) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
        false
    });
    assert!(
        converged,
        "the replicas' logs did not reach the same end within 60 s: (last offset, epoch, CRC) \
         per broker and partition: {last}"
    );

    // Sampled from the running brokers (the final logs are added below).
    let sampled = run.ledger.distinct();
    assert!(sampled > 0, "sampling the logs during the run saw nothing");

    // (b) Dense, checked, identical replicas.
    let mut logs: BTreeMap<i32, Vec<Batch>> = BTreeMap::new();
    let mut batches = 0;
    for p in 0..PARTITIONS {
        for n in &nodes {
            let log = read_partition(&n.dir.0, TOPIC, p, true)
                .unwrap_or_else(|| panic!("broker {} has no {TOPIC}-{p}", n.id))
                .unwrap_or_else(|e| panic!("broker {}: {e}", n.id));
            run.ledger.observe(n.id, p, &log);
            let mut next = 0;
            let mut epoch = -1;
            for b in &log {
                assert_eq!(
                    b.base_offset, next,
                    "broker {}, {TOPIC}-{p}: a gap or overlap at offset {next}: {b:?}",
                    n.id
                );
                assert!(
                    b.leader_epoch >= epoch,
                    "broker {}, {TOPIC}-{p}: leader epoch goes down from {epoch} at {b:?}",
                    n.id
                );
                let offsets: Vec<i64> = b.values.iter().map(|(o, _)| *o).collect();
                assert_eq!(
                    offsets,
                    (b.base_offset..=b.last_offset).collect::<Vec<_>>(),
                    "broker {}, {TOPIC}-{p}: records of {b:?}",
                    n.id
                );
                next = b.last_offset + 1;
                epoch = b.leader_epoch;
            }
            match logs.get(&p) {
                None => {
                    batches += log.len();
                    logs.insert(p, log);
                }
                Some(first) => {
                    let at = first.iter().zip(&log).position(|(a, b)| a != b);
                    assert!(
                        at.is_none() && first.len() == log.len(),
                        "{TOPIC}-{p}: broker {} differs from broker {} at batch {at:?} \
                         ({} and {} batches): {:?} vs {:?}",
                        n.id,
                        nodes[0].id,
                        first.len(),
                        log.len(),
                        at.and_then(|i| first.get(i)),
                        at.and_then(|i| log.get(i)),
                    );
                }
            }
        }
    }

    // (c) One leader per partition and epoch, over everything seen.
    assert!(
        run.ledger.conflicts.is_empty(),
        "two different batches under one (partition, leader epoch, offset): {:#?}",
        run.ledger.conflicts
    );

    // (a) Every acknowledged write at its offset, every value once, and
    // a consumer reads back what the logs hold.
    let mut values: BTreeMap<i32, BTreeMap<i64, String>> = BTreeMap::new();
    for (p, log) in &logs {
        let mut seen = BTreeSet::new();
        let m = values.entry(*p).or_default();
        for b in log {
            for (o, v) in &b.values {
                let v = String::from_utf8_lossy(v.as_deref().expect("a value")).into_owned();
                assert!(seen.insert(v.clone()), "{TOPIC}-{p}: {v} twice");
                m.insert(*o, v);
            }
        }
    }
    for (p, o, v) in &acked {
        let found = values.get(p).and_then(|m| m.get(o));
        assert_eq!(
            found,
            Some(v),
            "{v} was acknowledged at {TOPIC}-{p} offset {o}, which holds {found:?}"
        );
    }
    let now: Vec<String> = nodes.iter().map(|n| n.server.addr.clone()).collect();
    let want: BTreeMap<i32, Vec<(i64, String)>> = (0..PARTITIONS)
        .map(|p| {
            let m = values.get(&p);
            let v = m.map(|m| m.iter().map(|(o, v)| (*o, v.clone())).collect());
            (p, v.unwrap_or_default())
        })
        .collect();
    let records: usize = want.values().map(Vec::len).sum();
    // A leader's high watermark reaches its log end with the followers'
    // next fetch after they caught up: a read may end short once or twice.
    let mut read = BTreeMap::new();
    for _ in 0..10 {
        read = consume_all(&now.join(","));
        read.retain(|_, v: &mut Vec<(i64, String)>| !v.is_empty());
        let mut full = want.clone();
        full.retain(|_, v| !v.is_empty());
        if read == full {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    for (p, want) in &want {
        assert_eq!(
            read.get(p).cloned().unwrap_or_default(),
            *want,
            "{TOPIC}-{p}: the consumer read other than the logs hold (ten tries)"
        );
    }
    let leaders: BTreeSet<(i32, i32)> = logs
        .iter()
        .flat_map(|(p, l)| l.iter().map(|b| (*p, b.leader_epoch)))
        .collect();
    println!(
        "checked: {} acknowledged writes at their offsets; {records} records in {batches} \
         batches over {PARTITIONS} partitions, dense and identical on {BROKERS} replicas \
         (CRC checked), read back by a consumer; {} leader epochs in the final logs; \
         {} batch observations of {} distinct (partition, epoch, offset) in {} (partition, \
         epoch), {sampled} of them sampled from the running brokers, no conflict",
        acked.len(),
        leaders.len(),
        run.ledger.observations,
        run.ledger.distinct(),
        run.ledger.epochs()
    );
}
