//! Brokers in a ZooKeeper cluster (`zookeeper.connect`), against a real
//! ZooKeeper server: registration with Kafka's znodes and JSON, one
//! controller and its successor after a crash, a duplicate broker id
//! refused, a chroot, a broker frozen past its session, a clean shutdown,
//! a data directory of another cluster; and the membership every broker
//! serves, as the controller's UpdateMetadata tells it, through a crash,
//! a restart and a new controller, read by kcat, `spate cluster info` and
//! confluent-kafka.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, spate, wait_until, Server, TempDir, Watched};

/// Short, so expiry tests take seconds (the server's tick is 500 ms).
const SESSION_MS: u64 = 4000;

/// Room for a session to expire and a new controller to be elected.
const FAILOVER: Duration = Duration::from_secs(20);

fn properties(connect: &str, id: i32) -> String {
    format!(
        "broker.id={id}\nzookeeper.connect={connect}\nzookeeper.session.timeout.ms={SESSION_MS}\n"
    )
}

fn broker(zk: &ZooKeeper, id: i32) -> Server {
    Server::start_with_properties(&properties(&zk.connect(), id), &[])
}

fn json_at(zk: &ZooKeeper, path: &str) -> Value {
    let z = zk.get(path).unwrap_or_else(|| panic!("no {path}"));
    serde_json::from_slice(&z.data).unwrap_or_else(|e| panic!("{path}: {e}: {}", z.text()))
}

/// `/controller`'s broker id, if there is one.
fn controller(zk: &ZooKeeper, root: &str) -> Option<i64> {
    let z = zk.get(&format!("{root}/controller"))?;
    let v: Value = serde_json::from_slice(&z.data).expect("controller JSON");
    v["brokerid"].as_i64()
}

fn controller_epoch(zk: &ZooKeeper) -> i32 {
    zk.get("/controller_epoch")
        .expect("/controller_epoch")
        .text()
        .parse()
        .expect("a number")
}

fn wait<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    wait_until(what, timeout, &[], check)
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// `spate serve --listen 127.0.0.1:0 --data-dir DIR SERVER_PROPERTIES`,
/// and the directory of that file.
fn serve_in(properties: &str, data_dir: &Path) -> (Command, TempDir) {
    let config = TempDir::new("config");
    let file = config.0.join("server.properties");
    std::fs::write(&file, properties).expect("writing server.properties");
    let mut cmd = Command::new(spate());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .arg(&file);
    (cmd, config)
}

/// `spate serve` that is expected to fail at startup, with its output.
fn failing_broker(properties: &str, data_dir: &Path) -> Watched {
    let (cmd, _config) = serve_in(properties, data_dir);
    let mut w = Watched::spawn("second broker", cmd);
    let status = w.wait_exit(Duration::from_secs(30));
    assert!(
        matches!(status, Some(s) if !s.success()),
        "it should have failed to start, but: {status:?}\n{}",
        w.transcript()
    );
    w
}

