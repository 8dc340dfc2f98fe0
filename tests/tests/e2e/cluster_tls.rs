//! Brokers of a ZooKeeper cluster talking to each other over SASL_SSL, as
//! a Kafka deployment secures its inter-broker listener: three Spate
//! brokers, each with a PLAINTEXT listener for clients and an INTERNAL
//! one (`inter.broker.listener.name=INTERNAL`, SASL_SSL with mutual TLS
//! required and `sasl.mechanism.inter.broker.protocol=PLAIN`; the
//! brokers' own login in the listener's JAAS config; certificates from
//! one test CA), an ACL authorizer with the brokers' principal a super
//! user. Every replica fetch, every controller request and every
//! transaction marker goes over INTERNAL.
//!
//! - A topic of replication factor 3 comes fully in sync, an idempotent
//!   acks=all confluent-kafka producer writes while the leader is
//!   SIGKILLed, and every acknowledged record is read back once, in
//!   order, at its offset.
//! - A plain-text client on the INTERNAL port gets no answer.
//! - A fourth broker whose own inter-broker password is wrong is made a
//!   replica (a reassignment adds it): it never joins the ISR, its log
//!   says why (SASL_AUTHENTICATION_FAILED), and the reassignment stays
//!   in progress while the others keep serving acks=all writes.
//! - A confluent-kafka transactional producer commits one transaction and
//!   aborts another over three partitions led by different brokers, so
//!   the coordinator sends WriteTxnMarkers over INTERNAL; a
//!   read_committed consumer reads exactly the committed records.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use spate_e2e::cluster::{
    check_read_back, describe, json_at, properties, read_all, wait, wait_live, AckedProducer,
};
use spate_e2e::tls::Pki;
use spate_e2e::txn::{leaders, read_committed, values, PRODUCE};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, Server, TempDir};

/// The brokers' login on INTERNAL.
const PASSWORD: &str = "broker-secret";

/// A broker's data directory and `server.properties`.
struct Node {
    data: TempDir,
    _config: TempDir,
    props: PathBuf,
}

impl Node {
    /// Broker `id`, logging in to the others with `password`.
    fn new(zk: &ZooKeeper, pki: &Pki, id: i32, password: &str) -> Node {
        let config = TempDir::new("config");
        let props = config.0.join("server.properties");
        let jaas = format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"broker\" password=\"{password}\" user_broker=\"{PASSWORD}\";"
        );
        let text = format!(
            "{}\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL\n\
             inter.broker.listener.name=INTERNAL\n\
             sasl.mechanism.inter.broker.protocol=PLAIN\n\
             listener.name.internal.sasl.enabled.mechanisms=PLAIN\n\
             listener.name.internal.plain.sasl.jaas.config={jaas}\n\
             listener.name.internal.ssl.keystore.type=PEM\n\
             listener.name.internal.ssl.keystore.location={}\n\
             listener.name.internal.ssl.truststore.type=PEM\n\
             listener.name.internal.ssl.truststore.location={}\n\
             listener.name.internal.ssl.client.auth=required\n\
             authorizer.class.name=kafka.security.authorizer.AclAuthorizer\n\
             super.users=User:broker\n\
             allow.everyone.if.no.acl.found=true\n\
             replica.lag.time.max.ms=5000\n",
            properties(&zk.connect(), id),
            Pki::path(&pki.server_keystore),
            Pki::path(&pki.ca),
        );
        std::fs::write(&props, text).expect("writing server.properties");
        Node {
            data: TempDir::new("data"),
            _config: config,
            props,
        }
    }

    /// Starts it: PLAINTEXT (its `addr`) and INTERNAL on free ports.
    fn start(&self) -> Server {
        Server::start_in(
            &self.data.0,
            &[
                &self.props.to_string_lossy(),
                "--listen",
                "INTERNAL://127.0.0.1:0",
            ],
        )
    }
}

/// Broker `id`'s INTERNAL address, from its registration.
fn internal(zk: &ZooKeeper, id: i64) -> String {
    let v = json_at(zk, &format!("/brokers/ids/{id}"));
    let endpoints = v["endpoints"].as_array().expect("endpoints");
    endpoints
        .iter()
        .filter_map(|e| e.as_str()?.strip_prefix("INTERNAL://"))
        .next()
        .unwrap_or_else(|| panic!("no INTERNAL endpoint in {v}"))
        .to_string()
}

