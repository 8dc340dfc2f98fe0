//! A connection as the broker sees it: its peer, the frames waiting their
//! turn, and the one request in progress when that request waits.

use std::collections::VecDeque;

use bytes::Bytes;

use super::auth::Auth;
use crate::api::{Answering, Parked};
use crate::security::Principal;

/// What a connection's request in progress waits for. Kafka handles one
/// request per connection at a time, so there is at most one.
#[derive(Debug)]
pub(super) enum InFlight {
    /// A Fetch waiting for data on the partitions it reads, or an acks=all
    /// Produce waiting for the high watermark; or for its deadline.
    Parked(Parked),
    /// A JoinGroup or SyncGroup the group coordinator holds and answers
    /// later, in the version and to the correlation id of the request.
    Held(Answering),
    /// A CreateTopics (ZooKeeper mode) held as this request of
    /// `api::Creates`, answered in this version and to this correlation
    /// id once the driver and the controller have done their part.
    Creating { request: u64, answering: Answering },
}

/// One connection.
#[derive(Debug)]
pub(super) struct Conn {
    pub peer: PeerInfo,
    /// Frames that arrived while a request was in progress, in order.
    pub queue: VecDeque<Bytes>,
    pub in_flight: Option<InFlight>,
    /// Who is on it: `User:ANONYMOUS`, the TLS client certificate's
    /// principal, or the user SASL authenticated.
    pub principal: Principal,
    /// Where it stands in authentication (module `auth`).
    pub auth: Auth,
    /// SASL exchanges started on it (each one's nonces differ).
    pub exchanges: u64,
    /// Whether SASL authenticated it before: a re-authentication must
    /// keep the principal.
    pub authenticated_once: bool,
}

impl Conn {
    pub fn new(peer: PeerInfo, auth: Auth) -> Conn {
        let principal = match &peer.tls_principal {
            Some(name) => Principal::user(name),
            None => Principal::anonymous(),
        };
        Conn {
            principal,
            auth,
            exchanges: 0,
            authenticated_once: false,
            peer,
            queue: VecDeque::new(),
            in_flight: None,
        }
    }
}

/// A way for tests to give the broker ACLs before the ACL APIs
/// (CreateAcls, or AccessControlEntryRecords) reach it; here, beside the
/// connection's principal the ACLs are checked against.
impl<S: crate::storage::Storage> super::Broker<S> {
    /// Adds `acl` to the broker's ACLs, as if a record had created it
    /// (tests only: the ACL APIs are the way in).
    #[doc(hidden)]
    pub fn insert_acl(&mut self, acl: crate::security::acl::AclBinding) {
        let n = self.security.acls.len() as u128 + 1;
        let id = crate::protocol::Uuid(n.to_be_bytes());
        self.security.acls.insert(id, acl);
    }
}

/// What the driver knows about a connection's peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address, for logs (`127.0.0.1:53122`).
    pub addr: String,
    /// The name of the listener it connected to (empty: the broker's
    /// [`crate::state::Config::listener_name`]); its security protocol comes from
    /// [`crate::security::SecurityConfig::listeners`].
    pub listener: String,
    /// The principal its TLS client certificate maps to (the subject after
    /// `ssl.principal.mapping.rules`), on an SSL listener with a
    /// certificate.
    pub tls_principal: Option<String>,
    /// 32 bytes from the operating system's secure random source, fresh
    /// for this connection: the seed of its SASL server nonces.
    pub entropy: [u8; 32],
}