#[test]
fn three_brokers_register_with_kafkas_json_and_one_is_controller() {
    let zk = ZooKeeper::start();
    let brokers: Vec<Server> = (1..=3).map(|id| broker(&zk, id)).collect();
    // A broker says it listens only once it is registered.
    assert_eq!(
        zk.children("/brokers/ids"),
        Some(vec!["1".into(), "2".into(), "3".into()])
    );
    for (id, b) in (1..=3).zip(&brokers) {
        let path = format!("/brokers/ids/{id}");
        let mut v = json_at(&zk, &path);
        let timestamp = v["timestamp"].take();
        assert!(
            timestamp.as_str().is_some_and(|t| t.parse::<i64>().is_ok()),
            "{timestamp}"
        );
        let port = b.port();
        assert_eq!(
            v,
            json!({
                "version": 5,
                "host": "127.0.0.1",
                "port": port,
                "endpoints": [format!("PLAINTEXT://127.0.0.1:{port}")],
                "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
                "jmx_port": -1,
                "features": {},
                "timestamp": null,
            })
        );
        assert_ne!(
            zk.get(&path).unwrap().stat.ephemeral_owner,
            0,
            "{path} is ephemeral"
        );
    }
    // The persistent paths a Kafka broker creates.
    for path in [
        "/brokers/topics",
        "/brokers/seqid",
        "/config/topics",
        "/config/changes",
        "/config/brokers",
        "/admin/delete_topics",
        "/isr_change_notification",
        "/latest_producer_id_block",
        "/log_dir_event_notification",
    ] {
        let z = zk.get(path).unwrap_or_else(|| panic!("no {path}"));
        assert_eq!(z.stat.ephemeral_owner, 0, "{path} is persistent");
    }
    // One cluster id, which every broker reports to clients.
    let cluster = json_at(&zk, "/cluster/id");
    assert_eq!(cluster["version"], "1");
    let id = cluster["id"].as_str().expect("an id").to_string();
    for b in &brokers {
        let out = b.spate(&["cluster", "info"], b"");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&id),
            "broker {} reports another cluster id:\n{text}",
            b.addr
        );
    }
    // Exactly one controller (one /controller znode), in the first term.
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "")
    });
    assert!((1..=3).contains(&c));
    let mut v = json_at(&zk, "/controller");
    assert!(v["timestamp"].take().as_str().is_some());
    assert_eq!(v, json!({"version": 1, "brokerid": c, "timestamp": null}));
    assert_ne!(zk.get("/controller").unwrap().stat.ephemeral_owner, 0);
    assert_eq!(controller_epoch(&zk), 1);
}

#[test]
fn killing_the_controller_elects_another_with_a_higher_epoch() {
    let zk = ZooKeeper::start();
    let mut brokers: Vec<Option<Server>> = (1..=3).map(|id| Some(broker(&zk, id))).collect();
    let first = wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "")
    });
    let epoch = controller_epoch(&zk);
    brokers[first as usize - 1]
        .take()
        .expect("the controller")
        .kill9();
    let killed_at = Instant::now();
    let next = wait("another controller", FAILOVER, || {
        controller(&zk, "").filter(|c| *c != first)
    });
    let took = killed_at.elapsed();
    assert!(controller_epoch(&zk) > epoch, "the epoch went up");
    let ids = zk.children("/brokers/ids").unwrap();
    assert!(!ids.contains(&first.to_string()), "{ids:?}");
    assert!(ids.contains(&next.to_string()), "{ids:?}");
    println!("controller {first} -> {next} in {took:?} (session timeout {SESSION_MS} ms)");
}

#[test]
fn a_second_broker_with_the_same_id_fails_to_start() {
    let zk = ZooKeeper::start();
    let _first = broker(&zk, 1);
    let owner = zk.get("/brokers/ids/1").unwrap().stat;
    let dir = TempDir::new("data");
    let second = failing_broker(&properties(&zk.connect(), 1), &dir.0);
    let err = second.err_lines().join("\n");
    assert!(
        err.contains("broker.id 1 is already registered")
            && err.contains("/brokers/ids/1, node already exists and owner"),
        "{}",
        second.transcript()
    );
    assert!(second.lines().is_empty(), "it never said it listens");
    // The first registration stands.
    let now = zk.get("/brokers/ids/1").unwrap().stat;
    assert_eq!(
        (now.czxid, now.ephemeral_owner),
        (owner.czxid, owner.ephemeral_owner)
    );
}

#[test]
fn a_chroot_is_created_and_everything_goes_under_it() {
    let zk = ZooKeeper::start();
    let connect = format!("{}/spate-test", zk.connect());
    // The command-line flag this time.
    let _b = Server::start(&["--zookeeper", &connect, "--node-id", "7"]);
    assert_eq!(
        zk.children("/spate-test/brokers/ids"),
        Some(vec!["7".into()])
    );
    assert!(zk.get("/spate-test/cluster/id").is_some());
    wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "/spate-test")
    });
    let mut top = zk.children("/").unwrap();
    top.retain(|c| c != "zookeeper");
    assert_eq!(top, vec!["spate-test"], "nothing outside the chroot");
}

