//! JSON Web Tokens (RFC 7519) as Kafka's two validators check them.
//!
//! - [`validate_unsecured`] is `OAuthBearerUnsecuredValidatorCallbackHandler`
//!   (Kafka's default when no JWKS is configured): `alg` must be `none`
//!   with no signature; the principal claim (`sub` unless
//!   `unsecuredValidatorPrincipalClaimName`) must be a non-blank string;
//!   `exp` (seconds, decimals allowed) is required and must be after `now`
//!   minus the allowed skew (`unsecuredValidatorAllowableClockSkewMs`, 0 by
//!   default); `iat` is optional but not after `now` plus the skew, and
//!   before `exp`; each required scope must be in the scope claim (a
//!   string is one scope, a list is several).
//! - [`validate_signed`] is `OAuthBearerValidatorCallbackHandler` (jose4j
//!   underneath): `alg` is never `none`, the signature must verify with a
//!   JWKS key, `exp` and `iat` are required, `exp` and `nbf` are checked
//!   with `sasl.oauthbearer.clock.skew.seconds`, `iss` must equal the
//!   expected issuer when one is set, and `aud` must name one of the
//!   expected audiences. As in jose4j, a token that carries `aud` when no
//!   audience is expected is refused. The subject claim
//!   (`sasl.oauthbearer.sub.claim.name`) must be a non-blank string and
//!   every scope in the scope claim non-blank.

#[cfg(feature = "jwks")]
use super::jwks::Jwks;

use super::b64::B64;
use super::OAuthConfig;
use base64::Engine;
use serde_json::{Map, Value};

/// A token split into its parts (RFC 7515's compact serialisation).
#[derive(Debug)]
pub struct Jwt<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `header.payload`, what the signature covers (read only by the
    /// signed validator, of the `jwks` feature).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The principal's name.
    pub principal: String,
    /// `exp` in ms since the epoch.
    pub expires_at: i64,
}

/// Why a token is refused; `scope` is the scope that was missing (Kafka's
/// `insufficient_scope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What was wrong, for the error message.
    pub reason: String,
    /// The required scope, when a scope was missing.
    pub scope: Option<Vec<String>>,
}

impl Invalid {
    fn new(reason: impl Into<String>) -> Invalid {
        Invalid {
            reason: reason.into(),
            scope: None,
        }
    }
}

impl<'a> Jwt<'a> {
    /// Splits and decodes `token`: three dot-separated base64url parts, the
    /// first two JSON objects.
    pub fn parse(token: &'a str) -> Result<Jwt<'a>, Invalid> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Invalid::new(
                "a JWT's compact serialization has 3 dot-separated base64url parts",
            ));
        };
        let signing_input = &token[..header.len() + 1 + payload.len()];
        Ok(Jwt {
            header: object(header, "header")?,
            claims: object(payload, "payload")?,
            signing_input,
            signature: B64
                .decode(signature)
                .map_err(|_| Invalid::new("the JWT's signature is not base64url"))?,
        })
    }

    fn alg(&self) -> Result<&str, Invalid> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid::new("the JWS header has no algorithm (alg)"))
    }

    /// A numeric claim in seconds; `Err` if present but not a number.
    fn seconds(&self, name: &str) -> Result<Option<f64>, Invalid> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| Invalid::new(format!("the '{name}' claim is not a number"))),
        }
    }

    /// A string or list-of-strings claim as a list.
    fn strings(&self, name: &str) -> Result<Vec<String>, Invalid> {
        match self.claims.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_owned).ok_or_else(|| {
                        Invalid::new(format!("the '{name}' claim holds a non-string"))
                    })
                })
                .collect(),
            Some(_) => Err(Invalid::new(format!(
                "the '{name}' claim is neither a string nor a list"
            ))),
        }
    }
}

