//! The inter-broker APIs need CLUSTER_ACTION on the cluster: a principal
//! without it is refused (CLUSTER_AUTHORIZATION_FAILED; a follower's
//! Fetch TOPIC_AUTHORIZATION_FAILED), the brokers' own principal, a super
//! user as Kafka deployments make it, is served.

use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::leader_and_isr_request::LeaderAndIsrRequest;
use spate_core::protocol::messages::stop_replica_request::StopReplicaRequest;
use spate_core::protocol::messages::update_metadata_request::UpdateMetadataRequest;
use spate_core::protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::Principal;

use super::{connect_as, sim_with, ALICE};

/// The brokers' connection.
const BROKER: spate_core::broker::ConnId = 2;

/// The top-level (or first partition's) error of each inter-broker API,
/// sent on `conn`.
fn errors(s: &mut crate::sim::Sim, conn: spate_core::broker::ConnId) -> Vec<(&'static str, i16)> {
    let mut out = Vec::new();
    let lisr = LeaderAndIsrRequest {
        controller_id: 2,
        controller_epoch: 1,
        broker_epoch: -1,
        ..Default::default()
    };
    let ResponseBody::LeaderAndIsr(r) = s.call(conn, 5, RequestBody::LeaderAndIsr(lisr)) else {
        panic!()
    };
    out.push(("LeaderAndIsr", r.error_code));
    let um = UpdateMetadataRequest {
        controller_id: 2,
        controller_epoch: 1,
        broker_epoch: -1,
        ..Default::default()
    };
    let ResponseBody::UpdateMetadata(r) = s.call(conn, 7, RequestBody::UpdateMetadata(um)) else {
        panic!()
    };
    out.push(("UpdateMetadata", r.error_code));
    let stop = StopReplicaRequest {
        controller_id: 2,
        controller_epoch: 1,
        broker_epoch: -1,
        ..Default::default()
    };
    let ResponseBody::StopReplica(r) = s.call(conn, 3, RequestBody::StopReplica(stop)) else {
        panic!()
    };
    out.push(("StopReplica", r.error_code));
    let markers = WriteTxnMarkersRequest {
        markers: vec![WritableTxnMarker {
            producer_id: 7,
            producer_epoch: 0,
            transaction_result: true,
            topics: vec![WritableTxnMarkerTopic {
                name: "t".into(),
                partition_indexes: vec![0].into(),
                ..Default::default()
            }],
            coordinator_epoch: 0,
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::WriteTxnMarkers(r) = s.call(conn, 1, RequestBody::WriteTxnMarkers(markers))
    else {
        panic!()
    };
    out.push((
        "WriteTxnMarkers",
        r.markers[0].topics[0].partitions[0].error_code,
    ));
    let fetch = FetchRequest {
        replica_id: 3,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: "t".into(),
            partitions: vec![FetchPartition {
                partition: 0,
                partition_max_bytes: 1 << 20,
                current_leader_epoch: -1,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::Fetch(r) = s.call(conn, 12, RequestBody::Fetch(fetch)) else {
        panic!()
    };
    out.push(("Fetch", r.responses[0].partitions[0].error_code));
    out
}

#[test]
fn inter_broker_apis_are_the_brokers_principals_only() {
    let mut s = sim_with(|c| {
        c.zk_mode = true;
        c.security.super_users.push(Principal::user("broker"));
    });
    connect_as(&mut s, BROKER, "broker");
    let cluster = ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code();
    let topic = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code();
    let refused = errors(&mut s, ALICE);
    assert_eq!(
        refused,
        vec![
            ("LeaderAndIsr", cluster),
            ("UpdateMetadata", cluster),
            ("StopReplica", cluster),
            ("WriteTxnMarkers", cluster),
            ("Fetch", topic),
        ]
    );
    for (api, code) in errors(&mut s, BROKER) {
        assert!(code != cluster && code != topic, "{api}: {code}");
    }
}
