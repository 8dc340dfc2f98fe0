//! OAUTHBEARER (RFC 7628) as Kafka's `OAuthBearerSaslServer` serves it.
//!
//! # Exchange
//!
//! ```text
//! client: n,[a=<authzid>],\x01auth=Bearer <jwt>\x01[key=value\x01]*\x01
//! server: ""                             token valid: Done
//!     or: {"status":"invalid_token"}     token refused: Continue
//! client: \x01                           then Failed (SASL_AUTHENTICATION_FAILED)
//! ```
//!
//! The client's first message ([`InitialResponse::parse`]) carries the
//! GS2 header, an optional authorization id (it must then equal the
//! token's principal) and `key=value` pairs: `auth` holds the token, the
//! others are SASL extensions, which Kafka's validators accept without
//! checking, as Spate does.
//!
//! # Validation
//!
//! With no JWKS in [`OAuthConfig::set_jwks`], tokens are checked as Kafka's
//! default `OAuthBearerUnsecuredValidatorCallbackHandler` does (unsigned
//! JWTs, `alg: none`); with one, as `OAuthBearerValidatorCallbackHandler`
//! with `sasl.oauthbearer.jwks.endpoint.url` does (signed JWTs, RS256,
//! RS384, RS512 and ES256). [`jwt`] says what each checks.
//!
//! # Configuration
//!
//! [`OAuthConfig::set`] takes Kafka's property keys. The JWKS itself is
//! text the caller puts in [`OAuthConfig::set_jwks`]: the core does no I/O, so
//! the native broker reads the file that a `file:` URL in
//! `sasl.oauthbearer.jwks.endpoint.url` names (HTTPS endpoints are not
//! fetched).
//!
//! Signed tokens need the `jwks` feature (on by default; the RSA and P-256
//! code is most of its size). The WebAssembly build leaves it out: there
//! [`OAuthConfig::set_jwks`] refuses every key set, and only unsecured
//! tokens are served.

mod b64;
#[cfg(feature = "jwks")]
pub mod jwks;
pub mod jwt;

#[cfg(all(test, feature = "jwks"))]
mod tests;

#[cfg(feature = "jwks")]
use std::sync::Arc;

use super::Step;
use jwt::Invalid;
use serde_json::Value;

/// How tokens are validated.
///
/// `Default` is Kafka's: no JWKS (unsecured tokens), subject claim `sub`,
/// scope claim `scope`, 30 s of clock skew for signed tokens and none for
/// unsecured ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The key set signed tokens are checked against, parsed once when it
    /// is set ([`OAuthConfig::set_jwks`]); `None` serves unsecured tokens
    /// instead.
    jwks: Option<KeySet>,
    /// `sasl.oauthbearer.expected.audience`: the token's `aud` must name
    /// one of these.
    pub expected_audience: Vec<String>,
    /// `sasl.oauthbearer.expected.issuer`: the token's `iss` must be this.
    pub expected_issuer: Option<String>,
    /// `sasl.oauthbearer.sub.claim.name` (`sub`).
    pub sub_claim_name: String,
    /// `sasl.oauthbearer.scope.claim.name` (`scope`).
    pub scope_claim_name: String,
    /// `sasl.oauthbearer.clock.skew.seconds` (30).
    pub clock_skew_seconds: i64,
    /// The JAAS option `unsecuredValidatorPrincipalClaimName` (`sub`).
    pub unsecured_principal_claim_name: String,
    /// The JAAS option `unsecuredValidatorScopeClaimName` (`scope`).
    pub unsecured_scope_claim_name: String,
    /// The JAAS option `unsecuredValidatorRequiredScope` (space-separated).
    pub unsecured_required_scope: Vec<String>,
    /// The JAAS option `unsecuredValidatorAllowableClockSkewMs` (0).
    pub unsecured_clock_skew_ms: i64,
}

/// A JWKS document and its parsed keys; two are equal when their text is.
#[derive(Debug, Clone)]
struct KeySet {
    /// The document as configured.
    text: String,
    /// Its keys, parsed once.
    #[cfg(feature = "jwks")]
    keys: Arc<jwks::Jwks>,
}

impl PartialEq for KeySet {
    fn eq(&self, other: &KeySet) -> bool {
        self.text == other.text
    }
}

impl Eq for KeySet {}

impl Default for OAuthConfig {
    fn default() -> OAuthConfig {
        OAuthConfig {
            jwks: None,
            expected_audience: Vec::new(),
            expected_issuer: None,
            sub_claim_name: "sub".into(),
            scope_claim_name: "scope".into(),
            clock_skew_seconds: 30,
            unsecured_principal_claim_name: "sub".into(),
            unsecured_scope_claim_name: "scope".into(),
            unsecured_required_scope: Vec::new(),
            unsecured_clock_skew_ms: 0,
        }
    }
}

