//! ACLs and the authorizer, with the semantics of Kafka's
//! `StandardAuthorizer`: an ACL binds a resource pattern (literal,
//! prefixed, or the literal wildcard `*`) to a principal (or `User:*`), a
//! host (or `*`), an operation and ALLOW or DENY. A request is allowed
//! when a matching ALLOW exists and no matching DENY does; super users are
//! always allowed; a resource no ACL names at all is allowed only with
//! `allow.everyone.if.no.acl.found`. An ALLOW of READ, WRITE, DELETE or
//! ALTER implies DESCRIBE, and one of ALTER_CONFIGS implies
//! DESCRIBE_CONFIGS; ALL matches every operation.

mod types;

pub use types::{
    AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME, WILDCARD,
};

use crate::collections::{Map, Set};

use super::{Principal, SecurityConfig};
use crate::protocol::Uuid;

/// Every ACL the cluster holds, by the id of the record that created it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acls {
    by_id: Map<Uuid, AclBinding>,
}

impl Acls {
    /// Adds (or replaces) the ACL with `id`.
    pub fn insert(&mut self, id: Uuid, acl: AclBinding) {
        self.by_id.insert(id, acl);
    }

    /// Removes the ACL with `id`, returning it.
    pub fn remove(&mut self, id: &Uuid) -> Option<AclBinding> {
        self.by_id.remove(id)
    }

    /// The id of an ACL equal to `acl`, if one is held.
    pub fn find(&self, acl: &AclBinding) -> Option<Uuid> {
        self.by_id
            .iter()
            .find(|(_, a)| *a == acl)
            .map(|(id, _)| *id)
    }

    /// Every ACL `filter` matches, with its id.
    pub fn matching<'a>(
        &'a self,
        filter: &'a AclFilter,
    ) -> impl Iterator<Item = (Uuid, &'a AclBinding)> + 'a {
        self.by_id
            .iter()
            .filter(|(_, a)| filter.matches(a))
            .map(|(id, a)| (*id, a))
    }

    /// Every ACL held.
    pub fn iter(&self) -> impl Iterator<Item = (Uuid, &AclBinding)> {
        self.by_id.iter().map(|(id, a)| (*id, a))
    }

    /// Number of ACLs held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// One request's authorizer: who asks, from where, against which ACLs.
#[derive(Debug, Clone, Copy)]
pub struct Authorizer<'a> {
    /// The ACLs.
    pub acls: &'a Acls,
    /// The broker's security settings (whether checks are on, super users,
    /// the no-ACL rule).
    pub config: &'a SecurityConfig,
    /// Who asks.
    pub principal: &'a Principal,
    /// The client's IP address, without port or slash (`127.0.0.1`).
    pub host: &'a str,
}

impl Authorizer<'_> {
    /// Whether checks are on at all.
    pub fn enabled(&self) -> bool {
        self.config.authorizer
    }

    /// Whether the principal may do `op` on the resource `name` of type
    /// `resource` (always, with no authorizer configured).
    pub fn allows(&self, op: Operation, resource: ResourceType, name: &str) -> bool {
        if !self.config.authorizer || self.config.super_users.contains(self.principal) {
            return true;
        }
        let principal = self.principal.to_string();
        let wildcard_principal = format!("{}:*", self.principal.kind);
        let mut named = false;
        let mut allowed = false;
        for acl in self.acls.by_id.values() {
            if acl.resource_type != resource || !acl.matches_name(name) {
                continue;
            }
            named = true;
            if acl.principal != principal && acl.principal != wildcard_principal {
                continue;
            }
            if acl.host != "*" && acl.host != self.host {
                continue;
            }
            match acl.permission {
                Permission::Deny if acl.operation == op || acl.operation == Operation::All => {
                    return false;
                }
                Permission::Allow if acl.operation.implies(op) => allowed = true,
                _ => {}
            }
        }
        allowed || (!named && self.config.allow_everyone_if_no_acl_found)
    }

    /// Whether the principal may do `op` on some resource of type
    /// `resource` (Kafka's `Authorizer.authorizeByResourceType`, which
    /// InitProducerId without a transactional id asks for topic WRITE):
    /// allowed when a resource nobody names would be (super users, no
    /// authorizer, the no-ACL rule), or when an ALLOW of `op` (or ALL) on
    /// a pattern of that type matches the principal (or `User:*`) and host
    /// and no DENY covers that pattern: a literal DENY of the same name, a
    /// prefixed DENY of a prefix of it, or a DENY of `*` which refuses all.
    pub fn allows_some(&self, op: Operation, resource: ResourceType) -> bool {
        // A name no ACL is likely to hold, as Kafka's "hardcode".
        if self.allows(op, resource, "hardcode") {
            return true;
        }
        let principal = self.principal.to_string();
        let mut deny_literal = Set::new();
        let mut deny_prefixed = Set::new();
        let mut allow = Vec::new();
        let mut wildcard_allow = false;
        for acl in self.acls.by_id.values() {
            if acl.resource_type != resource
                || (acl.host != "*" && acl.host != self.host)
                || (acl.principal != principal && acl.principal != "User:*")
                || (acl.operation != op && acl.operation != Operation::All)
            {
                continue;
            }
            match (acl.permission, acl.pattern_type) {
                (Permission::Deny, PatternType::Literal) if acl.resource_name == WILDCARD => {
                    return false;
                }
                (Permission::Deny, PatternType::Literal) => {
                    deny_literal.insert(acl.resource_name.as_str());
                }
                (Permission::Deny, PatternType::Prefixed) => {
                    deny_prefixed.insert(acl.resource_name.as_str());
                }
                (Permission::Allow, PatternType::Literal) if acl.resource_name == WILDCARD => {
                    wildcard_allow = true;
                }
                (Permission::Allow, pattern) => allow.push((pattern, acl.resource_name.as_str())),
                _ => {}
            }
        }
        // A DENY of `*` was seen by now, had there been one.
        if wildcard_allow {
            return true;
        }
        allow.into_iter().any(|(pattern, name)| {
            (pattern != PatternType::Literal || !deny_literal.contains(name))
                && !name
                    .char_indices()
                    .map(|(i, c)| &name[..i + c.len_utf8()])
                    .any(|prefix| deny_prefixed.contains(prefix))
        })
    }

    /// The operations the principal may do on a resource, as the bit
    /// field of `include_*_authorized_operations` (bit `op as i32` set for
    /// each allowed operation `resource` has); every operation of
    /// `resource` when no authorizer is configured, as Kafka's `AuthHelper`
    /// answers without one.
    pub fn authorized_operations(&self, resource: ResourceType, name: &str) -> i32 {
        resource
            .operations()
            .iter()
            .filter(|op| self.allows(**op, resource, name))
            .fold(0, |bits, op| bits | (1 << *op as i32))
    }
}

#[cfg(test)]
mod tests;
