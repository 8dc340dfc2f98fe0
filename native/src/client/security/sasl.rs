//! SASL authentication of a new connection: SaslHandshake v1 names the
//! mechanism, then SaslAuthenticate carries its tokens, as Kafka's Java
//! client does after ApiVersions. PLAIN is one token
//! (`\0user\0password`); SCRAM is client-first, server-first,
//! client-final, server-final through
//! [`spate_core::security::sasl::scram::ScramClient`]. OAUTHBEARER is one
//! message (see [`super::oauth`]); a refused token comes back as a JSON
//! error challenge, answered with `\x01` so that the broker fails the
//! exchange with its reason.
//!
//! SaslAuthenticate v1 and later answer the session's lifetime
//! (`session_lifetime_ms`, KIP-368); [`authenticate`] returns it so that
//! the connection re-authenticates before it ends.

use anyhow::bail;
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::protocol::messages::sasl_authenticate_request::SaslAuthenticateRequest;
use spate_core::protocol::messages::sasl_handshake_request::SaslHandshakeRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::sasl::scram::ScramClient;
use spate_core::security::sasl::Mechanism;

use super::{oauth, Credential, SaslLogin};
use crate::client::Connection;

/// Authenticates `conn` as `login` (a first authentication or a
/// re-authentication: the same exchange); a refusal is an error naming
/// Kafka's error code and the broker's message. Returns the session's
/// lifetime in ms as the broker gave it, 0 for none.
pub(crate) fn authenticate(conn: &mut Connection, login: &SaslLogin) -> anyhow::Result<i64> {
    handshake(conn, login.mechanism)?;
    let mechanism = login.mechanism;
    let last = match (&login.credential, mechanism) {
        (Credential::Password { username, password }, Mechanism::Plain) => {
            step(conn, plain_token(username, password))?
        }
        (
            Credential::Password { username, password },
            Mechanism::ScramSha256 | Mechanism::ScramSha512,
        ) => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| anyhow::anyhow!("getting random bytes for the SCRAM nonce: {e}"))?;
            let mut scram = ScramClient::new(mechanism, username, password, seed);
            let (server_first, _) = step(conn, scram.client_first())?;
            let client_final = scram
                .client_final(&server_first)
                .map_err(|e| anyhow::anyhow!("{}: {e}", mechanism.name()))?;
            let (server_final, lifetime) = step(conn, client_final)?;
            scram
                .verify_server_final(&server_final)
                .map_err(|e| anyhow::anyhow!("{}: the broker's proof: {e}", mechanism.name()))?;
            (Vec::new(), lifetime)
        }
        (Credential::OAuth(oauth), Mechanism::OAuthBearer) => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let (challenge, lifetime) = step(conn, oauth.initial_response(now_ms)?)?;
            if !challenge.is_empty() {
                // RFC 7628 3.2.3: the error challenge is answered with a
                // lone %x01; the broker then fails with its reason.
                let status = oauth::challenge_status(&challenge);
                step(conn, vec![0x01])
                    .map_err(|e| e.context(format!("OAUTHBEARER token refused ({status})")))?;
                bail!(
                    "authenticating with {}: OAUTHBEARER token refused ({status}), yet the \
                     broker did not fail the exchange",
                    conn.addr()
                );
            }
            (challenge, lifetime)
        }
        (_, m) => bail!("no credential for SASL mechanism {}", m.name()),
    };
    Ok(last.1)
}

/// PLAIN's one message: no authorization id, the user, the password.
pub(crate) fn plain_token(user: &str, password: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(user.len() + password.len() + 2);
    t.push(0);
    t.extend_from_slice(user.as_bytes());
    t.push(0);
    t.extend_from_slice(password.as_bytes());
    t
}

/// SaslHandshake: the broker must list `mechanism` as enabled.
fn handshake(conn: &mut Connection, mechanism: Mechanism) -> anyhow::Result<()> {
    let req = SaslHandshakeRequest {
        mechanism: ByteString::from_static(mechanism.name()),
        ..Default::default()
    };
    let ResponseBody::SaslHandshake(resp) = conn.send(RequestBody::SaslHandshake(req))? else {
        bail!("SaslHandshake answered with another API");
    };
    match ErrorCode(resp.error_code) {
        ErrorCode::NONE => Ok(()),
        ErrorCode::UNSUPPORTED_SASL_MECHANISM => {
            let enabled: Vec<&str> = resp.mechanisms.iter().map(|m| &**m).collect();
            bail!(
                "SASL handshake with {}: UNSUPPORTED_SASL_MECHANISM: {} is not enabled on this \
                 listener (enabled: {})",
                conn.addr(),
                mechanism.name(),
                if enabled.is_empty() {
                    "none".to_string()
                } else {
                    enabled.join(", ")
                }
            )
        }
        e => bail!("SASL handshake with {}: {e}", conn.addr()),
    }
}

/// One SaslAuthenticate round: sends `token`, returns the broker's and
/// the session lifetime it names (0 before the last round, and from v0).
fn step(conn: &mut Connection, token: Vec<u8>) -> anyhow::Result<(Vec<u8>, i64)> {
    let req = SaslAuthenticateRequest {
        auth_bytes: Bytes::from(token),
        ..Default::default()
    };
    let ResponseBody::SaslAuthenticate(resp) = conn.send(RequestBody::SaslAuthenticate(req))?
    else {
        bail!("SaslAuthenticate answered with another API");
    };
    if resp.error_code != 0 {
        let code = ErrorCode(resp.error_code);
        match resp
            .error_message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            Some(m) => bail!("authenticating with {}: {code}: {m}", conn.addr()),
            None => bail!("authenticating with {}: {code}", conn.addr()),
        }
    }
    Ok((resp.auth_bytes.to_vec(), resp.session_lifetime_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_token_layout() {
        assert_eq!(plain_token("alice", "s3cret"), b"\0alice\0s3cret".to_vec());
        assert_eq!(plain_token("", ""), b"\0\0".to_vec());
    }
}
