//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677). Being built:
//! the server exchange answers UNSUPPORTED_SASL_MECHANISM until then.

use super::{Credentials, Mechanism, Step};
use crate::protocol::ErrorCode;

/// The server's side of one SCRAM exchange.
#[derive(Debug)]
pub struct ServerExchange {
    mechanism: Mechanism,
}

impl ServerExchange {
    /// Starts an exchange; `entropy` seeds the server nonce.
    pub fn new(mechanism: Mechanism, entropy: [u8; 32]) -> ServerExchange {
        let _ = entropy;
        ServerExchange { mechanism }
    }

    /// The client's next message.
    pub fn step(&mut self, token: &[u8], creds: &dyn Credentials) -> Step {
        let _ = (token, creds);
        Step::Failed {
            code: ErrorCode::UNSUPPORTED_SASL_MECHANISM,
            message: format!("{} is not served yet", self.mechanism.name()),
        }
    }
}

/// The client's side of one SCRAM exchange (for `spate`'s own client and
/// for tests).
#[derive(Debug)]
pub struct ScramClient {
    mechanism: Mechanism,
}

impl ScramClient {
    /// A client authenticating `user` with `password`; `nonce_seed` makes
    /// its nonce (secure random bytes).
    pub fn new(
        mechanism: Mechanism,
        user: &str,
        password: &str,
        nonce_seed: [u8; 32],
    ) -> ScramClient {
        let _ = (user, password, nonce_seed);
        ScramClient { mechanism }
    }

    /// The client-first message (`n,,n=user,r=nonce`).
    pub fn client_first(&self) -> Vec<u8> {
        Vec::new()
    }

    /// The client-final message answering the server-first one.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let _ = server_first;
        Err(format!("{} is not built yet", self.mechanism.name()))
    }

    /// Checks the server-final message (the server's signature, or its
    /// `e=` error).
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let _ = server_final;
        Err(format!("{} is not built yet", self.mechanism.name()))
    }
}

/// `SaltedPassword := Hi(Normalize(password), salt, i)` (PBKDF2 with the
/// mechanism's HMAC), as AlterUserScramCredentials carries it.
pub fn salted_password(
    mechanism: Mechanism,
    password: &str,
    salt: &[u8],
    iterations: i32,
) -> Vec<u8> {
    let _ = (mechanism, password, salt, iterations);
    Vec::new()
}

/// The stored credential of a salted password.
pub fn credential(
    mechanism: Mechanism,
    salted_password: &[u8],
    salt: &[u8],
    iterations: i32,
) -> super::ScramCredential {
    let _ = (mechanism, salted_password);
    super::ScramCredential {
        salt: salt.to_vec(),
        stored_key: Vec::new(),
        server_key: Vec::new(),
        iterations,
    }
}