#[test]
fn a_broker_frozen_past_its_session_loses_its_registration_and_registers_again() {
    let zk = ZooKeeper::start();
    let b1 = broker(&zk, 1);
    wait("broker 1 is controller", Duration::from_secs(10), || {
        controller(&zk, "").filter(|c| *c == 1)
    });
    let b2 = broker(&zk, 2);
    let before = zk.get("/brokers/ids/1").unwrap().stat;
    let epoch = controller_epoch(&zk);

    kill("-STOP", b1.pid());
    wait("broker 1's registration to go", FAILOVER, || {
        zk.get("/brokers/ids/1").is_none().then_some(())
    });
    wait("broker 2 to take over", FAILOVER, || {
        controller(&zk, "").filter(|c| *c == 2)
    });
    assert!(controller_epoch(&zk) > epoch);

    kill("-CONT", b1.pid());
    let after = wait("broker 1 to register again", FAILOVER, || {
        zk.get("/brokers/ids/1").map(|z| z.stat)
    });
    assert_ne!(
        after.ephemeral_owner, before.ephemeral_owner,
        "a new session"
    );
    assert!(after.czxid > before.czxid, "a new broker epoch");
    // The old controller came back as a broker: it does not take over.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(controller(&zk, ""), Some(2));
    assert_eq!(
        zk.children("/brokers/ids"),
        Some(vec!["1".into(), "2".into()])
    );
    // The new controller's UpdateMetadata, addressed to broker 1's new
    // registration, reaches it: both list both, and broker 2 as controller.
    let both = BTreeMap::from([(1, b1), (2, b2)]);
    agree(&both, 2, Duration::from_secs(10));
}

#[test]
fn sigterm_closes_the_session_so_its_znodes_go_at_once() {
    let zk = ZooKeeper::start();
    // A session long enough that only a closed session explains a prompt
    // change (10 s is the most this server grants).
    let long = |id| {
        let p = properties(&zk.connect(), id)
            .replace(&format!("timeout.ms={SESSION_MS}"), "timeout.ms=10000");
        Server::start_with_properties(&p, &[])
    };
    let b1 = long(1);
    wait("broker 1 is controller", Duration::from_secs(10), || {
        controller(&zk, "").filter(|c| *c == 1)
    });
    let _b2 = long(2);
    let stopped_at = Instant::now();
    assert!(b1.terminate(), "a clean exit");
    assert!(zk.get("/brokers/ids/1").is_none(), "gone with the session");
    wait("broker 2 to take over", Duration::from_secs(5), || {
        controller(&zk, "").filter(|c| *c == 2)
    });
    assert!(
        stopped_at.elapsed() < Duration::from_secs(5),
        "well before a session timeout"
    );
}

#[test]
fn the_first_data_directory_names_the_cluster_and_another_clusters_is_refused() {
    let zk = ZooKeeper::start();
    // Two single brokers, each with its own data directory and cluster id.
    let dirs = [TempDir::new("data"), TempDir::new("data")];
    let ids: Vec<String> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // meta.properties is written before the broker listens.
            Server::start_in(&d.0, &["--node-id", &(i + 1).to_string()]).kill9();
            let meta = std::fs::read_to_string(d.0.join("meta.properties")).unwrap();
            meta.lines()
                .find_map(|l| l.strip_prefix("cluster.id="))
                .expect("cluster.id")
                .to_string()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    // The first joins an empty ZooKeeper: its id becomes the cluster's.
    let (cmd, _config) = serve_in(&properties(&zk.connect(), 1), &dirs[0].0);
    let _b1 = Server::spawn(cmd);
    assert_eq!(json_at(&zk, "/cluster/id")["id"], ids[0].as_str());
    // The second belongs to another cluster (Kafka's InconsistentClusterIdException).
    let second = failing_broker(&properties(&zk.connect(), 2), &dirs[1].0);
    let err = second.err_lines().join("\n");
    assert!(
        err.contains("InconsistentClusterIdException")
            && err.contains(&ids[0])
            && err.contains(&ids[1]),
        "{}",
        second.transcript()
    );
    assert_eq!(zk.children("/brokers/ids"), Some(vec!["1".into()]));
}

