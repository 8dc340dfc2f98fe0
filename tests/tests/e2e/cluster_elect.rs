//! Preferred leader election against three Spate brokers and a real
//! ZooKeeper: the preferred leader of a replicated partition is killed,
//! so leadership moves away, and restarted, so it follows and rejoins the
//! ISR. Then confluent-kafka's `AdminClient.elect_leaders` (ElectLeaders
//! v2, sent to the controller) makes it the leader again, a second
//! election is not needed; and with `auto.leader.rebalance.enable` the
//! controller's imbalance check does the same by itself.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::cluster::{json_at, wait_live, Node};
use spate_e2e::zookeeper::ZooKeeper;
use spate_e2e::{wait_until, Server};

const STATE: &str = "/brokers/topics/t/partitions/0/state";

/// Leader and ISR of `t-0` as the state znode holds them.
fn state(zk: &ZooKeeper) -> Option<(i64, Vec<i64>)> {
    let v: Value = serde_json::from_slice(&zk.get(STATE)?.data).ok()?;
    let isr: Option<Vec<i64>> = v["isr"].as_array()?.iter().map(Value::as_i64).collect();
    Some((v["leader"].as_i64()?, isr?))
}

/// Three brokers with `extra` properties, topic `t` (one partition on
/// all three), its preferred leader killed and restarted until it is back
/// in the ISR as a follower. Returns the brokers, the preferred leader
/// and the nodes (whose directories live as long as they do).
fn moved_away(zk: &ZooKeeper, extra: &str) -> (BTreeMap<i64, Server>, i64, Vec<Node>) {
    let nodes: BTreeMap<i64, Node> = (1..=3)
        .map(|id| {
            (
                id,
                Node::new(
                    zk,
                    id as i32,
                    &format!("replica.lag.time.max.ms=5000\n{extra}"),
                ),
            )
        })
        .collect();
    let mut brokers: BTreeMap<i64, Server> = nodes.iter().map(|(id, n)| (*id, n.start())).collect();
    let any = &brokers[&1];
    wait_live(any, 3);
    let out = any.spate(
        &[
            "topic",
            "create",
            "t",
            "--partitions",
            "1",
            "--replication-factor",
            "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let (preferred, _) = wait_until("t in sync", Duration::from_secs(20), &[], || {
        state(zk).filter(|(_, isr)| isr.len() == 3)
    });
    let replicas = json_at(zk, "/brokers/topics/t")["partitions"]["0"].clone();
    assert_eq!(replicas[0].as_i64(), Some(preferred), "{replicas}");
    brokers.remove(&preferred).expect("the leader").kill9();
    wait_until("another leader", Duration::from_secs(30), &[], || {
        state(zk).filter(|(l, _)| *l != preferred && *l > 0)
    });
    brokers.insert(preferred, nodes[&preferred].start());
    let back = wait_until(
        "the preferred replica back in the ISR",
        Duration::from_secs(40),
        &[],
        || state(zk).filter(|(_, isr)| isr.len() == 3),
    );
    println!("moved away: {back:?}");
    (brokers, preferred, nodes.into_values().collect())
}

#[test]
fn elect_leaders_brings_the_preferred_replica_back() {
    let zk = ZooKeeper::start();
    let (brokers, preferred, _nodes) = moved_away(&zk, "auto.leader.rebalance.enable=false\n");
    let (leader, _) = state(&zk).expect("a state");
    assert_ne!(leader, preferred, "rebalancing is off");
    let bootstrap: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let script = "import sys\n\
        from confluent_kafka import TopicPartition, ElectionType\n\
        from confluent_kafka.admin import AdminClient\n\
        a = AdminClient({'bootstrap.servers': sys.argv[1]})\n\
        for _ in range(2):\n\
        \x20   f = a.elect_leaders(ElectionType.PREFERRED, [TopicPartition('t', 0)])\n\
        \x20   try:\n\
        \x20       r = f.result(30)\n\
        \x20       for tp, err in r.items():\n\
        \x20           print(tp.topic, tp.partition, err.name() if err else 'NONE')\n\
        \x20   except Exception as e:\n\
        \x20       print('error', e)\n";
    let out = std::process::Command::new(spate_e2e::require("python3"))
        .args(["-c", script, &bootstrap.join(",")])
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.first(), Some(&"t 0 NONE"), "elected: {said}");
    // confluent-kafka reports a partition error as an exception or an
    // entry, depending on the version.
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.contains("ELECTION_NOT_NEEDED")),
        "the second is not needed: {said}"
    );
    let (now, isr) = state(&zk).expect("a state");
    assert_eq!(now, preferred);
    assert_eq!(isr.len(), 3, "the ISR stays");

    // `spate topic elect-leaders` finds the controller itself.
    let b = brokers.values().next().expect("a broker");
    let out = b.spate(&["topic", "elect-leaders", "t", "--json"], b"");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["partitions"][0]["error"], "ELECTION_NOT_NEEDED", "{v}");
    let out = b.spate(&["topic", "elect-leaders"], b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "no partition needed an election",
        "{out:?}"
    );
    let out = b.spate(
        &[
            "topic",
            "elect-leaders",
            "t",
            "--partition",
            "0",
            "--unclean",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "t-0: ELECTION_NOT_NEEDED",
        "a live leader needs no unclean election"
    );
    let out = b.spate(&["topic", "elect-leaders", "t", "--partition", "5"], b"");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("t-5: UNKNOWN_TOPIC_OR_PARTITION"),
        "{out:?}"
    );
}

#[test]
fn the_controller_rebalances_leadership_by_itself() {
    let zk = ZooKeeper::start();
    let (_brokers, preferred, _nodes) =
        moved_away(&zk, "leader.imbalance.check.interval.seconds=1\n");
    wait_until(
        "the preferred replica leading again",
        Duration::from_secs(30),
        &[],
        || state(&zk).filter(|(l, _)| *l == preferred),
    );
}