impl OAuthConfig {
    /// Sets one of Kafka's properties: `Ok(true)` if `key` is one this
    /// config owns, `Ok(false)` if it is not, `Err` for a bad value.
    ///
    /// Owned: `sasl.oauthbearer.expected.audience` (a comma list),
    /// `sasl.oauthbearer.expected.issuer`, `sasl.oauthbearer.sub.claim.name`,
    /// `sasl.oauthbearer.scope.claim.name`,
    /// `sasl.oauthbearer.clock.skew.seconds`, and the unsecured validator's
    /// JAAS options `unsecuredValidatorPrincipalClaimName`,
    /// `unsecuredValidatorScopeClaimName`, `unsecuredValidatorRequiredScope`
    /// and `unsecuredValidatorAllowableClockSkewMs`. Not owned:
    /// `sasl.oauthbearer.jwks.endpoint.url`, whose file the caller reads
    /// into [`OAuthConfig::set_jwks`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let name = |value: &str, default: &str| {
            let v = value.trim();
            if v.is_empty() {
                default.to_owned()
            } else {
                v.to_owned()
            }
        };
        let number = |value: &str| -> Result<i64, String> {
            match value.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Ok(n),
                _ => Err(format!(
                    "{key} must be a non-negative integer, not {value:?}"
                )),
            }
        };
        match key {
            "sasl.oauthbearer.expected.audience" => {
                self.expected_audience = value
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "sasl.oauthbearer.expected.issuer" => {
                let v = value.trim();
                self.expected_issuer = (!v.is_empty()).then(|| v.to_owned());
            }
            "sasl.oauthbearer.sub.claim.name" => self.sub_claim_name = name(value, "sub"),
            "sasl.oauthbearer.scope.claim.name" => self.scope_claim_name = name(value, "scope"),
            "sasl.oauthbearer.clock.skew.seconds" => {
                let n = number(value)?;
                if n > i64::from(i32::MAX) {
                    return Err(format!("{key} is too large: {value}"));
                }
                self.clock_skew_seconds = n;
            }
            "unsecuredValidatorPrincipalClaimName" => {
                self.unsecured_principal_claim_name = name(value, "sub");
            }
            "unsecuredValidatorScopeClaimName" => {
                self.unsecured_scope_claim_name = name(value, "scope");
            }
            "unsecuredValidatorRequiredScope" => {
                self.unsecured_required_scope = value
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "unsecuredValidatorAllowableClockSkewMs" => {
                let n = number(value)?;
                if n > i64::from(i32::MAX) {
                    return Err(format!("{key} is too large: {value}"));
                }
                self.unsecured_clock_skew_ms = n;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Validates signed tokens against the JWKS document `text` (JSON)
    /// from now on. It is parsed here, once: a bad key set is an error when
    /// the broker starts, not at each login, and no login parses it again.
    pub fn set_jwks(&mut self, text: String) -> Result<(), String> {
        #[cfg(feature = "jwks")]
        {
            let keys = Arc::new(jwks::Jwks::parse(&text)?);
            self.jwks = Some(KeySet { text, keys });
            Ok(())
        }
        #[cfg(not(feature = "jwks"))]
        {
            let _ = text;
            Err("this build validates no signed tokens (spate-core's `jwks` feature is off)".into())
        }
    }

    /// The JWKS document signed tokens are checked against, if any.
    pub fn jwks(&self) -> Option<&str> {
        self.jwks.as_ref().map(|set| set.text.as_str())
    }

    /// Validates `token` as the configured validator does.
    fn validate(&self, token: &str, now: i64) -> Result<jwt::Validated, Invalid> {
        match &self.jwks {
            None => jwt::validate_unsecured(token, self, now),
            #[cfg(feature = "jwks")]
            Some(set) => jwt::validate_signed(token, &set.keys, self, now),
            // Never set without the feature (set_jwks refuses).
            #[cfg(not(feature = "jwks"))]
            Some(_) => Err(Invalid {
                reason: "this build validates no signed tokens".into(),
                scope: None,
            }),
        }
    }
}

/// The client's first message, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialResponse<'a> {
    /// The authorization id (`a=`), empty when not given.
    pub authzid: &'a str,
    /// The bearer token.
    pub token: &'a str,
    /// The SASL extensions: every pair but `auth`, in order.
    pub extensions: Vec<(&'a str, &'a str)>,
}

impl<'a> InitialResponse<'a> {
    /// Parses `n,[a=<authzid>],\x01(key=value\x01)*\x01` with
    /// `auth=Bearer <token>` among the pairs (RFC 7628 section 3.1, with
    /// the character classes Kafka's `OAuthBearerClientInitialResponse`
    /// allows).
    pub fn parse(message: &'a [u8]) -> Result<InitialResponse<'a>, String> {
        const BAD: &str = "Invalid OAUTHBEARER client first message";
        let text = std::str::from_utf8(message).map_err(|_| BAD.to_owned())?;
        let rest = text.strip_prefix("n,").ok_or(BAD)?;
        let (authzid, rest) = match rest.strip_prefix("a=") {
            Some(after) => {
                let end = after.find(',').ok_or(BAD)?;
                let authzid = &after[..end];
                if !valid_saslname(authzid) {
                    return Err(BAD.into());
                }
                (authzid, &after[end..])
            }
            None => ("", rest),
        };
        let mut rest = rest.strip_prefix(",\x01").ok_or(BAD)?;
        let mut auth = None;
        let mut extensions = Vec::new();
        while rest != "\x01" {
            let end = rest.find('\x01').ok_or(BAD)?;
            let (key, value) = rest[..end].split_once('=').ok_or(BAD)?;
            let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic());
            let value_ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'));
            if !key_ok || !value_ok {
                return Err(BAD.into());
            }
            if key == "auth" {
                auth = Some(value);
            } else {
                extensions.retain(|(k, _)| *k != key);
                extensions.push((key, value));
            }
            rest = &rest[end + 1..];
        }
        let auth = auth.ok_or(format!("{BAD}: 'auth' not specified"))?;
        let invalid_auth = || format!("{BAD}: invalid 'auth' format");
        let (scheme, token) = auth.split_once(' ').ok_or_else(invalid_auth)?;
        let token = token.trim_start_matches(' ');
        let scheme_ok = !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let token_ok = !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !scheme_ok || !token_ok {
            return Err(invalid_auth());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "Invalid scheme in OAUTHBEARER client first message: {scheme}"
            ));
        }
        Ok(InitialResponse {
            authzid,
            token,
            extensions,
        })
    }
}