/// What one broker's Metadata says: the brokers (id to `host:port`) and
/// the controller id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    brokers: BTreeMap<i64, String>,
    controller: i64,
}

/// The view of the broker at `addr`, as kcat (librdkafka) reads it
/// (`None`: no answer).
fn kcat_view(addr: &str) -> Option<View> {
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

/// The view of `b`, as `spate cluster info --json` reads it.
fn cli_view(b: &Server) -> View {
    let out = b.spate(&["cluster", "info", "--json"], b"");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    View {
        brokers: v["brokers"]
            .as_array()
            .expect("brokers")
            .iter()
            .map(|b| {
                let addr = format!("{}:{}", b["host"].as_str().unwrap(), b["port"]);
                (b["node_id"].as_i64().unwrap(), addr)
            })
            .collect(),
        controller: v["controller_id"].as_i64().expect("controller_id"),
    }
}

/// Waits until every broker of `brokers` lists exactly `brokers` and names
/// `controller`; returns how long that took.
fn agree(brokers: &BTreeMap<i64, Server>, controller: i64, timeout: Duration) -> Duration {
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

fn three_brokers(zk: &ZooKeeper) -> (BTreeMap<i64, Server>, i64) {
    let brokers: BTreeMap<i64, Server> = (1..=3).map(|id| (id, broker(zk, id as i32))).collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(zk, "")
    });
    (brokers, c)
}

#[test]
fn every_broker_lists_the_live_brokers_through_a_crash_and_a_restart() {
    let zk = ZooKeeper::start();
    let (mut brokers, c) = three_brokers(&zk);
    let took = agree(&brokers, c, Duration::from_secs(10));
    println!("all three brokers list all three, controller {c}, after {took:?}");
    for b in brokers.values() {
        assert_eq!(cli_view(b), kcat_view(&b.addr).unwrap(), "the CLI agrees");
    }
    // `spate cluster info` shows them all, and the controller.
    let any = brokers.values().next().unwrap();
    let out = any.spate(&["cluster", "info"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Controller: {c}\n")), "{text}");
    for (id, b) in &brokers {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()
                    == [id.to_string(), b.addr.clone()]),
            "broker {id} at {} missing:\n{text}",
            b.addr
        );
    }
    // A client bootstrapped to one broker finds the others.
    let seen = brokers[&c].python(
        "import sys\n\
         from confluent_kafka.admin import AdminClient\n\
         md = AdminClient({'bootstrap.servers': sys.argv[1]}).list_topics(timeout=10)\n\
         print(md.controller_id, ' '.join(f'{b.id}={b.host}:{b.port}' for b in sorted(md.brokers.values(), key=lambda b: b.id)))\n",
    );
    let want: Vec<String> = brokers
        .iter()
        .map(|(id, b)| format!("{id}={}", b.addr))
        .collect();
    assert_eq!(seen.trim(), format!("{c} {}", want.join(" ")));

    // A broker that is not the controller crashes: once its session is
    // over, every other broker lists two.
    let victim = (1..=3).find(|id| *id != c).unwrap();
    brokers.remove(&victim).unwrap().kill9();
    let took = agree(&brokers, c, FAILOVER);
    println!(
        "broker {victim} killed: the others list two after {took:?} (session {SESSION_MS} ms)"
    );
    // It comes back (a new port, a new broker epoch): all list three.
    brokers.insert(victim, broker(&zk, victim as i32));
    let took = agree(&brokers, c, Duration::from_secs(10));
    println!("broker {victim} restarted: all list three after {took:?}");
}

