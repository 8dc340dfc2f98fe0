//! The member's whole life against a scripted coordinator on a real
//! socket.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use spate_core::protocol::header::{decode_request, encode_response};
use spate_core::protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use spate_core::protocol::messages::find_coordinator_response::{
    Coordinator, FindCoordinatorResponse,
};
use spate_core::protocol::messages::heartbeat_response::HeartbeatResponse;
use spate_core::protocol::messages::join_group_request::JoinGroupRequest;
use spate_core::protocol::messages::join_group_response::{
    JoinGroupResponse, JoinGroupResponseMember,
};
use spate_core::protocol::messages::leave_group_response::{LeaveGroupResponse, MemberResponse};
use spate_core::protocol::messages::metadata_response::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use spate_core::protocol::messages::sync_group_response::SyncGroupResponse;

use super::*;
use crate::client::assignor;
use crate::client::conn::client_range;
use crate::client::ConnArgs;

/// What the scripted broker answers: given every request it got so far
/// (ApiVersions excluded) and the new one, the response body.
type Script = dyn FnMut(&[RequestBody], &RequestBody) -> ResponseBody + Send;

/// The newest versions of a broker from before KIP-394 and batched
/// coordinator lookups (about Kafka 2.1).
fn old_broker(k: ApiKey) -> i16 {
    match k {
        ApiKey::FindCoordinator => 2,
        ApiKey::JoinGroup => 3,
        ApiKey::SyncGroup | ApiKey::Heartbeat | ApiKey::LeaveGroup => 2,
        ApiKey::OffsetCommit | ApiKey::OffsetFetch => 4,
        _ => i16::MAX,
    }
}

/// A broker on a real socket that answers ApiVersions with the
/// client's own ranges (capped by `cap`) and everything else from
/// `script`; returns its address and the requests it received.
fn scripted(cap: fn(ApiKey) -> i16, script: Box<Script>) -> (String, Arc<Mutex<Vec<RequestBody>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let (seen, script) = (Arc::clone(&log), Arc::clone(&script));
            std::thread::spawn(move || serve(stream.unwrap(), cap, &seen, &script));
        }
    });
    (addr, seen)
}

fn serve(
    mut s: TcpStream,
    cap: fn(ApiKey) -> i16,
    seen: &Mutex<Vec<RequestBody>>,
    script: &Mutex<Box<Script>>,
) {
    loop {
        let mut size = [0u8; 4];
        if s.read_exact(&mut size).is_err() {
            return;
        }
        let mut frame = vec![0u8; u32::from_be_bytes(size) as usize];
        s.read_exact(&mut frame).unwrap();
        let (header, body) = decode_request(&Bytes::from(frame)).unwrap();
        let resp = if let RequestBody::ApiVersions(_) = body {
            ResponseBody::ApiVersions(ApiVersionsResponse {
                api_keys: ApiKey::ALL
                    .iter()
                    .filter_map(|&k| {
                        let (_, hi) = client_range(k)?;
                        Some(ApiVersion {
                            api_key: k as i16,
                            min_version: 0,
                            max_version: hi.min(cap(k)),
                            ..Default::default()
                        })
                    })
                    .collect(),
                ..Default::default()
            })
        } else {
            let mut seen = seen.lock().unwrap();
            let resp = (script.lock().unwrap())(&seen, &body);
            seen.push(body);
            resp
        };
        let out = encode_response(header.correlation_id, &resp, header.request_api_version);
        s.write_all(&out.unwrap()).unwrap();
    }
}

