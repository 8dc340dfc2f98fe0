//! ACLs and SCRAM credentials in ZooKeeper mode: CreateAcls, DeleteAcls
//! and AlterUserScramCredentials are held and handed to the driver as one
//! `Output::WriteSecurity` (one update per resource pattern or user),
//! answered when the driver reports, with each failed update's error on
//! what it carried; the image is what the driver says ZooKeeper holds
//! (`handle_resource_acls`, `handle_user_scram`), and nothing goes to
//! `__cluster_metadata`.

mod sim;

use sim::pair::zk_config;
use sim::{Event, Sim};
use spate_core::broker::{AclResource, Config, Output, SecurityWrite};
use spate_core::protocol::messages::alter_user_scram_credentials_request::{
    AlterUserScramCredentialsRequest, ScramCredentialUpsertion,
};
use spate_core::protocol::messages::create_acls_request::{AclCreation, CreateAclsRequest};
use spate_core::protocol::messages::delete_acls_request::{DeleteAclsFilter, DeleteAclsRequest};
use spate_core::protocol::messages::describe_acls_request::DescribeAclsRequest;
use spate_core::protocol::messages::describe_user_scram_credentials_request::DescribeUserScramCredentialsRequest;
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::acl::{AclBinding, Operation, PatternType, Permission, ResourceType};
use spate_core::security::sasl::Mechanism;
use spate_core::security::Principal;
use spate_core::storage::MemStorage;

const C: u64 = 3;
const TOPIC: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;
const ANY: i8 = 1;

fn zk() -> Sim {
    let mut c: Config = zk_config();
    c.security.authorizer = true;
    c.security.super_users = vec![Principal::anonymous()];
    let mut sim = Sim::with(c, MemStorage::new());
    sim.connect(C);
    sim
}

fn creation(name: &str, pattern: i8, op: i8) -> AclCreation {
    AclCreation {
        resource_type: TOPIC,
        resource_name: name.into(),
        resource_pattern_type: pattern,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: op,
        permission_type: ALLOW,
        ..Default::default()
    }
}

fn binding(name: &str, pattern: PatternType, op: Operation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: op,
        permission: Permission::Allow,
    }
}

fn resource(name: &str, pattern: PatternType) -> AclResource {
    AclResource {
        resource_type: ResourceType::Topic,
        name: name.into(),
        pattern_type: pattern,
    }
}

/// The one write asked for, taken.
fn write(sim: &mut Sim) -> SecurityWrite {
    let asked = std::mem::take(&mut sim.asked);
    let [Output::WriteSecurity { conn, write }] = asked.as_slice() else {
        panic!("{asked:?}");
    };
    assert_eq!(*conn, C);
    write.clone()
}

fn all_acls() -> DescribeAclsRequest {
    DescribeAclsRequest {
        resource_type_filter: ANY,
        resource_name_filter: None,
        principal_filter: None,
        host_filter: None,
        pattern_type_filter: ANY,
        operation: ANY,
        permission_type: ANY,
        ..Default::default()
    }
}

fn described(sim: &mut Sim) -> Vec<(String, i8, i8)> {
    let ResponseBody::DescribeAcls(r) = sim.call(C, 2, RequestBody::DescribeAcls(all_acls()))
    else {
        panic!()
    };
    let mut rows = Vec::new();
    for res in &r.resources {
        for a in &res.acls {
            rows.push((res.resource_name.to_string(), res.pattern_type, a.operation));
        }
    }
    rows.sort();
    rows
}

