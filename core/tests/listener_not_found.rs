//! Brokers named by the client's listener, as Kafka's `ZkMetadataCache`
//! and `KafkaApis` name them: a broker with two listeners (INTERNAL, the
//! inter-broker one, and EXTERNAL) told by the controller of broker 2,
//! which has only INTERNAL, and broker 3, which has both. A client on
//! EXTERNAL hears LISTENER_NOT_FOUND (Metadata v6+; LEADER_NOT_AVAILABLE
//! before) for a partition broker 2 leads, does not see broker 2 among
//! the brokers, and gets Produce's leader hints (KIP-951) with EXTERNAL
//! endpoints; a client on INTERNAL sees everything by INTERNAL endpoints.

mod sim;

use sim::pair::update_metadata;
use sim::{batch, produce_request, Sim};
use spate_core::broker::{Config, ConnId, Endpoint, PeerInfo};
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::messages::metadata_response::MetadataResponse;
use spate_core::protocol::messages::produce_response::ProduceResponse;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::security::SecurityProtocol;
use spate_core::storage::MemStorage;

const INTERNAL: ConnId = 1;
const EXTERNAL: ConnId = 2;

fn endpoint(listener: &str, id: i32, port: i32) -> UpdateMetadataEndpoint {
    UpdateMetadataEndpoint {
        host: format!("b{id}.example").into(),
        port,
        listener: listener.into(),
        ..Default::default()
    }
}

/// Broker `id`: INTERNAL on 9000+id, and EXTERNAL on 9100+id when
/// `external`.
fn broker(id: i32, external: bool) -> UpdateMetadataBroker {
    let mut endpoints = vec![endpoint("INTERNAL", id, 9000 + id)];
    if external {
        endpoints.push(endpoint("EXTERNAL", id, 9100 + id));
    }
    UpdateMetadataBroker {
        id,
        endpoints,
        ..Default::default()
    }
}

/// Broker 1, told that broker 2 leads `t`-0 and broker 3 `t`-1 (each
/// with the other two as replicas), with a client on each listener.
fn sim() -> Sim {
    let ep = |listener: &str, port| Endpoint {
        listener: listener.into(),
        host: "b1.example".into(),
        port,
        protocol: SecurityProtocol::Plaintext,
    };
    let config = Config {
        zk_mode: true,
        node_id: 1,
        listener_name: "INTERNAL".into(),
        advertised_host: "b1.example".into(),
        advertised_port: 9001,
        advertised_listeners: vec![ep("INTERNAL", 9001), ep("EXTERNAL", 9101)],
        ..Config::default()
    };
    let mut s = Sim::with(config, MemStorage::new());
    let state = |p: i32, leader: i32, replicas: Vec<i32>| UpdateMetadataPartitionState {
        partition_index: p,
        controller_epoch: 1,
        leader,
        leader_epoch: 1,
        isr: replicas.clone().into(),
        zk_version: 1,
        replicas: replicas.into(),
        ..Default::default()
    };
    update_metadata(
        &mut s,
        3,
        vec![broker(1, true), broker(2, false), broker(3, true)],
        vec![UpdateMetadataTopicState {
            topic_name: "t".into(),
            topic_id: Uuid([4; 16]),
            partition_states: vec![state(0, 2, vec![2, 3]), state(1, 3, vec![3, 2])],
            ..Default::default()
        }],
    );
    for (conn, listener) in [(INTERNAL, "INTERNAL"), (EXTERNAL, "EXTERNAL")] {
        s.connect_as(
            conn,
            PeerInfo {
                addr: format!("10.0.0.{conn}:5000"),
                listener: listener.into(),
                ..PeerInfo::default()
            },
        );
    }
    s
}

fn metadata(s: &mut Sim, conn: ConnId, version: i16) -> MetadataResponse {
    // All topics: null, or (v0) empty.
    let req = MetadataRequest {
        topics: (version == 0).then(Vec::new),
        ..Default::default()
    };
    match s.call(conn, version, RequestBody::Metadata(req)) {
        ResponseBody::Metadata(r) => r,
        other => panic!("{other:?}"),
    }
}

/// Per partition of `t`: (error, leader, replicas).
fn partitions(r: &MetadataResponse) -> Vec<(i16, i32, Vec<i32>)> {
    let t = r
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some("t"))
        .unwrap();
    t.partitions
        .iter()
        .map(|p| (p.error_code, p.leader_id, p.replica_nodes.to_vec()))
        .collect()
}

fn brokers(r: &MetadataResponse) -> Vec<(i32, i32)> {
    r.brokers.iter().map(|b| (b.node_id, b.port)).collect()
}

#[test]
fn metadata_answers_listener_not_found_for_a_leader_without_the_clients_listener() {
    let mut s = sim();
    let r = metadata(&mut s, EXTERNAL, 12);
    assert_eq!(brokers(&r), vec![(1, 9101), (3, 9103)]);
    assert_eq!(
        partitions(&r),
        vec![
            (ErrorCode::LISTENER_NOT_FOUND.code(), -1, vec![2, 3]),
            (0, 3, vec![3, 2]),
        ]
    );
    // Before v6 Kafka hides the configuration error behind
    // LEADER_NOT_AVAILABLE.
    let r = metadata(&mut s, EXTERNAL, 5);
    assert_eq!(partitions(&r)[0].0, ErrorCode::LEADER_NOT_AVAILABLE.code());
    // v0 lists the replicas reachable on the listener only.
    let r = metadata(&mut s, EXTERNAL, 0);
    assert_eq!(
        partitions(&r),
        vec![
            (ErrorCode::LEADER_NOT_AVAILABLE.code(), -1, vec![3]),
            (ErrorCode::REPLICA_NOT_AVAILABLE.code(), 3, vec![3]),
        ]
    );
    // On INTERNAL every broker is reachable.
    let r = metadata(&mut s, INTERNAL, 12);
    assert_eq!(brokers(&r), vec![(1, 9001), (2, 9002), (3, 9003)]);
    assert_eq!(partitions(&r), vec![(0, 2, vec![2, 3]), (0, 3, vec![3, 2])]);
}

fn produce(s: &mut Sim, conn: ConnId, p: i32) -> ProduceResponse {
    match s.call(conn, 10, produce_request("t", p, batch(1, "a"), -1)) {
        ResponseBody::Produce(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (error, hinted leader, endpoints as (id, port)).
fn hint(r: &ProduceResponse) -> (i16, i32, Vec<(i32, i32)>) {
    let p = &r.responses[0].partition_responses[0];
    let eps = r
        .node_endpoints
        .iter()
        .map(|e| (e.node_id, e.port))
        .collect();
    (p.error_code, p.current_leader.leader_id, eps)
}

#[test]
fn leader_hints_name_endpoints_on_the_clients_listener() {
    let mut s = sim();
    let not_leader = ErrorCode::NOT_LEADER_OR_FOLLOWER.code();
    assert_eq!(
        hint(&produce(&mut s, EXTERNAL, 1)),
        (not_leader, 3, vec![(3, 9103)])
    );
    assert_eq!(
        hint(&produce(&mut s, INTERNAL, 1)),
        (not_leader, 3, vec![(3, 9003)])
    );
    // Broker 2 has no EXTERNAL endpoint: named, but without one.
    assert_eq!(hint(&produce(&mut s, EXTERNAL, 0)), (not_leader, 2, vec![]));
    assert_eq!(
        hint(&produce(&mut s, INTERNAL, 0)),
        (not_leader, 2, vec![(2, 9002)])
    );
}
