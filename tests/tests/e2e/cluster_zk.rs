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
use spate_e2e::cluster::{
    agree, broker, controller, json_at, kcat_view, kill, properties, three_brokers, wait, View,
    FAILOVER, SESSION_MS,
};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{spate, Server, TempDir, Watched};

fn controller_epoch(zk: &ZooKeeper) -> i32 {
    zk.get("/controller_epoch")
        .expect("/controller_epoch")
        .text()
        .parse()
        .expect("a number")
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
