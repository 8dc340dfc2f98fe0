//! OAUTHBEARER (RFC 7628). Being built: the server exchange answers
//! UNSUPPORTED_SASL_MECHANISM until then.

use super::Step;
use crate::protocol::ErrorCode;

/// How tokens are validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuthConfig {}

/// The server's side of one OAUTHBEARER exchange.
#[derive(Debug, Default)]
pub struct ServerExchange {}

impl ServerExchange {
    /// Starts an exchange.
    pub fn new() -> ServerExchange {
        ServerExchange {}
    }

    /// The client's next message.
    pub fn step(&mut self, token: &[u8], config: &OAuthConfig, now: i64) -> Step {
        let _ = (token, config, now);
        Step::Failed {
            code: ErrorCode::UNSUPPORTED_SASL_MECHANISM,
            message: "OAUTHBEARER is not served yet".into(),
        }
    }
}
