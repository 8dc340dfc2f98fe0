//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka's
//! `ScramSaslServer` and `ScramSaslClient` run them.
//!
//! # The exchange
//!
//! ```text
//!  client                                               server
//!    │ client-first   n,,n=alice,r=<cnonce>                 │
//!    │ ───────────────────────────────────────────────────▶ │ looks up alice's
//!    │ server-first   r=<cnonce><snonce>,s=<salt>,i=4096    │ credential
//!    │ ◀─────────────────────────────────────────────────── │
//!    │ client-final   c=biws,r=<cnonce><snonce>,p=<proof>   │
//!    │ ───────────────────────────────────────────────────▶ │ checks the proof
//!    │ server-final   v=<server signature>                  │
//!    │ ◀─────────────────────────────────────────────────── │ Step::Done
//! ```
//!
//! Each message is one SaslAuthenticate (or one raw frame after a v0
//! SaslHandshake). The client proves it knows the salted password without
//! sending it: with `AuthMessage = client-first-bare "," server-first ","
//! client-final-without-proof`,
//!
//! - `SaltedPassword = PBKDF2-HMAC(password, salt, i)`
//! - `ClientKey = HMAC(SaltedPassword, "Client Key")`, `StoredKey = H(ClientKey)`
//! - `ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)`
//! - `ServerKey = HMAC(SaltedPassword, "Server Key")`,
//!   `ServerSignature = HMAC(ServerKey, AuthMessage)`
//!
//! The server keeps only `StoredKey` and `ServerKey` ([`credential`]):
//! it recovers `ClientKey` from the proof and checks `H(ClientKey)`
//! against `StoredKey` in constant time; the client checks the server
//! signature the same way, so both sides prove they know the password.
//! The nonces tie the proof to this exchange: a client-final replayed
//! into another exchange carries another server nonce and fails.
//!
//! # What the server accepts
//!
//! - gs2 header `n,,` or `y,,` (or with `a=` the user's own name);
//!   channel binding (`p=`) is refused, as is a different authzid;
//! - user names with `=2C`/`=3D` escapes (others refused); the mandatory
//!   extension `m=` is refused (RFC 5802 says it MUST be);
//! - extensions after the nonce are ignored as Kafka ignores them, but
//!   `tokenauth=true` (a delegation token) is refused: Spate does not
//!   serve delegation tokens;
//! - a stored credential of fewer than 4096 iterations is refused.
//!
//! An unknown user gets a server-first like a known one (a salt and a
//! mock key derived from the broker's secret,
//! [`crate::security::SecurityConfig::scram_mock_secret`], and the name)
//! and fails at the proof, so the answer to a client-first does not say
//! whether the name exists: the mock salt is the same on every connection,
//! as a stored one is. (Kafka itself fails such a client-first at once.)
//! Failures carry Kafka's generic
//! message ("Authentication failed during authentication due to invalid
//! credentials with SASL mechanism ..."); the precise reason is kept in
//! [`ServerExchange::failure_reason`] for the log. A client-final before
//! the client-first, a second client-first, or anything after the end is
//! ILLEGAL_SASL_STATE.
//!
//! Passwords are used as their UTF-8 bytes, without SASLprep, as Kafka
//! does.

mod client;
pub(crate) mod crypto;
mod messages;
mod server;

pub use client::ScramClient;
pub use server::ServerExchange;

use super::Mechanism;
use crypto::Hash;

/// The fewest PBKDF2 iterations Kafka accepts for either mechanism.
pub const MIN_ITERATIONS: i32 = 4096;

/// The most PBKDF2 iterations Kafka accepts in AlterUserScramCredentials;
/// [`ScramClient`] refuses a server-first asking for more (it would
/// otherwise spend as long as a server asks).
pub const MAX_ITERATIONS: i32 = 16384;

/// `SaltedPassword := Hi(Normalize(password), salt, i)` (PBKDF2 with the
/// mechanism's HMAC), as AlterUserScramCredentials carries it. Empty for
/// a mechanism that is not SCRAM or an iteration count below 1.
pub fn salted_password(
    mechanism: Mechanism,
    password: &str,
    salt: &[u8],
    iterations: i32,
) -> Vec<u8> {
    match (Hash::of(mechanism), u32::try_from(iterations)) {
        (Some(hash), Ok(i)) if i >= 1 => hash.hi(password.as_bytes(), salt, i),
        _ => Vec::new(),
    }
}

/// The stored credential of a salted password: `StoredKey :=
/// H(HMAC(SaltedPassword, "Client Key"))` and `ServerKey :=
/// HMAC(SaltedPassword, "Server Key")`. The keys are empty for a
/// mechanism that is not SCRAM.
pub fn credential(
    mechanism: Mechanism,
    salted_password: &[u8],
    salt: &[u8],
    iterations: i32,
) -> super::ScramCredential {
    let (stored_key, server_key) = match Hash::of(mechanism) {
        Some(hash) => (
            hash.hash(&hash.client_key(salted_password)),
            hash.server_key(salted_password),
        ),
        None => (Vec::new(), Vec::new()),
    };
    super::ScramCredential {
        salt: salt.to_vec(),
        stored_key,
        server_key,
        iterations,
    }
}
