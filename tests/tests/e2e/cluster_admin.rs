//! Topic administration in a ZooKeeper cluster of Spate brokers, against a
//! real ZooKeeper server and real clients: deleting a topic (Kafka 2.x's
//! `/admin/delete_topics` and the controller's `TopicDeletionManager`),
//! adding partitions (`/brokers/topics/T` rewritten, the controller's
//! `PartitionModifications`), and changing a topic's configs
//! (`/config/changes`, every broker's `ConfigChangeListener`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::cluster::{controller, kept as start, log_dirs, wait, Kept as Broker};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, Server};

/// The partitions of `topic` and their leaders as kcat reads them from
/// the broker at `addr` (`None`: unknown there, or no answer).
fn kcat_leaders(addr: &str, topic: &str) -> Option<BTreeMap<i64, i64>> {
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
    t["partitions"]
        .as_array()?
        .iter()
        .map(|p| Some((p["partition"].as_i64()?, p["leader"].as_i64()?)))
        .collect()
}

/// Whether the broker at `addr` lists `topic` among all its topics.
fn lists(addr: &str, topic: &str) -> Option<bool> {
    let out = Command::new(require("kcat"))
        .args(["-L", "-J", "-m", "5", "-b", addr])
        .output()
        .expect("kcat runs");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        v["topics"]
            .as_array()?
            .iter()
            .any(|t| t["topic"].as_str() == Some(topic)),
    )
}

/// Every record of `topic` the broker at `addr` serves, read with kcat.
fn consume_all(addr: &str, topic: &str) -> Vec<String> {
    let out = Command::new(require("kcat"))
        .args(["-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q"])
        .output()
        .expect("kcat runs");
    assert!(out.status.success(), "{out:?}");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_deleted_topic_leaves_every_broker_zookeeper_and_the_disks_and_can_be_created_again() {
    let zk = ZooKeeper::start();
    let brokers: BTreeMap<i64, Broker> = (1..=3).map(|id| (id, start(&zk, id as i32))).collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "")
    });
    let any = &brokers[&1].server;
    let create = |name: &str| {
        let out = any.spate(
            &[
                "topic",
                "create",
                name,
                "--partitions",
                "3",
                "--replication-factor",
                "3",
            ],
            b"",
        );
        assert!(out.status.success(), "{out:?}");
    };
    // Wait until every broker knows every other (the CLI goes to the
    // controller its bootstrap names).
    for b in brokers.values() {
        wait(
            &format!("the broker at {} to name controller {c}", b.server.addr),
            Duration::from_secs(15),
            || {
                let out = Command::new(require("kcat"))
                    .args(["-L", "-J", "-m", "5", "-b", &b.server.addr])
                    .output()
                    .ok()?;
                let v: Value = serde_json::from_slice(&out.stdout).ok()?;
                let n = v["brokers"].as_array()?.len();
                (v["controllerid"].as_i64()? == c && n == 3).then_some(())
            },
        );
    }
    create("doomed");
    for b in brokers.values() {
        wait(
            &format!("the broker at {} to lead-report doomed", b.server.addr),
            Duration::from_secs(15),
            || {
                kcat_leaders(&b.server.addr, "doomed")
                    .filter(|l| l.len() == 3 && l.values().all(|&x| x > 0))
            },
        );
    }
    let lines: String = (0..30).map(|i| format!("r{i}\n")).collect();
    let out = any.spate(&["produce", "doomed"], lines.as_bytes());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(consume_all(&any.addr, "doomed").len(), 30);
    for b in brokers.values() {
        wait(
            "every replica's log directory",
            Duration::from_secs(15),
            || (log_dirs(&b.node.data.0, "doomed").len() == 3).then_some(()),
        );
    }

    // Delete through a broker that is not the controller: the CLI sends
    // it to the controller, which answers once its metadata dropped it.
    let other = brokers
        .iter()
        .find(|(id, _)| **id != c)
        .map(|(_, b)| &b.server)
        .unwrap();
    let out = other.spate(&["topic", "delete", "doomed", "--json"], b"");
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["deleted"], "doomed");
    wait("the znodes to go", Duration::from_secs(15), || {
        (zk.get("/brokers/topics/doomed").is_none()
            && zk.get("/config/topics/doomed").is_none()
            && zk.get("/admin/delete_topics/doomed").is_none())
        .then_some(())
    });
    for b in brokers.values() {
        // The controller removed the znodes only once every replica
        // answered its StopReplica: the logs are gone already.
        assert_eq!(
            log_dirs(&b.node.data.0, "doomed"),
            Vec::<String>::new(),
            "the logs of doomed on the broker at {}",
            b.server.addr
        );
        wait(
            &format!("the broker at {} to forget doomed", b.server.addr),
            Duration::from_secs(15),
            || (lists(&b.server.addr, "doomed") == Some(false)).then_some(()),
        );
    }
    // Deleting it again: it is unknown.
    let again = other.spate(&["topic", "delete", "doomed"], b"");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{err}");

    // Created again under the same name: empty, and it takes records.
    create("doomed");
    for b in brokers.values() {
        wait(
            &format!("the broker at {} to report doomed again", b.server.addr),
            Duration::from_secs(15),
            || {
                kcat_leaders(&b.server.addr, "doomed")
                    .filter(|l| l.len() == 3 && l.values().all(|&x| x > 0))
            },
        );
    }
    assert_eq!(consume_all(&any.addr, "doomed"), Vec::<String>::new());
    let out = any.spate(&["produce", "doomed"], b"fresh\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(consume_all(&any.addr, "doomed"), ["fresh"]);
}

