//! The [`Engine`] contract, checked against a real ZooKeeper server
//! (`spate_e2e::zookeeper`): several sessions of one process stand for
//! several brokers.

use std::future::Future;
use std::time::Duration;

use spate_e2e::zookeeper::ZooKeeper as Server;

use super::engine::{
    BrokerInfo, ControllerEpoch, Election, Engine, EngineError, Event, Expect, Registered, Version,
    Written,
};
use super::zookeeper::{ZkConfig, ZooKeeper};

fn config(server: &Server, chroot: &str) -> ZkConfig {
    let mut c = ZkConfig::new(format!("{}{chroot}", server.connect()));
    c.session_timeout = Duration::from_millis(4000);
    c.connection_timeout = Duration::from_secs(10);
    c
}

fn broker(id: i32) -> BrokerInfo {
    BrokerInfo {
        id,
        host: format!("broker-{id}.test"),
        port: 9000 + id,
        rack: None,
        // As the registration is read back.
        endpoints: vec![spate_core::broker::Endpoint {
            listener: "PLAINTEXT".into(),
            host: format!("broker-{id}.test"),
            port: 9000 + id,
            protocol: spate_core::security::SecurityProtocol::Plaintext,
        }],
    }
}

fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The events of `engine` until one matches, within ten seconds.
async fn until(engine: &mut ZooKeeper, wanted: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    let waiting = async {
        loop {
            let e = engine.next_event().await.expect("an event");
            let done = wanted(&e);
            seen.push(e);
            if done {
                return;
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .is_err()
    {
        panic!("no such event; saw {seen:?}");
    }
    seen
}

#[test]
fn sessions_share_a_cluster_id_register_once_per_id_and_elect_one_controller() {
    let server = Server::start();
    let cfg = config(&server, "/engine/one");
    run(async {
        let mut a = ZooKeeper::connect(&cfg).await.unwrap();
        let mut b = ZooKeeper::connect(&cfg).await.unwrap();
        assert_eq!(a.cluster_id("first").await.unwrap(), "first");
        assert_eq!(
            b.cluster_id("second").await.unwrap(),
            "first",
            "the stored id wins"
        );

        let epoch_a = a.register(&broker(1)).await.unwrap();
        let epoch_b = b.register(&broker(2)).await.unwrap();
        assert!(epoch_b > epoch_a, "broker epochs grow");
        assert_eq!(
            a.register(&broker(1)).await,
            Ok(epoch_a),
            "a session's own registration stands"
        );
        let mut c = ZooKeeper::connect(&cfg).await.unwrap();
        match c.register(&broker(1)).await {
            Err(EngineError::BrokerIdTaken { id: 1, detail }) => {
                assert!(detail.contains("/brokers/ids/1"), "{detail}");
            }
            other => panic!("a second broker 1 registered: {other:?}"),
        }
        c.close().await;
        let live = a.live_brokers().await.unwrap();
        assert_eq!(
            live,
            vec![
                Registered {
                    info: broker(1),
                    epoch: epoch_a
                },
                Registered {
                    info: broker(2),
                    epoch: epoch_b
                }
            ],
            "each with the epoch its registration returned"
        );

        let Election::Won(first) = a.try_elect(1).await.unwrap() else {
            panic!("the first election is won");
        };
        assert_eq!(first.epoch, 1);
        assert_eq!(b.try_elect(2).await.unwrap(), Election::Lost(Some(1)));
        assert_eq!(
            a.try_elect(1).await.unwrap(),
            Election::Won(first),
            "a claim is kept"
        );
        assert_eq!(b.controller().await.unwrap(), Some(1));
        assert_eq!(b.controller_epoch().await.unwrap(), Some(first));

        // The controller goes: the other session hears it and wins the next term.
        a.close().await;
        until(&mut b, |e| *e == Event::ControllerGone).await;
        let Election::Won(second) = b.try_elect(2).await.unwrap() else {
            panic!("the second election is won");
        };
        assert_eq!(second.epoch, 2);
        assert_eq!(
            b.live_brokers().await.unwrap(),
            vec![Registered {
                info: broker(2),
                epoch: epoch_b
            }]
        );
        b.close().await;
    });
    // Under the chroot, where a Kafka broker would look.
    assert_eq!(
        server.get("/engine/one/controller_epoch").map(|z| z.text()),
        Some("2".to_string())
    );
    assert!(server.get("/controller_epoch").is_none());
}

#[test]
fn conditional_writes_hold_to_their_version_and_to_the_controller_term() {
    let server = Server::start();
    let cfg = config(&server, "");
    run(async {
        let mut zk = ZooKeeper::connect(&cfg).await.unwrap();
        zk.register(&broker(1)).await.unwrap();
        let Election::Won(term) = zk.try_elect(1).await.unwrap() else {
            panic!("elected");
        };
        let key = "/brokers/topics/t/partitions/0/state";
        assert_eq!(zk.read(key).await.unwrap(), None);
        let w = zk
            .write(key, b"one", Expect::Absent, Some(term))
            .await
            .unwrap();
        assert_eq!(w, Written::Done(Version(0)), "created with its parents");
        assert_eq!(
            zk.write(key, b"again", Expect::Absent, None).await.unwrap(),
            Written::Conflict
        );
        let read = zk.read(key).await.unwrap().unwrap();
        assert_eq!(
            (read.data.as_slice(), read.version),
            (&b"one"[..], Version(0))
        );
        let w = zk
            .write(key, b"two", Expect::Version(Version(0)), Some(term))
            .await
            .unwrap();
        assert_eq!(w, Written::Done(Version(1)));
        let stale = zk
            .write(key, b"old", Expect::Version(Version(0)), None)
            .await
            .unwrap();
        assert_eq!(stale, Written::Conflict, "a write from an old read fails");

        // A deposed controller's writes fail: the term moved on.
        let deposed = ControllerEpoch {
            epoch: term.epoch - 1,
            version: Version(term.version.0 - 1),
        };
        let fenced = zk
            .write(key, b"x", Expect::Version(Version(1)), Some(deposed))
            .await
            .unwrap();
        assert_eq!(fenced, Written::Conflict);
        assert_eq!(zk.read(key).await.unwrap().unwrap().data, b"two");
        zk.close().await;
    });
}

#[test]
fn config_change_announcements_are_read_then_purged_once_fifteen_minutes_old() {
    use std::collections::BTreeSet;

    use super::config_changes::read_config_changes;
    use super::topic_znodes::CHANGE_EXPIRATION_MS;
    use super::topic_znodes::{encode_config_change, CONFIG_CHANGES, CONFIG_CHANGE_PREFIX};

    let server = Server::start();
    let cfg = config(&server, "");
    run(async {
        let zk = ZooKeeper::connect(&cfg).await.unwrap();
        let announce = |topic: &'static str| {
            let zk = &zk;
            async move {
                zk.create_sequential(CONFIG_CHANGE_PREFIX, &encode_config_change(topic))
                    .await
                    .unwrap();
            }
        };
        let names = || async {
            let names: BTreeSet<String> = zk
                .children(CONFIG_CHANGES)
                .await
                .unwrap()
                .into_iter()
                .collect();
            names
        };
        let created = |name: String| {
            let zk = &zk;
            async move {
                let v = zk.read(&format!("{CONFIG_CHANGES}/{name}")).await.unwrap();
                v.expect("the announcement").created_ms
            }
        };
        announce("a").await;
        announce("b").await;
        let first = names().await;
        let (mut last, mut owed, mut users) = (None, BTreeSet::new(), BTreeSet::new());
        let mut brokers = BTreeSet::new();
        let newest = created(first.last().unwrap().clone()).await;
        assert!(newest > 0, "ZooKeeper's ctime");
        // Read at the moment the newest was made: both read, none purged.
        read_config_changes(
            &zk,
            &first,
            &mut last,
            &mut owed,
            (&mut users, &mut brokers),
            newest,
        )
        .await
        .unwrap();
        assert_eq!(owed, ["a".to_string(), "b".to_string()].into());
        assert!(users.is_empty() && brokers.is_empty(), "topics only");
        assert_eq!(names().await, first);

        announce("c").await;
        let all = names().await;
        let third = all.last().unwrap().clone();
        let mut ages = Vec::new();
        for name in &all {
            ages.push((name.clone(), created(name.clone()).await));
        }
        let made = created(third.clone()).await;
        owed.clear();
        // Fifteen minutes after the third was made: only the new one is
        // read, and every announcement made before it goes.
        read_config_changes(
            &zk,
            &all,
            &mut last,
            &mut owed,
            (&mut users, &mut brokers),
            made + CHANGE_EXPIRATION_MS,
        )
        .await
        .unwrap();
        assert_eq!(owed, ["c".to_string()].into());
        let kept: BTreeSet<String> = ages
            .into_iter()
            .filter(|(_, c)| *c >= made)
            .map(|(n, _)| n)
            .collect();
        assert!(kept.contains(&third));
        assert_eq!(names().await, kept);
        // Much later every one goes; those another broker purged already
        // are skipped.
        read_config_changes(
            &zk,
            &all,
            &mut last,
            &mut owed,
            (&mut users, &mut brokers),
            i64::MAX,
        )
        .await
        .unwrap();
        assert!(names().await.is_empty());
        zk.close().await;
    });
}