fn metadata(addr: &str) -> ResponseBody {
    let (host, port) = addr.rsplit_once(':').unwrap();
    ResponseBody::Metadata(MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: 1,
            host: host.into(),
            port: port.parse().unwrap(),
            ..Default::default()
        }],
        topics: vec![MetadataResponseTopic {
            name: Some("t".into()),
            partitions: (0..4)
                .map(|p| MetadataResponsePartition {
                    partition_index: p,
                    leader_id: 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// The whole life against a scripted coordinator: MEMBER_ID_REQUIRED,
/// leading (range over two members' subscriptions), a heartbeat that
/// says REBALANCE_IN_PROGRESS, a commit, and leaving; at the newest
/// versions and at an old broker's.
#[test]
fn joins_leads_follows_a_rebalance_commits_and_leaves() {
    life(|_| i16::MAX, true);
    life(old_broker, false);
}

fn life(cap: fn(ApiKey) -> i16, member_id_required: bool) {
    let me = Arc::new(Mutex::new(String::new()));
    let addr_slot = Arc::clone(&me);
    let (addr, seen) = scripted(
        cap,
        Box::new(move |before, req| {
            let addr = addr_slot.lock().unwrap().clone();
            match req {
                RequestBody::Metadata(_) => metadata(&addr),
                RequestBody::FindCoordinator(f) => {
                    let (host, port) = addr.rsplit_once(':').unwrap();
                    let port = port.parse().unwrap();
                    ResponseBody::FindCoordinator(if f.coordinator_keys.is_empty() {
                        assert_eq!(f.key, "g");
                        FindCoordinatorResponse {
                            node_id: 1,
                            host: host.into(),
                            port,
                            ..Default::default()
                        }
                    } else {
                        FindCoordinatorResponse {
                            coordinators: vec![Coordinator {
                                key: "g".into(),
                                node_id: 1,
                                host: host.into(),
                                port,
                                ..Default::default()
                            }],
                            ..Default::default()
                        }
                    })
                }
                RequestBody::JoinGroup(j) if j.member_id.is_empty() && member_id_required => {
                    ResponseBody::JoinGroup(JoinGroupResponse {
                        error_code: ErrorCode::MEMBER_ID_REQUIRED.0,
                        member_id: "m-1".into(),
                        ..Default::default()
                    })
                }
                RequestBody::JoinGroup(j) => {
                    let other =
                        assignor::encode_subscription(&["t".into()], &Partitions::new(), -1);
                    ResponseBody::JoinGroup(JoinGroupResponse {
                        generation_id: 5,
                        protocol_type: Some("consumer".into()),
                        protocol_name: Some("range".into()),
                        leader: "m-1".into(),
                        member_id: "m-1".into(),
                        members: vec![
                            JoinGroupResponseMember {
                                member_id: "m-1".into(),
                                metadata: j.protocols[0].metadata.clone(),
                                ..Default::default()
                            },
                            JoinGroupResponseMember {
                                member_id: "m-2".into(),
                                metadata: other,
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    })
                }
                RequestBody::SyncGroup(s) => {
                    let mine = s
                        .assignments
                        .iter()
                        .find(|a| a.member_id == "m-1")
                        .map(|a| a.assignment.clone())
                        .unwrap_or_default();
                    ResponseBody::SyncGroup(SyncGroupResponse {
                        assignment: mine,
                        ..Default::default()
                    })
                }
                RequestBody::Heartbeat(_) => {
                    let first = !before
                        .iter()
                        .any(|r| matches!(r, RequestBody::Heartbeat(_)));
                    ResponseBody::Heartbeat(HeartbeatResponse {
                        error_code: if first {
                            ErrorCode::REBALANCE_IN_PROGRESS.0
                        } else {
                            0
                        },
                        ..Default::default()
                    })
                }
                RequestBody::OffsetCommit(c) => {
                    use spate_core::protocol::messages::offset_commit_response::*;
                    ResponseBody::OffsetCommit(OffsetCommitResponse {
                        topics: c
                            .topics
                            .iter()
                            .map(|t| OffsetCommitResponseTopic {
                                name: t.name.clone(),
                                partitions: t
                                    .partitions
                                    .iter()
                                    .map(|p| OffsetCommitResponsePartition {
                                        partition_index: p.partition_index,
                                        ..Default::default()
                                    })
                                    .collect(),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                }
                RequestBody::LeaveGroup(l) => ResponseBody::LeaveGroup(LeaveGroupResponse {
                    members: l
                        .members
                        .iter()
                        .map(|m| MemberResponse {
                            member_id: m.member_id.clone(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                other => panic!("unexpected request {other:?}"),
            }
        }),
    );
    *me.lock().unwrap() = addr.clone();
    let mut client = Client::connect(&ConnArgs::plain(addr)).unwrap();
    let config = MemberConfig {
        group: "g".into(),
        topics: vec!["t".into()],
        session_timeout_ms: 6000,
        rebalance_timeout_ms: 10_000,
        heartbeat_interval: Duration::ZERO,
        instance_id: None,
    };
    let mut m = GroupMember::join(&mut client, config).unwrap();
    assert_eq!(m.member_id(), "m-1");
    assert_eq!(m.generation(), 5);
    assert!(m.is_leader());
    // Range over two members and four partitions: the first two are ours.
    assert_eq!(
        m.assignment(),
        &Partitions::from([("t".into(), vec![0, 1])])
    );
    assert_eq!(m.heartbeat_if_due(&mut client).unwrap(), Status::Rejoin);
    m.rejoin(&mut client).unwrap();
    assert_eq!(m.heartbeat_if_due(&mut client).unwrap(), Status::Stable);
    let done = BTreeMap::from([(("t".to_string(), 1), 42)]);
    assert_eq!(m.commit(&mut client, &done).unwrap(), Status::Stable);
    m.leave(&mut client).unwrap();
    let seen = seen.lock().unwrap();
    let joins: Vec<&JoinGroupRequest> = seen
        .iter()
        .filter_map(|r| match r {
            RequestBody::JoinGroup(j) => Some(j),
            _ => None,
        })
        .collect();
    // Empty id, then the id handed out, then the rejoin keeps it.
    let ids: Vec<&str> = joins.iter().map(|j| &*j.member_id).collect();
    if member_id_required {
        assert_eq!(ids, ["", "m-1", "m-1"]);
    } else {
        assert_eq!(ids, ["", "m-1"]);
    }
    let last = joins.last().unwrap();
    let rejoin = assignor::decode_subscription(&last.protocols[0].metadata).unwrap();
    assert_eq!(rejoin.owned_partitions[0].partitions.to_vec(), vec![0, 1]);
    let commit = seen.iter().find_map(|r| match r {
        RequestBody::OffsetCommit(c) => Some(c),
        _ => None,
    });
    let commit = commit.expect("a commit");
    assert_eq!(commit.generation_id_or_member_epoch, 5);
    assert_eq!(commit.member_id, "m-1");
    assert_eq!(commit.topics[0].partitions[0].committed_offset, 42);
    assert!(matches!(seen.last(), Some(RequestBody::LeaveGroup(_))));
}
