//! Kafka's listeners: `listeners`, `listener.security.protocol.map`,
//! `advertised.listeners`, the inter-broker listener, and the security
//! settings each listener reads (`listener.name.<name>.<key>` before
//! `<key>`, as Kafka's `valuesWithPrefixOverride`).
//!
//! [`plan`] turns what `server.properties` (or `--listen`/`--advertised`)
//! said into the listeners to bind and the [`SecurityConfig`] the core
//! checks connections against, refusing at start what Kafka refuses (a
//! listener name without a protocol, a name or port used twice, an
//! advertised listener that is not a listener) and what Spate does not
//! serve (a SASL mechanism it lacks, an unknown authorizer). What the
//! inter-broker listener's security asks of this broker's own connections
//! to other brokers is checked by [`super::outbound::config`].

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use spate_core::security::sasl::{Mechanism, OAuthConfig};
use spate_core::security::{ListenerSecurity, Principal, SecurityConfig, SecurityProtocol};
use tracing::warn;

use super::jaas;

/// One listener as configured: where it binds and what it advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    /// Its name, upper-cased as Kafka normalises it (`PLAINTEXT`).
    pub name: String,
    /// Its protocol, from `listener.security.protocol.map`.
    pub protocol: SecurityProtocol,
    /// The address to bind: `0.0.0.0` for an empty host, as Kafka binds
    /// every interface.
    pub bind: String,
    /// Its `advertised.listeners` entry as (host, port); `None` when
    /// `advertised.listeners` names other listeners only (then it is not
    /// advertised, as in Kafka). An empty host or port 0 are filled in
    /// once bound.
    pub advertised: Option<(String, i32)>,
}

/// Kafka's `listener.security.protocol.map` when it is not set: each
/// protocol's name is a listener name.
const DEFAULT_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/// The keys a listener may override with `listener.name.<name>.` before
/// them (and the SASL JAAS configs, `<mechanism>.sasl.jaas.config`).
const PER_LISTENER: &[&str] = &[
    "sasl.enabled.mechanisms",
    "sasl.jaas.config",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.client.auth",
    "ssl.enabled.protocols",
    "ssl.principal.mapping.rules",
    "ssl.endpoint.identification.algorithm",
];

/// Keys only read unprefixed.
const GLOBAL: &[&str] = &[
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "security.inter.broker.protocol",
    "sasl.mechanism.inter.broker.protocol",
    "authorizer.class.name",
    "super.users",
    "allow.everyone.if.no.acl.found",
    "connections.max.reauth.ms",
];

/// Whether `key` is a security setting [`Settings`] keeps.
pub(crate) fn is_security_key(key: &str) -> bool {
    if GLOBAL.contains(&key) || key.starts_with("sasl.oauthbearer.") {
        return true;
    }
    let key = match key.strip_prefix("listener.name.") {
        Some(rest) => match rest.split_once('.') {
            Some((_, k)) => k,
            None => return false,
        },
        None => key,
    };
    PER_LISTENER.contains(&key)
        || key
            .strip_suffix(".sasl.jaas.config")
            .is_some_and(|m| !m.is_empty() && !m.contains('.'))
}

/// The security settings `server.properties` gave, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings(pub BTreeMap<String, String>);

impl Settings {
    /// `key`, unprefixed.
    pub fn global(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `key` for listener `name`: `listener.name.<name lower-cased>.<key>`
    /// first, then `<key>`.
    pub fn get(&self, listener: &str, key: &str) -> Option<&str> {
        let prefixed = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
        self.0
            .get(&prefixed)
            .or_else(|| self.0.get(key))
            .map(String::as_str)
    }
}

/// What the listeners and their security settings come to.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Every listener, in `listeners` order.
    pub listeners: Vec<Listener>,
    /// The inter-broker listener's name (Kafka's
    /// `inter.broker.listener.name`, else the listener named after
    /// `security.inter.broker.protocol`).
    pub inter_broker: String,
    /// For the core.
    pub security: SecurityConfig,
}

