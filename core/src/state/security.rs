//! What the cluster knows about security: the ACLs and the users' SCRAM
//! credentials, kept in `__cluster_metadata` as Kafka's KRaft controller
//! keeps them (AccessControlEntryRecord, RemoveAccessControlEntryRecord,
//! UserScramCredentialRecord, RemoveUserScramCredentialRecord) and
//! rebuilt from that log when a broker starts ([`SecurityImage::replay`]).
//!
//! As with topics (`super::controller`), a change is a record written to
//! the log first and applied to the image second
//! ([`SecurityImage::commit`]), so the image is always what the log says.
//! ACLs are held by the id of the record that created it (a fresh
//! [`Uuid`] from [`Ids`]); a RemoveAccessControlEntryRecord names that id.
//! SCRAM credentials are held by user and mechanism; the password itself
//! is never stored, only the salt, `StoredKey`, `ServerKey` and iteration
//! count.
//!
//! In ZooKeeper mode the image is what the driver reads from ZooKeeper
//! instead: [`SecurityImage::set_resource_acls`] and
//! [`SecurityImage::set_user_scram`] replace a resource pattern's ACLs or
//! a user's credentials with what its znode holds.
//!
//! The records share the framing of the other metadata records
//! (`super::cluster`): frame version, api key, record version, body.
//! Each reader skips the records of the others.

use crate::collections::Map;

use bytes::Bytes;

use super::cluster::{for_each_batch, metadata_tp};
use super::controller::write_error;
use super::ids::Ids;
use super::internal_log::{self, InternalRecord, WriteError};
use super::Now;
use crate::protocol::messages::metadata::{
    access_control_entry_record::AccessControlEntryRecord,
    remove_access_control_entry_record::RemoveAccessControlEntryRecord,
    remove_user_scram_credential_record::RemoveUserScramCredentialRecord,
    user_scram_credential_record::UserScramCredentialRecord,
};
use crate::protocol::wire::{put_uvarint, Reader, Writer};
use crate::protocol::{EncodeError, ErrorCode, Message, Uuid, Wire};
use crate::security::acl::{AclBinding, Acls, Operation, PatternType, Permission, ResourceType};
use crate::security::changes::AclResource;
use crate::security::sasl::{Mechanism, ScramCredential};
use crate::storage::Storage;

/// The ACLs and SCRAM credentials.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecurityImage {
    /// Every ACL, by the id of its record.
    pub acls: Acls,
    /// SCRAM credentials by user and mechanism.
    pub scram: Map<(String, Mechanism), ScramCredential>,
}

/// One security record of the metadata log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SecurityChange {
    /// An ACL is added (api key 18).
    Acl(AccessControlEntryRecord),
    /// The ACL with this id is removed (api key 19).
    RemoveAcl(RemoveAccessControlEntryRecord),
    /// A user's SCRAM credential for one mechanism is set (api key 11).
    Scram(UserScramCredentialRecord),
    /// A user's SCRAM credential for one mechanism is removed (api key 22).
    RemoveScram(RemoveUserScramCredentialRecord),
}

impl SecurityChange {
    /// The record of a new ACL.
    pub fn acl(id: Uuid, acl: &AclBinding) -> SecurityChange {
        SecurityChange::Acl(AccessControlEntryRecord {
            id,
            resource_type: acl.resource_type.code(),
            resource_name: acl.resource_name.as_str().into(),
            pattern_type: acl.pattern_type.code(),
            principal: acl.principal.as_str().into(),
            host: acl.host.as_str().into(),
            operation: acl.operation.code(),
            permission_type: acl.permission.code(),
            ..Default::default()
        })
    }

    /// The record removing the ACL `id`.
    pub fn remove_acl(id: Uuid) -> SecurityChange {
        SecurityChange::RemoveAcl(RemoveAccessControlEntryRecord {
            id,
            ..Default::default()
        })
    }

    /// The record of a user's credential.
    pub fn scram(user: &str, mechanism: Mechanism, c: &ScramCredential) -> SecurityChange {
        SecurityChange::Scram(UserScramCredentialRecord {
            name: user.into(),
            mechanism: mechanism.scram_id().unwrap_or(0),
            salt: Bytes::copy_from_slice(&c.salt),
            stored_key: Bytes::copy_from_slice(&c.stored_key),
            server_key: Bytes::copy_from_slice(&c.server_key),
            iterations: c.iterations,
            ..Default::default()
        })
    }

    /// The record removing a user's credential.
    pub fn remove_scram(user: &str, mechanism: Mechanism) -> SecurityChange {
        SecurityChange::RemoveScram(RemoveUserScramCredentialRecord {
            name: user.into(),
            mechanism: mechanism.scram_id().unwrap_or(0),
            ..Default::default()
        })
    }