#[test]
fn a_new_controller_tells_the_remaining_brokers() {
    let zk = ZooKeeper::start();
    let (mut brokers, first) = three_brokers(&zk);
    agree(&brokers, first, Duration::from_secs(10));
    brokers.remove(&first).unwrap().kill9();
    let next = wait("another controller", FAILOVER, || {
        controller(&zk, "").filter(|c| *c != first)
    });
    let took = agree(&brokers, next, Duration::from_secs(10));
    println!("controller {first} -> {next}: both remaining brokers say so {took:?} later");
    assert!(controller_epoch(&zk) >= 2);
}

/// One partition as a broker's Metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Led {
    leader: i64,
    replicas: Vec<i64>,
    isr: Vec<i64>,
}

/// The partitions of `topic` as the broker at `addr` reports them to
/// kcat (`None`: no answer, or the topic is unknown there).
fn kcat_partitions(addr: &str, topic: &str) -> Option<BTreeMap<i64, Led>> {
    let out = Command::new(require("kcat"))
        .args(["-L", "-J", "-m", "5", "-b", addr, "-t", topic])
        .output()
        .expect("kcat runs");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let t = v["topics"].as_array()?.first()?;
    if t.get("error").is_some_and(|e| !e.is_null()) {
        return None;
    }
    let ids = |v: &Value| -> Option<Vec<i64>> {
        v.as_array()?.iter().map(|r| r["id"].as_i64()).collect()
    };
    t["partitions"]
        .as_array()?
        .iter()
        .map(|p| {
            Some((
                p["partition"].as_i64()?,
                Led {
                    leader: p["leader"].as_i64()?,
                    replicas: ids(&p["replicas"])?,
                    isr: ids(&p["isrs"])?,
                },
            ))
        })
        .collect()
}

/// Writes `/brokers/topics/<topic>` as Kafka's admin tools do (version 3,
/// with a topic id), for the controller to pick up.
fn assign_topic(zk: &ZooKeeper, topic: &str, partitions: &[&[i64]]) {
    use spate_e2e::zookeeper::client::{Acls, CreateMode};
    let json = json!({
        "version": 3,
        "topic_id": "q83vEjRWeJCrze8SNFZ4kA",
        "partitions": partitions
            .iter()
            .enumerate()
            .map(|(p, r)| (p.to_string(), json!(r)))
            .collect::<serde_json::Map<_, _>>(),
        "adding_replicas": {},
        "removing_replicas": {},
    });
    let path = format!("/brokers/topics/{topic}");
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    zk.block_on(
        zk.client()
            .create(&path, json.to_string().as_bytes(), &options),
    )
    .unwrap_or_else(|e| panic!("creating {path}: {e}"));
}

/// The state znode of a partition: (leader, leader epoch, ISR).
fn partition_state(zk: &ZooKeeper, topic: &str, p: i64) -> Option<(i64, i64, Vec<i64>)> {
    let z = zk.get(&format!("/brokers/topics/{topic}/partitions/{p}/state"))?;
    let v: Value = serde_json::from_slice(&z.data).expect("state JSON");
    let isr = v["isr"]
        .as_array()?
        .iter()
        .map(|i| i.as_i64())
        .collect::<Option<_>>()?;
    Some((v["leader"].as_i64()?, v["leader_epoch"].as_i64()?, isr))
}

/// Waits until every broker of `brokers` reports `want` for `topic`.
fn all_report(brokers: &BTreeMap<i64, Server>, topic: &str, want: &BTreeMap<i64, Led>) {
    for b in brokers.values() {
        let mut last = None;
        wait_until(
            &format!("the broker at {} to report {topic} as {want:?}", b.addr),
            Duration::from_secs(15),
            &[],
            || {
                last = kcat_partitions(&b.addr, topic);
                (last.as_ref() == Some(want)).then_some(())
            },
        );
    }
}

