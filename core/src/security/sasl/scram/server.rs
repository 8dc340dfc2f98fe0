//! The server's side of a SCRAM exchange, as Kafka's `ScramSaslServer`
//! runs it.

use subtle::ConstantTimeEq;

use super::super::{Credentials, Mechanism, Step};
use super::crypto::{self, Hash};
use super::messages::{b64, ClientFinal, ClientFirst, Refusal};
use super::MIN_ITERATIONS;
use crate::protocol::ErrorCode;

/// The server's side of one SCRAM exchange.
///
/// ```text
///                client-first            client-final
///   AwaitFirst ────────────────▶ AwaitFinal ────────────────▶ Complete
///       │      (→ server-first)      │     (→ server-final)
///       └──────── any refusal ───────┴──────────────────────▶ Failed
/// ```
///
/// `Complete` and `Failed` answer every further token with
/// ILLEGAL_SASL_STATE.
pub struct ServerExchange {
    mechanism: Mechanism,
    server_nonce: String,
    state: State,
    reason: Option<Refusal>,
}

enum State {
    AwaitFirst,
    AwaitFinal(Box<Pending>),
    Complete,
    Failed,
}

/// What the server keeps between its server-first and the client-final.
struct Pending {
    hash: Hash,
    user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
    /// False for an unknown user: the proof is checked against a mock key
    /// and fails whatever it is.
    known: bool,
}

impl std::fmt::Debug for ServerExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are secrets: only the shape is shown.
        f.debug_struct("ServerExchange")
            .field("mechanism", &self.mechanism)
            .field("state", &self.state_name())
            .finish_non_exhaustive()
    }
}

impl ServerExchange {
    /// Starts an exchange; `entropy` seeds the server nonce.
    pub fn new(mechanism: Mechanism, entropy: [u8; 32]) -> ServerExchange {
        let server_nonce = crypto::nonce(&entropy, b"spate scram server nonce");
        ServerExchange {
            mechanism,
            server_nonce,
            state: State::AwaitFirst,
            reason: None,
        }
    }

    /// An exchange whose server nonce is `nonce` (test vectors).
    #[cfg(test)]
    pub(crate) fn with_nonce(mechanism: Mechanism, nonce: &str) -> ServerExchange {
        let mut exchange = ServerExchange::new(mechanism, [7; 32]);
        exchange.server_nonce = nonce.into();
        exchange
    }

