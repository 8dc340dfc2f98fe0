use super::*;
use crate::security::{Principal, SecurityConfig};

fn acl(
    rt: ResourceType,
    name: &str,
    pt: PatternType,
    who: &str,
    op: Operation,
    perm: Permission,
) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.into(),
        pattern_type: pt,
        principal: who.into(),
        host: "*".into(),
        operation: op,
        permission: perm,
    }
}

fn authz<'a>(acls: &'a Acls, config: &'a SecurityConfig, p: &'a Principal) -> Authorizer<'a> {
    Authorizer {
        acls,
        config,
        principal: p,
        host: "10.0.0.1",
    }
}

fn on() -> SecurityConfig {
    SecurityConfig {
        authorizer: true,
        ..SecurityConfig::default()
    }
}

#[test]
fn deny_beats_allow_and_allow_implies_describe() {
    use Operation::*;
    let mut acls = Acls::default();
    let id = |n: u8| Uuid([n; 16]);
    acls.insert(
        id(1),
        acl(
            ResourceType::Topic,
            "orders",
            PatternType::Literal,
            "User:alice",
            Read,
            Permission::Allow,
        ),
    );
    acls.insert(
        id(2),
        acl(
            ResourceType::Topic,
            "ord",
            PatternType::Prefixed,
            "User:*",
            Write,
            Permission::Deny,
        ),
    );
    let config = on();
    let alice = Principal::user("alice");
    let a = authz(&acls, &config, &alice);
    assert!(a.allows(Read, ResourceType::Topic, "orders"));
    assert!(a.allows(Describe, ResourceType::Topic, "orders"));
    assert!(!a.allows(Write, ResourceType::Topic, "orders"));
    assert!(!a.allows(Read, ResourceType::Topic, "other"));
    let bob = Principal::user("bob");
    assert!(!authz(&acls, &config, &bob).allows(Read, ResourceType::Topic, "orders"));
}

#[test]
fn super_users_no_acl_rule_and_disabled() {
    let acls = Acls::default();
    let mut config = on();
    let carol = Principal::user("carol");
    assert!(!authz(&acls, &config, &carol).allows(Operation::Read, ResourceType::Topic, "t"));
    config.allow_everyone_if_no_acl_found = true;
    assert!(authz(&acls, &config, &carol).allows(Operation::Read, ResourceType::Topic, "t"));
    config.allow_everyone_if_no_acl_found = false;
    config.super_users = vec![carol.clone()];
    assert!(authz(&acls, &config, &carol).allows(
        Operation::Alter,
        ResourceType::Cluster,
        CLUSTER_NAME
    ));
    let off = SecurityConfig::default();
    assert!(authz(&acls, &off, &carol).allows(Operation::Delete, ResourceType::Topic, "t"));
    assert_eq!(
        authz(&acls, &off, &carol).authorized_operations(ResourceType::Topic, "t"),
        3576
    );
}

#[test]
fn wildcard_host_and_filters() {
    let mut acls = Acls::default();
    let mut a = acl(
        ResourceType::Group,
        "*",
        PatternType::Literal,
        "User:dave",
        Operation::Read,
        Permission::Allow,
    );
    a.host = "10.0.0.2".into();
    acls.insert(Uuid([1; 16]), a.clone());
    let config = on();
    let dave = Principal::user("dave");
    assert!(!authz(&acls, &config, &dave).allows(Operation::Read, ResourceType::Group, "g"));
    let at = Authorizer {
        host: "10.0.0.2",
        ..authz(&acls, &config, &dave)
    };
    assert!(at.allows(Operation::Read, ResourceType::Group, "g"));
    assert_eq!(
        at.authorized_operations(ResourceType::Group, "g"),
        (1 << 3) | (1 << 8)
    );
    let f = AclFilter {
        pattern_type: Some(PatternType::Match),
        resource_name: Some("g".into()),
        ..AclFilter::default()
    };
    assert_eq!(acls.matching(&f).count(), 1);
    let f = AclFilter {
        pattern_type: Some(PatternType::Literal),
        resource_name: Some("g".into()),
        ..AclFilter::default()
    };
    assert_eq!(acls.matching(&f).count(), 0);
}