#[test]
fn the_controller_elects_leaders_for_a_topic_in_zookeeper_and_moves_them_when_a_broker_dies() {
    let zk = ZooKeeper::start();
    let (mut brokers, c) = three_brokers(&zk);
    agree(&brokers, c, Duration::from_secs(10));
    // Two partitions, each led first by the first replica listed.
    let victim = (1..=3).find(|id| *id != c).unwrap();
    let other = (1..=3).find(|id| *id != c && *id != victim).unwrap();
    // Its configs first, as Kafka's admin tools write them.
    {
        use spate_e2e::zookeeper::client::{Acls, CreateMode};
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        let config = br#"{"version":1,"config":{"min.insync.replicas":"2"}}"#;
        zk.block_on(
            zk.client()
                .create("/config/topics/replicated", config, &options),
        )
        .expect("creating /config/topics/replicated");
    }
    assign_topic(
        &zk,
        "replicated",
        &[&[victim, other, c], &[c, victim, other]],
    );

    // The controller writes each state znode (leader = first live
    // replica, ISR = all, epoch 0) and tells every broker.
    for (p, leader) in [(0, victim), (1, c)] {
        let (l, epoch, isr) = wait("a partition state", Duration::from_secs(15), || {
            partition_state(&zk, "replicated", p)
        });
        assert_eq!((l, epoch), (leader, 0), "partition {p}");
        assert_eq!(isr.len(), 3, "partition {p}: {isr:?}");
    }
    let mut want = BTreeMap::from([
        (
            0,
            Led {
                leader: victim,
                replicas: vec![victim, other, c],
                isr: vec![victim, other, c],
            },
        ),
        (
            1,
            Led {
                leader: c,
                replicas: vec![c, victim, other],
                isr: vec![c, victim, other],
            },
        ),
    ]);
    all_report(&brokers, "replicated", &want);
    // Every broker took the topic's configs from ZooKeeper.
    for b in brokers.values() {
        let got = b.python(
            "import sys\n\
             from confluent_kafka.admin import AdminClient, ConfigResource\n\
             a = AdminClient({'bootstrap.servers': sys.argv[1]})\n\
             r = ConfigResource('topic', 'replicated')\n\
             c = a.describe_configs([r])[r].result(timeout=10)\n\
             print(c['min.insync.replicas'].value, c['min.insync.replicas'].is_default)\n",
        );
        assert_eq!(got.trim(), "2 False", "broker at {}", b.addr);
    }

    // The leader of partition 0 dies: once its session is over, the
    // controller elects the next ISR member and takes it out of every ISR.
    brokers.remove(&victim).unwrap().kill9();
    let (l, epoch, isr) = wait("a new leader for partition 0", FAILOVER, || {
        partition_state(&zk, "replicated", 0).filter(|s| s.0 != victim)
    });
    assert_eq!((l, epoch, isr), (other, 1, vec![other, c]));
    want.insert(
        0,
        Led {
            leader: other,
            replicas: vec![victim, other, c],
            isr: vec![other, c],
        },
    );
    want.insert(
        1,
        Led {
            leader: c,
            replicas: vec![c, victim, other],
            isr: vec![c, other],
        },
    );
    all_report(&brokers, "replicated", &want);
}

