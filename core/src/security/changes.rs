//! Changes to ACLs and SCRAM credentials, as values: what a held
//! CreateAcls, DeleteAcls or AlterUserScramCredentials asks the driver to
//! write where the cluster keeps them (ZooKeeper, in ZooKeeper mode; see
//! `broker/zk_security.rs`), grouped as Kafka's znodes group them: the
//! ACLs of one resource pattern, the credentials of one user.

use super::acl::{AclBinding, PatternType, ResourceType};
use super::sasl::{Mechanism, ScramCredential};

/// A resource pattern: the ACLs of one pattern live in one znode.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclResource {
    /// The resource type (never ANY).
    pub resource_type: ResourceType,
    /// The name, prefix or `*`.
    pub name: String,
    /// LITERAL or PREFIXED.
    pub pattern_type: PatternType,
}

impl AclResource {
    /// The resource pattern `acl` binds.
    pub fn of(acl: &AclBinding) -> AclResource {
        AclResource {
            resource_type: acl.resource_type,
            name: acl.resource_name.clone(),
            pattern_type: acl.pattern_type,
        }
    }
}

/// A change to the ACLs of one resource pattern: each ACL of `add` and
/// `remove` binds `resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclUpdate {
    /// The resource pattern.
    pub resource: AclResource,
    /// ACLs to add (one held already stays once).
    pub add: Vec<AclBinding>,
    /// ACLs to remove (one not held is no error).
    pub remove: Vec<AclBinding>,
}

/// A change to one user's SCRAM credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramUpdate {
    /// The user.
    pub user: String,
    /// Credentials to set, by mechanism.
    pub set: Vec<(Mechanism, ScramCredential)>,
    /// Mechanisms whose credential goes.
    pub delete: Vec<Mechanism>,
}

/// What one held request asks the driver to write to ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityWrite {
    /// ACL changes, one per resource pattern (CreateAcls, DeleteAcls).
    Acls(Vec<AclUpdate>),
    /// SCRAM credential changes, one per user (AlterUserScramCredentials).
    Scram(Vec<ScramUpdate>),
}

impl SecurityWrite {
    /// How many updates it holds (each gets one result).
    pub fn len(&self) -> usize {
        match self {
            SecurityWrite::Acls(u) => u.len(),
            SecurityWrite::Scram(u) => u.len(),
        }
    }

    /// Whether it holds no update.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