#[test]
fn allows_some_follows_kafkas_authorize_by_resource_type() {
    use Operation::*;
    use PatternType::{Literal, Prefixed};
    use Permission::{Allow, Deny};
    let alice = Principal::parse("User:alice").unwrap();
    let config = on();
    let topic = |name: &str, pt: PatternType, who: &str, op: Operation, perm: Permission| {
        acl(ResourceType::Topic, name, pt, who, op, perm)
    };
    // Builds the ACLs and asks whether alice may WRITE some topic.
    let some_write = |bindings: &[AclBinding]| {
        let mut acls = Acls::default();
        for (n, b) in bindings.iter().enumerate() {
            acls.insert(Uuid([n as u8 + 1; 16]), b.clone());
        }
        authz(&acls, &config, &alice).allows_some(Write, ResourceType::Topic)
    };
    // Nothing allowed, and a READ is not a WRITE.
    assert!(!some_write(&[]));
    assert!(!some_write(&[topic(
        "t",
        Literal,
        "User:alice",
        Read,
        Allow
    )]));
    // A literal or prefixed ALLOW of WRITE or ALL; or one for every user.
    assert!(some_write(&[topic(
        "t",
        Literal,
        "User:alice",
        Write,
        Allow
    )]));
    assert!(some_write(&[topic(
        "logs-",
        Prefixed,
        "User:alice",
        All,
        Allow
    )]));
    assert!(some_write(&[topic("t", Literal, "User:*", Write, Allow)]));
    // Someone else's ALLOW, or one for another host, does not count.
    assert!(!some_write(&[topic(
        "t", Literal, "User:bob", Write, Allow
    )]));
    let mut elsewhere = topic("t", Literal, "User:alice", Write, Allow);
    elsewhere.host = "10.9.9.9".into();
    assert!(!some_write(&[elsewhere]));
    // A literal DENY of the same name cancels a literal ALLOW, a prefixed
    // DENY of a prefix cancels either; a DENY elsewhere does not.
    assert!(!some_write(&[
        topic("t", Literal, "User:alice", Write, Allow),
        topic("t", Literal, "User:alice", Write, Deny),
    ]));
    assert!(!some_write(&[
        topic("logs-app", Prefixed, "User:alice", Write, Allow),
        topic("logs-", Prefixed, "User:alice", Write, Deny),
    ]));
    assert!(some_write(&[
        topic("logs-app", Prefixed, "User:alice", Write, Allow),
        topic("logs-app", Literal, "User:alice", Write, Deny),
    ]));
    assert!(some_write(&[
        topic("a", Literal, "User:alice", Write, Allow),
        topic("b", Literal, "User:alice", Write, Allow),
        topic("a", Literal, "User:alice", Write, Deny),
    ]));
    // ALLOW of `*` allows, unless a DENY of `*` is there too, in any order.
    assert!(some_write(&[topic(
        "*",
        Literal,
        "User:alice",
        Write,
        Allow
    )]));
    for order in [[Allow, Deny], [Deny, Allow]] {
        let bindings: Vec<_> = order
            .iter()
            .map(|p| topic("*", Literal, "User:alice", Write, *p))
            .collect();
        assert!(!some_write(&bindings));
    }
    // Super users, and the no-ACL rule when no ACL names a topic.
    let su = SecurityConfig {
        super_users: vec![alice.clone()],
        ..on()
    };
    let deny_all = {
        let mut acls = Acls::default();
        acls.insert(
            Uuid([1; 16]),
            topic("*", Literal, "User:alice", Write, Deny),
        );
        acls
    };
    assert!(authz(&deny_all, &su, &alice).allows_some(Write, ResourceType::Topic));
    let open = SecurityConfig {
        allow_everyone_if_no_acl_found: true,
        ..on()
    };
    let none = Acls::default();
    assert!(authz(&none, &open, &alice).allows_some(Write, ResourceType::Topic));
}
