//! ACLs and SCRAM credentials in a ZooKeeper cluster, end to end: two
//! `spate serve` brokers with a PLAINTEXT listener (between brokers) and a
//! SASL_PLAINTEXT one (for clients) over a real ZooKeeper. A SCRAM user
//! made with confluent-kafka's AdminClient through broker A authenticates
//! on broker B; ACLs added or removed (`spate acl`) through one broker are
//! enforced by the other; the znodes are Kafka's (`/kafka-acl/...`,
//! `/kafka-acl-extended/prefixed/...`, the change notifications,
//! `/config/users/<user>` and its `/config/changes` announcement); and all
//! of it holds after a broker restarts.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use spate_e2e::cluster::{json_at, properties, wait, wait_live};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, spate, spate_as_plain, workspace, Server, TempDir};

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
    username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\";";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A broker's data, properties and ports, kept across restarts.
struct Node {
    data: TempDir,
    _config: TempDir,
    props: std::path::PathBuf,
    /// The SASL_PLAINTEXT listener's `127.0.0.1:PORT`.
    sasl: String,
}

impl Node {
    fn new(zk: &ZooKeeper, id: i32) -> Node {
        let (plain, sasl) = (free_port(), free_port());
        let config = TempDir::new("config");
        let props = config.0.join("server.properties");
        // Brokers talk PLAINTEXT, as User:ANONYMOUS: a super user, as in
        // a Kafka cluster whose inter-broker listener is PLAINTEXT.
        let text = format!(
            "{}listeners=PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl}\n\
             sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n\
             listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}\n\
             authorizer.class.name=kafka.security.authorizer.AclAuthorizer\n\
             super.users=User:admin;User:ANONYMOUS\n\
             offsets.topic.num.partitions=3\n\
             offsets.topic.replication.factor=2\n\
             group.initial.rebalance.delay.ms=0\n",
            properties(&zk.connect(), id)
        );
        std::fs::write(&props, text).expect("writing server.properties");
        Node {
            data: TempDir::new("data"),
            _config: config,
            props,
            sasl: format!("127.0.0.1:{sasl}"),
        }
    }

    fn start(&self) -> Server {
        let mut cmd = Command::new(spate());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&self.data.0)
            .arg(&self.props);
        Server::spawn(cmd)
    }
}

fn sasl(mechanism: &str, user: &str, password: &str) -> Value {
    json!({
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    })
}

/// `tests/py/scram_admin.py` as the PLAIN super user `admin`.
fn scram_admin(bootstrap: &str, args: &[&str]) -> Value {
    let admin = sasl("PLAIN", "admin", "admin-secret");
    let out = Command::new(require("python3"))
        .arg(workspace().join("tests/py/scram_admin.py"))
        .args([bootstrap, &admin.to_string()])
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|_| {
        panic!(
            "scram_admin {args:?}: no JSON answer:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `tests/py/acl_view.py` as `settings`: the topics listed and what
/// reading each of `topics` gives (`None`: no answer, e.g. the SASL
/// handshake failed).
fn view(bootstrap: &str, settings: &Value, topics: &[&str]) -> Option<Value> {
    let out = Command::new(require("python3"))
        .arg(workspace().join("tests/py/acl_view.py"))
        .args([bootstrap, &settings.to_string()])
        .args(topics)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).ok()
}

/// Waits until alice's view of `orders` on `bootstrap` is `read` (and
/// `orders` is listed, or not).
fn wait_view(bootstrap: &str, listed: bool, read: &str) -> Value {
    let alice = sasl("SCRAM-SHA-256", "alice", "alice-secret");
    let want_listed = if listed { json!(["orders"]) } else { json!([]) };
    let mut last = Value::Null;
    wait(
        &format!("alice on {bootstrap}: listed {listed}, read {read}"),
        Duration::from_secs(90),
        || {
            let v = view(bootstrap, &alice, &["orders"]);
            eprintln!("alice on {bootstrap}: {v:?}");
            let v = v?;
            last = v.clone();
            (v["listed"] == want_listed && v["read"]["orders"] == read).then_some(v)
        },
    );
    last
}

/// Adds or removes (`verb`) an ALLOW of `operation` for User:alice on the
/// resource `on` names, as the super user, through `bootstrap`.
fn alice_acl(bootstrap: &str, verb: &str, operation: &str, on: &[&str]) {
    let mut args = vec!["acl", verb, "--allow-principal", "User:alice"];
    args.extend(["--operation", operation]);
    args.extend(on);
    as_admin(bootstrap, &args);
}

/// `spate ARGS` as the PLAIN super user `admin`.
fn as_admin(bootstrap: &str, args: &[&str]) -> String {
    spate_as_plain(bootstrap, ("admin", "admin-secret"), args)
}

/// Three records into `topic` through the PLAINTEXT listener.
fn produce(bootstrap: &str, topic: &str) {
    let mut p = Command::new(require("kcat"))
        .args(["-b", bootstrap, "-P", "-t", topic])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    use std::io::Write;
    p.stdin
        .take()
        .expect("stdin")
        .write_all(b"a\nb\nc\n")
        .expect("feeding kcat");
    assert!(p.wait().expect("kcat runs").success());
}

/// The ACL znode at `path` as (principal, permissionType, operation,
/// host), sorted.
fn acls_at(zk: &ZooKeeper, path: &str) -> Vec<(String, String, String, String)> {
    let v = json_at(zk, path);
    assert_eq!(v["version"], 1, "{v}");
    let mut out: Vec<_> = v["acls"]
        .as_array()
        .expect("acls")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (
                s("principal"),
                s("permissionType"),
                s("operation"),
                s("host"),
            )
        })
        .collect();
    out.sort();
    out
}