/// One `NAME://host:port` entry; a bare `host:port` is `PLAINTEXT`.
fn parse_entry(entry: &str) -> Result<(String, String, i32)> {
    let (name, addr) = entry.split_once("://").unwrap_or(("PLAINTEXT", entry));
    if name.is_empty() {
        bail!("`{entry}` names no listener");
    }
    let (host, port) = addr
        .rsplit_once(':')
        .with_context(|| format!("`{entry}` is not NAME://HOST:PORT"))?;
    let port: i32 = port
        .parse()
        .ok()
        .filter(|p| (0..=65535).contains(p))
        .with_context(|| format!("`{port}` in `{entry}` is not a port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((name.to_ascii_uppercase(), host.to_string(), port))
}

fn entries(v: &str) -> Result<Vec<(String, String, i32)>> {
    v.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(parse_entry)
        .collect()
}

/// `--advertised` entries with the first listener's name given to the
/// bare ones (`host:port`).
pub(crate) fn name_bare(advertised: &str, listeners: &str) -> Result<String> {
    let first = entries(listeners).context("listeners")?;
    let name = first.first().map_or("PLAINTEXT", |(n, _, _)| n.as_str());
    Ok(advertised
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            if e.contains("://") {
                e.to_string()
            } else {
                format!("{name}://{e}")
            }
        })
        .collect::<Vec<_>>()
        .join(","))
}

/// `NAME:PROTOCOL,...`.
fn protocol_map(v: &str) -> Result<BTreeMap<String, SecurityProtocol>> {
    let mut map = BTreeMap::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, proto) = pair.split_once(':').with_context(|| {
            format!("`{pair}` in listener.security.protocol.map is not NAME:PROTOCOL")
        })?;
        let proto = SecurityProtocol::parse(proto.trim()).with_context(|| {
            format!(
                "`{proto}` is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"
            )
        })?;
        map.insert(name.trim().to_ascii_uppercase(), proto);
    }
    Ok(map)
}

/// The listeners of `listeners` (`--listen` entries), advertised as
/// `advertised` says, with `settings`; `zk_mode` checks what a cluster
/// needs of the inter-broker listener.
pub(crate) fn plan(
    listeners: &str,
    advertised: Option<&str>,
    settings: &Settings,
    zk_mode: bool,
) -> Result<Plan> {
    let map = protocol_map(
        settings
            .global("listener.security.protocol.map")
            .unwrap_or(DEFAULT_PROTOCOL_MAP),
    )?;
    let mut out: Vec<Listener> = Vec::new();
    for (name, host, port) in entries(listeners).context("listeners")? {
        let protocol = *map.get(&name).with_context(|| {
            format!("listener {name} has no security protocol in listener.security.protocol.map")
        })?;
        if out.iter().any(|l| l.name == name) {
            bail!("listeners names {name} twice: each listener needs its own name");
        }
        let bind = match host.as_str() {
            "" => format!("0.0.0.0:{port}"),
            h if h.contains(':') => format!("[{h}]:{port}"),
            h => format!("{h}:{port}"),
        };
        if port != 0 && out.iter().any(|l| l.bind.ends_with(&format!(":{port}"))) {
            bail!("listeners uses port {port} twice: each listener needs its own port");
        }
        out.push(Listener {
            name,
            protocol,
            bind,
            advertised: Some((host, port)),
        });
    }
    if out.is_empty() {
        bail!("listeners names no listener");
    }
    if let Some(adv) = advertised {
        for l in &mut out {
            l.advertised = None;
        }
        for (name, host, port) in entries(adv).context("advertised.listeners")? {
            let l = out.iter_mut().find(|l| l.name == name).with_context(|| {
                format!("advertised.listeners names {name}, which is not one of listeners")
            })?;
            if host == "0.0.0.0" || host == "::" {
                bail!("advertised.listeners cannot use the non-routable address {host} ({name})");
            }
            if l.advertised.is_some() {
                bail!("advertised.listeners names {name} twice");
            }
            l.advertised = Some((host, port));
        }
    }
    let inter_broker = match (
        settings.global("inter.broker.listener.name"),
        settings.global("security.inter.broker.protocol"),
    ) {
        (Some(_), Some(_)) => bail!(
            "only one of inter.broker.listener.name and security.inter.broker.protocol may be set"
        ),
        (Some(name), None) => name.trim().to_ascii_uppercase(),
        (None, Some(p)) => SecurityProtocol::parse(p.trim())
            .with_context(|| format!("security.inter.broker.protocol `{p}` is not a protocol"))?
            .name()
            .to_string(),
        (None, None) => "PLAINTEXT".to_string(),
    };
    if zk_mode {
        out.iter()
            .find(|l| l.name == inter_broker && l.advertised.is_some())
            .with_context(|| {
                format!(
                    "the inter-broker listener {inter_broker} must be one of advertised.listeners \
                     (set inter.broker.listener.name)"
                )
            })?;
    }
    let security = security(&out, settings)?;
    Ok(Plan {
        listeners: out,
        inter_broker,
        security,
    })
}