/// RFC 7628's `saslname`: ASCII but `=` and `,`, with `=2C` and `=3D`.
fn valid_saslname(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"2C") || bytes[i + 1..].starts_with(b"3D") => {
                i += 3
            }
            b'=' | b',' | 0 | 0x80.. => return false,
            _ => i += 1,
        }
    }
    !name.is_empty()
}

/// The server's side of one OAUTHBEARER exchange.
///
/// ```text
/// Start --valid token--> (Done)
///   |  --bad message---> (Failed)
///   +--token refused---> Refused(reason) --any message--> (Failed)
/// ```
#[derive(Debug, Default)]
pub struct ServerExchange {
    /// Why the token was refused, once the error challenge is sent.
    refused: Option<String>,
}

impl ServerExchange {
    /// Starts an exchange.
    pub fn new() -> ServerExchange {
        ServerExchange { refused: None }
    }

    /// The client's next message; `now` in ms since the epoch.
    pub fn step(&mut self, token: &[u8], config: &OAuthConfig, now: i64) -> Step {
        if let Some(reason) = self.refused.take() {
            // RFC 7628 3.2.3: the client answers the error with a lone
            // %x01, and the server then fails the authentication.
            return if token == [0x01] {
                Step::failed(format!("Authentication failed: {reason}"))
            } else {
                Step::failed(format!(
                    "Authentication failed: {reason} (and the client did not answer the error with %x01)"
                ))
            };
        }
        let response = match InitialResponse::parse(token) {
            Ok(response) => response,
            Err(message) => return Step::failed(message),
        };
        match config.validate(response.token, now) {
            Ok(valid) => {
                if !response.authzid.is_empty() && response.authzid != valid.principal {
                    return Step::failed(format!(
                        "Authentication failed: Client requested an authorization id ({}) that is different from the token's principal name ({})",
                        response.authzid, valid.principal
                    ));
                }
                Step::Done {
                    user: valid.principal,
                    token: Vec::new(),
                    expires_at: Some(valid.expires_at),
                }
            }
            Err(invalid) => {
                // Kafka's challenge: {"status":"invalid_token"}, or
                // insufficient_scope with the required scope as Java
                // prints a list.
                let challenge = match &invalid.scope {
                    None => r#"{"status":"invalid_token"}"#.to_owned(),
                    Some(scope) => format!(
                        r#"{{"status":"insufficient_scope", "scope":{}}}"#,
                        Value::String(format!("[{}]", scope.join(", ")))
                    ),
                };
                self.refused = Some(invalid.reason);
                Step::Continue(challenge.into_bytes())
            }
        }
    }
}
