//! OAUTHBEARER for the client: where the token comes from, and RFC 7628's
//! client message.
//!
//! A token is made (or read) again at every authentication, so that a
//! re-authentication (KIP-368) sends a fresh one:
//!
//! - an unsecured JWT (`{"alg":"none"}`, no signature), as Kafka's
//!   `OAuthBearerUnsecuredLoginCallbackHandler` makes it from the JAAS
//!   options of `OAuthBearerLoginModule` (`unsecuredLoginStringClaim_sub`,
//!   `unsecuredLoginListClaim_*`, `unsecuredLoginNumberClaim_*`,
//!   `unsecuredLoginLifetimeSeconds`, `unsecuredLoginPrincipalClaimName`,
//!   `unsecuredLoginScopeClaimName`, `unsecuredLoginExtension_*`), or as
//!   librdkafka makes it from `sasl.oauthbearer.config` (`principal=alice
//!   scope=a,b lifeSeconds=600 principalClaimName=sub scopeClaimName=scope
//!   extension_NAME=value`);
//! - or a token read from the file `sasl.oauthbearer.token.file` (a Spate
//!   property, for signed tokens an identity provider issued; the file is
//!   read again at each authentication, so a renewed token is picked up).
//!
//! # Wire
//!
//! ```text
//! client: n,,\x01auth=Bearer <token>\x01[key=value\x01]*\x01
//! server: ""                               accepted
//!     or: {"status":"invalid_token"}       refused: an error challenge
//! client: \x01                             the server then fails the exchange
//! ```

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use serde_json::Value;

use super::props::JaasEntry;

/// Kafka's default token lifetime: one hour.
const DEFAULT_LIFETIME_SECONDS: f64 = 3600.0;

/// Where each authentication's token comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// An unsecured JWT made at each authentication.
    Unsecured {
        /// Claims besides `exp` and `iat`, in order, as JSON values.
        claims: Vec<(String, Value)>,
        /// Seconds from `iat` to `exp`.
        lifetime_seconds: f64,
    },
    /// A token read from this file at each authentication.
    File(PathBuf),
}

/// An OAUTHBEARER login: the token's source and the SASL extensions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OAuthLogin {
    source: Source,
    /// `key=value` pairs sent beside the token.
    extensions: Vec<(String, String)>,
}

/// The OAUTHBEARER properties as given.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OAuthProps<'a> {
    /// `sasl.jaas.config`, parsed.
    pub(crate) jaas: Option<&'a JaasEntry>,
    /// librdkafka's `sasl.oauthbearer.config`.
    pub(crate) config: Option<&'a str>,
    /// librdkafka's `sasl.oauthbearer.extensions` (`k=v,k2=v2`).
    pub(crate) extensions: Option<&'a str>,
    /// `sasl.oauthbearer.token.file`.
    pub(crate) token_file: Option<PathBuf>,
}

impl OAuthLogin {
    /// The login the properties describe: the token file if named, else
    /// `sasl.oauthbearer.config`, else the JAAS options.
    pub(crate) fn from_props(p: &OAuthProps<'_>) -> anyhow::Result<OAuthLogin> {
        if let Some(jaas) = p.jaas {
            if jaas.module.rsplit('.').next() != Some("OAuthBearerLoginModule") {
                bail!(
                    "sasl.jaas.config names {}, but sasl.mechanism OAUTHBEARER takes \
                     OAuthBearerLoginModule",
                    jaas.module
                );
            }
        }
        let mut login = if let Some(file) = &p.token_file {
            OAuthLogin {
                source: Source::File(file.clone()),
                extensions: Vec::new(),
            }
        } else if let Some(config) = p.config {
            from_librdkafka(config)?
        } else if let Some(jaas) = p.jaas {
            from_jaas(jaas)?
        } else {
            bail!(
                "OAUTHBEARER needs a token: sasl.jaas.config (OAuthBearerLoginModule with \
                 unsecuredLoginStringClaim_sub=\"...\"), sasl.oauthbearer.config \
                 (principal=...), or sasl.oauthbearer.token.file"
            );
        };
        // The JAAS extensions apply to a token file too, as Kafka's login
        // module takes them beside any token callback handler.
        if let (Some(jaas), Source::File(_)) = (p.jaas, &login.source) {
            for (k, v) in &jaas.options {
                if let Some(name) = k.strip_prefix("unsecuredLoginExtension_") {
                    login.extensions.push((name.to_string(), v.clone()));
                }
            }
        }
        if let Some(list) = p.extensions.filter(|l| !l.trim().is_empty()) {
            for pair in list.split(',') {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    anyhow!("sasl.oauthbearer.extensions: `{pair}` is not key=value")
                })?;
                login
                    .extensions
                    .push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        for (k, v) in &login.extensions {
            check_extension(k, v)?;
        }
        Ok(login)
    }