    /// The record's api key (every one is at version 0).
    fn api_key(&self) -> u64 {
        match self {
            SecurityChange::Acl(_) => 18,
            SecurityChange::RemoveAcl(_) => 19,
            SecurityChange::Scram(_) => 11,
            SecurityChange::RemoveScram(_) => 22,
        }
    }

    /// The record value: frame version, api key, version, body.
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        let mut w = Writer::new();
        put_uvarint(&mut w, 1);
        put_uvarint(&mut w, self.api_key());
        put_uvarint(&mut w, 0);
        match self {
            SecurityChange::Acl(m) => m.encode(&mut w, 0),
            SecurityChange::RemoveAcl(m) => m.encode(&mut w, 0),
            SecurityChange::Scram(m) => m.encode(&mut w, 0),
            SecurityChange::RemoveScram(m) => m.encode(&mut w, 0),
        }?;
        Ok(w.freeze())
    }

    /// Reads a record value; records of other types are skipped (`None`).
    pub fn decode(value: &Bytes) -> Option<SecurityChange> {
        let mut r = Reader::new(value);
        let _frame = r.uvarint().ok()?;
        let key = r.uvarint().ok()?;
        let version = r.uvarint().ok()? as i16;
        let rest = value.slice(r.pos()..);
        Some(match key {
            18 => SecurityChange::Acl(AccessControlEntryRecord::decode_bytes(&rest, version).ok()?),
            19 => SecurityChange::RemoveAcl(
                RemoveAccessControlEntryRecord::decode_bytes(&rest, version).ok()?,
            ),
            11 => {
                SecurityChange::Scram(UserScramCredentialRecord::decode_bytes(&rest, version).ok()?)
            }
            22 => SecurityChange::RemoveScram(
                RemoveUserScramCredentialRecord::decode_bytes(&rest, version).ok()?,
            ),
            _ => return None,
        })
    }
}

/// The ACL an AccessControlEntryRecord holds (`None`: a code this broker
/// does not know).
fn binding(r: &AccessControlEntryRecord) -> Option<AclBinding> {
    Some(AclBinding {
        resource_type: ResourceType::from_code(r.resource_type)?,
        resource_name: r.resource_name.to_string(),
        pattern_type: PatternType::from_code(r.pattern_type)?,
        principal: r.principal.to_string(),
        host: r.host.to_string(),
        operation: Operation::from_code(r.operation)?,
        permission: Permission::from_code(r.permission_type)?,
    })
}

impl SecurityImage {
    /// Rebuilds the image from the metadata log (empty when there is none).
    pub fn replay<S: Storage>(storage: &S) -> SecurityImage {
        let mut image = SecurityImage::default();
        for_each_batch(storage, &metadata_tp(), |view, bytes| {
            if view.header.is_control() {
                return;
            }
            for rec in view.records().flatten() {
                let value = rec.value.map(|v| bytes.slice_ref(v));
                if let Some(c) = value.as_ref().and_then(SecurityChange::decode) {
                    image.apply(&c);
                }
            }
        });
        image
    }

    /// Applies one record.
    pub fn apply(&mut self, change: &SecurityChange) {
        match change {
            SecurityChange::Acl(r) => {
                if let Some(acl) = binding(r) {
                    self.acls.insert(r.id, acl);
                }
            }
            SecurityChange::RemoveAcl(r) => {
                self.acls.remove(&r.id);
            }
            SecurityChange::Scram(r) => {
                if let Some(m) = Mechanism::from_scram_id(r.mechanism) {
                    let c = ScramCredential {
                        salt: r.salt.to_vec(),
                        stored_key: r.stored_key.to_vec(),
                        server_key: r.server_key.to_vec(),
                        iterations: r.iterations,
                    };
                    self.scram.insert((r.name.to_string(), m), c);
                }
            }
            SecurityChange::RemoveScram(r) => {
                if let Some(m) = Mechanism::from_scram_id(r.mechanism) {
                    self.scram.remove(&(r.name.to_string(), m));
                }
            }
        }
    }

    /// Writes `changes` to the metadata log as one batch, then applies
    /// them. Nothing is applied when the write fails: the error is
    /// KAFKA_STORAGE_ERROR (UNKNOWN_SERVER_ERROR for a record that cannot
    /// be encoded).
    pub fn commit<S: Storage>(
        &mut self,
        storage: &mut S,
        changes: &[SecurityChange],
        now: Now,
    ) -> Result<(), ErrorCode> {
        let records = changes
            .iter()
            .map(|c| Ok((None, Some(c.encode()?))))
            .collect::<Result<Vec<InternalRecord>, EncodeError>>()
            .map_err(|e| write_error(WriteError::Build(e.to_string())))?;
        internal_log::append(storage, &metadata_tp(), &records, now).map_err(write_error)?;
        for c in changes {
            self.apply(c);
        }
        Ok(())
    }

