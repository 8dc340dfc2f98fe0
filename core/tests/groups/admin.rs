//! The group admin APIs: DescribeGroups, ListGroups, OffsetDelete,
//! DeleteGroups, and FindCoordinator single and batched.

use spate_core::protocol::messages::delete_groups_request::DeleteGroupsRequest;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::Storage;

use crate::sim::Sim;
use crate::util::*;

#[test]
fn admin_apis_show_and_change_groups() {
    let mut s = sim(0);
    let (a, _b) = stable_pair(&mut s, "g");
    assert_eq!(commit(&mut s, 1, "g", 1, &a, 5), 0);
    assert_eq!(commit(&mut s, 5, "solo", -1, "", 9), 0);
    let d = describe(&mut s, "g");
    assert_eq!(d.protocol_type, "consumer");
    assert_eq!(d.protocol_data, "range");
    assert_eq!(d.members[0].client_id, "sim");
    assert_eq!(d.members[0].client_host, "/sim");
    assert_eq!(d.authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
    let missing = describe(&mut s, "nope");
    assert_eq!(missing.error_code, ErrorCode::GROUP_ID_NOT_FOUND.code());
    assert_eq!(missing.group_state, "Dead");

    let list = |s: &mut Sim, states: &[&str]| -> Vec<(String, String)> {
        let req = RequestBody::ListGroups(ListGroupsRequest {
            states_filter: states.iter().map(|x| (*x).into()).collect(),
            ..Default::default()
        });
        match s.call(90, 5, req) {
            ResponseBody::ListGroups(r) => r
                .groups
                .iter()
                .map(|g| (g.group_id.to_string(), g.group_state.to_string()))
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        list(&mut s, &[]),
        vec![
            ("g".into(), "Stable".into()),
            ("solo".into(), "Empty".into())
        ]
    );
    assert_eq!(
        list(&mut s, &["empty"]),
        vec![("solo".into(), "Empty".into())]
    );

    // OffsetDelete: refused while members subscribe to the topic.
    let od = |s: &mut Sim, group: &str| -> (i16, Vec<i16>) {
        let req = RequestBody::OffsetDelete(OffsetDeleteRequest {
            group_id: group.into(),
            topics: vec![OffsetDeleteRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetDeleteRequestPartition {
                    partition_index: 0,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        match s.call(90, 0, req) {
            ResponseBody::OffsetDelete(r) => (
                r.error_code,
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
                    .collect(),
            ),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        od(&mut s, "g"),
        (0, vec![ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC.code()])
    );
    assert_eq!(od(&mut s, "solo"), (0, vec![0]));
    assert_eq!(fetch_offset(&mut s, "solo", 5).0, -1);
    assert_eq!(od(&mut s, "nope").0, ErrorCode::GROUP_ID_NOT_FOUND.code());

    let delete = |s: &mut Sim, ids: &[&str]| -> Vec<i16> {
        let req = RequestBody::DeleteGroups(DeleteGroupsRequest {
            groups_names: ids.iter().map(|x| (*x).into()).collect(),
            ..Default::default()
        });
        match s.call(90, 2, req) {
            ResponseBody::DeleteGroups(r) => r.results.iter().map(|x| x.error_code).collect(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        delete(&mut s, &["g", "solo", "nope"]),
        vec![
            ErrorCode::NON_EMPTY_GROUP.code(),
            0,
            ErrorCode::GROUP_ID_NOT_FOUND.code()
        ]
    );
    assert_eq!(list(&mut s, &[]).len(), 1);
    // Deletion is written: a restart does not bring the group back.
    let mut s2 = s.restart();
    assert_eq!(list(&mut s2, &[]), vec![("g".into(), "Stable".into())]);
}

#[test]
fn find_coordinator_single_and_batched() {
    let mut s = sim(0);
    match s.call(
        1,
        0,
        RequestBody::FindCoordinator(FindCoordinatorRequest {
            key: "g".into(),
            ..Default::default()
        }),
    ) {
        ResponseBody::FindCoordinator(r) => {
            assert_eq!(r.error_code, 0);
            assert_eq!((r.node_id, r.host.as_ref(), r.port), (1, "127.0.0.1", 9092));
        }
        other => panic!("{other:?}"),
    }
    let req = FindCoordinatorRequest {
        key_type: 0,
        coordinator_keys: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    match s.call(1, 5, RequestBody::FindCoordinator(req)) {
        ResponseBody::FindCoordinator(r) => {
            assert_eq!(r.coordinators.len(), 2);
            assert!(r
                .coordinators
                .iter()
                .all(|c| c.error_code == 0 && c.node_id == 1));
        }
        other => panic!("{other:?}"),
    }
    let r = crate::sim::coordinator::find_coordinator(&mut s, 1, "txn", 1);
    assert_eq!((r.error_code, r.node_id), (0, 1));
    // __consumer_offsets and __transaction_state now exist, compacted,
    // with 50 partitions each.
    let logs = s.broker.storage().logs();
    let txn = logs
        .iter()
        .filter(|tp| tp.topic == "__transaction_state")
        .count();
    assert_eq!(txn, 50);
    let n = logs
        .iter()
        .filter(|tp| tp.topic == "__consumer_offsets")
        .count();
    assert_eq!(n, 50);
}