    /// The bearer token for an authentication at `now_ms` (ms since the
    /// epoch).
    pub(crate) fn token(&self, now_ms: i64) -> anyhow::Result<String> {
        match &self.source {
            Source::Unsecured {
                claims,
                lifetime_seconds,
            } => Ok(unsecured_jwt(claims, *lifetime_seconds, now_ms)),
            Source::File(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("reading sasl.oauthbearer.token.file {}", path.display())
                })?;
                let token = text.trim();
                let ok = !token.is_empty()
                    && token.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+')
                    });
                if !ok {
                    bail!(
                        "sasl.oauthbearer.token.file {}: not a bearer token (a JWT's \
                         base64url parts joined by dots)",
                        path.display()
                    );
                }
                Ok(token.to_string())
            }
        }
    }

    /// RFC 7628's client message for an authentication at `now_ms`.
    pub(crate) fn initial_response(&self, now_ms: i64) -> anyhow::Result<Vec<u8>> {
        Ok(initial_response(&self.token(now_ms)?, &self.extensions))
    }
}

/// `n,,\x01auth=Bearer <token>\x01key=value\x01...\x01`, as Kafka's
/// `OAuthBearerClientInitialResponse` writes it (no authorization id).
pub(crate) fn initial_response(token: &str, extensions: &[(String, String)]) -> Vec<u8> {
    let mut m = format!("n,,\x01auth=Bearer {token}\x01");
    for (k, v) in extensions {
        m.push_str(&format!("{k}={v}\x01"));
    }
    m.push('\x01');
    m.into_bytes()
}

/// The status of the server's error challenge
/// (`{"status":"invalid_token"}`, maybe with a `scope`), for the report.
pub(crate) fn challenge_status(challenge: &[u8]) -> String {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(challenge) else {
        return String::from_utf8_lossy(challenge).into_owned();
    };
    let status = map
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    match map.get("scope").and_then(Value::as_str) {
        Some(scope) => format!("{status}, scope {scope}"),
        None => status.to_string(),
    }
}

/// Kafka's extension rules: the key letters only and not `auth`, the
/// value printable ASCII, space, tab, CR or LF.
fn check_extension(key: &str, value: &str) -> anyhow::Result<()> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
        bail!("SASL extension name `{key}`: letters only");
    }
    if key == "auth" {
        bail!("SASL extension name `auth` is reserved for the token");
    }
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'))
    {
        bail!("SASL extension `{key}`: its value must be printable ASCII");
    }
    Ok(())
}

/// The unsecured login of Kafka's JAAS options.
fn from_jaas(jaas: &JaasEntry) -> anyhow::Result<OAuthLogin> {
    let mut principal_claim = "sub".to_string();
    let mut lifetime_seconds = DEFAULT_LIFETIME_SECONDS;
    let mut claims = Vec::new();
    let mut extensions = Vec::new();
    for (key, value) in &jaas.options {
        let claim = |prefix: &str| key.strip_prefix(prefix).filter(|n| !n.is_empty());
        if let Some(name) = claim("unsecuredLoginStringClaim_") {
            claims.push((not_reserved(name)?, Value::String(value.clone())));
        } else if let Some(name) = claim("unsecuredLoginNumberClaim_") {
            let n = value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .ok_or_else(|| anyhow!("{key}: `{value}` is not a number"))?;
            claims.push((not_reserved(name)?, Value::Number(n)));
        } else if let Some(name) = claim("unsecuredLoginListClaim_") {
            claims.push((not_reserved(name)?, list_claim(value)));
        } else if let Some(name) = key.strip_prefix("unsecuredLoginExtension_") {
            extensions.push((name.to_string(), value.clone()));
        } else if key == "unsecuredLoginPrincipalClaimName" && !value.trim().is_empty() {
            principal_claim = value.trim().to_string();
        } else if key == "unsecuredLoginLifetimeSeconds" {
            lifetime_seconds =
                value.trim().parse::<i64>().map_err(|_| {
                    anyhow!("unsecuredLoginLifetimeSeconds: `{value}` is not a number")
                })? as f64;
        }
        // `unsecuredLoginScopeClaimName` names the scope claim for the
        // token's own accessors; it does not change the token. Other
        // options are ignored, as Kafka's unsecured handler ignores them.
    }
    let has_principal = claims
        .iter()
        .any(|(k, v)| *k == principal_claim && v.as_str().is_some_and(|s| !s.trim().is_empty()));
    if !has_principal {
        bail!(
            "sasl.jaas.config: the unsecured token needs its principal: \
             unsecuredLoginStringClaim_{principal_claim}=\"...\""
        );
    }
    Ok(OAuthLogin {
        source: Source::Unsecured {
            claims,
            lifetime_seconds,
        },
        extensions,
    })
}