    /// Why the exchange failed, for the broker's log. The client only sees
    /// Kafka's generic message, which does not say whether the user
    /// exists.
    pub fn failure_reason(&self) -> Option<&'static str> {
        self.reason
    }

    /// The client's next message.
    pub fn step(&mut self, token: &[u8], creds: &dyn Credentials) -> Step {
        let step = match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitFirst => match self.client_first(token, creds) {
                Ok(pending) => {
                    let reply = pending.server_first.clone().into_bytes();
                    self.state = State::AwaitFinal(pending);
                    return Step::Continue(reply);
                }
                Err(step) => step,
            },
            State::AwaitFinal(pending) => match self.client_final(token, &pending) {
                Ok(step) => {
                    self.state = State::Complete;
                    return step;
                }
                Err(step) => step,
            },
            State::Complete => {
                self.state = State::Complete;
                illegal("COMPLETE")
            }
            State::Failed => illegal("FAILED"),
        };
        self.state = State::Failed;
        step
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::AwaitFirst => "RECEIVE_CLIENT_FIRST_MESSAGE",
            State::AwaitFinal(_) => "RECEIVE_CLIENT_FINAL_MESSAGE",
            State::Complete => "COMPLETE",
            State::Failed => "FAILED",
        }
    }

    /// Kafka's answer to a `SaslException`: a message that says nothing
    /// about why (so nothing about the user); `reason` is kept for the log.
    fn refuse(&mut self, reason: Refusal) -> Step {
        self.reason = Some(reason);
        Step::failed(format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
            self.mechanism.name()
        ))
    }

    /// Reads the client-first message; the pending state holds the
    /// server-first answer.
    fn client_first(
        &mut self,
        token: &[u8],
        creds: &dyn Credentials,
    ) -> Result<Box<Pending>, Step> {
        let Some(hash) = Hash::of(self.mechanism) else {
            return Err(Step::Failed {
                code: ErrorCode::UNSUPPORTED_SASL_MECHANISM,
                message: format!("{} is not a SCRAM mechanism", self.mechanism.name()),
            });
        };
        let Ok(text) = std::str::from_utf8(token) else {
            return Err(self.refuse("client-first message is not UTF-8"));
        };
        if text.starts_with("c=") {
            self.reason = Some("client-final message before the client-first");
            return Err(illegal("RECEIVE_CLIENT_FIRST_MESSAGE"));
        }
        let first = ClientFirst::parse(text).map_err(|r| self.refuse(r))?;
        if first.authzid.as_ref().is_some_and(|a| *a != first.user) {
            self.reason = Some("authzid differs from the user");
            return Err(Step::failed(
                "Authentication failed: Client requested an authorization id that is different from username",
            ));
        }
        let token_auth = first
            .extensions
            .iter()
            .rev()
            .find(|(k, _)| *k == "tokenauth")
            .is_some_and(|(_, v)| v.eq_ignore_ascii_case("true"));
        if token_auth {
            return Err(self.refuse("delegation tokens are not served"));
        }
        let (salt, iterations, stored_key, server_key, known) =
            match creds.scram(self.mechanism, &first.user) {
                Some(c) if c.iterations < MIN_ITERATIONS => {
                    return Err(self.refuse("stored iterations below the minimum 4096"));
                }
                Some(c) => (c.salt, c.iterations, c.stored_key, c.server_key, true),
                None => {
                    // An unknown user gets a server-first like any other
                    // (RFC 5802 §9), with a salt that stays the same from
                    // one connection to the next, as a stored one does,
                    // so the answer does not tell names apart; the proof
                    // then fails.
                    let user = first.user.as_bytes();
                    let secret = creds.mock_secret();
                    let salt = crypto::derive(secret, b"spate scram mock salt", user);
                    let key = hash.hmac(secret, &[b"spate scram mock key", user]);
                    (salt, MIN_ITERATIONS, key.clone(), key, false)
                }
            };
        let nonce = format!("{}{}", first.nonce, self.server_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", b64(&salt));
        Ok(Box::new(Pending {
            hash,
            user: first.user,
            gs2_header: first.gs2_header.into(),
            client_first_bare: first.bare.into(),
            server_first,
            nonce,
            stored_key,
            server_key,
            known,
        }))
    }

    /// Checks the client-final message's proof; `Done` with the
    /// server-final message when it holds.
    fn client_final(&mut self, token: &[u8], p: &Pending) -> Result<Step, Step> {
        let Ok(text) = std::str::from_utf8(token) else {
            return Err(self.refuse("client-final message is not UTF-8"));
        };
        if ClientFirst::parse(text).is_ok() {
            self.reason = Some("a second client-first message");
            return Err(illegal("RECEIVE_CLIENT_FINAL_MESSAGE"));
        }
        let last = ClientFinal::parse(text).map_err(|r| self.refuse(r))?;
        if last.binding != p.gs2_header.as_bytes() {
            return Err(self.refuse("channel binding differs from the gs2 header"));
        }
        // Kafka's check is that the nonce ends with the server-first's
        // (`ScramSaslServer`), and librdkafka relies on it: it sends its
        // own nonce again in front of the combined one. The proof covers
        // the message as sent, so nothing is lost.
        if !last.nonce.ends_with(p.nonce.as_str()) {
            return Err(self.refuse("nonce does not end with the server-first's"));
        }
        if last.proof.len() != p.hash.len() {
            return Err(self.refuse("proof of the wrong length"));
        }
        let auth_message = format!(
            "{},{},{}",
            p.client_first_bare, p.server_first, last.without_proof
        );
        let signature = p.hash.hmac(&p.stored_key, &[auth_message.as_bytes()]);
        let client_key = crypto::xor(&last.proof, &signature);
        let matches: bool = p.hash.hash(&client_key).ct_eq(&p.stored_key).into();
        if !(matches && p.known) {
            return Err(self.refuse("Invalid client credentials"));
        }
        let verifier = p.hash.hmac(&p.server_key, &[auth_message.as_bytes()]);
        Ok(Step::Done {
            user: p.user.clone(),
            token: format!("v={}", b64(&verifier)).into_bytes(),
            expires_at: None,
        })
    }
}

/// A message the exchange's state does not expect.
fn illegal(state: &str) -> Step {
    Step::Failed {
        code: ErrorCode::ILLEGAL_SASL_STATE,
        message: format!("Unexpected challenge in Sasl server state {state}"),
    }
}
