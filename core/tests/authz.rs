//! The authorizer in every API: a broker with `authorizer` on, ACLs
//! given it directly (`Broker::insert_acl`), and a client whose TLS
//! principal is `User:alice`. Connections 97-99 (the harness's set-up
//! connections) are anonymous, made a super user here.

mod sim;

#[path = "authz/admin.rs"]
mod admin;
#[path = "authz/groups.rs"]
mod groups;
#[path = "authz/inter_broker.rs"]
mod inter_broker;
#[path = "authz/txn.rs"]
mod txn;

use sim::{batch, produce_request, Sim};
use spate_core::broker::{Config, ConnId, PeerInfo};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::leader_and_isr_request::LeaderAndIsrRequest;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::metadata_response::MetadataResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::acl::{AclBinding, Operation, PatternType, Permission, ResourceType};
use spate_core::security::Principal;
use spate_core::storage::MemStorage;

/// Alice's connection.
pub const ALICE: ConnId = 1;

/// A broker with the authorizer on, `User:ANONYMOUS` a super user, and
/// alice connected on [`ALICE`].
pub fn sim() -> Sim {
    sim_with(|_| {})
}

/// [`sim`] with its config changed by `f` first.
pub fn sim_with(f: impl FnOnce(&mut Config)) -> Sim {
    let mut config = Config::default();
    config.security.authorizer = true;
    config.security.super_users = vec![Principal::anonymous()];
    f(&mut config);
    let mut s = Sim::with(config, MemStorage::new());
    connect_as(&mut s, ALICE, "alice");
    s
}

/// Connects `conn` with the TLS principal `User:<name>`.
pub fn connect_as(s: &mut Sim, conn: ConnId, name: &str) {
    s.broker.handle_connect(
        conn,
        PeerInfo {
            addr: format!("10.0.0.{conn}:5000"),
            tls_principal: Some(name.into()),
            ..PeerInfo::default()
        },
        s.now,
    );
    s.drain();
}

/// An ACL for `User:alice` from any host.
pub fn acl(
    rt: ResourceType,
    name: &str,
    pattern: PatternType,
    op: Operation,
    perm: Permission,
) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: op,
        permission: perm,
    }
}

/// Allows alice `op` on the literal resource `name`.
pub fn allow(s: &mut Sim, rt: ResourceType, name: &str, op: Operation) {
    s.broker
        .insert_acl(acl(rt, name, PatternType::Literal, op, Permission::Allow));
}

fn metadata(s: &mut Sim, topics: Option<&[&str]>, ops: bool) -> MetadataResponse {
    let req = MetadataRequest {
        topics: topics.map(|t| {
            t.iter()
                .map(|n| MetadataRequestTopic {
                    name: Some((*n).into()),
                    ..Default::default()
                })
                .collect()
        }),
        allow_auto_topic_creation: true,
        include_cluster_authorized_operations: ops,
        include_topic_authorized_operations: ops,
        ..Default::default()
    };
    match s.call(ALICE, 10, RequestBody::Metadata(req)) {
        ResponseBody::Metadata(r) => r,
        other => panic!("{other:?}"),
    }
}

fn names(r: &MetadataResponse) -> Vec<String> {
    r.topics
        .iter()
        .map(|t| t.name.as_deref().unwrap_or("").to_string())
        .collect()
}

