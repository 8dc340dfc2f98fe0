//! The client's side of a SCRAM exchange, as Kafka's `ScramSaslClient`
//! runs it (`n,,` gs2 header: no channel binding, no authzid).

use subtle::ConstantTimeEq;

use super::super::Mechanism;
use super::crypto::{self, Hash};
use super::messages::{b64, encode_name, ServerFinal, ServerFirst};
use super::{MAX_ITERATIONS, MIN_ITERATIONS};

/// The client's side of one SCRAM exchange (for `spate`'s own client and
/// for tests). Call [`ScramClient::client_first`], send it, give the
/// answer to [`ScramClient::client_final`], send that, and check the last
/// answer with [`ScramClient::verify_server_final`].
#[derive(Clone)]
pub struct ScramClient {
    mechanism: Mechanism,
    user: String,
    password: String,
    nonce: String,
    /// The server signature the server-final must carry, once the
    /// client-final is made.
    expected: Option<Vec<u8>>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password and keys are secrets.
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
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
        ScramClient {
            mechanism,
            user: user.into(),
            password: password.into(),
            nonce: crypto::nonce(&nonce_seed, b"spate scram client nonce"),
            expected: None,
        }
    }

    /// A client whose nonce is `nonce` (test vectors).
    #[cfg(test)]
    pub(crate) fn with_nonce(
        mechanism: Mechanism,
        user: &str,
        password: &str,
        nonce: &str,
    ) -> ScramClient {
        let mut client = ScramClient::new(mechanism, user, password, [0; 32]);
        client.nonce = nonce.into();
        client
    }

    fn first_bare(&self) -> String {
        format!("n={},r={}", encode_name(&self.user), self.nonce)
    }

    /// The client-first message (`n,,n=user,r=nonce`).
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.first_bare()).into_bytes()
    }

    /// The client-final message answering the server-first one.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        self.expected = None;
        let hash = Hash::of(self.mechanism)
            .ok_or_else(|| format!("{} is not a SCRAM mechanism", self.mechanism.name()))?;
        let text = std::str::from_utf8(server_first)
            .map_err(|_| "Invalid SCRAM server first message: not UTF-8".to_string())?;
        let first = ServerFirst::parse(text)
            .map_err(|r| format!("Invalid SCRAM server first message: {r}"))?;
        if first.nonce.len() <= self.nonce.len() || !first.nonce.starts_with(&self.nonce) {
            return Err("Invalid server nonce: does not start with client nonce".into());
        }
        let iterations = i32::try_from(first.iterations).unwrap_or(i32::MAX);
        if iterations < MIN_ITERATIONS {
            return Err(format!(
                "Requested iterations {iterations} is less than the minimum {MIN_ITERATIONS} for {}",
                self.mechanism.name()
            ));
        }
        if iterations > MAX_ITERATIONS {
            return Err(format!(
                "Requested iterations {} is more than the maximum {MAX_ITERATIONS} for {}",
                first.iterations,
                self.mechanism.name()
            ));
        }
        let salted = hash.hi(self.password.as_bytes(), &first.salt, first.iterations);
        let client_key = hash.client_key(&salted);
        let stored_key = hash.hash(&client_key);
        // `biws` is base64 of the gs2 header `n,,`.
        let without_proof = format!("c=biws,r={}", first.nonce);
        let auth_message = format!("{},{text},{without_proof}", self.first_bare());
        let signature = hash.hmac(&stored_key, &[auth_message.as_bytes()]);
        let proof = crypto::xor(&client_key, &signature);
        let server_key = hash.server_key(&salted);
        self.expected = Some(hash.hmac(&server_key, &[auth_message.as_bytes()]));
        Ok(format!("{without_proof},p={}", b64(&proof)).into_bytes())
    }

    /// Checks the server-final message (the server's signature, or its
    /// `e=` error).
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let expected = self
            .expected
            .as_ref()
            .ok_or("the client-final message was not made yet")?;
        let text = std::str::from_utf8(server_final)
            .map_err(|_| "Invalid SCRAM server final message: not UTF-8".to_string())?;
        match ServerFinal::parse(text) {
            Err(r) => Err(format!("Invalid SCRAM server final message: {r}")),
            Ok(ServerFinal::Error(e)) => Err(format!(
                "Sasl authentication using {} failed with error: {e}",
                self.mechanism.name()
            )),
            Ok(ServerFinal::Verifier(signature)) => {
                if bool::from(signature.ct_eq(expected)) {
                    Ok(())
                } else {
                    Err("Invalid server signature in server final message".into())
                }
            }
        }
    }
}