fn object(part: &str, what: &str) -> Result<Map<String, Value>, Invalid> {
    let bytes = B64
        .decode(part)
        .map_err(|_| Invalid::new(format!("the JWT's {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Invalid::new(format!(
            "the JWT's {what} is not a JSON object"
        ))),
    }
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Kafka's unsecured validator (see the module docs).
pub fn validate_unsecured(
    token: &str,
    config: &OAuthConfig,
    now: i64,
) -> Result<Validated, Invalid> {
    let jwt = Jwt::parse(token)?;
    if jwt.alg()? != "none" {
        return Err(Invalid::new(
            "an unsecured JWS must have 'none' for an algorithm",
        ));
    }
    if !jwt.signature.is_empty() || !token.ends_with('.') {
        return Err(Invalid::new(
            "an unsecured JWS must not contain a digital signature",
        ));
    }
    let claim = &config.unsecured_principal_claim_name;
    let principal = match jwt.claims.get(claim) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) | None => {
            return Err(Invalid::new(format!(
                "no principal name in JWT claim: {claim}"
            )))
        }
        Some(_) => return Err(Invalid::new(format!("the '{claim}' claim is not a string"))),
    };
    let skew = config.unsecured_clock_skew_ms;
    let exp = jwt
        .seconds("exp")?
        .ok_or_else(|| Invalid::new("no expiration time (exp) in the JWT"))?;
    let iat = jwt.seconds("iat")?;
    if let Some(iat) = iat {
        if ms(iat) > now.saturating_add(skew) {
            return Err(Invalid::new(format!(
                "the Issued At value ({iat} seconds) is after the time now ({now} ms) plus the allowed clock skew ({skew} ms)"
            )));
        }
    }
    if now.saturating_sub(skew) >= ms(exp) {
        return Err(Invalid::new(format!(
            "the time now ({now} ms) minus the allowed clock skew ({skew} ms) is on or after the Expiration Time ({exp} seconds)"
        )));
    }
    if iat.is_some_and(|iat| exp <= iat) {
        return Err(Invalid::new(
            "the Expiration Time is not after the Issued At time",
        ));
    }
    let scope: Vec<String> = jwt
        .strings(&config.unsecured_scope_claim_name)?
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let required = &config.unsecured_required_scope;
    if let Some(missing) = required.iter().find(|r| !scope.contains(r)) {
        return Err(Invalid {
            reason: format!("the token's scope {scope:?} is missing the required scope {missing}"),
            scope: Some(required.clone()),
        });
    }
    Ok(Validated {
        principal,
        expires_at: ms(exp),
    })
}

/// Kafka's JWKS validator (see the module docs).
#[cfg(feature = "jwks")]
pub fn validate_signed(
    token: &str,
    jwks: &Jwks,
    config: &OAuthConfig,
    now: i64,
) -> Result<Validated, Invalid> {
    let jwt = Jwt::parse(token)?;
    let alg = jwt.alg()?;
    if alg == "none" {
        return Err(Invalid::new(
            "the algorithm 'none' is not allowed: the token must be signed",
        ));
    }
    let kid = jwt.header.get("kid").and_then(Value::as_str);
    jwks.verify(alg, kid, jwt.signing_input.as_bytes(), &jwt.signature)
        .map_err(Invalid::new)?;
    let skew = config.clock_skew_seconds.saturating_mul(1000);
    let exp = jwt
        .seconds("exp")?
        .ok_or_else(|| Invalid::new("no Expiration Time (exp) claim in the token"))?;
    if jwt.seconds("iat")?.is_none() {
        return Err(Invalid::new("no Issued At (iat) claim in the token"));
    }
    if now >= ms(exp).saturating_add(skew) {
        return Err(Invalid::new(format!(
            "the token is no longer valid: the time now ({now} ms) is on or after its Expiration Time ({exp} seconds) plus the allowed clock skew ({} s)",
            config.clock_skew_seconds
        )));
    }
    if let Some(nbf) = jwt.seconds("nbf")? {
        if now.saturating_add(skew) < ms(nbf) {
            return Err(Invalid::new(format!(
                "the token is not yet valid: the time now ({now} ms) is before its Not Before time ({nbf} seconds) minus the allowed clock skew"
            )));
        }
    }
    if let Some(expected) = &config.expected_issuer {
        match jwt.claims.get("iss").and_then(Value::as_str) {
            Some(iss) if iss == expected => {}
            Some(iss) => {
                return Err(Invalid::new(format!(
                    "the issuer (iss) {iss} is not the expected {expected}"
                )))
            }
            None => return Err(Invalid::new("no issuer (iss) claim in the token")),
        }
    }
    match jwt.claims.get("aud") {
        None if config.expected_audience.is_empty() => {}
        None => return Err(Invalid::new("no audience (aud) claim in the token")),
        Some(_) => {
            let aud = jwt.strings("aud")?;
            if !aud.iter().any(|a| config.expected_audience.contains(a)) {
                return Err(Invalid::new(format!(
                    "the audience (aud) {aud:?} names none of the expected {:?}",
                    config.expected_audience
                )));
            }
        }
    }
    let claim = &config.sub_claim_name;
    let principal = match jwt.claims.get(claim) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::String(_)) | None => {
            return Err(Invalid::new(format!("no subject in the '{claim}' claim")))
        }
        Some(_) => return Err(Invalid::new(format!("the '{claim}' claim is not a string"))),
    };
    let scope = jwt.strings(&config.scope_claim_name)?;
    if scope.iter().any(|s| s.trim().is_empty()) {
        return Err(Invalid::new(format!(
            "the '{}' claim holds a blank scope",
            config.scope_claim_name
        )));
    }
    Ok(Validated {
        principal,
        expires_at: ms(exp),
    })
}
