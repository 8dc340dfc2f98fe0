//! What the group and transaction coordinator tests share: finding the
//! coordinator, and (in ZooKeeper mode) how the internal topic
//! (`__consumer_offsets`, `__transaction_state`) is asked of the driver
//! when it is missing.

use spate_core::broker::NewTopic;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::messages::find_coordinator_response::FindCoordinatorResponse;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::Storage;

use super::Sim;

/// FindCoordinator v3 on `conn` for `key` (`key_type` 0: a group, 1: a
/// transactional id).
pub fn find_coordinator<S: Storage>(
    sim: &mut Sim<S>,
    conn: u64,
    key: &str,
    key_type: i8,
) -> FindCoordinatorResponse {
    let req = FindCoordinatorRequest {
        key: key.into(),
        key_type,
        ..Default::default()
    };
    match sim.call(conn, 3, RequestBody::FindCoordinator(req)) {
        ResponseBody::FindCoordinator(r) => r,
        other => panic!("{other:?}"),
    }
}

/// Metadata v9 on `conn` for `topic`, auto-creation allowed: its error.
pub fn auto_create_error(sim: &mut Sim, conn: u64, topic: &str) -> i16 {
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.into()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: true,
        ..Default::default()
    };
    match sim.call(conn, 9, RequestBody::Metadata(req)) {
        ResponseBody::Metadata(r) => r.topics[0].error_code,
        other => panic!("{other:?}"),
    }
}

/// The first FindCoordinator answer `r` while `topic` is missing:
/// COORDINATOR_NOT_AVAILABLE with no node, and one CreateTopics output
/// asking for `topic` with two partitions of two replicas and (at least)
/// `configs`. That output: (request, topics).
pub fn asks_to_create(
    sim: &mut Sim,
    r: FindCoordinatorResponse,
    topic: &str,
    configs: &[(&str, &str)],
) -> (u64, Vec<NewTopic>) {
    assert_eq!(r.error_code, ErrorCode::COORDINATOR_NOT_AVAILABLE.code());
    assert_eq!(r.node_id, -1);
    assert_eq!(sim.creating.len(), 1, "one CreateTopics output");
    let (request, topics) = sim.creating[0].clone();
    let t = &topics[0];
    assert_eq!(t.name, topic);
    assert_eq!(t.assignment.len(), 2);
    assert!(t.assignment.values().all(|r| r.len() == 2));
    for &(k, v) in configs {
        assert!(t.configs.contains(&(k.into(), v.into())), "{k}={v}");
    }
    (request, topics)
}

/// After [`asks_to_create`]: while `topic` is being created, `find` is
/// still not available and nothing more is asked; once the driver reports
/// `request` written, but nothing leads it yet, still not available, and
/// not asked again.
pub fn created_once(
    sim: &mut Sim,
    find: impl Fn(&mut Sim) -> FindCoordinatorResponse,
    request: u64,
    topic: &str,
) {
    let not_available = ErrorCode::COORDINATOR_NOT_AVAILABLE.code();
    assert_eq!(find(sim).error_code, not_available);
    assert_eq!(sim.creating.len(), 1);
    sim.topics_created(request, vec![(topic.into(), Ok(()))]);
    assert_eq!(find(sim).error_code, not_available);
    assert!(sim.creating.is_empty());
}
