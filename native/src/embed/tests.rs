//! The embedded broker with Spate's own client (`crate::client`, which
//! blocks: it runs on a blocking thread). librdkafka's view, faults
//! included, is in `bench/tests/embedded.rs`.

use std::time::Duration;

use bytes::Bytes;
use spate_core::protocol::messages::metadata_request::MetadataRequest;

use super::*;
use crate::client::producer::{Outgoing, Producer};
use crate::client::{Client, ConnArgs};

fn record(value: &str) -> Outgoing {
    Outgoing {
        partition: Some(0),
        key: None,
        value: Some(Bytes::from(value.to_string())),
        headers: Vec::new(),
        timestamp: now_ms(),
    }
}

/// Produces `values` to partition 0 of `topic`; the offsets acknowledged.
async fn produce(
    bootstrap: String,
    topic: &'static str,
    values: &[&str],
) -> anyhow::Result<Vec<i64>> {
    let records: Vec<_> = values.iter().map(|v| record(v)).collect();
    tokio::task::spawn_blocking(move || {
        let mut no_retry = |_: &anyhow::Error| false;
        let mut p = Producer::new(ConnArgs::plain(bootstrap), &mut no_retry)?;
        let acks = p.send(topic, &records, &mut no_retry)?;
        Ok(acks.into_iter().map(|(_, o)| o).collect())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_on_a_free_port_with_its_topics_and_closes_twice() {
    let mut b = Broker::start(BrokerConfig {
        topics: vec![Topic::new("orders", 3)],
        auto_create_topics: false,
        properties: vec![("num.partitions".into(), "2".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(b.bootstrap().starts_with("127.0.0.1:") && b.port() != 0);
    let bootstrap = b.bootstrap();
    let parts = tokio::task::spawn_blocking(move || {
        let mut c = Client::connect(&ConnArgs::plain(bootstrap)).unwrap();
        let m = c.metadata(Some(&["orders"])).unwrap();
        m.topics[0].partitions.len()
    })
    .await
    .unwrap();
    assert_eq!(parts, 3);
    assert_eq!(
        produce(b.bootstrap(), "orders", &["a", "b"]).await.unwrap(),
        [0, 1]
    );
    // Auto-creation is off: an unknown topic stays unknown.
    assert!(produce(b.bootstrap(), "nope", &["x"]).await.is_err());
    b.close().await.unwrap();
    b.close().await.unwrap();
    assert!(b
        .inject_error(ErrorFault::new(ApiKey::Produce, ErrorCode::NONE))
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brokers_run_side_by_side_and_one_dropped_unclosed_stops() {
    let a = Broker::start(BrokerConfig::default()).await.unwrap();
    let mut b = Broker::start(BrokerConfig::default()).await.unwrap();
    assert_ne!(a.port(), b.port());
    let addr = a.bootstrap();
    drop(a);
    // The dropped broker stops listening on its own.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "{addr} still takes connections");
    assert_eq!(produce(b.bootstrap(), "auto", &["x"]).await.unwrap(), [0]);
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_errors() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let busy = Broker::start(BrokerConfig {
        port,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(busy.to_string().contains("listening on"), "{busy}");
    assert_eq!(busy.io_kind(), Some(std::io::ErrorKind::AddrInUse));
    assert!(busy.raw_os_error().is_some());
    let file = std::env::temp_dir().join(format!("spate-embed-file-{}", std::process::id()));
    std::fs::write(&file, b"not a directory").unwrap();
    let not_dir = Broker::start(BrokerConfig {
        data: Data::Dir(file.clone()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    let _ = std::fs::remove_file(&file);
    assert!(
        not_dir.to_string().contains("is not a directory"),
        "{not_dir}"
    );
    assert_eq!(not_dir.io_kind(), Some(std::io::ErrorKind::NotADirectory));
    let unknown = Broker::start(BrokerConfig {
        properties: vec![("no.such.option".into(), "1".into())],
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(unknown.to_string().contains("no.such.option"), "{unknown}");
    assert_eq!(unknown.io_kind(), None);
    let bad_value = Broker::start(BrokerConfig {
        properties: vec![("num.partitions".into(), "many".into())],
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        bad_value.to_string().contains("num.partitions"),
        "{bad_value}"
    );
}

/// What a cluster cannot start with is refused before any broker
/// starts; the cluster itself is exercised with ZooKeeper in
/// `tests/tests/e2e/embed_cluster.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_zookeeper_or_brokers_is_refused() {
    let no_zk = Cluster::start(ClusterConfig::default()).await.unwrap_err();
    assert!(no_zk.to_string().contains("needs ZooKeeper"), "{no_zk}");
    let none = Cluster::start(ClusterConfig {
        brokers: 0,
        zookeeper: "127.0.0.1:1".into(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(none.to_string().contains("at least one broker"), "{none}");
    let too_many = Cluster::start(ClusterConfig {
        brokers: 2,
        zookeeper: "127.0.0.1:1".into(),
        replication_factor: Some(3),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        too_many
            .to_string()
            .contains("replication factor 3 with 2 brokers"),
        "{too_many}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_keeps_its_data_across_starts() {
    let dir = std::env::temp_dir().join(format!("spate-embed-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = BrokerConfig {
        data: Data::Dir(dir.clone()),
        topics: vec![Topic::new("kept", 1)],
        ..Default::default()
    };
    let mut b = Broker::start(config.clone()).await.unwrap();
    assert_eq!(produce(b.bootstrap(), "kept", &["1"]).await.unwrap(), [0]);
    b.close().await.unwrap();
    let mut b = Broker::start(config).await.unwrap();
    assert_eq!(produce(b.bootstrap(), "kept", &["2"]).await.unwrap(), [1]);
    b.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_reach_the_client_and_requests_are_observed() {
    let mut b = Broker::start(BrokerConfig {
        topics: vec![Topic::new("t", 1)],
        ..Default::default()
    })
    .await
    .unwrap();
    b.observe(true).await.unwrap();
    let mut fault = ErrorFault::new(ApiKey::Produce, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    fault.topic = Some("t".into());
    b.inject_error(fault).await.unwrap();
    let e = produce(b.bootstrap(), "t", &["x"]).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("TOPIC_AUTHORIZATION_FAILED"),
        "{e:#}"
    );
    // Spent: the next produce goes through, at offset 0 (nothing was written).
    assert_eq!(produce(b.bootstrap(), "t", &["y"]).await.unwrap(), [0]);
    b.fail_appends(1, Some("t")).await.unwrap();
    let e = produce(b.bootstrap(), "t", &["z"]).await.unwrap_err();
    assert!(format!("{e:#}").contains("KAFKA_STORAGE_ERROR"), "{e:#}");
    let seen = b.observed().await.unwrap();
    let produces: Vec<_> = seen.iter().filter(|r| r["api"] == "Produce").collect();
    assert_eq!(produces.len(), 3, "{seen:?}");
    assert_eq!(produces[0]["body"]["topic_data"][0]["name"], "t");
    // Refused: an API without an error answer, a name that is no API.
    let commit = ErrorFault::new(ApiKey::OffsetCommit, ErrorCode::REBALANCE_IN_PROGRESS);
    assert!(b.inject_error(commit).await.is_err());
    let bogus: ErrorFault = serde_json::from_str(r#"{"api": "Nope", "error": "NONE"}"#).unwrap();
    assert!(b.inject_error(bogus).await.is_err());
    // A dropped connection: the client sees it closed, unanswered.
    b.drop_connections(ApiKey::Metadata, 1).unwrap();
    let bootstrap = b.bootstrap();
    let second = tokio::task::spawn_blocking(move || {
        let mut c = Client::connect(&ConnArgs::plain(bootstrap)).unwrap();
        let first = c.send(RequestBody::Metadata(MetadataRequest::default()));
        (first.is_err(), c.metadata(None).is_err())
    })
    .await
    .unwrap();
    assert_eq!(
        second,
        (true, true),
        "the first Metadata drops the connection it came on"
    );
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_clock_expires_a_session_when_advanced() {
    use spate_core::protocol::messages::describe_groups_request::DescribeGroupsRequest;
    use spate_core::protocol::messages::join_group_request::{
        JoinGroupRequest, JoinGroupRequestProtocol,
    };
    let b = Broker::start(BrokerConfig {
        virtual_clock: Some(1_000_000),
        ..Default::default()
    })
    .await
    .unwrap();
    b.observe(true).await.unwrap();
    let bootstrap = b.bootstrap();
    let joined = tokio::task::spawn_blocking(move || {
        let mut c = Client::connect(&ConnArgs::plain(bootstrap)).unwrap();
        let mut member_id = ByteString::new();
        loop {
            let req = JoinGroupRequest {
                group_id: "g".into(),
                session_timeout_ms: 10_000,
                rebalance_timeout_ms: 10_000,
                member_id: member_id.clone(),
                protocol_type: "consumer".into(),
                protocols: vec![JoinGroupRequestProtocol {
                    name: "range".into(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let ResponseBody::JoinGroup(r) = c.send(RequestBody::JoinGroup(req)).unwrap() else {
                panic!("not a JoinGroup answer")
            };
            if r.error_code == ErrorCode::MEMBER_ID_REQUIRED.0 {
                member_id = r.member_id;
                continue;
            }
            return (c, r.error_code);
        }
    });
    // The join waits for group.initial.rebalance.delay.ms (3 s) of
    // virtual time: it arrives, then nothing happens until it passes.
    // (From v4 the first JoinGroup is answered MEMBER_ID_REQUIRED at
    // once; the one with the member id waits.)
    let waiting = |r: &Value| {
        r["api"] == "JoinGroup" && (r["version"].as_i64() < Some(4) || r["body"]["member_id"] != "")
    };
    while !b.observed().await.unwrap().iter().any(waiting) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!joined.is_finished());
    b.advance(Duration::from_secs(3)).await.unwrap();
    let (mut c, code) = joined.await.unwrap();
    assert_eq!(code, 0);
    let state = |c: &mut Client| {
        let req = DescribeGroupsRequest {
            groups: vec!["g".into()],
            ..Default::default()
        };
        match c.send(RequestBody::DescribeGroups(req)).unwrap() {
            ResponseBody::DescribeGroups(r) => (
                r.groups[0].group_state.to_string(),
                r.groups[0].members.len(),
            ),
            _ => panic!("not a DescribeGroups answer"),
        }
    };
    let (before, c) = tokio::task::spawn_blocking(move || (state(&mut c), c))
        .await
        .unwrap();
    assert_eq!(before, ("CompletingRebalance".to_string(), 1));
    // The member never heartbeats: 10 s of virtual time expire it.
    b.advance(Duration::from_secs(11)).await.unwrap();
    let mut c = c;
    let after = tokio::task::spawn_blocking(move || state(&mut c))
        .await
        .unwrap();
    assert_eq!(after, ("Empty".to_string(), 0));
    assert!(b.now_ms() >= 1_014_000);
}
