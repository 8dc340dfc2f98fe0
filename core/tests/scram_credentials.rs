//! DescribeUserScramCredentials and AlterUserScramCredentials through the
//! real codec: upserts and deletes, each of Kafka's per-user errors,
//! authorization, and that credentials survive a restart (they live in
//! `__cluster_metadata`). Keys are never described, so these tests see
//! mechanisms and iterations only.

mod sim;

use bytes::Bytes;
use sim::Sim;
use spate_core::broker::Config;
use spate_core::protocol::messages::alter_user_scram_credentials_request::{
    AlterUserScramCredentialsRequest, ScramCredentialDeletion, ScramCredentialUpsertion,
};
use spate_core::protocol::messages::describe_user_scram_credentials_request::{
    DescribeUserScramCredentialsRequest, UserName,
};
use spate_core::protocol::messages::describe_user_scram_credentials_response::DescribeUserScramCredentialsResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::Principal;
use spate_core::storage::MemStorage;

const SHA256: i8 = 1;
const SHA512: i8 = 2;

fn upsert(name: &str, mechanism: i8, iterations: i32) -> ScramCredentialUpsertion {
    ScramCredentialUpsertion {
        name: name.into(),
        mechanism,
        iterations,
        salt: Bytes::from_static(b"salt-of-sixteen!"),
        salted_password: Bytes::from(vec![7u8; if mechanism == SHA512 { 64 } else { 32 }]),
        ..Default::default()
    }
}

fn delete(name: &str, mechanism: i8) -> ScramCredentialDeletion {
    ScramCredentialDeletion {
        name: name.into(),
        mechanism,
        ..Default::default()
    }
}

