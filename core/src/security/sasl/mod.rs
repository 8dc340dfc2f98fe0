//! SASL mechanisms as the server runs them: PLAIN ([`plain`]),
//! SCRAM-SHA-256 and SCRAM-SHA-512 ([`scram`]) and OAUTHBEARER
//! ([`oauth`]).
//!
//! An [`Exchange`] is one authentication on one connection: each client
//! token the SaslAuthenticate API (or a v0 handshake's raw frame) carries
//! goes to [`Exchange::step`], which answers with the next server token
//! ([`Step::Continue`]), the authenticated user ([`Step::Done`]) or Kafka's
//! error ([`Step::Failed`]). It reads credentials through [`Credentials`],
//! so the broker's SCRAM store and a listener's PLAIN users stay where
//! they live.

pub mod oauth;
pub mod plain;
pub mod scram;

#[cfg(test)]
mod tests;

pub use oauth::OAuthConfig;

use crate::protocol::ErrorCode;

/// A SASL mechanism Spate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    /// RFC 4616: the password in the clear (use it over TLS).
    Plain,
    /// RFC 5802/7677 with SHA-256.
    ScramSha256,
    /// RFC 5802 with SHA-512.
    ScramSha512,
    /// RFC 7628: an OAuth 2 bearer token (a JWT).
    OAuthBearer,
}

impl Mechanism {
    /// Every mechanism, in Kafka's usual order.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::OAuthBearer,
    ];

    /// The IANA name SaslHandshake carries (`SCRAM-SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism of an exact name (SASL names are case-sensitive).
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The SCRAM mechanism's id in DescribeUserScramCredentials and
    /// AlterUserScramCredentials (`ScramMechanism`: 1 SHA-256, 2 SHA-512);
    /// `None` for the others.
    pub fn scram_id(self) -> Option<i8> {
        match self {
            Mechanism::ScramSha256 => Some(1),
            Mechanism::ScramSha512 => Some(2),
            _ => None,
        }
    }

    /// The SCRAM mechanism of an id (see [`Mechanism::scram_id`]).
    pub fn from_scram_id(id: i8) -> Option<Mechanism> {
        match id {
            1 => Some(Mechanism::ScramSha256),
            2 => Some(Mechanism::ScramSha512),
            _ => None,
        }
    }
}

/// A user's stored SCRAM credential (RFC 5802's `StoredKey` and
/// `ServerKey`; the password itself is never kept).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// The salt the salted password was made with.
    pub salt: Vec<u8>,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
    /// PBKDF2 iterations (4096 to 16384, as Kafka accepts).
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are secrets: a log line must not carry them.
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Where an exchange finds what it checks a client against.
pub trait Credentials {
    /// The PLAIN password of `user` on this listener.
    fn plain_password(&self, user: &str) -> Option<&str>;
    /// The SCRAM credential of `user` for `mechanism`.
    fn scram(&self, mechanism: Mechanism, user: &str) -> Option<ScramCredential>;
    /// How OAUTHBEARER tokens are validated.
    fn oauth(&self) -> &OAuthConfig;
    /// The secret SCRAM's mock credential of an unknown user is derived
    /// from ([`crate::security::SecurityConfig::scram_mock_secret`]).
    fn mock_secret(&self) -> &[u8; 32];
}

/// What a client token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this token to the client and wait for its next one.
    Continue(Vec<u8>),
    /// The client is `user`. `token` is the server's last message (SCRAM's
    /// server-final; empty for PLAIN), `expires_at` when the credential
    /// itself expires (an OAuth token's `exp`), if it does.
    Done {
        /// The authenticated user name (the principal's name).
        user: String,
        /// The server's final token.
        token: Vec<u8>,
        /// When the credential expires (ms since the epoch).
        expires_at: Option<i64>,
    },
    /// Authentication failed: Kafka's error code and message
    /// (SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE...). The
    /// connection is closed after the answer.
    Failed {
        /// The error.
        code: ErrorCode,
        /// What SaslAuthenticate's `error_message` says.
        message: String,
    },
}

impl Step {
    /// Kafka's answer to bad credentials: SASL_AUTHENTICATION_FAILED with
    /// `message`.
    pub fn failed(message: impl Into<String>) -> Step {
        Step::Failed {
            code: ErrorCode::SASL_AUTHENTICATION_FAILED,
            message: message.into(),
        }
    }
}

/// One authentication in progress on one connection.
#[derive(Debug)]
pub struct Exchange {
    state: State,
    /// Why it failed, for the broker's log (the client is told less).
    reason: Option<&'static str>,
}

#[derive(Debug)]
enum State {
    Plain,
    Scram(Box<scram::ServerExchange>),
    OAuth(oauth::ServerExchange),
    /// Done or failed: any further token is an error.
    Over,
}

impl Exchange {
    /// Starts `mechanism`. `entropy` seeds the server's nonce (SCRAM); it
    /// must come from a secure random source, fresh per exchange.
    pub fn new(mechanism: Mechanism, entropy: [u8; 32]) -> Exchange {
        let state = match mechanism {
            Mechanism::Plain => State::Plain,
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                State::Scram(Box::new(scram::ServerExchange::new(mechanism, entropy)))
            }
            Mechanism::OAuthBearer => State::OAuth(oauth::ServerExchange::new()),
        };
        Exchange {
            state,
            reason: None,
        }
    }

    /// The client's next token; `now` for token expiry.
    pub fn step(&mut self, token: &[u8], creds: &dyn Credentials, now: i64) -> Step {
        let step = match &mut self.state {
            State::Plain => plain::authenticate(token, creds),
            State::Scram(s) => {
                let step = s.step(token, creds);
                self.reason = s.failure_reason();
                step
            }
            State::OAuth(o) => o.step(token, creds.oauth(), now),
            State::Over => Step::Failed {
                code: ErrorCode::ILLEGAL_SASL_STATE,
                message: "the authentication is already over".into(),
            },
        };
        if !matches!(step, Step::Continue(_)) {
            self.state = State::Over;
        }
        step
    }

    /// Why the exchange failed, when the mechanism says more than its
    /// answer to the client does (SCRAM hides whether the user exists).
    pub fn failure_reason(&self) -> Option<&'static str> {
        self.reason
    }
}
