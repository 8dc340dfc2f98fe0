//! Cluster membership in ZooKeeper mode: the controller's UpdateMetadata
//! tells the broker which brokers are alive and who the controller is, and
//! Metadata and DescribeCluster list them. Stale controller and broker
//! epochs are refused and change nothing; a single broker neither
//! advertises nor serves the inter-broker APIs; malformed requests close
//! their connection and no other. Every version of UpdateMetadata the codec
//! has (0-8) goes through the real codec.

mod sim;

use bytes::Bytes;
use sim::pair::{zk_broker, zk_config};
use sim::{Event, Sim};
use spate_core::broker::Config;
use spate_core::example::{example_request, Variant};
use spate_core::protocol::header::encode_request;
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::describe_cluster_request::DescribeClusterRequest;
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataRequest, UpdateMetadataTopicState,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::MemStorage;

/// PLAINTEXT's security protocol id.
const PLAINTEXT: i16 = 0;
/// SSL's security protocol id.
const SSL: i16 = 1;

/// A broker as a listing shows it: id, host, port, rack.
type Listed = (i32, String, i32, Option<String>);

/// Broker `id` at `b{id}.example:{9090 + id}`, in rack `r{id}`.
fn listed(id: i32, rack: bool) -> Listed {
    (
        id,
        format!("b{id}.example"),
        9090 + id,
        rack.then(|| format!("r{id}")),
    )
}

/// A live broker as the controller describes it at any version: v0's host
/// and port, and (v1+) its endpoints: a REPLICATION listener first (only
/// from v3, where listeners have names) and the PLAINTEXT one clients use.
fn live(id: i32) -> UpdateMetadataBroker {
    let (_, host, port, rack) = listed(id, true);
    UpdateMetadataBroker {
        id,
        v0_host: host.as_str().into(),
        v0_port: port,
        endpoints: vec![
            UpdateMetadataEndpoint {
                host: host.as_str().into(),
                port: port + 1000,
                listener: "REPLICATION".into(),
                security_protocol: PLAINTEXT,
                ..Default::default()
            },
            UpdateMetadataEndpoint {
                host: host.as_str().into(),
                port,
                listener: "PLAINTEXT".into(),
                security_protocol: PLAINTEXT,
                ..Default::default()
            },
        ],
        rack: rack.map(Into::into),
        ..Default::default()
    }
}

/// An UpdateMetadata naming `brokers` alive and `controller_id` the
/// controller, stamped with the two epochs.
fn update(
    controller_id: i32,
    controller_epoch: i32,
    broker_epoch: i64,
    brokers: &[i32],
) -> UpdateMetadataRequest {
    UpdateMetadataRequest {
        controller_id,
        controller_epoch,
        broker_epoch,
        live_brokers: brokers.iter().map(|&id| live(id)).collect(),
        ..Default::default()
    }
}

/// Drops what `version` cannot say: before v3 an endpoint has no listener
/// name, so only the endpoint clients use is sent (two endpoints with one
/// security protocol would be the same listener).
fn at_version(mut req: UpdateMetadataRequest, version: i16) -> UpdateMetadataRequest {
    if version < 3 {
        for b in &mut req.live_brokers {
            b.endpoints.retain(|e| e.listener == "PLAINTEXT");
        }
    }
    req
}

