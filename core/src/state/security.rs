//! What the cluster knows about security: the ACLs and the users' SCRAM
//! credentials, rebuilt from `__cluster_metadata`
//! (AccessControlEntryRecord, UserScramCredentialRecord and their Remove
//! records) as Kafka's KRaft brokers keep them.

use std::collections::BTreeMap;

use crate::security::acl::Acls;
use crate::security::sasl::{Mechanism, ScramCredential};

/// The ACLs and SCRAM credentials.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecurityImage {
    /// Every ACL, by the id of its record.
    pub acls: Acls,
    /// SCRAM credentials by user and mechanism.
    pub scram: BTreeMap<(String, Mechanism), ScramCredential>,
}
