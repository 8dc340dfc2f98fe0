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
