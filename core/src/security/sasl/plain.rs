//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, checked against
//! the listener's users as Kafka's `PlainServerCallbackHandler` does.

use super::{Credentials, Step};

/// Checks one PLAIN token.
pub fn authenticate(token: &[u8], creds: &dyn Credentials) -> Step {
    let Ok(text) = std::str::from_utf8(token) else {
        return Step::failed("Invalid SASL/PLAIN response: not UTF-8");
    };
    let parts: Vec<&str> = text.split('\0').collect();
    let [authz, user, password] = parts[..] else {
        return Step::failed("Invalid SASL/PLAIN response: expected 3 tokens");
    };
    if user.is_empty() {
        return Step::failed("Authentication failed: username not specified");
    }
    if password.is_empty() {
        return Step::failed("Authentication failed: password not specified");
    }
    let known = creds.plain_password(user);
    // Compare in constant time whatever the outcome, so a wrong user and
    // a wrong password take as long.
    let ok = known.is_some_and(|k| constant_time_eq(k.as_bytes(), password.as_bytes()));
    if !ok {
        return Step::failed("Authentication failed: Invalid username or password");
    }
    if !authz.is_empty() && authz != user {
        return Step::failed("Authentication failed: Client requested an authorization id that is different from username");
    }
    Step::Done {
        user: user.into(),
        token: Vec::new(),
        expires_at: None,
    }
}

/// Equality of secrets in time that depends on their lengths only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
