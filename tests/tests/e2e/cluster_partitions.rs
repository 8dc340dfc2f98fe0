//! Partitions in a ZooKeeper cluster of Spate brokers, against a real
//! ZooKeeper server: the controller electing leaders for a topic written
//! to ZooKeeper and moving them when a broker dies, a leader's own ISR
//! changes, and `spate topic create` placing replicas through ZooKeeper.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use spate_e2e::cluster::{
    agree, controller, json_at, kill, properties, three_brokers, wait, FAILOVER,
};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{require, wait_until, Server};
use std::process::Command;

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