/// Alters; (user, error) per result, in the response's order.
fn alter(
    sim: &mut Sim,
    deletions: Vec<ScramCredentialDeletion>,
    upsertions: Vec<ScramCredentialUpsertion>,
) -> Vec<(String, ErrorCode)> {
    let req = AlterUserScramCredentialsRequest {
        deletions,
        upsertions,
        ..Default::default()
    };
    match sim.call(1, 0, RequestBody::AlterUserScramCredentials(req)) {
        ResponseBody::AlterUserScramCredentials(r) => r
            .results
            .iter()
            .map(|r| (r.user.to_string(), ErrorCode(r.error_code)))
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn describe(sim: &mut Sim, users: Option<&[&str]>) -> DescribeUserScramCredentialsResponse {
    let req = DescribeUserScramCredentialsRequest {
        users: users.map(|u| {
            u.iter()
                .map(|n| UserName {
                    name: (*n).into(),
                    ..Default::default()
                })
                .collect()
        }),
        ..Default::default()
    };
    match sim.call(1, 0, RequestBody::DescribeUserScramCredentials(req)) {
        ResponseBody::DescribeUserScramCredentials(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (user, error, [(mechanism, iterations)]) per result.
type Described = Vec<(String, ErrorCode, Vec<(i8, i32)>)>;

fn described(r: &DescribeUserScramCredentialsResponse) -> Described {
    r.results
        .iter()
        .map(|u| {
            (
                u.user.to_string(),
                ErrorCode(u.error_code),
                u.credential_infos
                    .iter()
                    .map(|c| (c.mechanism, c.iterations))
                    .collect(),
            )
        })
        .collect()
}

fn ok(user: &str) -> (String, ErrorCode) {
    (user.into(), ErrorCode::NONE)
}

#[test]
fn upserted_credentials_are_described_without_keys() {
    // Served without an authorizer too.
    let mut sim = Sim::new();
    let r = alter(
        &mut sim,
        vec![],
        vec![upsert("alice", SHA256, 4096), upsert("bob", SHA512, 16384)],
    );
    assert_eq!(r, [ok("alice"), ok("bob")]);
    // alice gets a second mechanism; a new iteration count replaces bob's.
    let r = alter(
        &mut sim,
        vec![],
        vec![upsert("alice", SHA512, 8192), upsert("bob", SHA512, 5000)],
    );
    assert_eq!(r, [ok("alice"), ok("bob")]);
    let all = describe(&mut sim, None);
    assert_eq!(ErrorCode(all.error_code), ErrorCode::NONE);
    assert_eq!(
        described(&all),
        [
            (
                "alice".into(),
                ErrorCode::NONE,
                vec![(SHA256, 4096), (SHA512, 8192)]
            ),
            ("bob".into(), ErrorCode::NONE, vec![(SHA512, 5000)]),
        ]
    );
    // An empty list is every user too.
    assert_eq!(described(&describe(&mut sim, Some(&[]))), described(&all));
    let named = describe(&mut sim, Some(&["bob", "carol", "bob", "alice"]));
    assert_eq!(
        described(&named),
        [
            ("bob".into(), ErrorCode::DUPLICATE_RESOURCE, vec![]),
            ("carol".into(), ErrorCode::RESOURCE_NOT_FOUND, vec![]),
            (
                "alice".into(),
                ErrorCode::NONE,
                vec![(SHA256, 4096), (SHA512, 8192)]
            ),
        ]
    );
}

#[test]
fn deletions_remove_one_mechanism() {
    let mut sim = Sim::new();
    alter(&mut sim, vec![], vec![upsert("alice", SHA256, 4096)]);
    alter(&mut sim, vec![], vec![upsert("alice", SHA512, 4096)]);
    assert_eq!(
        alter(&mut sim, vec![delete("alice", SHA256)], vec![]),
        [ok("alice")]
    );
    assert_eq!(
        described(&describe(&mut sim, Some(&["alice"]))),
        [("alice".into(), ErrorCode::NONE, vec![(SHA512, 4096)])]
    );
    // Deleting it again: nothing to delete.
    assert_eq!(
        alter(&mut sim, vec![delete("alice", SHA256)], vec![]),
        [("alice".into(), ErrorCode::RESOURCE_NOT_FOUND)]
    );
    assert_eq!(
        alter(&mut sim, vec![delete("alice", SHA512)], vec![]),
        [ok("alice")]
    );
    assert_eq!(
        described(&describe(&mut sim, Some(&["alice"]))),
        [("alice".into(), ErrorCode::RESOURCE_NOT_FOUND, vec![])]
    );
    assert!(describe(&mut sim, None).results.is_empty());
}

#[test]
fn each_bad_alteration_gets_kafkas_error_and_the_rest_apply() {
    let mut sim = Sim::new();
    let mut no_salt = upsert("nosalt", SHA256, 4096);
    no_salt.salt = Bytes::new();
    let mut no_password = upsert("nopassword", SHA256, 4096);
    no_password.salted_password = Bytes::new();
    let r = alter(
        &mut sim,
        vec![
            delete("ghost", SHA256),
            delete("twice", SHA256),
            delete("", SHA256),
        ],
        vec![
            upsert("good", SHA256, 4096),
            upsert("few", SHA256, 4095),
            upsert("many", SHA512, 16385),
            upsert("md5", 3, 4096),
            upsert("twice", SHA256, 4096),
            upsert("dup", SHA256, 4096),
            upsert("dup", SHA512, 4096),
            no_salt,
            no_password,
        ],
    );
    // Successes first, then errors in name order.
    let expected: Vec<(String, ErrorCode)> = vec![
        ok("good"),
        ("".into(), ErrorCode::UNACCEPTABLE_CREDENTIAL),
        ("dup".into(), ErrorCode::DUPLICATE_RESOURCE),
        ("few".into(), ErrorCode::UNACCEPTABLE_CREDENTIAL),
        ("ghost".into(), ErrorCode::RESOURCE_NOT_FOUND),
        ("many".into(), ErrorCode::UNACCEPTABLE_CREDENTIAL),
        ("md5".into(), ErrorCode::UNSUPPORTED_SASL_MECHANISM),
        ("nopassword".into(), ErrorCode::UNACCEPTABLE_CREDENTIAL),
        ("nosalt".into(), ErrorCode::UNACCEPTABLE_CREDENTIAL),
        // A deletion that fails is an error already: the upsertion is not looked at.
        ("twice".into(), ErrorCode::RESOURCE_NOT_FOUND),
    ];
    assert_eq!(r, expected);
    assert_eq!(
        described(&describe(&mut sim, None)),
        [("good".into(), ErrorCode::NONE, vec![(SHA256, 4096)])]
    );
    // A valid deletion and an upsertion of the same user: DUPLICATE_RESOURCE,
    // and neither happens.
    let r = alter(
        &mut sim,
        vec![delete("good", SHA256)],
        vec![upsert("good", SHA512, 4096)],
    );
    assert_eq!(r, [("good".into(), ErrorCode::DUPLICATE_RESOURCE)]);
    assert_eq!(
        described(&describe(&mut sim, None)),
        [("good".into(), ErrorCode::NONE, vec![(SHA256, 4096)])]
    );
}

#[test]
fn the_cluster_permission_is_checked() {
    let mut config = Config::default();
    config.security.authorizer = true;
    let mut sim = Sim::with(config.clone(), MemStorage::new());
    let r = alter(
        &mut sim,
        vec![delete("b", SHA256)],
        vec![upsert("a", SHA256, 4096), upsert("b", SHA256, 4096)],
    );
    assert_eq!(
        r,
        [
            ("a".into(), ErrorCode::CLUSTER_AUTHORIZATION_FAILED),
            ("b".into(), ErrorCode::CLUSTER_AUTHORIZATION_FAILED),
        ]
    );
    let d = describe(&mut sim, Some(&["a"]));
    assert_eq!(
        ErrorCode(d.error_code),
        ErrorCode::CLUSTER_AUTHORIZATION_FAILED
    );
    assert!(d.results.iter().all(|r| r.credential_infos.is_empty()));

    config.security.super_users = vec![Principal::anonymous()];
    let mut sim = sim.restart_with(config);
    assert_eq!(
        alter(&mut sim, vec![], vec![upsert("a", SHA256, 4096)]),
        [ok("a")]
    );
    assert_eq!(described(&describe(&mut sim, None)).len(), 1);
}

#[test]
fn credentials_survive_a_restart() {
    let mut sim = Sim::new();
    alter(
        &mut sim,
        vec![],
        vec![upsert("alice", SHA256, 4096), upsert("bob", SHA512, 10000)],
    );
    alter(
        &mut sim,
        vec![delete("alice", SHA256)],
        vec![upsert("carol", SHA256, 4200)],
    );
    let before = described(&describe(&mut sim, None));
    assert_eq!(before.len(), 2);
    let mut restarted = sim.restart();
    assert_eq!(described(&describe(&mut restarted, None)), before);
}

#[test]
fn zookeeper_mode_serves_them_from_what_zookeeper_holds() {
    // The write path is `zk_security.rs`'s.
    let config = Config {
        zk_mode: true,
        ..Config::default()
    };
    let mut sim = Sim::with(config, MemStorage::new());
    let req = DescribeUserScramCredentialsRequest::default();
    let ResponseBody::DescribeUserScramCredentials(r) =
        sim.call(1, 0, RequestBody::DescribeUserScramCredentials(req))
    else {
        panic!("not a DescribeUserScramCredentials response");
    };
    assert_eq!((r.error_code, r.results.len()), (0, 0));
}