/// `sasl.enabled.mechanisms` of a listener; Kafka's default, GSSAPI, is
/// not served, so an unset list is empty.
fn mechanisms(settings: &Settings, l: &Listener) -> Result<Vec<Mechanism>> {
    let Some(v) = settings.get(&l.name, "sasl.enabled.mechanisms") else {
        return Ok(Vec::new());
    };
    v.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            Mechanism::parse(m).with_context(|| {
                format!(
                    "listener {}: Spate does not serve the SASL mechanism {m} (it serves PLAIN, \
                     SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER)",
                    l.name
                )
            })
        })
        .collect()
}

fn security(listeners: &[Listener], settings: &Settings) -> Result<SecurityConfig> {
    let mut sec = SecurityConfig::default();
    for l in listeners {
        let mut ls = ListenerSecurity {
            name: l.name.clone(),
            protocol: l.protocol,
            ..ListenerSecurity::default()
        };
        if l.protocol.sasl() {
            ls.sasl_mechanisms = mechanisms(settings, l)?;
            if ls.sasl_mechanisms.is_empty() {
                warn!(
                    listener = %l.name,
                    "a SASL listener with no sasl.enabled.mechanisms: Kafka's default, GSSAPI, is \
                     not served, so no client can authenticate on it"
                );
            }
            if settings.get(&l.name, "sasl.jaas.config").is_some() {
                warn!(
                    listener = %l.name,
                    "sasl.jaas.config without a mechanism prefix is ignored on a broker, as in \
                     Kafka: name it plain.sasl.jaas.config or \
                     listener.name.<listener>.plain.sasl.jaas.config"
                );
            }
            if let Some(jaas) = settings.get(&l.name, "plain.sasl.jaas.config") {
                let module = jaas::parse(jaas)
                    .with_context(|| format!("listener {}: plain.sasl.jaas.config", l.name))?;
                if module.class != jaas::PLAIN_LOGIN_MODULE {
                    bail!(
                        "listener {}: plain.sasl.jaas.config names {}, not {}",
                        l.name,
                        module.class,
                        jaas::PLAIN_LOGIN_MODULE
                    );
                }
                ls.plain_users = module.users();
            }
            if ls.sasl_mechanisms.contains(&Mechanism::Plain) && ls.plain_users.is_empty() {
                warn!(
                    listener = %l.name,
                    "PLAIN is enabled but no plain.sasl.jaas.config names a user_<name> option: \
                     every PLAIN login will fail"
                );
            }
        }
        sec.listeners.push(ls);
    }
    match settings.global("authorizer.class.name").map(str::trim) {
        None | Some("") => {}
        Some(
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
            | "kafka.security.authorizer.AclAuthorizer",
        ) => sec.authorizer = true,
        Some(other) => bail!(
            "authorizer.class.name {other} is not served: Spate enforces ACLs as \
             org.apache.kafka.metadata.authorizer.StandardAuthorizer (or \
             kafka.security.authorizer.AclAuthorizer) does"
        ),
    }
    if let Some(v) = settings.global("super.users") {
        for p in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            sec.super_users.push(Principal::parse(p).with_context(|| {
                format!("super.users: `{p}` is not a principal TYPE:NAME (User:admin)")
            })?);
        }
    }
    if let Some(v) = settings.global("allow.everyone.if.no.acl.found") {
        sec.allow_everyone_if_no_acl_found = v.trim().parse().with_context(|| {
            format!("allow.everyone.if.no.acl.found `{v}` is not true or false")
        })?;
    }
    oauth_settings(listeners, settings, &mut sec.oauth)?;
    if let Some(v) = settings.global("connections.max.reauth.ms") {
        sec.max_reauth_ms = v
            .trim()
            .parse()
            .ok()
            .filter(|ms: &i64| *ms >= 0)
            .with_context(|| format!("connections.max.reauth.ms `{v}` is not a duration in ms"))?;
    }
    Ok(sec)
}