/// The unsecured login of librdkafka's `sasl.oauthbearer.config`.
fn from_librdkafka(config: &str) -> anyhow::Result<OAuthLogin> {
    let (mut principal_claim, mut principal) = ("sub".to_string(), None);
    let (mut scope_claim, mut scope) = ("scope".to_string(), None);
    let mut lifetime_seconds = DEFAULT_LIFETIME_SECONDS;
    let mut extensions = Vec::new();
    for pair in config.split_whitespace() {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("sasl.oauthbearer.config: `{pair}` is not key=value"))?;
        match k {
            "principal" => principal = Some(v.to_string()),
            "principalClaimName" => principal_claim = v.to_string(),
            "scope" => scope = Some(v.to_string()),
            "scopeClaimName" => scope_claim = v.to_string(),
            "lifeSeconds" => {
                lifetime_seconds = v
                    .parse::<u32>()
                    .map_err(|_| anyhow!("sasl.oauthbearer.config: lifeSeconds `{v}`"))?
                    .into()
            }
            _ => match k.strip_prefix("extension_") {
                Some(name) => extensions.push((name.to_string(), v.to_string())),
                None => bail!(
                    "sasl.oauthbearer.config: unknown key `{k}` (known: principal, \
                     principalClaimName, scope, scopeClaimName, lifeSeconds, extension_NAME)"
                ),
            },
        }
    }
    let principal = principal
        .filter(|p| !p.is_empty())
        .ok_or_else(|| anyhow!("sasl.oauthbearer.config needs principal=..."))?;
    let mut claims = vec![(not_reserved(&principal_claim)?, Value::String(principal))];
    if let Some(scope) = scope {
        let items = scope
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect();
        claims.push((not_reserved(&scope_claim)?, Value::Array(items)));
    }
    Ok(OAuthLogin {
        source: Source::Unsecured {
            claims,
            lifetime_seconds,
        },
        extensions,
    })
}

/// `iat` and `exp` are the handler's own.
fn not_reserved(name: &str) -> anyhow::Result<String> {
    if name == "iat" || name == "exp" {
        bail!("the `{name}` claim is set by the login itself");
    }
    Ok(name.to_string())
}

/// Kafka's list claim: the first character is the separator
/// (`unsecuredLoginListClaim_scope=",read,write"`); an empty element
/// (the separator first, last or twice) adds one empty string.
fn list_claim(value: &str) -> Value {
    let mut chars = value.chars();
    let Some(sep) = chars.next() else {
        return Value::Array(Vec::new());
    };
    let rest = chars.as_str();
    if rest.is_empty() {
        return Value::Array(Vec::new());
    }
    let mut items: Vec<Value> = rest
        .split(sep)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect();
    let doubled = format!("{sep}{sep}");
    if rest.starts_with(sep) || rest.ends_with(sep) || rest.contains(&doubled) {
        items.push(Value::String(String::new()));
    }
    Value::Array(items)
}

/// `base64url({"alg":"none"}).base64url(claims).`: an unsecured JWS whose
/// `iat` is `now_ms` and `exp` that plus the lifetime, in seconds with a
/// fraction as Java writes them.
fn unsecured_jwt(claims: &[(String, Value)], lifetime_seconds: f64, now_ms: i64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let iat = now_ms as f64 / 1000.0;
    let number = |n: f64| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
    let mut json = format!(
        "{{\"exp\":{},\"iat\":{}",
        number(iat + lifetime_seconds),
        number(iat)
    );
    for (name, value) in claims {
        json.push(',');
        json.push_str(&Value::String(name.clone()).to_string());
        json.push(':');
        json.push_str(&value.to_string());
    }
    json.push('}');
    format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none"}"#),
        b64.encode(json.as_bytes())
    )
}

#[cfg(test)]
#[path = "oauth_tests.rs"]
mod tests;