    /// Makes `acls` every ACL of `resource` (ZooKeeper mode: what its
    /// znode holds now), each under a fresh id.
    pub fn set_resource_acls(
        &mut self,
        resource: &AclResource,
        acls: Vec<AclBinding>,
        ids: &mut Ids,
    ) {
        let gone: Vec<Uuid> = self
            .acls
            .iter()
            .filter(|(_, a)| AclResource::of(a) == *resource)
            .map(|(id, _)| id)
            .collect();
        for id in gone {
            self.acls.remove(&id);
        }
        for acl in acls {
            if AclResource::of(&acl) == *resource && self.acls.find(&acl).is_none() {
                let id = self.new_acl_id(ids);
                self.acls.insert(id, acl);
            }
        }
    }

    /// Makes `credentials` every SCRAM credential of `user` (ZooKeeper
    /// mode: what its config znode holds now).
    pub fn set_user_scram(&mut self, user: &str, credentials: Vec<(Mechanism, ScramCredential)>) {
        self.scram.retain(|(u, _), _| u != user);
        for (m, c) in credentials {
            self.scram.insert((user.to_string(), m), c);
        }
    }

    /// A fresh id for a new ACL, one no ACL held has (Kafka's
    /// `AclControlManager` draws again on a collision too).
    pub fn new_acl_id(&self, ids: &mut Ids) -> Uuid {
        loop {
            let id = ids.uuid();
            if self.acls.iter().all(|(held, _)| held != id) {
                return id;
            }
        }
    }

    /// The SCRAM credential of `user` for `mechanism`, for SASL/SCRAM
    /// authentication.
    pub fn scram_credential(&self, user: &str, mechanism: Mechanism) -> Option<ScramCredential> {
        self.scram.get(&(user.to_string(), mechanism)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;

    fn acl(name: &str) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: name.into(),
            pattern_type: PatternType::Prefixed,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Operation::Read,
            permission: Permission::Allow,
        }
    }

    #[test]
    fn records_round_trip() {
        let cred = ScramCredential {
            salt: vec![1, 2],
            stored_key: vec![3],
            server_key: vec![4],
            iterations: 4096,
        };
        for c in [
            SecurityChange::acl(Uuid([7; 16]), &acl("t")),
            SecurityChange::remove_acl(Uuid([7; 16])),
            SecurityChange::scram("alice", Mechanism::ScramSha512, &cred),
            SecurityChange::remove_scram("alice", Mechanism::ScramSha256),
        ] {
            let bytes = c.encode().unwrap();
            assert_eq!(SecurityChange::decode(&bytes), Some(c));
        }
    }

    #[test]
    fn the_log_rebuilds_the_image() {
        let mut storage = MemStorage::new();
        storage
            .create_log(&metadata_tp(), crate::protocol::Uuid([0; 16]))
            .unwrap();
        let mut image = SecurityImage::default();
        let mut ids = Ids::new(1);
        let (a, b) = (image.new_acl_id(&mut ids), image.new_acl_id(&mut ids));
        let cred = ScramCredential {
            salt: vec![9],
            stored_key: vec![8],
            server_key: vec![7],
            iterations: 8192,
        };
        let changes = [
            SecurityChange::acl(a, &acl("a")),
            SecurityChange::acl(b, &acl("b")),
            SecurityChange::scram("bob", Mechanism::ScramSha256, &cred),
            SecurityChange::scram("bob", Mechanism::ScramSha512, &cred),
        ];
        image.commit(&mut storage, &changes, 1).unwrap();
        let later = [
            SecurityChange::remove_acl(a),
            SecurityChange::remove_scram("bob", Mechanism::ScramSha256),
        ];
        image.commit(&mut storage, &later, 2).unwrap();
        let replayed = SecurityImage::replay(&storage);
        assert_eq!(replayed.acls, image.acls);
        assert_eq!(replayed.scram, image.scram);
        assert_eq!(
            replayed.acls.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            [b]
        );
        assert_eq!(
            replayed.scram_credential("bob", Mechanism::ScramSha512),
            Some(cred)
        );
        assert_eq!(
            replayed.scram_credential("bob", Mechanism::ScramSha256),
            None
        );
    }
}
