//! Who is on a connection and what they may do: security protocols and
//! listeners, principals, SASL mechanisms ([`sasl`]) and the ACL
//! authorizer ([`acl`]).
//!
//! Pure logic, no state of the broker: the SCRAM credentials and ACLs a
//! broker holds are rebuilt from `__cluster_metadata` by `state`, and the
//! broker keeps each connection's authentication (module `broker::auth`).
//! Nothing here reads a clock or a random source: time comes in as `now`
//! and every server nonce is made from the connection's entropy, which
//! the driver fills from the operating system's random source
//! ([`crate::broker::PeerInfo::entropy`]).

pub mod acl;
pub mod changes;
pub mod sasl;

use crate::collections::Map;
use std::fmt;

use sasl::Mechanism;

/// Kafka's security protocols (`SecurityProtocol`, with Kafka's ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SecurityProtocol {
    /// Plain text, no authentication: every client is `User:ANONYMOUS`.
    #[default]
    Plaintext = 0,
    /// TLS; with a client certificate its subject is the principal.
    Ssl = 1,
    /// SASL over plain text.
    SaslPlaintext = 2,
    /// SASL over TLS.
    SaslSsl = 3,
}

impl SecurityProtocol {
    /// Kafka's name (`SASL_SSL`).
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// The protocol of a name, case-insensitively (`sasl_ssl`).
    pub fn parse(name: &str) -> Option<SecurityProtocol> {
        [
            SecurityProtocol::Plaintext,
            SecurityProtocol::Ssl,
            SecurityProtocol::SaslPlaintext,
            SecurityProtocol::SaslSsl,
        ]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Kafka's id of the protocol (UpdateMetadata's `security_protocol`).
    pub fn id(self) -> i16 {
        self as i16
    }

    /// Whether a client must authenticate with SASL before anything but
    /// ApiVersions and the SASL APIs is answered.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Whether the transport is TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

/// A Kafka principal, `type:name` (`User:alice`, `User:ANONYMOUS`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal {
    /// The principal type, `User` for every principal Kafka makes.
    pub kind: String,
    /// The name: a SASL user name, a certificate's mapped subject, or
    /// `ANONYMOUS`.
    pub name: String,
}

impl Principal {
    /// `User:ANONYMOUS`: a client on a listener that does not
    /// authenticate (PLAINTEXT, SSL without a client certificate).
    pub fn anonymous() -> Principal {
        Principal::user("ANONYMOUS")
    }

    /// `User:<name>`.
    pub fn user(name: &str) -> Principal {
        Principal {
            kind: "User".into(),
            name: name.into(),
        }
    }

    /// Parses `type:name` (the type is everything before the first `:`);
    /// `None` without a `:` or with an empty type.
    pub fn parse(s: &str) -> Option<Principal> {
        let (kind, name) = s.split_once(':')?;
        if kind.is_empty() {
            return None;
        }
        Some(Principal {
            kind: kind.into(),
            name: name.into(),
        })
    }
}

impl Default for Principal {
    fn default() -> Self {
        Principal::anonymous()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// One listener: its name, its protocol and, for SASL, what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerSecurity {
    /// The listener's name (`PLAINTEXT`, `INTERNAL`, `SASL_SSL`...).
    pub name: String,
    /// Its security protocol (`listener.security.protocol.map`).
    pub protocol: SecurityProtocol,
    /// `sasl.enabled.mechanisms` for it (the listener's own
    /// `listener.name.<name>.sasl.enabled.mechanisms` when set): the
    /// mechanisms SaslHandshake accepts, in order.
    pub sasl_mechanisms: Vec<Mechanism>,
    /// PLAIN users and their passwords, from the listener's JAAS config
    /// (`listener.name.<name>.plain.sasl.jaas.config`, its `user_<name>`
    /// options).
    pub plain_users: Map<String, String>,
}

/// The broker's security settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityConfig {
    /// Every listener by name. A connection names its listener
    /// ([`crate::broker::PeerInfo::listener`]); one whose listener is not
    /// here is PLAINTEXT.
    pub listeners: Vec<ListenerSecurity>,
    /// Whether an authorizer checks every request
    /// (`authorizer.class.name` set to Kafka's `StandardAuthorizer` or
    /// `AclAuthorizer`). Off, everyone may do everything, and the ACL APIs
    /// answer SECURITY_DISABLED, as in Kafka.
    pub authorizer: bool,
    /// `super.users`: principals every check allows.
    pub super_users: Vec<Principal>,
    /// `allow.everyone.if.no.acl.found`: a resource no ACL names is open
    /// to everyone (Kafka's default, false: closed).
    pub allow_everyone_if_no_acl_found: bool,
    /// `connections.max.reauth.ms` (KIP-368): a SASL session lasts this
    /// long, after which the connection must re-authenticate or is closed
    /// (0: sessions do not expire).
    pub max_reauth_ms: i64,
    /// OAUTHBEARER's token validation settings.
    pub oauth: sasl::OAuthConfig,
    /// The broker's secret for SCRAM's mock credentials: an unknown user
    /// gets a salt derived from it and the name, the same on every
    /// connection, as a known user's stored salt is. The driver fills it
    /// from the OS random source once and keeps it with the data, so it
    /// also lasts across restarts.
    pub scram_mock_secret: [u8; 32],
}

impl SecurityConfig {
    /// The listener named `name` (`None`: not configured, PLAINTEXT).
    pub fn listener(&self, name: &str) -> Option<&ListenerSecurity> {
        self.listeners.iter().find(|l| l.name == name)
    }

    /// The security protocol of listener `name`.
    pub fn protocol(&self, name: &str) -> SecurityProtocol {
        self.listener(name)
            .map_or(SecurityProtocol::Plaintext, |l| l.protocol)
    }
}