/// The error of alice's fetch of partition 0 of `topic`.
fn fetch_error(s: &mut Sim, topic: &str, replica_id: i32) -> i16 {
    let req = FetchRequest {
        replica_id,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: topic.into(),
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
    match s.call(ALICE, 12, RequestBody::Fetch(req)) {
        ResponseBody::Fetch(r) => r.responses[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

fn produce_error(s: &mut Sim, topic: &str) -> i16 {
    match s.call(ALICE, 9, produce_request(topic, 0, batch(1, "x"), 1)) {
        ResponseBody::Produce(r) => r.responses[0].partition_responses[0].error_code,
        other => panic!("{other:?}"),
    }
}

const TOPIC_DENIED: i16 = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code();

#[test]
fn without_read_a_principal_cannot_fetch_nor_see_the_topic() {
    let mut s = sim();
    s.create_topic("secret", 1);
    s.create_topic("open", 1);
    s.produce_ok(9, "secret", 0, batch(2, "s"));
    allow(&mut s, ResourceType::Topic, "open", Operation::Read);
    assert_eq!(fetch_error(&mut s, "secret", -1), TOPIC_DENIED);
    assert_eq!(fetch_error(&mut s, "open", -1), 0);
    // READ implies DESCRIBE: only "open" is listed.
    assert_eq!(names(&metadata(&mut s, None, false)), vec!["open"]);
    // Named, it is answered TOPIC_AUTHORIZATION_FAILED, without its id.
    let r = metadata(&mut s, Some(&["secret"]), false);
    assert_eq!(r.topics[0].error_code, TOPIC_DENIED);
    assert_eq!(r.topics[0].topic_id, Default::default());
    assert!(r.topics[0].partitions.is_empty());
}

#[test]
fn auto_creation_needs_create_on_the_cluster_or_the_topic() {
    let mut s = sim();
    // DESCRIBE on every topic but no CREATE: not created.
    allow(&mut s, ResourceType::Topic, "*", Operation::Describe);
    let r = metadata(&mut s, Some(&["new1"]), false);
    assert_eq!(r.topics[0].error_code, TOPIC_DENIED);
    assert!(!s.broker.topic_names().contains(&"new1".to_string()));
    allow(&mut s, ResourceType::Topic, "new1", Operation::Create);
    let r = metadata(&mut s, Some(&["new1"]), false);
    assert_eq!(r.topics[0].error_code, 0);
    assert!(s.broker.topic_names().contains(&"new1".to_string()));
}

#[test]
fn deny_beats_allow_and_patterns_match() {
    let mut s = sim();
    for t in ["app-a", "app-b", "other"] {
        s.create_topic(t, 1);
    }
    // ALLOW READ on every topic by prefix and wildcard, DENY on one.
    s.broker.insert_acl(acl(
        ResourceType::Topic,
        "app-",
        PatternType::Prefixed,
        Operation::Read,
        Permission::Allow,
    ));
    s.broker.insert_acl(acl(
        ResourceType::Topic,
        "*",
        PatternType::Literal,
        Operation::Describe,
        Permission::Allow,
    ));
    s.broker.insert_acl(acl(
        ResourceType::Topic,
        "app-b",
        PatternType::Literal,
        Operation::Read,
        Permission::Deny,
    ));
    assert_eq!(fetch_error(&mut s, "app-a", -1), 0);
    assert_eq!(fetch_error(&mut s, "app-b", -1), TOPIC_DENIED);
    // The wildcard gives DESCRIBE only: no READ on "other".
    assert_eq!(fetch_error(&mut s, "other", -1), TOPIC_DENIED);
    let mut listed = names(&metadata(&mut s, None, false));
    listed.sort();
    assert_eq!(listed, vec!["app-a", "app-b", "other"]);
}

#[test]
fn super_users_pass_every_check() {
    let mut s = sim_with(|c| c.security.super_users.push(Principal::user("alice")));
    s.create_topic("t", 1);
    assert_eq!(produce_error(&mut s, "t"), 0);
    assert_eq!(fetch_error(&mut s, "t", -1), 0);
    assert_eq!(names(&metadata(&mut s, None, false)), vec!["t"]);
}

#[test]
fn the_no_acl_rule_opens_resources_no_acl_names() {
    let mut s = sim_with(|c| c.security.allow_everyone_if_no_acl_found = true);
    s.create_topic("t", 1);
    s.create_topic("u", 1);
    assert_eq!(produce_error(&mut s, "t"), 0);
    // Once an ACL names "u", alice needs one that allows her.
    s.broker.insert_acl(AclBinding {
        principal: "User:bob".into(),
        ..acl(
            ResourceType::Topic,
            "u",
            PatternType::Literal,
            Operation::Write,
            Permission::Allow,
        )
    });
    assert_eq!(produce_error(&mut s, "u"), TOPIC_DENIED);
}

#[test]
fn produce_needs_write_on_each_topic() {
    let mut s = sim();
    s.create_topic("t", 1);
    allow(&mut s, ResourceType::Topic, "t", Operation::Read);
    assert_eq!(produce_error(&mut s, "t"), TOPIC_DENIED);
    allow(&mut s, ResourceType::Topic, "t", Operation::Write);
    assert_eq!(produce_error(&mut s, "t"), 0);
}

#[test]
fn a_follower_fetch_needs_cluster_action() {
    let mut s = sim();
    s.create_topic("t", 1);
    allow(&mut s, ResourceType::Topic, "t", Operation::All);
    assert_eq!(fetch_error(&mut s, "t", 5), TOPIC_DENIED);
}

#[test]
fn leader_and_isr_needs_cluster_action() {
    let mut s = sim_with(|c| c.zk_mode = true);
    let req = LeaderAndIsrRequest {
        controller_id: 2,
        controller_epoch: 1,
        broker_epoch: -1,
        ..Default::default()
    };
    match s.call(ALICE, 5, RequestBody::LeaderAndIsr(req.clone())) {
        ResponseBody::LeaderAndIsr(r) => {
            assert_eq!(r.error_code, ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code())
        }
        other => panic!("{other:?}"),
    }
    allow(
        &mut s,
        ResourceType::Cluster,
        "kafka-cluster",
        Operation::ClusterAction,
    );
    match s.call(ALICE, 5, RequestBody::LeaderAndIsr(req)) {
        ResponseBody::LeaderAndIsr(r) => {
            assert_ne!(r.error_code, ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn authorized_operations_are_the_principals() {
    let mut s = sim();
    s.create_topic("t", 1);
    allow(&mut s, ResourceType::Topic, "t", Operation::Read);
    let r = metadata(&mut s, Some(&["t"]), true);
    // READ and the DESCRIBE it implies.
    let bits = 1 << Operation::Read as i32 | 1 << Operation::Describe as i32;
    assert_eq!(r.topics[0].topic_authorized_operations, bits);
    // No DESCRIBE on the cluster: 0.
    assert_eq!(r.cluster_authorized_operations, 0);
    allow(
        &mut s,
        ResourceType::Cluster,
        "kafka-cluster",
        Operation::AlterConfigs,
    );
    let r = metadata(&mut s, Some(&["t"]), false);
    assert_eq!(r.topics[0].topic_authorized_operations, i32::MIN);
    assert_eq!(r.cluster_authorized_operations, i32::MIN);
}

#[test]
fn without_an_authorizer_every_operation_is_reported() {
    let mut s = Sim::new();
    s.create_topic("t", 1);
    connect_as(&mut s, ALICE, "alice");
    let r = metadata(&mut s, Some(&["t"]), true);
    assert_eq!(r.topics[0].topic_authorized_operations, 3576);
    assert_eq!(r.cluster_authorized_operations, 8096);
}