/// Sends an UpdateMetadata at `version` on connection 50 (the
/// controller's); its error code.
fn send_update(sim: &mut Sim, version: i16, req: UpdateMetadataRequest) -> i16 {
    let req = at_version(req, version);
    match sim.call(50, version, RequestBody::UpdateMetadata(req)) {
        ResponseBody::UpdateMetadata(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

/// The brokers and controller id Metadata v12 reports.
fn metadata(sim: &mut Sim) -> (Vec<Listed>, i32) {
    let req = MetadataRequest {
        topics: None,
        ..Default::default()
    };
    let ResponseBody::Metadata(r) = sim.call(1, 12, RequestBody::Metadata(req)) else {
        panic!()
    };
    let brokers = r
        .brokers
        .iter()
        .map(|b| {
            (
                b.node_id,
                b.host.to_string(),
                b.port,
                b.rack.as_ref().map(|r| r.to_string()),
            )
        })
        .collect();
    (brokers, r.controller_id)
}

/// The brokers and controller id DescribeCluster v1 reports.
fn describe_cluster(sim: &mut Sim) -> (Vec<Listed>, i32) {
    let req = DescribeClusterRequest {
        endpoint_type: 1,
        ..Default::default()
    };
    let ResponseBody::DescribeCluster(r) = sim.call(1, 1, RequestBody::DescribeCluster(req)) else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    let brokers = r
        .brokers
        .iter()
        .map(|b| {
            (
                b.broker_id,
                b.host.to_string(),
                b.port,
                b.rack.as_ref().map(|r| r.to_string()),
            )
        })
        .collect();
    (brokers, r.controller_id)
}

/// This broker alone, itself the controller: what a single broker says.
fn alone() -> (Vec<Listed>, i32) {
    (vec![(1, "127.0.0.1".into(), 9092, None)], 1)
}

/// The API keys ApiVersions v3 lists, with their version ranges.
fn advertised(sim: &mut Sim) -> Vec<(i16, i16, i16)> {
    let ResponseBody::ApiVersions(r) = sim.call(
        1,
        3,
        RequestBody::ApiVersions(ApiVersionsRequest::default()),
    ) else {
        panic!()
    };
    r.api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect()
}

// ---------------------------------------------------------------- tests

#[test]
fn before_any_update_the_broker_lists_itself_as_broker_and_controller() {
    let mut sim = zk_broker();
    assert_eq!(metadata(&mut sim), alone());
    assert_eq!(describe_cluster(&mut sim), alone());
}

#[test]
fn update_metadata_makes_metadata_list_the_live_brokers_and_controller_at_every_version() {
    for version in 0..=8 {
        let mut sim = zk_broker();
        let code = send_update(&mut sim, version, update(2, 1, 7, &[3, 1, 2]));
        assert_eq!(code, 0, "v{version}");
        // Racks are in the request from v2.
        let rack = version >= 2;
        let want = (vec![listed(1, rack), listed(2, rack), listed(3, rack)], 2);
        assert_eq!(metadata(&mut sim), want, "Metadata after v{version}");
        assert_eq!(
            describe_cluster(&mut sim),
            want,
            "DescribeCluster after v{version}"
        );
    }
}

#[test]
fn a_newer_update_replaces_the_membership_and_a_broker_that_left_disappears() {
    let mut sim = zk_broker();
    assert_eq!(send_update(&mut sim, 8, update(1, 1, -1, &[1, 2, 3])), 0);
    // A new controller (epoch 2) on broker 3; broker 2 is gone.
    assert_eq!(send_update(&mut sim, 8, update(3, 2, -1, &[1, 3])), 0);
    assert_eq!(
        metadata(&mut sim),
        (vec![listed(1, true), listed(3, true)], 3)
    );
    // The same controller says more with the same epoch: also current.
    assert_eq!(send_update(&mut sim, 8, update(3, 2, -1, &[1, 2, 3])), 0);
    assert_eq!(metadata(&mut sim).0.len(), 3);
}

#[test]
fn a_stale_controller_epoch_is_refused_and_changes_nothing() {
    for version in [0, 5, 8] {
        let mut sim = zk_broker();
        assert_eq!(
            send_update(&mut sim, version, update(2, 5, -1, &[1, 2, 3])),
            0
        );
        let before = metadata(&mut sim);
        let code = send_update(&mut sim, version, update(1, 4, -1, &[1]));
        assert_eq!(code, ErrorCode::STALE_CONTROLLER_EPOCH.code(), "v{version}");
        assert_eq!(metadata(&mut sim), before, "v{version}");
        assert_eq!(describe_cluster(&mut sim), before, "v{version}");
    }
    // Below the first epoch a broker knows (0), even before any update.
    let mut sim = zk_broker();
    let code = send_update(&mut sim, 8, update(2, -1, -1, &[2]));
    assert_eq!(code, ErrorCode::STALE_CONTROLLER_EPOCH.code());
    assert_eq!(metadata(&mut sim), alone());
}

#[test]
fn a_stale_broker_epoch_is_refused_and_changes_nothing() {
    for version in 5..=8 {
        let mut sim = zk_broker();
        sim.broker.handle_registered(100, sim.now);
        assert_eq!(sim.broker.broker_epoch(), 100);
        // Meant for an earlier incarnation of this broker.
        let code = send_update(&mut sim, version, update(2, 1, 99, &[1, 2]));
        assert_eq!(code, ErrorCode::STALE_BROKER_EPOCH.code(), "v{version}");
        assert_eq!(metadata(&mut sim), alone(), "v{version}");
        // The broker epoch is checked first, as Kafka does.
        let code = send_update(&mut sim, version, update(2, -1, 99, &[1, 2]));
        assert_eq!(code, ErrorCode::STALE_BROKER_EPOCH.code(), "v{version}");
        // The current epoch, a newer one (the controller saw a registration
        // the broker has not been told of yet), and an unknown one pass.
        for epoch in [100, 101, -1] {
            let code = send_update(&mut sim, version, update(2, 1, epoch, &[1, 2]));
            assert_eq!(code, 0, "v{version} broker epoch {epoch}");
        }
        assert_eq!(metadata(&mut sim).1, 2);
    }
}

#[test]
fn an_unknown_broker_epoch_on_either_side_is_not_checked() {
    // The driver has not registered the broker: any epoch passes.
    let mut sim = zk_broker();
    assert_eq!(sim.broker.broker_epoch(), -1);
    assert_eq!(send_update(&mut sim, 8, update(2, 1, 3, &[1, 2])), 0);
    // Before v5 the request carries no broker epoch: nothing to check.
    let mut sim = zk_broker();
    sim.broker.handle_registered(100, sim.now);
    assert_eq!(send_update(&mut sim, 4, update(2, 1, -1, &[1, 2])), 0);
    assert_eq!(metadata(&mut sim).1, 2);
}

#[test]
fn brokers_are_listed_with_their_endpoint_for_this_brokers_listener() {
    // This broker serves clients on EXTERNAL; broker 3 has no such listener.
    let mut sim = Sim::with(
        Config {
            listener_name: "EXTERNAL".into(),
            ..zk_config()
        },
        MemStorage::new(),
    );
    let mut req = update(1, 1, -1, &[1, 2, 3]);
    for b in &mut req.live_brokers[..2] {
        b.endpoints.push(UpdateMetadataEndpoint {
            host: format!("public-{}.example", b.id).into(),
            port: 443,
            listener: "EXTERNAL".into(),
            security_protocol: SSL,
            ..Default::default()
        });
    }
    assert_eq!(send_update(&mut sim, 6, req), 0);
    let want: Vec<Listed> = (1..=2)
        .map(|id| {
            (
                id,
                format!("public-{id}.example"),
                443,
                Some(format!("r{id}")),
            )
        })
        .collect();
    assert_eq!(metadata(&mut sim), (want, 1));

    // Before v3 endpoints have no listener name: the one named after the
    // security protocol is meant (PLAINTEXT here, not the SSL endpoint).
    let mut sim = zk_broker();
    let version = 1;
    let mut req = at_version(update(1, 1, -1, &[1, 2]), version);
    for b in &mut req.live_brokers {
        b.endpoints.insert(
            0,
            UpdateMetadataEndpoint {
                host: "tls.example".into(),
                port: 9443,
                security_protocol: SSL,
                ..Default::default()
            },
        );
    }
    let ResponseBody::UpdateMetadata(r) = sim.call(50, version, RequestBody::UpdateMetadata(req))
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    assert_eq!(
        metadata(&mut sim),
        (vec![listed(1, false), listed(2, false)], 1)
    );
}

#[test]
fn partition_states_drive_metadata() {
    // The controller's word on a partition replaces the image's (more in
    // tests/leadership.rs).
    // A topic of the broker's own log (created alone, before it joined).
    let mut single = Sim::new();
    single.create_topic("orders", 1);
    let mut sim = single.restart_with(zk_broker().broker.config().clone());
    let mut req = update(2, 1, -1, &[1, 2]);
    req.topic_states = vec![UpdateMetadataTopicState {
        topic_name: "orders".into(),
        partition_states: vec![UpdateMetadataPartitionState {
            partition_index: 0,
            controller_epoch: 1,
            leader: 2,
            leader_epoch: 7,
            isr: vec![2, 1].into(),
            replicas: vec![2, 1].into(),
            ..Default::default()
        }],
        ..Default::default()
    }];
    assert_eq!(send_update(&mut sim, 7, req), 0);
    let ResponseBody::Metadata(r) = sim.call(
        1,
        12,
        RequestBody::Metadata(MetadataRequest {
            topics: None,
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    assert_eq!(r.brokers.len(), 2);
    let p = &r
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some("orders"))
        .unwrap()
        .partitions[0];
    assert_eq!(p.leader_id, 2);
    assert_eq!(p.leader_epoch, 7);
    assert_eq!(p.replica_nodes.to_vec(), vec![2, 1]);
}

#[test]
fn a_single_broker_neither_advertises_nor_serves_the_inter_broker_apis() {
    let inter_broker = [
        ApiKey::LeaderAndIsr,
        ApiKey::StopReplica,
        ApiKey::UpdateMetadata,
        ApiKey::ControlledShutdown,
    ];
    let mut sim = Sim::new();
    let keys = advertised(&mut sim);
    for k in inter_broker {
        assert!(
            keys.iter().all(|(key, _, _)| *key != k as i16),
            "{k:?} advertised"
        );
    }
    // A request for one is refused as any API the broker does not serve:
    // its connection is closed, and nothing changes.
    for (i, k) in inter_broker.into_iter().enumerate() {
        let conn = 10 + i as u64;
        let frame = example_request(k, k.versions().max, 1, Variant::Full);
        sim.send_raw(conn, frame.slice(4..));
        match sim.take(conn).as_slice() {
            [Event::Closed(why)] => assert!(why.contains("not supported"), "{k:?}: {why}"),
            other => panic!("{k:?}: {other:?}"),
        }
    }
    let frame = encode_request(
        &RequestHeader {
            request_api_key: ApiKey::UpdateMetadata as i16,
            request_api_version: 8,
            correlation_id: 1,
            client_id: Some("controller".into()),
            ..Default::default()
        },
        &RequestBody::UpdateMetadata(update(2, 1, -1, &[1, 2, 3])),
    )
    .unwrap();
    sim.send_raw(20, frame.slice(4..));
    assert!(matches!(sim.take(20).as_slice(), [Event::Closed(_)]));
    assert_eq!(metadata(&mut sim), alone());
    assert_eq!(describe_cluster(&mut sim), alone());
}

#[test]
fn zookeeper_mode_advertises_the_controllers_apis_and_a_single_broker_does_not() {
    let mut sim = zk_broker();
    let keys = advertised(&mut sim);
    assert!(keys.contains(&(ApiKey::UpdateMetadata as i16, 0, 8)));
    assert!(keys.contains(&(ApiKey::LeaderAndIsr as i16, 0, 7)));
    assert!(keys.contains(&(ApiKey::StopReplica as i16, 0, 4)));
    // Served by the controller (NOT_CONTROLLER elsewhere).
    assert!(keys.contains(&(ApiKey::ControlledShutdown as i16, 0, 3)));
    assert!(keys.contains(&(ApiKey::ElectLeaders as i16, 0, 2)));
    let single = advertised(&mut Sim::new());
    for key in [
        ApiKey::UpdateMetadata,
        ApiKey::LeaderAndIsr,
        ApiKey::StopReplica,
        ApiKey::ControlledShutdown,
        ApiKey::ElectLeaders,
    ] {
        assert!(
            single.iter().all(|(k, _, _)| *k != key as i16),
            "{} advertised by a single broker",
            key.name()
        );
    }
    // A version past 8 is refused like any unsupported version.
    let mut frame = example_request(ApiKey::UpdateMetadata, 8, 1, Variant::Full).to_vec();
    frame[6..8].copy_from_slice(&9i16.to_be_bytes());
    sim.send_raw(30, Bytes::copy_from_slice(&frame[4..]));
    assert!(matches!(sim.take(30).as_slice(), [Event::Closed(_)]));
}

#[test]
fn malformed_update_metadata_closes_its_connection_and_changes_nothing() {
    for version in [0, 5, 8] {
        let mut sim = zk_broker();
        assert_eq!(send_update(&mut sim, version, update(2, 1, -1, &[1, 2])), 0);
        let before = metadata(&mut sim);
        let header = RequestHeader {
            request_api_key: ApiKey::UpdateMetadata as i16,
            request_api_version: version,
            correlation_id: 7,
            client_id: Some("controller".into()),
            ..Default::default()
        };
        let req = at_version(update(3, 9, -1, &[3]), version);
        let frame = encode_request(&header, &RequestBody::UpdateMetadata(req)).unwrap();
        let body = frame.slice(4..);
        // Every truncation: the connection closes, naming what failed.
        for cut in 0..body.len() {
            let conn = 1000 + cut as u64;
            sim.expect(conn, 7, ApiKey::UpdateMetadata, version);
            sim.send_raw(conn, body.slice(..cut));
            match sim.take(conn).as_slice() {
                [Event::Closed(why)] => assert!(!why.is_empty()),
                other => panic!("v{version} cut at {cut}: {other:?}"),
            }
        }
        // An array count far beyond the bytes that follow.
        let mut huge = body.to_vec();
        // The header: key, version, correlation id, client id (and from
        // v6 its tagged fields).
        let header_len = 8 + 2 + "controller".len() + usize::from(version >= 6);
        // After controller id, (v8: the KRaft flag), controller epoch,
        // (v5+: broker epoch): the partition states' count.
        let at = header_len + 4 + usize::from(version >= 8) + 4 + if version >= 5 { 8 } else { 0 };
        huge.truncate(at);
        if version >= 6 {
            huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x07]); // uvarint 2^31-1
        } else {
            huge.extend_from_slice(&i32::MAX.to_be_bytes());
        }
        sim.expect(2000, 7, ApiKey::UpdateMetadata, version);
        sim.send_raw(2000, Bytes::from(huge));
        match sim.take(2000).as_slice() {
            [Event::Closed(why)] => {
                assert!(why.contains("UpdateMetadata"), "v{version}: {why}")
            }
            other => panic!("v{version} huge count: {other:?}"),
        }
        // Other connections carry on, and the membership is as it was.
        assert_eq!(metadata(&mut sim), before, "v{version}");
    }
}

#[test]
fn the_playground_explains_update_metadata_to_the_last_byte() {
    use spate_core::annotate::{annotate_request, Span};
    use spate_core::protocol::docs::describe;
    for version in [0, 5, 8] {
        let header = RequestHeader {
            request_api_key: ApiKey::UpdateMetadata as i16,
            request_api_version: version,
            correlation_id: 1,
            client_id: Some("controller".into()),
            ..Default::default()
        };
        let mut req = at_version(update(2, 1, 7, &[1, 2]), version);
        let state = UpdateMetadataPartitionState {
            topic_name: "orders".into(),
            leader: 2,
            isr: vec![2, 1].into(),
            replicas: vec![2, 1].into(),
            ..Default::default()
        };
        if version < 5 {
            req.ungrouped_partition_states = vec![state];
        } else {
            req.topic_states = vec![UpdateMetadataTopicState {
                topic_name: "orders".into(),
                partition_states: vec![state],
                ..Default::default()
            }];
        }
        let frame = encode_request(&header, &RequestBody::UpdateMetadata(req)).unwrap();
        let a = annotate_request(&frame);
        assert!(a.error.is_none(), "v{version}: {:?}", a.error);
        let mut at = 0;
        for leaf in a.root.leaves() {
            assert_eq!(leaf.start, at, "v{version}: gap before {}", leaf.name);
            at = leaf.end;
        }
        assert_eq!(at, frame.len());
        // Every field of the body has the project's own description.
        fn fields<'a>(s: &'a Span, out: &mut Vec<&'a str>) {
            if !s.name.starts_with('[') {
                out.push(&s.name);
            }
            for c in &s.children {
                fields(c, out);
            }
        }
        let mut names = Vec::new();
        fields(&a.root, &mut names);
        for want in ["controller_epoch", "live_brokers", "leader", "isr"] {
            assert!(names.contains(&want), "v{version}: {names:?}");
        }
        // Every field of the body has the project's own description, but
        // for `id`, whose meaning the schema's entity type gives.
        let undescribed: Vec<_> = names
            .iter()
            .filter(|n| describe(n).is_none())
            .filter(|n| !["request", "header", "body", "id"].contains(n))
            .collect();
        assert!(undescribed.is_empty(), "v{version}: {undescribed:?}");
    }
}