#[test]
fn create_acls_is_held_until_zookeeper_has_them_one_update_per_pattern() {
    let mut sim = zk();
    let req = CreateAclsRequest {
        creations: vec![
            creation("t", LITERAL, READ),
            creation("t", LITERAL, WRITE),
            creation("p-", PREFIXED, READ),
        ],
        ..Default::default()
    };
    sim.send(C, 2, RequestBody::CreateAcls(req));
    sim.send(C, 12, RequestBody::Metadata(MetadataRequest::default()));
    let SecurityWrite::Acls(updates) = write(&mut sim) else {
        panic!()
    };
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].resource, resource("t", PatternType::Literal));
    assert_eq!(
        updates[0].add,
        [
            binding("t", PatternType::Literal, Operation::Read),
            binding("t", PatternType::Literal, Operation::Write)
        ]
    );
    assert_eq!(updates[1].resource, resource("p-", PatternType::Prefixed));
    assert!(sim.take(C).is_empty(), "held, and the next request waits");
    // The image changes only with what ZooKeeper holds.
    for u in &updates {
        sim.broker.handle_resource_acls(&u.resource, u.add.clone());
    }
    sim.broker.handle_security_written(
        C,
        vec![Ok(()), Err(ErrorCode::UNKNOWN_SERVER_ERROR)],
        sim.now,
    );
    sim.drain();
    let events = sim.take(C);
    let [Event::Response(_, ResponseBody::CreateAcls(r)), Event::Response(_, ResponseBody::Metadata(_))] =
        events.as_slice()
    else {
        panic!("{events:?}");
    };
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [0, 0, ErrorCode::UNKNOWN_SERVER_ERROR.code()]);
    assert!(r.results[2].error_message.is_some());
    assert_eq!(
        described(&mut sim),
        [
            ("p-".to_string(), PREFIXED, READ),
            ("t".to_string(), LITERAL, READ),
            ("t".to_string(), LITERAL, WRITE)
        ]
    );
    // ZooKeeper is the store: nothing went to `__cluster_metadata`.
    let mut restarted = sim.restart();
    restarted.connect(C);
    assert!(described(&mut restarted).is_empty());
}

#[test]
fn an_acl_held_already_is_answered_at_once() {
    let mut sim = zk();
    let acl = binding("t", PatternType::Literal, Operation::Read);
    sim.broker
        .handle_resource_acls(&resource("t", PatternType::Literal), vec![acl]);
    let req = CreateAclsRequest {
        creations: vec![creation("t", LITERAL, READ)],
        ..Default::default()
    };
    let ResponseBody::CreateAcls(r) = sim.call(C, 2, RequestBody::CreateAcls(req)) else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 0);
    assert!(sim.asked.is_empty());
}

#[test]
fn another_brokers_change_replaces_the_patterns_acls() {
    let mut sim = zk();
    let t = resource("t", PatternType::Literal);
    let read = binding("t", PatternType::Literal, Operation::Read);
    let write = binding("t", PatternType::Literal, Operation::Write);
    sim.broker
        .handle_resource_acls(&t, vec![read.clone(), write]);
    sim.broker.handle_resource_acls(&t, vec![read]);
    assert_eq!(described(&mut sim), [("t".to_string(), LITERAL, READ)]);
    sim.broker.handle_resource_acls(&t, Vec::new());
    assert!(described(&mut sim).is_empty());
}

#[test]
fn delete_acls_removes_per_pattern_and_a_failed_pattern_marks_its_acls() {
    let mut sim = zk();
    let (t, u) = (
        resource("t", PatternType::Literal),
        resource("u", PatternType::Literal),
    );
    sim.broker.handle_resource_acls(
        &t,
        vec![binding("t", PatternType::Literal, Operation::Read)],
    );
    sim.broker.handle_resource_acls(
        &u,
        vec![binding("u", PatternType::Literal, Operation::Read)],
    );
    let req = DeleteAclsRequest {
        filters: vec![DeleteAclsFilter {
            resource_type_filter: TOPIC,
            resource_name_filter: None,
            principal_filter: None,
            host_filter: None,
            pattern_type_filter: LITERAL,
            operation: READ,
            permission_type: ANY,
            ..Default::default()
        }],
        ..Default::default()
    };
    sim.send(C, 2, RequestBody::DeleteAcls(req));
    let SecurityWrite::Acls(updates) = write(&mut sim) else {
        panic!()
    };
    let mut removed: Vec<(&AclResource, usize)> = updates
        .iter()
        .map(|u| (&u.resource, u.remove.len()))
        .collect();
    removed.sort();
    assert_eq!(removed, [(&t, 1), (&u, 1)]);
    assert!(updates.iter().all(|u| u.add.is_empty()));
    sim.broker.handle_resource_acls(&t, Vec::new());
    // `u`'s update fails.
    let results = updates
        .iter()
        .map(|up| match up.resource == u {
            true => Err(ErrorCode::UNKNOWN_SERVER_ERROR),
            false => Ok(()),
        })
        .collect();
    sim.broker.handle_security_written(C, results, sim.now);
    sim.drain();
    let ResponseBody::DeleteAcls(r) = sim.one(C) else {
        panic!()
    };
    let f = &r.filter_results[0];
    assert_eq!(f.error_code, 0);
    let mut codes: Vec<(String, i16)> = f
        .matching_acls
        .iter()
        .map(|m| (m.resource_name.to_string(), m.error_code))
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            ("t".to_string(), 0),
            ("u".to_string(), ErrorCode::UNKNOWN_SERVER_ERROR.code())
        ]
    );
    assert_eq!(described(&mut sim), [("u".to_string(), LITERAL, READ)]);
}