#[test]
fn partitions_added_through_zookeeper_get_leaders_on_every_broker_and_take_records() {
    let zk = ZooKeeper::start();
    let brokers: BTreeMap<i64, Broker> = (1..=3).map(|id| (id, start(&zk, id as i32))).collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "")
    });
    for b in brokers.values() {
        wait(
            &format!("the broker at {} to name controller {c}", b.server.addr),
            Duration::from_secs(15),
            || {
                let out = Command::new(require("kcat"))
                    .args(["-L", "-J", "-m", "5", "-b", &b.server.addr])
                    .output()
                    .ok()?;
                let v: Value = serde_json::from_slice(&out.stdout).ok()?;
                let n = v["brokers"].as_array()?.len();
                (v["controllerid"].as_i64()? == c && n == 3).then_some(())
            },
        );
    }
    let other = brokers
        .iter()
        .find(|(id, _)| **id != c)
        .map(|(_, b)| &b.server)
        .unwrap();
    let out = other.spate(
        &[
            "topic",
            "create",
            "grown",
            "--partitions",
            "2",
            "--replication-factor",
            "2",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    // confluent-kafka's AdminClient, bootstrapped to a broker that is not
    // the controller, sends CreatePartitions to the controller.
    let answer = other.python(
        r#"
import sys
from confluent_kafka.admin import AdminClient, NewPartitions
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for topic, f in a.create_partitions([NewPartitions("grown", 5)], request_timeout=20).items():
    f.result()
    print("added", topic)
try:
    a.create_partitions([NewPartitions("grown", 5)])["grown"].result()
except Exception as e:
    print("again:", e.args[0].name())
"#,
    );
    assert_eq!(
        answer.lines().collect::<Vec<_>>(),
        ["added grown", "again: INVALID_PARTITIONS"],
        "{answer}"
    );
    // Kafka's znode: five partitions, two replicas each.
    let z = zk.get("/brokers/topics/grown").expect("the topic znode");
    let v: Value = serde_json::from_slice(&z.data).unwrap();
    let parts = v["partitions"].as_object().expect("partitions");
    assert_eq!(parts.len(), 5, "{v}");
    assert!(
        parts
            .values()
            .all(|r| r.as_array().map(Vec::len) == Some(2)),
        "{v}"
    );
    for b in brokers.values() {
        wait(
            &format!("the broker at {} to report 5 led partitions", b.server.addr),
            Duration::from_secs(15),
            || {
                kcat_leaders(&b.server.addr, "grown")
                    .filter(|l| l.len() == 5 && l.values().all(|&x| x > 0))
            },
        );
    }
    // Records go to a new partition and come back.
    let out = Command::new(require("kcat"))
        .args(["-P", "-b", &other.addr, "-t", "grown", "-p", "4"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().expect("stdin").write_all(b"to-four\n")?;
            child.wait_with_output()
        })
        .expect("kcat runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(consume_all(&other.addr, "grown"), ["to-four"]);
}

/// `retention.ms` of `topic` as the broker at `addr` describes it to
/// confluent-kafka (`None`: not set on the topic).
fn described_retention(server: &Server, topic: &str) -> Option<String> {
    let out = server.python(&format!(
        r#"
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({{"bootstrap.servers": sys.argv[1]}})
r = ConfigResource("topic", "{topic}")
c = a.describe_configs([r])[r].result()["retention.ms"]
print(c.value if c.source == 1 else "-")
"#
    ));
    let v = out.trim().to_string();
    (v != "-").then_some(v)
}

#[test]
fn a_topic_config_changed_on_one_broker_reaches_every_broker_through_zookeeper() {
    let zk = ZooKeeper::start();
    let brokers: BTreeMap<i64, Broker> = (1..=3).map(|id| (id, start(&zk, id as i32))).collect();
    let c = wait("a controller", Duration::from_secs(10), || {
        controller(&zk, "")
    });
    for b in brokers.values() {
        wait(
            &format!("the broker at {} to name controller {c}", b.server.addr),
            Duration::from_secs(15),
            || {
                let out = Command::new(require("kcat"))
                    .args(["-L", "-J", "-m", "5", "-b", &b.server.addr])
                    .output()
                    .ok()?;
                let v: Value = serde_json::from_slice(&out.stdout).ok()?;
                let n = v["brokers"].as_array()?.len();
                (v["controllerid"].as_i64()? == c && n == 3).then_some(())
            },
        );
    }
    let any = &brokers[&1].server;
    let out = any.spate(
        &["topic", "create", "tuned", "--replication-factor", "3"],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    for b in brokers.values() {
        wait("the topic everywhere", Duration::from_secs(15), || {
            kcat_leaders(&b.server.addr, "tuned").filter(|l| l.len() == 1)
        });
    }
    // Changed through broker 2 with confluent-kafka's incremental API.
    let out = brokers[&2].server.python(
        r#"
import sys
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigEntry, AlterConfigOpType
a = AdminClient({"bootstrap.servers": sys.argv[1]})
r = ConfigResource("topic", "tuned", incremental_configs=[
    ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
a.incremental_alter_configs([r])[r].result()
print("altered")
"#,
    );
    assert_eq!(out.trim(), "altered");
    // Kafka's znodes: the configs, and an announcement for every broker.
    wait("the configs in ZooKeeper", Duration::from_secs(15), || {
        let z = zk.get("/config/topics/tuned")?;
        let v: Value = serde_json::from_slice(&z.data).ok()?;
        (v["config"]["retention.ms"] == "3600000").then_some(())
    });
    let changes = zk.children("/config/changes").unwrap_or_default();
    assert!(
        changes.iter().any(|n| n.starts_with("config_change_")),
        "{changes:?}"
    );
    for b in brokers.values() {
        wait(
            &format!(
                "the broker at {} to describe the new retention",
                b.server.addr
            ),
            Duration::from_secs(15),
            || {
                (described_retention(&b.server, "tuned").as_deref() == Some("3600000"))
                    .then_some(())
            },
        );
    }
}
