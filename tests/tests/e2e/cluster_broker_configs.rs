//! Dynamic broker configs in a ZooKeeper cluster, end to end: two
//! `spate serve` brokers over a real ZooKeeper. A cluster-wide default
//! set through broker 1 (`spate cluster config --default`: Kafka's admin
//! clients in Python refuse the empty resource name) is written to
//! `/config/brokers/<default>` in Kafka's JSON, announced under
//! `/config/changes`, and described by broker 2 (to confluent-kafka) as
//! DYNAMIC_DEFAULT_BROKER_CONFIG; a per-broker config of broker 2 set by
//! confluent-kafka bootstrapped to broker 1 lands in `/config/brokers/2`
//! and nowhere else; one written into ZooKeeper directly (as Kafka 2.x's
//! `kafka-configs.sh --zookeeper` did) is followed too; a password
//! config is refused as Kafka refuses it without
//! `password.encoder.secret`; and everything holds after both brokers
//! restart.

use std::time::Duration;

use serde_json::{json, Value};
use spate_e2e::cluster::{json_at, kept, kill, wait, wait_live};
use spate_e2e::zookeeper::{client, ZooKeeper};
use spate_e2e::Server;

/// `spate cluster config --json ARGS` through the broker `b`: the JSON
/// answer, or the error it printed.
fn config(b: &Server, args: &[&str]) -> Result<Value, String> {
    let mut full = vec!["cluster", "config", "--json"];
    full.extend(args);
    let out = b.spate(&full, b"");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// `key` of broker `id` as confluent-kafka, bootstrapped to `b`, describes
/// it: "VALUE SOURCE" (librdkafka sends the request to broker `id`).
fn described(b: &Server, id: i32, key: &str) -> String {
    b.python(&format!(
        r#"
import sys
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, ResourceType
a = AdminClient({{"bootstrap.servers": sys.argv[1]}})
r = ConfigResource(ResourceType.BROKER, "{id}")
e = a.describe_configs([r])[r].result(20).get("{key}")
print(e.value, ConfigSource(e.source).name)
"#
    ))
    .trim()
    .to_string()
}

/// Waits until broker `id`, asked through `b`, describes `key` as `want`.
fn wait_described(b: &Server, id: i32, key: &str, want: &str) {
    let mut last = String::new();
    wait(
        &format!("broker {id} to describe {key} as {want}"),
        Duration::from_secs(20),
        || {
            last = described(b, id, key);
            (last == want).then_some(())
        },
    );
}

/// The config change announcements' data, as JSON.
fn announcements(zk: &ZooKeeper) -> Vec<Value> {
    zk.children("/config/changes")
        .unwrap_or_default()
        .iter()
        .map(|n| json_at(zk, &format!("/config/changes/{n}")))
        .collect()
}

#[test]
fn dynamic_broker_configs_live_in_zookeeper_and_reach_every_broker() {
    let zk = ZooKeeper::start();
    let mut brokers = [kept(&zk, 1), kept(&zk, 2)];
    wait_live(&brokers[0].server, 2);
    wait_live(&brokers[1].server, 2);
    let one = &brokers[0].server;

    // A cluster-wide default, through broker 1.
    config(one, &["--default", "--set", "log.retention.ms=7200000"])
        .expect("setting the cluster default");
    wait("the default in ZooKeeper", Duration::from_secs(15), || {
        zk.get("/config/brokers/<default>")
    });
    assert_eq!(
        json_at(&zk, "/config/brokers/<default>"),
        json!({"version": 1, "config": {"log.retention.ms": "7200000"}})
    );
    assert!(
        announcements(&zk).contains(&json!({"version": 2, "entity_path": "brokers/<default>"})),
        "{:?}",
        announcements(&zk)
    );
    for id in [1, 2] {
        wait_described(
            one,
            id,
            "log.retention.ms",
            "7200000 DYNAMIC_DEFAULT_BROKER_CONFIG",
        );
    }
    let defaults = config(&brokers[1].server, &["--default"]).expect("describing the defaults");
    assert_eq!(
        defaults["configs"],
        json!([{"name": "log.retention.ms", "value": "7200000",
                "source": "DYNAMIC_DEFAULT_BROKER_CONFIG"}]),
        "{defaults}"
    );

    // Broker 2's own config, by confluent-kafka bootstrapped to broker 1.
    let out = one.python(
        r#"
import sys
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigEntry,
    AlterConfigOpType, ResourceType)
a = AdminClient({"bootstrap.servers": sys.argv[1]})
r = ConfigResource(ResourceType.BROKER, "2", incremental_configs=[
    ConfigEntry("log.retention.bytes", "123456789",
                incremental_operation=AlterConfigOpType.SET)])
a.incremental_alter_configs([r])[r].result(20)
print("altered")
"#,
    );
    assert_eq!(out.trim(), "altered");
    wait(
        "broker 2's configs in ZooKeeper",
        Duration::from_secs(15),
        || zk.get("/config/brokers/2"),
    );
    assert_eq!(
        json_at(&zk, "/config/brokers/2"),
        json!({"version": 1, "config": {"log.retention.bytes": "123456789"}})
    );
    assert!(announcements(&zk).contains(&json!({"version": 2, "entity_path": "brokers/2"})));
    wait_described(
        one,
        2,
        "log.retention.bytes",
        "123456789 DYNAMIC_BROKER_CONFIG",
    );
    let own = described(one, 1, "log.retention.bytes");
    assert!(
        !own.starts_with("123456789"),
        "broker 1 took broker 2's config: {own}"
    );

    // Broker 1's, written into ZooKeeper by another tool, with its notice.
    let persistent = client::CreateMode::Persistent.with_acls(client::Acls::anyone_all());
    let sequential = client::CreateMode::PersistentSequential.with_acls(client::Acls::anyone_all());
    let c = zk.client();
    zk.block_on(c.create(
        "/config/brokers/1",
        br#"{"version":1,"config":{"message.max.bytes":"2000000"}}"#,
        &persistent,
    ))
    .expect("writing /config/brokers/1");
    zk.block_on(c.create(
        "/config/changes/config_change_",
        br#"{"version":2,"entity_path":"brokers/1"}"#,
        &sequential,
    ))
    .expect("announcing it");
    wait_described(
        &brokers[1].server,
        1,
        "message.max.bytes",
        "2000000 DYNAMIC_BROKER_CONFIG",
    );

    // A password is refused: Kafka stores it encoded with
    // password.encoder.secret, and refuses it without one.
    let refused = config(
        one,
        &[
            "--broker",
            "1",
            "--set",
            "listener.name.plaintext.ssl.key.password=secret",
        ],
    )
    .expect_err("a password config was accepted");
    assert!(refused.contains("INVALID_REQUEST"), "{refused}");
    assert!(
        refused.contains("Password encoder secret not configured"),
        "{refused}"
    );
    assert!(!json_at(&zk, "/config/brokers/1")
        .to_string()
        .contains("password"));

    // Both restart (killed): what ZooKeeper holds comes back.
    for b in &mut brokers {
        kill("-KILL", b.server.pid());
    }
    for (id, b) in (1..).zip(&mut brokers) {
        // A registration still alive (its session not yet expired) keeps
        // the broker from starting again, as in Kafka.
        wait(
            "the broker's session to expire",
            Duration::from_secs(20),
            || {
                zk.get(&format!("/brokers/ids/{id}"))
                    .is_none()
                    .then_some(())
            },
        );
        b.restart();
    }
    wait_live(&brokers[0].server, 2);
    wait_live(&brokers[1].server, 2);
    let two = &brokers[1].server;
    wait_described(
        two,
        1,
        "log.retention.ms",
        "7200000 DYNAMIC_DEFAULT_BROKER_CONFIG",
    );
    wait_described(
        two,
        2,
        "log.retention.ms",
        "7200000 DYNAMIC_DEFAULT_BROKER_CONFIG",
    );
    wait_described(
        two,
        2,
        "log.retention.bytes",
        "123456789 DYNAMIC_BROKER_CONFIG",
    );
    wait_described(two, 1, "message.max.bytes", "2000000 DYNAMIC_BROKER_CONFIG");
}
