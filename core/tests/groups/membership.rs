//! Static membership (a restart without a rebalance), LeaveGroup batched
//! and single, and the errors a JoinGroup can meet.

use spate_core::protocol::messages::heartbeat_request::HeartbeatRequest;
use spate_core::protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use crate::util::*;

#[test]
fn a_static_member_restarts_without_a_rebalance() {
    let mut s = sim(0);
    s.connect(1);
    s.connect(2);
    s.send(1, 5, join_req("g", "", Some("inst-a")));
    s.send(2, 5, join_req("g", "", Some("inst-b")));
    s.step(0);
    let ja = joins(&mut s, 1);
    let jb = joins(&mut s, 2);
    let (a, b) = (ja[0].member_id.to_string(), jb[0].member_id.to_string());
    assert!(a.starts_with("inst-a-"), "{a}");
    s.send(2, 5, sync_req("g", 1, &b, &[]));
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "for-a"), (&b, "for-b")]));
    syncs(&mut s, 1);
    syncs(&mut s, 2);
    // B's process restarts: a new connection, no member id, same instance id.
    s.disconnect(2);
    s.connect(3);
    let r = match s.call(3, 5, join_req("g", "", Some("inst-b"))) {
        ResponseBody::JoinGroup(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.error_code, 0);
    assert_eq!(r.generation_id, 1, "no new generation");
    assert_ne!(r.member_id, b.as_str(), "a new member id");
    let b2 = r.member_id.to_string();
    assert_eq!(heartbeat(&mut s, 1, "g", 1, &a), 0, "A sees no rebalance");
    s.send(3, 5, sync_req("g", 1, &b2, &[]));
    assert_eq!(
        &syncs(&mut s, 3)[0].assignment[..],
        b"for-b",
        "B keeps its share"
    );
    // The old id is fenced.
    let req = RequestBody::Heartbeat(HeartbeatRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: b.as_str().into(),
        group_instance_id: Some("inst-b".into()),
        ..Default::default()
    });
    match s.call(4, 4, req) {
        ResponseBody::Heartbeat(r) => {
            assert_eq!(r.error_code, ErrorCode::FENCED_INSTANCE_ID.code())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        describe(&mut s, "g").members[1]
            .group_instance_id
            .as_deref(),
        Some("inst-b")
    );
}

#[test]
fn leave_group_batched_and_single() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    let req = RequestBody::LeaveGroup(LeaveGroupRequest {
        group_id: "g".into(),
        members: vec![
            MemberIdentity {
                member_id: b.as_str().into(),
                ..Default::default()
            },
            MemberIdentity {
                member_id: "ghost".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    match s.call(2, 4, req) {
        ResponseBody::LeaveGroup(r) => {
            assert_eq!(r.error_code, 0);
            let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
            assert_eq!(codes, vec![0, ErrorCode::UNKNOWN_MEMBER_ID.code()]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(describe(&mut s, "g").group_state, "PreparingRebalance");
    s.send(1, 5, join_req("g", &a, None));
    assert_eq!(joins(&mut s, 1)[0].members.len(), 1);
    let req = RequestBody::LeaveGroup(LeaveGroupRequest {
        group_id: "g".into(),
        member_id: a.as_str().into(),
        ..Default::default()
    });
    match s.call(1, 0, req) {
        ResponseBody::LeaveGroup(r) => assert_eq!(r.error_code, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(describe(&mut s, "g").group_state, "Empty");
}

#[test]
fn join_errors_are_kafkas() {
    let mut s = sim(0);
    s.connect(1);
    let mut bad = join_req("g", "", None);
    if let RequestBody::JoinGroup(r) = &mut bad {
        r.session_timeout_ms = 10;
    }
    let code = |r: ResponseBody| match r {
        ResponseBody::JoinGroup(r) => r.error_code,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(s.call(1, 5, bad)),
        ErrorCode::INVALID_SESSION_TIMEOUT.code()
    );
    assert_eq!(
        code(s.call(1, 5, join_req("", "", None))),
        ErrorCode::INVALID_GROUP_ID.code()
    );
    assert_eq!(
        code(s.call(1, 5, join_req("g", "made-up", None))),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
    // v3 and older take a member without an id at once.
    s.send(1, 3, join_req("g", "", None));
    s.step(0);
    let j = joins(&mut s, 1);
    assert_eq!(j[0].error_code, 0);
    // Another protocol type cannot join.
    let mut other = join_req("g", "", None);
    if let RequestBody::JoinGroup(r) = &mut other {
        r.protocol_type = "connect".into();
    }
    assert_eq!(
        code(s.call(2, 5, other)),
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL.code()
    );
    // Nor a protocol the members do not share.
    let mut other = join_req("g", "", None);
    if let RequestBody::JoinGroup(r) = &mut other {
        r.protocols[0].name = "roundrobin".into();
    }
    assert_eq!(
        code(s.call(2, 5, other)),
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL.code()
    );
    // Sync and heartbeat of unknown groups.
    match s.call(3, 3, sync_req("nope", 1, "m", &[])) {
        ResponseBody::SyncGroup(r) => assert_eq!(r.error_code, ErrorCode::UNKNOWN_MEMBER_ID.code()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        heartbeat(&mut s, 3, "nope", 1, "m"),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
}