#[test]
fn alter_scram_writes_each_user_and_describe_follows_zookeeper() {
    let mut sim = zk();
    let upsert = |name: &str| ScramCredentialUpsertion {
        name: name.into(),
        mechanism: 1,
        iterations: 4096,
        salt: vec![1, 2, 3].into(),
        salted_password: vec![9; 32].into(),
        ..Default::default()
    };
    let req = AlterUserScramCredentialsRequest {
        upsertions: vec![upsert("alice"), upsert("bob")],
        ..Default::default()
    };
    sim.send(C, 0, RequestBody::AlterUserScramCredentials(req));
    let SecurityWrite::Scram(updates) = write(&mut sim) else {
        panic!()
    };
    let users: Vec<&str> = updates.iter().map(|u| u.user.as_str()).collect();
    assert_eq!(users, ["alice", "bob"]);
    let (m, cred) = &updates[0].set[0];
    assert_eq!(*m, Mechanism::ScramSha256);
    assert_eq!(
        (cred.salt.as_slice(), cred.iterations),
        (&[1, 2, 3][..], 4096)
    );
    assert!(updates[0].delete.is_empty());
    sim.broker
        .handle_user_scram("alice", updates[0].set.clone());
    sim.broker.handle_security_written(
        C,
        vec![Ok(()), Err(ErrorCode::UNKNOWN_SERVER_ERROR)],
        sim.now,
    );
    sim.drain();
    let ResponseBody::AlterUserScramCredentials(r) = sim.one(C) else {
        panic!()
    };
    let results: Vec<(String, i16)> = r
        .results
        .iter()
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    assert_eq!(
        results,
        [
            ("alice".to_string(), 0),
            ("bob".to_string(), ErrorCode::UNKNOWN_SERVER_ERROR.code())
        ]
    );
    let describe = DescribeUserScramCredentialsRequest::default();
    let ResponseBody::DescribeUserScramCredentials(r) =
        sim.call(C, 0, RequestBody::DescribeUserScramCredentials(describe))
    else {
        panic!()
    };
    let users: Vec<String> = r.results.iter().map(|r| r.user.to_string()).collect();
    assert_eq!(users, ["alice"]);
    assert_eq!(r.results[0].credential_infos[0].iterations, 4096);
    // Gone from ZooKeeper, gone here.
    sim.broker.handle_user_scram("alice", Vec::new());
    let describe = DescribeUserScramCredentialsRequest::default();
    let ResponseBody::DescribeUserScramCredentials(r) =
        sim.call(C, 0, RequestBody::DescribeUserScramCredentials(describe))
    else {
        panic!()
    };
    assert!(r.results.is_empty());
}

#[test]
fn a_request_whose_connection_closed_is_not_answered() {
    let mut sim = zk();
    let req = CreateAclsRequest {
        creations: vec![creation("t", LITERAL, READ)],
        ..Default::default()
    };
    sim.send(C, 2, RequestBody::CreateAcls(req));
    let _ = write(&mut sim);
    sim.disconnect(C);
    sim.broker.handle_security_written(C, vec![Ok(())], sim.now);
    sim.drain();
    assert!(sim.take(C).is_empty());
}
