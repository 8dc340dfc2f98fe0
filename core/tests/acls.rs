//! CreateAcls, DescribeAcls and DeleteAcls through the real codec: Kafka's
//! answers without an authorizer (SECURITY_DISABLED) and without the
//! cluster permission (CLUSTER_AUTHORIZATION_FAILED), each validation
//! error, duplicates, filters (ANY, MATCH, LITERAL, PREFIXED), v0, and that
//! ACLs survive a restart (they live in `__cluster_metadata`).

mod sim;

use sim::{Event, Sim};
use spate_core::broker::Config;
use spate_core::protocol::messages::create_acls_request::{AclCreation, CreateAclsRequest};
use spate_core::protocol::messages::create_acls_response::AclCreationResult;
use spate_core::protocol::messages::delete_acls_request::{DeleteAclsFilter, DeleteAclsRequest};
use spate_core::protocol::messages::delete_acls_response::DeleteAclsFilterResult;
use spate_core::protocol::messages::describe_acls_request::DescribeAclsRequest;
use spate_core::protocol::messages::describe_acls_response::DescribeAclsResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::Principal;
use spate_core::storage::MemStorage;

// Kafka's codes.
const ANY: i8 = 1;
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALTER: i8 = 7;
const DENY: i8 = 2;
const ALLOW: i8 = 3;

/// A broker with an authorizer, where the sim's principal
/// (`User:ANONYMOUS`) is a super user unless `superuser` is false.
fn config(superuser: bool) -> Config {
    let mut c = Config::default();
    c.security.authorizer = true;
    if superuser {
        c.security.super_users = vec![Principal::anonymous()];
    }
    c
}

fn sim(superuser: bool) -> Sim {
    Sim::with(config(superuser), MemStorage::new())
}

fn acl(rt: i8, name: &str, pt: i8, principal: &str, op: i8, perm: i8) -> AclCreation {
    AclCreation {
        resource_type: rt,
        resource_name: name.into(),
        resource_pattern_type: pt,
        principal: principal.into(),
        host: "*".into(),
        operation: op,
        permission_type: perm,
        ..Default::default()
    }
}

fn create(sim: &mut Sim, version: i16, creations: Vec<AclCreation>) -> Vec<AclCreationResult> {
    let req = CreateAclsRequest {
        creations,
        ..Default::default()
    };
    match sim.call(1, version, RequestBody::CreateAcls(req)) {
        ResponseBody::CreateAcls(r) => r.results,
        other => panic!("{other:?}"),
    }
}

fn codes(results: &[AclCreationResult]) -> Vec<ErrorCode> {
    results.iter().map(|r| ErrorCode(r.error_code)).collect()
}

/// A filter matching everything.
fn any() -> DescribeAclsRequest {
    DescribeAclsRequest {
        resource_type_filter: ANY,
        resource_name_filter: None,
        pattern_type_filter: ANY,
        principal_filter: None,
        host_filter: None,
        operation: ANY,
        permission_type: ANY,
        ..Default::default()
    }
}