/// `spate topic create TOPIC` with one partition of `rf` replicas.
fn create(any: &Server, topic: &str, rf: &str) {
    let out = any.spate(
        &[
            "topic",
            "create",
            topic,
            "--partitions",
            "1",
            "--replication-factor",
            rf,
            "--config",
            "min.insync.replicas=2",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn brokers_replicate_over_sasl_ssl_and_a_broker_with_a_wrong_password_never_joins() {
    let zk = ZooKeeper::start();
    let pki = Pki::new();
    let nodes: BTreeMap<i64, Node> = (1..=3)
        .map(|id| (id, Node::new(&zk, &pki, id as i32, PASSWORD)))
        .collect();
    let mut brokers: BTreeMap<i64, Server> = nodes.iter().map(|(id, n)| (*id, n.start())).collect();
    wait_live(&brokers[&1], 3);

    // Plain text on the INTERNAL port: the TLS handshake fails, nothing
    // is answered.
    let mut raw = TcpStream::connect(internal(&zk, 1)).expect("connecting to INTERNAL");
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // ApiVersions v0, correlation id 1, client id "x".
    let frame = [0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 1, 0, 1, b'x'];
    let _ = raw.write_all(&frame);
    let mut buf = [0u8; 64];
    let answered = match raw.read(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) => panic!("the INTERNAL port neither answered nor closed: {e}"),
    };
    // A TLS alert at most (content type 21), never a Kafka answer.
    assert!(
        answered.is_empty() || answered[0] == 21,
        "a plain-text request on INTERNAL was answered: {answered:?}"
    );

    // Replication over INTERNAL: the topic comes fully in sync.
    create(&brokers[&1], "replicated", "3");
    let first = wait("the topic fully in sync", Duration::from_secs(30), || {
        describe(&brokers[&1], "replicated").filter(|d| d.isr.len() == 3 && d.leader > 0)
    });
    let leader = first.leader;
    let bootstrap: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let producer = AckedProducer::start(&bootstrap.join(","), "replicated", 400);
    producer.wait_acked(100);
    brokers.remove(&leader).expect("the leader").kill9();
    println!("killed the leader, broker {leader}");
    let survivor = *brokers.keys().next().expect("a survivor");
    let after = wait("a new leader", Duration::from_secs(30), || {
        describe(&brokers[&survivor], "replicated").filter(|d| d.leader != leader && d.leader > 0)
    });
    println!("after the failover: {after:?}");
    let acked = producer.finish();
    let survivors: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let read = read_all(&survivors.join(","), "replicated");
    check_read_back(&read, &acked);

    // A topic on the two survivors, then a broker that logs in to the
    // others with the wrong password, added to its replicas.
    create(&brokers[&survivor], "guarded", "2");
    let d = wait("guarded in sync", Duration::from_secs(30), || {
        describe(&brokers[&survivor], "guarded").filter(|d| d.isr.len() == 2 && d.leader > 0)
    });
    let bad = Node::new(&zk, &pki, 4, "not-the-password");
    brokers.insert(4, bad.start());
    let any = &brokers[&survivor];
    wait_live(any, 3);
    let wanted: Vec<String> = d.replicas.iter().chain(&[4]).map(i64::to_string).collect();
    let out = any.spate(
        &[
            "topic",
            "reassign",
            "guarded",
            "--replicas",
            &wanted.join(","),
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    // Broker 4 is told to follow, and cannot log in to the leader.
    let log_path = brokers[&4].log_path();
    let why = wait(
        "broker 4 to log its failed login",
        Duration::from_secs(30),
        || {
            let log = std::fs::read_to_string(&log_path).ok()?;
            log.lines()
                .find(|l| {
                    l.contains("inter-broker connection failed")
                        && l.contains("SASL_AUTHENTICATION_FAILED")
                })
                .map(str::to_string)
        },
    );
    println!("broker 4 says: {why}");
    // acks=all writes need the in-sync replicas only: they go through,
    // fetched by the other replica over INTERNAL, and broker 4 is still
    // not among them.
    let lines: String = (0..20).map(|i| format!("g{i}\n")).collect();
    let out = any.spate(&["produce", "guarded", "--acks", "all"], lines.as_bytes());
    assert!(out.status.success(), "{out:?}");
    let d = describe(any, "guarded").expect("guarded");
    assert!(d.replicas.contains(&4), "{d:?}");
    assert_eq!(d.isr.len(), 2, "{d:?}");
    assert!(!d.isr.contains(&4), "{d:?}");
    let out = any.spate(&["topic", "reassign", "--list"], b"");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("guarded"), "{listing}");
}

#[test]
fn transaction_markers_go_over_sasl_ssl() {
    let zk = ZooKeeper::start();
    let pki = Pki::new();
    let nodes: BTreeMap<i64, Node> = (1..=3)
        .map(|id| (id, Node::new(&zk, &pki, id as i32, PASSWORD)))
        .collect();
    let brokers: BTreeMap<i64, Server> = nodes.iter().map(|(id, n)| (*id, n.start())).collect();
    let any = &brokers[&1];
    wait_live(any, 3);
    let out = any.spate(
        &[
            "topic",
            "create",
            "orders",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let led: BTreeSet<i64> = wait("leaders for orders", Duration::from_secs(30), || {
        leaders(any, "orders")
    })
    .into_iter()
    .collect();
    // Led by different brokers: some markers are another broker's to write.
    assert!(led.len() > 1, "{led:?}");
    let bootstrap: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let bootstrap = bootstrap.join(",");
    // Its stdin closed, the producer goes on to `t3` at once.
    let out = Command::new(require("python3"))
        .args(["-c", PRODUCE, &bootstrap, "tls-txn"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed: BTreeSet<String> = values("t1").union(&values("t3")).cloned().collect();
    assert_eq!(read_committed(&bootstrap), Some(committed));
}
