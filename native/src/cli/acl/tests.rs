//! Argument parsing and request building of `spate acl`.

use clap::Parser;

use super::*;

/// A parser for the options alone.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    o: AclOptions,
}

fn opts(args: &[&str]) -> AclOptions {
    Cli::try_parse_from(std::iter::once("acl").chain(args.iter().copied()))
        .unwrap()
        .o
}

#[test]
fn add_builds_one_binding_per_principal_host_and_operation() {
    let o = opts(&[
        "--allow-principal",
        "User:alice",
        "--allow-principal",
        "User:bob",
        "--deny-principal",
        "User:mallory",
        "--deny-host",
        "10.0.0.9",
        "--operation",
        "Read",
        "--operation",
        "describe",
        "--topic",
        "orders",
        "--resource-pattern-type",
        "prefixed",
    ]);
    let b = o.bindings(o.pattern(true).unwrap()).unwrap();
    assert_eq!(b.len(), 6);
    assert!(b.iter().all(|b| b.resource_type == ResourceType::Topic
        && b.resource_name == "orders"
        && b.pattern_type == PatternType::Prefixed));
    let allow: Vec<_> = b
        .iter()
        .filter(|b| b.permission == Permission::Allow)
        .map(|b| (b.principal.as_str(), b.host.as_str(), b.operation))
        .collect();
    assert_eq!(
        allow,
        [
            ("User:alice", "*", Operation::Read),
            ("User:alice", "*", Operation::Describe),
            ("User:bob", "*", Operation::Read),
            ("User:bob", "*", Operation::Describe),
        ]
    );
    let deny: Vec<_> = b
        .iter()
        .filter(|b| b.permission == Permission::Deny)
        .map(|b| (b.principal.as_str(), b.host.as_str()))
        .collect();
    assert_eq!(
        deny,
        [("User:mallory", "10.0.0.9"), ("User:mallory", "10.0.0.9")]
    );
    let c = creation(&b[0]);
    assert_eq!(
        (
            c.resource_type,
            c.resource_pattern_type,
            c.operation,
            c.permission_type
        ),
        (2, 4, 3, 3)
    );
    assert_eq!(&*c.principal, "User:alice");
}

#[test]
fn add_defaults_and_resources() {
    let o = opts(&[
        "--allow-principal",
        "User:*",
        "--cluster",
        "--group",
        "g",
        "--transactional-id",
        "tx",
    ]);
    let b = o.bindings(o.pattern(true).unwrap()).unwrap();
    let got: Vec<_> = b
        .iter()
        .map(|b| {
            (
                b.resource_type,
                b.resource_name.as_str(),
                b.operation,
                b.pattern_type,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                ResourceType::Group,
                "g",
                Operation::All,
                PatternType::Literal
            ),
            (
                ResourceType::Cluster,
                "kafka-cluster",
                Operation::All,
                PatternType::Literal
            ),
            (
                ResourceType::TransactionalId,
                "tx",
                Operation::All,
                PatternType::Literal
            ),
        ]
    );
}

#[test]
fn add_refuses_what_kafka_acls_refuses() {
    let bad = |args: &[&str]| {
        let o = opts(args);
        o.pattern(true)
            .and_then(|p| o.bindings(p))
            .unwrap_err()
            .to_string()
    };
    assert!(bad(&["--topic", "t"]).contains("principal"));
    assert!(bad(&["--allow-principal", "User:a"]).contains("resource"));
    assert!(bad(&["--allow-principal", "alice", "--topic", "t"]).contains("TYPE:NAME"));
    assert!(bad(&[
        "--allow-principal",
        "User:a",
        "--topic",
        "t",
        "--operation",
        "Fly"
    ])
    .contains("not an operation"));
    assert!(bad(&[
        "--allow-principal",
        "User:a",
        "--group",
        "g",
        "--operation",
        "Write"
    ])
    .contains("does not apply"));
    assert!(bad(&[
        "--allow-principal",
        "User:a",
        "--topic",
        "t",
        "--resource-pattern-type",
        "match"
    ])
    .contains("literal or prefixed"));
}

#[test]
fn list_and_remove_filters() {
    let all = opts(&[]).resource_filters().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (
            all[0].resource_type_filter,
            all[0].pattern_type_filter,
            all[0].operation
        ),
        (1, 1, 1)
    );
    assert!(all[0].resource_name_filter.is_none());
    let f = opts(&["--topic", "orders", "--resource-pattern-type", "match"])
        .resource_filters()
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].resource_type_filter, 2);
    assert_eq!(f[0].resource_name_filter.as_deref(), Some("orders"));
    assert_eq!(f[0].pattern_type_filter, PatternType::Match.code());
    let o = opts(&[
        "--deny-principal",
        "User:m",
        "--topic",
        "t",
        "--operation",
        "Write",
    ]);
    let exact: Vec<_> = o
        .bindings(o.pattern(false).unwrap())
        .unwrap()
        .iter()
        .map(exact_filter)
        .collect();
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].principal_filter.as_deref(), Some("User:m"));
    assert_eq!(exact[0].host_filter.as_deref(), Some("*"));
    assert_eq!(exact[0].permission_type, Permission::Deny.code());
    assert!(opts(&["--resource-pattern-type", "regex"])
        .resource_filters()
        .is_err());
}

#[test]
fn kafka_texts() {
    assert_eq!(
        resource_text(2, "orders", 3),
        "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)"
    );
    assert_eq!(
        entry_text("User:alice", "*", 3, 3),
        "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)"
    );
}