fn describe(sim: &mut Sim, version: i16, req: DescribeAclsRequest) -> DescribeAclsResponse {
    match sim.call(1, version, RequestBody::DescribeAcls(req)) {
        ResponseBody::DescribeAcls(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (resource type, name, pattern type, principal, operation, permission)
/// of every ACL described, in the response's order.
type Row = (i8, String, i8, String, i8, i8);

fn rows(r: &DescribeAclsResponse) -> Vec<Row> {
    let mut out = Vec::new();
    for res in &r.resources {
        for a in &res.acls {
            out.push((
                res.resource_type,
                res.resource_name.to_string(),
                res.pattern_type,
                a.principal.to_string(),
                a.operation,
                a.permission_type,
            ));
        }
    }
    out
}

fn delete_filter(d: DescribeAclsRequest) -> DeleteAclsFilter {
    DeleteAclsFilter {
        resource_type_filter: d.resource_type_filter,
        resource_name_filter: d.resource_name_filter,
        pattern_type_filter: d.pattern_type_filter,
        principal_filter: d.principal_filter,
        host_filter: d.host_filter,
        operation: d.operation,
        permission_type: d.permission_type,
        ..Default::default()
    }
}

fn delete(
    sim: &mut Sim,
    version: i16,
    filters: Vec<DeleteAclsFilter>,
) -> Vec<DeleteAclsFilterResult> {
    let req = DeleteAclsRequest {
        filters,
        ..Default::default()
    };
    match sim.call(1, version, RequestBody::DeleteAcls(req)) {
        ResponseBody::DeleteAcls(r) => r.filter_results,
        other => panic!("{other:?}"),
    }
}

/// Three ACLs on topics and one on a group.
fn some_acls() -> Vec<AclCreation> {
    vec![
        acl(TOPIC, "orders", LITERAL, "User:alice", READ, ALLOW),
        acl(TOPIC, "ord", PREFIXED, "User:bob", WRITE, ALLOW),
        acl(TOPIC, "*", LITERAL, "User:*", READ, DENY),
        acl(GROUP, "g1", LITERAL, "User:alice", READ, ALLOW),
    ]
}

#[test]
fn without_an_authorizer_every_acl_api_is_security_disabled() {
    let mut sim = Sim::new();
    let results = create(&mut sim, 3, some_acls());
    assert_eq!(codes(&results), vec![ErrorCode::SECURITY_DISABLED; 4]);
    let r = describe(&mut sim, 3, any());
    assert_eq!(ErrorCode(r.error_code), ErrorCode::SECURITY_DISABLED);
    assert!(r.resources.is_empty());
    let results = delete(
        &mut sim,
        3,
        vec![delete_filter(any()), delete_filter(any())],
    );
    assert_eq!(results.len(), 2);
    for f in results {
        assert_eq!(ErrorCode(f.error_code), ErrorCode::SECURITY_DISABLED);
    }
}

#[test]
fn a_principal_without_cluster_alter_or_describe_is_refused() {
    let mut sim = sim(false);
    let results = create(&mut sim, 2, some_acls());
    assert_eq!(
        codes(&results),
        vec![ErrorCode::CLUSTER_AUTHORIZATION_FAILED; 4]
    );
    let r = describe(&mut sim, 2, any());
    assert_eq!(
        ErrorCode(r.error_code),
        ErrorCode::CLUSTER_AUTHORIZATION_FAILED
    );
    let results = delete(&mut sim, 2, vec![delete_filter(any())]);
    assert_eq!(
        ErrorCode(results[0].error_code),
        ErrorCode::CLUSTER_AUTHORIZATION_FAILED
    );
}

#[test]
fn create_then_describe_groups_acls_by_resource() {
    let mut sim = sim(true);
    let mut acls = some_acls();
    acls.push(acl(TOPIC, "orders", LITERAL, "User:carol", WRITE, DENY));
    let results = create(&mut sim, 3, acls);
    assert_eq!(codes(&results), vec![ErrorCode::NONE; 5]);
    let r = describe(&mut sim, 3, any());
    assert_eq!(ErrorCode(r.error_code), ErrorCode::NONE);
    // Four resources: topics `*`, `ord` (prefixed), `orders` (two ACLs), group g1.
    assert_eq!(r.resources.len(), 4);
    let orders = r
        .resources
        .iter()
        .find(|res| res.resource_name == "orders")
        .unwrap();
    assert_eq!(
        (orders.resource_type, orders.pattern_type),
        (TOPIC, LITERAL)
    );
    assert_eq!(orders.acls.len(), 2);
    assert_eq!(rows(&r).len(), 5);

    // MATCH: what applies to topic `orders`: its literal ACLs, the
    // wildcard and the prefix `ord`; not the group's.
    let matching = DescribeAclsRequest {
        resource_type_filter: TOPIC,
        resource_name_filter: Some("orders".into()),
        pattern_type_filter: MATCH,
        ..any()
    };
    let mut names: Vec<String> = rows(&describe(&mut sim, 3, matching))
        .into_iter()
        .map(|r| r.1)
        .collect();
    names.sort();
    assert_eq!(names, ["*", "ord", "orders", "orders"]);

    // LITERAL with a name: exactly that pattern.
    let literal = DescribeAclsRequest {
        resource_type_filter: TOPIC,
        resource_name_filter: Some("ord".into()),
        pattern_type_filter: LITERAL,
        ..any()
    };
    assert!(describe(&mut sim, 3, literal).resources.is_empty());
    let prefixed = DescribeAclsRequest {
        resource_name_filter: Some("ord".into()),
        pattern_type_filter: PREFIXED,
        ..any()
    };
    assert_eq!(
        rows(&describe(&mut sim, 3, prefixed)),
        [(
            TOPIC,
            "ord".into(),
            PREFIXED,
            "User:bob".into(),
            WRITE,
            ALLOW
        )]
    );

    // Principal and permission filters.
    let alice = DescribeAclsRequest {
        principal_filter: Some("User:alice".into()),
        ..any()
    };
    assert_eq!(rows(&describe(&mut sim, 3, alice)).len(), 2);
    let denies = DescribeAclsRequest {
        permission_type: DENY,
        ..any()
    };
    assert_eq!(rows(&describe(&mut sim, 3, denies)).len(), 2);
}

#[test]
fn an_acl_equal_to_one_held_is_not_added_twice() {
    let mut sim = sim(true);
    let a = acl(TOPIC, "t", LITERAL, "User:alice", READ, ALLOW);
    assert_eq!(
        codes(&create(&mut sim, 1, vec![a.clone(), a.clone()])),
        [ErrorCode::NONE; 2]
    );
    assert_eq!(codes(&create(&mut sim, 1, vec![a])), [ErrorCode::NONE]);
    assert_eq!(rows(&describe(&mut sim, 1, any())).len(), 1);
}

#[test]
fn invalid_acls_are_refused_one_by_one() {
    let mut sim = sim(true);
    let good = acl(TOPIC, "t", LITERAL, "User:alice", READ, ALLOW);
    let bad = [
        acl(ANY, "t", LITERAL, "User:alice", READ, ALLOW),
        acl(99, "t", LITERAL, "User:alice", READ, ALLOW),
        acl(TOPIC, "t", MATCH, "User:alice", READ, ALLOW),
        acl(TOPIC, "t", ANY, "User:alice", READ, ALLOW),
        acl(TOPIC, "", LITERAL, "User:alice", READ, ALLOW),
        acl(CLUSTER, "my-cluster", LITERAL, "User:alice", ALTER, ALLOW),
        acl(TOPIC, "t", LITERAL, "User:alice", ANY, ALLOW),
        acl(TOPIC, "t", LITERAL, "User:alice", READ, ANY),
        acl(TOPIC, "t", LITERAL, "alice", READ, ALLOW),
        AclCreation {
            host: "".into(),
            ..good.clone()
        },
        acl(TOPIC, "*", PREFIXED, "User:alice", READ, ALLOW),
    ];
    let mut all = vec![good.clone()];
    all.extend(bad.iter().cloned());
    let results = create(&mut sim, 3, all);
    assert_eq!(ErrorCode(results[0].error_code), ErrorCode::NONE);
    for (r, b) in results[1..].iter().zip(&bad) {
        assert_eq!(ErrorCode(r.error_code), ErrorCode::INVALID_REQUEST, "{b:?}");
        assert!(r.error_message.as_ref().is_some_and(|m| !m.is_empty()));
    }
    // Only the good one was kept; the cluster resource by its one name is fine.
    let cluster = acl(CLUSTER, "kafka-cluster", LITERAL, "User:alice", ALL, ALLOW);
    assert_eq!(
        codes(&create(&mut sim, 3, vec![cluster])),
        [ErrorCode::NONE]
    );
    assert_eq!(rows(&describe(&mut sim, 3, any())).len(), 2);
}

#[test]
fn an_unknown_code_is_a_request_kafka_cannot_parse() {
    let mut sim = sim(true);
    let req = CreateAclsRequest {
        creations: vec![acl(0, "t", LITERAL, "User:a", READ, ALLOW)],
        ..Default::default()
    };
    sim.send(1, 3, RequestBody::CreateAcls(req));
    assert!(matches!(sim.take(1).as_slice(), [Event::Closed(_)]));
    sim.send(
        2,
        3,
        RequestBody::DescribeAcls(DescribeAclsRequest {
            operation: 0,
            ..any()
        }),
    );
    assert!(matches!(sim.take(2).as_slice(), [Event::Closed(_)]));
}

#[test]
fn delete_answers_per_filter_what_it_removed() {
    let mut sim = sim(true);
    create(&mut sim, 3, some_acls());
    let alice = DescribeAclsRequest {
        principal_filter: Some("User:alice".into()),
        ..any()
    };
    let topics = DescribeAclsRequest {
        resource_type_filter: TOPIC,
        resource_name_filter: Some("orders".into()),
        pattern_type_filter: LITERAL,
        ..any()
    };
    let nothing = DescribeAclsRequest {
        principal_filter: Some("User:nobody".into()),
        ..any()
    };
    let unknown = DescribeAclsRequest {
        resource_type_filter: 99,
        ..any()
    };
    let filters = [alice, topics, nothing, unknown]
        .map(delete_filter)
        .to_vec();
    let results = delete(&mut sim, 3, filters);
    assert_eq!(results.len(), 4);
    // alice's two ACLs; the topic filter matches alice's on `orders` too.
    let named = |f: &DeleteAclsFilterResult| {
        let mut v: Vec<(i8, String, String)> = f
            .matching_acls
            .iter()
            .map(|a| {
                (
                    a.resource_type,
                    a.resource_name.to_string(),
                    a.principal.to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(ErrorCode(results[0].error_code), ErrorCode::NONE);
    assert_eq!(
        named(&results[0]),
        [
            (TOPIC, "orders".into(), "User:alice".into()),
            (GROUP, "g1".into(), "User:alice".into())
        ]
    );
    assert_eq!(
        named(&results[1]),
        [(TOPIC, "orders".into(), "User:alice".into())]
    );
    assert!(results[2].matching_acls.is_empty());
    assert_eq!(ErrorCode(results[2].error_code), ErrorCode::NONE);
    assert_eq!(ErrorCode(results[3].error_code), ErrorCode::INVALID_REQUEST);
    // The other two remain.
    let left = rows(&describe(&mut sim, 3, any()));
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|r| r.3 != "User:alice"));
}

#[test]
fn v0_filters_name_literal_patterns_only() {
    let mut sim = sim(true);
    create(
        &mut sim,
        1,
        vec![
            acl(TOPIC, "t", LITERAL, "User:a", READ, ALLOW),
            acl(TOPIC, "t", PREFIXED, "User:a", READ, ALLOW),
        ],
    );
    // v0 carries no pattern type: its filter is LITERAL.
    let literal = DescribeAclsRequest {
        pattern_type_filter: LITERAL,
        ..any()
    };
    let r = describe(&mut sim, 0, literal.clone());
    assert_eq!(
        rows(&r),
        [(TOPIC, "t".into(), LITERAL, "User:a".into(), READ, ALLOW)]
    );
    let results = delete(&mut sim, 0, vec![delete_filter(literal)]);
    assert_eq!(results[0].matching_acls.len(), 1);
    assert_eq!(
        rows(&describe(&mut sim, 3, any())),
        [(TOPIC, "t".into(), PREFIXED, "User:a".into(), READ, ALLOW)]
    );
}

#[test]
fn acls_survive_a_restart_and_grant_what_they_say() {
    let mut sim = sim(true);
    let mut acls = some_acls();
    // Let ANONYMOUS alter (and so describe) the cluster without being a super user.
    acls.push(acl(
        CLUSTER,
        "kafka-cluster",
        LITERAL,
        "User:ANONYMOUS",
        ALTER,
        ALLOW,
    ));
    create(&mut sim, 3, acls);
    let alice = DescribeAclsRequest {
        principal_filter: Some("User:alice".into()),
        resource_type_filter: GROUP,
        ..any()
    };
    delete(&mut sim, 3, vec![delete_filter(alice)]);
    let before = rows(&describe(&mut sim, 3, any()));
    assert_eq!(before.len(), 4);

    // No longer a super user: the ACL it created lets it in.
    let mut restarted = sim.restart_with(config(false));
    let after = describe(&mut restarted, 3, any());
    assert_eq!(ErrorCode(after.error_code), ErrorCode::NONE);
    assert_eq!(rows(&after), before);
    // New ACLs after a restart do not collide with the replayed ones.
    let more = vec![acl(TOPIC, "new", LITERAL, "User:dave", READ, ALLOW)];
    assert_eq!(codes(&create(&mut restarted, 3, more)), [ErrorCode::NONE]);
    assert_eq!(rows(&describe(&mut restarted, 3, any())).len(), 5);
    let again = restarted.restart();
    let mut again = again;
    assert_eq!(rows(&describe(&mut again, 3, any())).len(), 5);
}

#[test]
fn zookeeper_mode_serves_the_acl_apis_from_what_zookeeper_holds() {
    // The write path is `zk_security.rs`'s.
    let config = Config {
        zk_mode: true,
        ..config(true)
    };
    let mut sim = Sim::with(config, MemStorage::new());
    let r = describe(&mut sim, 3, any());
    assert_eq!((r.error_code, r.resources.len()), (0, 0));
}