#[test]
fn a_leader_takes_a_frozen_follower_out_of_the_isr_and_back_once_it_catches_up() {
    let zk = ZooKeeper::start();
    // A session long enough that only the leader notices the freeze.
    let lag = "replica.lag.time.max.ms=1500\nzookeeper.session.timeout.ms=10000\n";
    let mut brokers: BTreeMap<i64, Server> = (1..=3)
        .map(|id| {
            let props = properties(&zk.connect(), id as i32) + lag;
            (id, Server::start_with_properties(&props, &[]))
        })
        .collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "")
    });
    agree(&brokers, c, Duration::from_secs(10));
    let victim = (1..=3).find(|id| *id != c).unwrap();
    let other = (1..=3).find(|id| *id != c && *id != victim).unwrap();
    assign_topic(&zk, "isr", &[&[c, victim, other]]);
    let (_, epoch, _) = wait("the partition state", Duration::from_secs(15), || {
        partition_state(&zk, "isr", 0)
    });
    // The follower freezes for less than its session: only its leader
    // can tell it is behind.
    let pid = brokers[&victim].pid();
    kill("-STOP", pid);
    let (leader, new_epoch, isr) = wait("the ISR to shrink", Duration::from_secs(15), || {
        partition_state(&zk, "isr", 0).filter(|s| !s.2.contains(&victim))
    });
    assert_eq!(leader, c, "the leader stays");
    assert_eq!(
        new_epoch, epoch,
        "an ISR change does not bump the leader epoch"
    );
    assert_eq!(isr, [c, other], "the follower that kept fetching stays");
    // The controller read the leader's notification, deleted it and told
    // everyone.
    wait("the notification consumed", Duration::from_secs(10), || {
        zk.children("/isr_change_notification")
            .filter(|n| n.is_empty())
    });
    let want = BTreeMap::from([(
        0,
        Led {
            leader: c,
            replicas: vec![c, victim, other],
            isr: vec![c, other],
        },
    )]);
    let frozen = brokers.remove(&victim).expect("the frozen broker");
    all_report(&brokers, "isr", &want);
    // Thawed, it fetches again, catches up and is taken back.
    kill("-CONT", pid);
    let (_, _, isr) = wait("the ISR to grow back", Duration::from_secs(15), || {
        partition_state(&zk, "isr", 0).filter(|s| s.2.contains(&victim))
    });
    assert_eq!(isr, [c, other, victim]);
    drop(frozen);
}

#[test]
fn spate_topic_create_places_replicas_through_zookeeper_and_answers_once_leaders_are_known() {
    let zk = ZooKeeper::start();
    let (brokers, c) = three_brokers(&zk);
    agree(&brokers, c, Duration::from_secs(10));
    // Asked of a broker that is not the controller: the CLI goes to the
    // controller, as Kafka's admin client does.
    let other = brokers.iter().find(|(id, _)| **id != c).unwrap().1;
    let out = other.spate(
        &[
            "topic",
            "create",
            "placed",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["partitions"], 3);
    assert_eq!(answer["replication_factor"], 3);
    // Kafka's znodes: the assignment (3 distinct replicas per partition,
    // leaders spread), the configs, a state per partition.
    let topic = json_at(&zk, "/brokers/topics/placed");
    assert_eq!(topic["version"], 3);
    assert!(topic["topic_id"].as_str().is_some_and(|s| s.len() == 22));
    let mut firsts = Vec::new();
    for p in 0..3 {
        let replicas: Vec<i64> = topic["partitions"][p.to_string()]
            .as_array()
            .expect("replicas")
            .iter()
            .map(|r| r.as_i64().unwrap())
            .collect();
        let mut sorted = replicas.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2, 3], "partition {p}: {replicas:?}");
        firsts.push(replicas[0]);
        // The answer came after the leaders were elected.
        let (leader, epoch, isr) = partition_state(&zk, "placed", p).expect("a state");
        assert_eq!((leader, epoch, isr.len()), (replicas[0], 0, 3));
    }
    firsts.sort();
    assert_eq!(firsts, [1, 2, 3], "one preferred leader per broker");
    assert_eq!(
        json_at(&zk, "/config/topics/placed"),
        json!({"version": 1, "config": {"min.insync.replicas": "2"}})
    );
    for b in brokers.values() {
        let got = kcat_partitions(&b.addr, "placed").expect("the topic");
        assert_eq!(got.len(), 3, "broker at {}", b.addr);
    }
    // Again: it exists. Four replicas: there are three brokers.
    let again = other.spate(&["topic", "create", "placed"], b"");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("TOPIC_ALREADY_EXISTS"), "{err}");
    let four = other.spate(
        &["topic", "create", "wide", "--replication-factor", "4"],
        b"",
    );
    assert!(!four.status.success());
    let err = String::from_utf8_lossy(&four.stderr);
    assert!(
        err.contains("INVALID_REPLICATION_FACTOR")
            && err.contains("Replication factor: 4 larger than available brokers: 3."),
        "{err}"
    );
    assert!(zk.get("/brokers/topics/wide").is_none());
}