fn alice(permission: &str, operation: &str) -> (String, String, String, String) {
    (
        "User:alice".into(),
        permission.into(),
        operation.into(),
        "*".into(),
    )
}

/// The data of every child of `dir`.
fn notes(zk: &ZooKeeper, dir: &str) -> Vec<String> {
    let mut names = zk.children(dir).unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|n| {
            assert!(
                n.starts_with("acl_changes_") || n.starts_with("config_change_"),
                "{n}"
            );
            zk.get(&format!("{dir}/{n}"))
                .map(|z| z.text())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn acls_and_scram_users_live_in_zookeeper_and_every_broker_follows_them() {
    let zk = ZooKeeper::start();
    let (node_a, node_b) = (Node::new(&zk, 1), Node::new(&zk, 2));
    let a = node_a.start();
    let mut b = node_b.start();
    wait_live(&a, 2);
    wait_live(&b, 2);
    let out = a.spate(
        &[
            "topic",
            "create",
            "orders",
            "--partitions",
            "1",
            "--replication-factor",
            "2",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    produce(&a.addr, "orders");

    // A SCRAM user made through A.
    let set = scram_admin(
        &node_a.sasl,
        &["set", "alice", "alice-secret", "SCRAM-SHA-256", "8192"],
    );
    assert_eq!(set, json!({"alice": null}));
    let user = json_at(&zk, "/config/users/alice");
    assert_eq!(user["version"], 1, "{user}");
    let cred = user["config"]["SCRAM-SHA-256"]
        .as_str()
        .expect("a credential");
    let keys: Vec<&str> = cred
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["salt", "stored_key", "server_key", "iterations"],
        "{cred}"
    );
    assert!(cred.ends_with(",iterations=8192"), "{cred}");
    let changes: Vec<Value> = notes(&zk, "/config/changes")
        .iter()
        .filter_map(|n| serde_json::from_str(n).ok())
        .collect();
    assert!(
        changes.contains(&json!({"version": 2, "entity_path": "users/alice"})),
        "{changes:?}"
    );
    // Described by B, which read it from ZooKeeper.
    let described = wait("B describes alice", Duration::from_secs(30), || {
        let d = scram_admin(&node_b.sasl, &["describe", "alice"]);
        (d["alice"].is_array()).then_some(d)
    });
    assert_eq!(described, json!({"alice": [["SCRAM_SHA_256", 8192]]}));

    // Through A: alice may use groups prefixed `g-` and describe orders,
    // not read it. B enforces it: orders is listed, reading is refused.
    alice_acl(
        &node_a.sasl,
        "add",
        "Read",
        &["--group", "g-", "--resource-pattern-type", "prefixed"],
    );
    alice_acl(&node_a.sasl, "add", "Describe", &["--topic", "orders"]);
    wait_view(&node_b.sasl, true, "TOPIC_AUTHORIZATION_FAILED");
    // Through B: READ on orders; A enforces it.
    alice_acl(&node_b.sasl, "add", "Read", &["--topic", "orders"]);
    wait_view(&node_a.sasl, true, "ok");
    wait_view(&node_b.sasl, true, "ok");

    // Kafka's znodes.
    assert_eq!(
        acls_at(&zk, "/kafka-acl/Topic/orders"),
        [alice("Allow", "Describe"), alice("Allow", "Read")]
    );
    assert_eq!(
        acls_at(&zk, "/kafka-acl-extended/prefixed/Group/g-"),
        [alice("Allow", "Read")]
    );
    let literal = notes(&zk, "/kafka-acl-changes");
    assert!(literal.iter().any(|n| n == "TOPIC:orders"), "{literal:?}");
    let extended: Vec<Value> = notes(&zk, "/kafka-acl-extended-changes")
        .iter()
        .filter_map(|n| serde_json::from_str(n).ok())
        .collect();
    assert!(
        extended.contains(
            &json!({"version": 1, "resourceType": "GROUP", "name": "g-", "patternType": "PREFIXED"})
        ),
        "{extended:?}"
    );

    // DeleteAcls through A takes READ back on B.
    alice_acl(&node_a.sasl, "remove", "Read", &["--topic", "orders"]);
    assert_eq!(
        acls_at(&zk, "/kafka-acl/Topic/orders"),
        [alice("Allow", "Describe")]
    );
    wait_view(&node_b.sasl, true, "TOPIC_AUTHORIZATION_FAILED");

    // B restarts: it reads the ACLs and the user from ZooKeeper again.
    assert!(b.terminate(), "clean stop");
    b = node_b.start();
    wait_live(&b, 2);
    wait_view(&node_b.sasl, true, "TOPIC_AUTHORIZATION_FAILED");
    let listed = as_admin(&node_b.sasl, &["acl", "list"]);
    assert!(listed.contains("User:alice"), "{listed}");
    // And follows changes made through A after it.
    alice_acl(&node_a.sasl, "add", "Read", &["--topic", "orders"]);
    wait_view(&node_b.sasl, true, "ok");
    // Deleting the user through B: A refuses alice.
    assert_eq!(
        scram_admin(&node_b.sasl, &["delete", "alice", "SCRAM-SHA-256"]),
        json!({"alice": null})
    );
    assert_eq!(
        json_at(&zk, "/config/users/alice"),
        json!({"version": 1, "config": {}})
    );
    wait("A refuses alice", Duration::from_secs(60), || {
        let alice = sasl("SCRAM-SHA-256", "alice", "alice-secret");
        view(&node_a.sasl, &alice, &[]).is_none().then_some(())
    });
    drop((a, b));
}
