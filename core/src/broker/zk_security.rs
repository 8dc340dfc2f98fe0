//! ACLs and SCRAM credentials in ZooKeeper mode, the broker's part.
//!
//! A Kafka 2.x cluster keeps them in ZooKeeper, not in a metadata log:
//! each resource pattern's ACLs in one znode (`/kafka-acl/<Type>/<name>`,
//! `/kafka-acl-extended/prefixed/<Type>/<name>`), each user's SCRAM
//! credentials in its config znode (`/config/users/<user>`). Every broker
//! reads them all when it starts and follows the change notifications
//! after that; the driver does both and tells the broker what a resource
//! or user holds now ([`Broker::handle_resource_acls`],
//! [`Broker::handle_user_scram`]), which replaces what the broker's image
//! held for it.
//!
//! CreateAcls, DeleteAcls and AlterUserScramCredentials are checked
//! against the image as in single-broker mode; what they change becomes
//! one [`Output::WriteSecurity`] ([`SecurityWrite`]: one update per
//! resource pattern or per user), and the response is held until the
//! driver reports each update's outcome
//! ([`Broker::handle_security_written`]). An update that failed gives its
//! error to the ACLs (or the user) it carried; the others succeed.

use super::conn::InFlight;
use super::{Broker, ConnId, Now, Output};
use crate::api::ZkHeld;
use crate::protocol::ErrorCode;
use crate::security::acl::AclBinding;
use crate::security::changes::{AclResource, SecurityWrite};
use crate::security::sasl::{Mechanism, ScramCredential};
use crate::storage::Storage;

impl<S: Storage> Broker<S> {
    /// The driver carried out the [`Output::WriteSecurity`] of the request
    /// held on `conn`: one result per update, in order (an update the
    /// results leave out failed with UNKNOWN_SERVER_ERROR). The request
    /// is answered now; a connection that closed meanwhile is skipped.
    pub fn handle_security_written(
        &mut self,
        conn: ConnId,
        results: Vec<Result<(), ErrorCode>>,
        now: Now,
    ) {
        let Some(held) = self.zk_writes.remove(&conn) else {
            return;
        };
        let body = held.answer(&results);
        self.answer_held(conn, body, now);
    }

    /// What the ACL znode of `resource` holds now (empty: none, or the
    /// znode is gone): these replace every ACL of that pattern.
    pub fn handle_resource_acls(&mut self, resource: &AclResource, acls: Vec<AclBinding>) {
        self.security
            .set_resource_acls(resource, acls, &mut self.ids);
    }

    /// What the config znode of `user` holds now: these replace every
    /// SCRAM credential of the user (empty: it has none).
    pub fn handle_user_scram(
        &mut self,
        user: &str,
        credentials: Vec<(Mechanism, ScramCredential)>,
    ) {
        self.security.set_user_scram(user, credentials);
    }

    /// Holds the request on `conn` until its write is reported, and
    /// hands the write to the driver.
    pub(super) fn hold_security_write(&mut self, conn: ConnId, write: SecurityWrite, held: ZkHeld) {
        let held_here = self
            .conns
            .get(&conn)
            .is_some_and(|c| matches!(c.in_flight, Some(InFlight::Held(_))));
        if held_here {
            self.zk_writes.insert(conn, held);
        }
        self.outputs
            .push_back(Output::WriteSecurity { conn, write });
    }
}