/// OAUTHBEARER's validation: `sasl.oauthbearer.*` (the JWKS from a
/// `file:` URL, as Kafka's `sasl.oauthbearer.jwks.endpoint.url` may name
/// one), and the unsecured validator's options from a listener's
/// `oauthbearer.sasl.jaas.config` (`unsecuredValidatorRequiredScope` and
/// the like), as Kafka's default handler reads them.
fn oauth_settings(
    listeners: &[Listener],
    settings: &Settings,
    oauth: &mut OAuthConfig,
) -> Result<()> {
    for (key, value) in settings
        .0
        .iter()
        .filter(|(k, _)| k.starts_with("sasl.oauthbearer."))
    {
        if key == "sasl.oauthbearer.jwks.endpoint.url" {
            let path = value
                .trim()
                .strip_prefix("file:")
                .map(|p| p.trim_start_matches("//"))
                .with_context(|| {
                    format!("{key} `{value}`: only file: URLs are read (no HTTP fetching)")
                })?;
            let text =
                std::fs::read_to_string(path).with_context(|| format!("{key}: reading {path}"))?;
            oauth
                .set_jwks(text)
                .map_err(|e| anyhow::anyhow!("{key}: {path}: {e}"))?;
            continue;
        }
        match oauth.set(key, value) {
            Ok(true) => {}
            Ok(false) => {
                warn!(key = %key, "an OAUTHBEARER setting of Kafka's clients, not used by a broker")
            }
            Err(e) => bail!("{key}: {e}"),
        }
    }
    for l in listeners.iter().filter(|l| l.protocol.sasl()) {
        let Some(jaas) = settings.get(&l.name, "oauthbearer.sasl.jaas.config") else {
            continue;
        };
        let module = jaas::parse(jaas)
            .with_context(|| format!("listener {}: oauthbearer.sasl.jaas.config", l.name))?;
        for (option, value) in &module.options {
            if option.starts_with("unsecuredValidator") {
                oauth
                    .set(option, value)
                    .map_err(|e| anyhow::anyhow!("listener {}: {option}: {e}", l.name))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn several_listeners_with_kafkas_default_protocol_map() {
        let p = plan(
            "PLAINTEXT://:9092,SSL://127.0.0.1:9093,sasl_ssl://host:9094,SASL_PLAINTEXT://[::1]:9095",
            None,
            &Settings::default(),
            false,
        )
        .unwrap();
        let names: Vec<_> = p
            .listeners
            .iter()
            .map(|l| (l.name.as_str(), l.protocol))
            .collect();
        assert_eq!(
            names,
            [
                ("PLAINTEXT", SecurityProtocol::Plaintext),
                ("SSL", SecurityProtocol::Ssl),
                ("SASL_SSL", SecurityProtocol::SaslSsl),
                ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
            ]
        );
        assert_eq!(p.listeners[0].bind, "0.0.0.0:9092");
        assert_eq!(p.listeners[0].advertised, Some((String::new(), 9092)));
        assert_eq!(p.listeners[3].bind, "[::1]:9095");
        assert_eq!(p.inter_broker, "PLAINTEXT");
        assert_eq!(p.security.listeners.len(), 4);
        assert_eq!(p.security.protocol("SSL"), SecurityProtocol::Ssl);
        // A bare address is PLAINTEXT.
        let p = plan("127.0.0.1:0", None, &Settings::default(), false).unwrap();
        assert_eq!(p.listeners[0].name, "PLAINTEXT");
    }

    #[test]
    fn named_listeners_need_the_map_and_advertised_ones_must_exist() {
        let s = settings(&[(
            "listener.security.protocol.map",
            "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL",
        )]);
        let p = plan(
            "INTERNAL://:9092,EXTERNAL://:9093",
            Some("EXTERNAL://kafka.example:443"),
            &s,
            false,
        )
        .unwrap();
        assert_eq!(p.listeners[0].advertised, None);
        assert_eq!(
            p.listeners[1].advertised,
            Some(("kafka.example".into(), 443))
        );
        assert_eq!(p.listeners[1].protocol, SecurityProtocol::SaslSsl);
        let err = |r: Result<Plan>| format!("{:#}", r.unwrap_err());
        assert!(err(plan("OTHER://:1", None, &s, false)).contains("no security protocol"));
        assert!(
            err(plan("INTERNAL://:1", Some("EXTERNAL://h:2"), &s, false))
                .contains("not one of listeners")
        );
        assert!(err(plan("INTERNAL://:1,INTERNAL://:2", None, &s, false)).contains("twice"));
        assert!(err(plan("INTERNAL://:1,EXTERNAL://:1", None, &s, false)).contains("port 1 twice"));
        assert!(err(plan(
            "INTERNAL://:1",
            Some("INTERNAL://0.0.0.0:1"),
            &s,
            false
        ))
        .contains("non-routable"));
        // In a cluster the inter-broker listener (PLAINTEXT by default)
        // must be advertised; any protocol will do.
        assert!(err(plan("INTERNAL://:1", None, &s, true)).contains("inter-broker listener"));
        let s2 = settings(&[
            (
                "listener.security.protocol.map",
                "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL",
            ),
            ("inter.broker.listener.name", "internal"),
        ]);
        let p = plan("INTERNAL://:1,EXTERNAL://:2", None, &s2, true).unwrap();
        assert_eq!(p.inter_broker, "INTERNAL");
        let s3 = settings(&[("security.inter.broker.protocol", "SSL")]);
        assert_eq!(
            plan("SSL://:1", None, &s3, true).unwrap().inter_broker,
            "SSL"
        );
        let mut both = s2.clone();
        both.0
            .insert("security.inter.broker.protocol".into(), "PLAINTEXT".into());
        assert!(err(plan("INTERNAL://:1", None, &both, false)).contains("only one of"));
    }

    #[test]
    fn sasl_mechanisms_and_plain_users_per_listener() {
        let s = settings(&[
            ("sasl.enabled.mechanisms", "SCRAM-SHA-256"),
            (
                "listener.name.sasl_ssl.sasl.enabled.mechanisms",
                "PLAIN, SCRAM-SHA-512",
            ),
            (
                "listener.name.sasl_ssl.plain.sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#,
            ),
        ]);
        let p = plan(
            "SASL_SSL://:9094,SASL_PLAINTEXT://:9095,PLAINTEXT://:9092",
            None,
            &s,
            false,
        )
        .unwrap();
        let ssl = p.security.listener("SASL_SSL").unwrap();
        assert_eq!(
            ssl.sasl_mechanisms,
            [Mechanism::Plain, Mechanism::ScramSha512]
        );
        assert_eq!(ssl.plain_users.len(), 2);
        assert_eq!(ssl.plain_users["alice"], "alice-secret");
        let plain = p.security.listener("SASL_PLAINTEXT").unwrap();
        assert_eq!(plain.sasl_mechanisms, [Mechanism::ScramSha256]);
        assert!(plain.plain_users.is_empty());
        assert!(p
            .security
            .listener("PLAINTEXT")
            .unwrap()
            .sasl_mechanisms
            .is_empty());
        // The unprefixed mechanism form serves every listener.
        let s = settings(&[
            ("sasl.enabled.mechanisms", "PLAIN"),
            (
                "plain.sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="b";"#,
            ),
        ]);
        let p = plan("SASL_PLAINTEXT://:1", None, &s, false).unwrap();
        assert_eq!(p.security.listeners[0].plain_users["bob"], "b");
        // Kafka's default mechanism is not served: no mechanism, a warning.
        let p = plan("SASL_PLAINTEXT://:1", None, &Settings::default(), false).unwrap();
        assert!(p.security.listeners[0].sasl_mechanisms.is_empty());
        let s = settings(&[("sasl.enabled.mechanisms", "GSSAPI")]);
        assert!(plan("SASL_PLAINTEXT://:1", None, &s, false).is_err());
        let s = settings(&[(
            "plain.sasl.jaas.config",
            r#"com.example.Other required user_x="y";"#,
        )]);
        assert!(plan("SASL_PLAINTEXT://:1", None, &s, false).is_err());
    }

    #[test]
    fn authorizer_super_users_and_reauth() {
        let s = settings(&[
            (
                "authorizer.class.name",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            ),
            ("super.users", "User:admin; User:CN=ops,O=Example"),
            ("allow.everyone.if.no.acl.found", "true"),
            ("connections.max.reauth.ms", "60000"),
        ]);
        let p = plan("PLAINTEXT://:1", None, &s, false).unwrap();
        assert!(p.security.authorizer);
        assert_eq!(
            p.security.super_users,
            [
                Principal::user("admin"),
                Principal::user("CN=ops,O=Example")
            ]
        );
        assert!(p.security.allow_everyone_if_no_acl_found);
        assert_eq!(p.security.max_reauth_ms, 60_000);
        let s = settings(&[(
            "authorizer.class.name",
            "kafka.security.authorizer.AclAuthorizer",
        )]);
        assert!(
            plan("PLAINTEXT://:1", None, &s, false)
                .unwrap()
                .security
                .authorizer
        );
        let s = settings(&[("authorizer.class.name", "com.example.MyAuthorizer")]);
        assert!(plan("PLAINTEXT://:1", None, &s, false).is_err());
        let s = settings(&[("super.users", "admin")]);
        assert!(plan("PLAINTEXT://:1", None, &s, false).is_err());
        let p = plan("PLAINTEXT://:1", None, &Settings::default(), false).unwrap();
        assert!(!p.security.authorizer);
    }

    #[test]
    fn oauthbearer_settings_reach_the_validator() {
        let dir = std::env::temp_dir().join(format!("spate-oauth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let jwks = dir.join("jwks.json");
        std::fs::write(&jwks, r#"{"keys": []}"#).unwrap();
        let url = format!("file:{}", jwks.display());
        let listeners = [Listener {
            name: "SASL_SSL".into(),
            protocol: SecurityProtocol::SaslSsl,
            bind: "127.0.0.1:0".into(),
            advertised: None,
        }];
        let s = settings(&[
            ("sasl.oauthbearer.jwks.endpoint.url", url.as_str()),
            ("sasl.oauthbearer.expected.audience", "spate,kafka"),
            ("sasl.oauthbearer.expected.issuer", "https://issuer.example"),
            (
                "listener.name.sasl_ssl.oauthbearer.sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
                 unsecuredValidatorRequiredScope=\"write\";",
            ),
        ]);
        let mut oauth = OAuthConfig::default();
        oauth_settings(&listeners, &s, &mut oauth).unwrap();
        assert_eq!(oauth.jwks(), Some(r#"{"keys": []}"#));
        assert_eq!(oauth.expected_audience, ["spate", "kafka"]);
        assert_eq!(
            oauth.expected_issuer.as_deref(),
            Some("https://issuer.example")
        );
        assert_eq!(oauth.unsecured_required_scope, ["write"]);
        // Only file: URLs; a key set that does not parse is refused.
        let s = settings(&[("sasl.oauthbearer.jwks.endpoint.url", "https://idp/jwks")]);
        assert!(oauth_settings(&listeners, &s, &mut OAuthConfig::default()).is_err());
        std::fs::write(&jwks, "not json").unwrap();
        let s = settings(&[("sasl.oauthbearer.jwks.endpoint.url", url.as_str())]);
        assert!(oauth_settings(&listeners, &s, &mut OAuthConfig::default()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn security_keys_with_and_without_a_listener_prefix() {
        assert!(is_security_key("ssl.keystore.location"));
        assert!(is_security_key("listener.name.ssl.ssl.keystore.location"));
        assert!(is_security_key(
            "listener.name.external.scram-sha-256.sasl.jaas.config"
        ));
        assert!(is_security_key("plain.sasl.jaas.config"));
        assert!(is_security_key("super.users"));
        assert!(is_security_key("sasl.oauthbearer.jwks.endpoint.url"));
        assert!(!is_security_key("ssl.cipher.suites"));
        assert!(!is_security_key("listener.name.x"));
        let s = settings(&[
            ("ssl.client.auth", "none"),
            ("listener.name.ssl.ssl.client.auth", "required"),
        ]);
        assert_eq!(s.get("SSL", "ssl.client.auth"), Some("required"));
        assert_eq!(s.get("OTHER", "ssl.client.auth"), Some("none"));
    }
}
