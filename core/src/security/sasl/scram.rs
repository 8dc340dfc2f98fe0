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
