//! How `spate`'s client reaches a secured broker: the client properties of
//! `--command-config FILE` (a Java properties file, as Kafka's tools take)
//! and `-X key=value` (as kcat takes), turned into a [`ClientSecurity`].
//!
//! Keys (values of `security.protocol` are case-insensitive):
//!
//! - `security.protocol`: `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT`,
//!   `SASL_SSL`.
//! - `sasl.mechanism` (kcat's `sasl.mechanisms` too): `PLAIN`,
//!   `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER`.
//! - `sasl.username` and `sasl.password` (librdkafka's), or
//!   `sasl.jaas.config` (Java's: `...ScramLoginModule required
//!   username="alice" password="alice-secret";`).
//! - For OAUTHBEARER ([`oauth`]): `sasl.jaas.config` with
//!   `...OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";`
//!   (Java's unsecured token), `sasl.oauthbearer.config` (librdkafka's:
//!   `principal=alice scope=a,b lifeSeconds=600`),
//!   `sasl.oauthbearer.extensions` (librdkafka's `k=v,k2=v2`), or
//!   `sasl.oauthbearer.token.file` (Spate's own: a file holding a token,
//!   signed by an identity provider, read at each authentication).
//! - `ssl.truststore.location` or `ssl.ca.location`: the PEM file of the
//!   CAs the broker's certificate is checked against (without either, the
//!   system's CAs, as Java's client trusts the JVM's default trust store);
//!   `ssl.truststore.type` is `PEM` (default) or `PKCS12` (with
//!   `ssl.truststore.password`).
//! - `ssl.keystore.location` (one file with the key and the chain;
//!   `ssl.keystore.type` `PEM`, or `PKCS12` with `ssl.keystore.password`),
//!   or `ssl.certificate.location` and `ssl.key.location` (PEM): the
//!   client's certificate for mutual TLS.
//! - `ssl.endpoint.identification.algorithm`: `https` (default) checks that
//!   the certificate names the host; empty does not.
//!
//! Any other key is an error. The handshake itself is in [`tls`], the SASL
//! exchange in [`sasl`].

pub(crate) mod oauth;
pub(crate) mod props;
pub(crate) mod sasl;
pub(crate) mod stores;
pub(crate) mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use spate_core::security::sasl::Mechanism;

/// `security.protocol`: whether the connection is TLS and whether it
/// authenticates with SASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Protocol {
    /// Neither.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl Protocol {
    /// The protocol of a name, case-insensitively.
    fn parse(s: &str) -> Option<Protocol> {
        Some(match s.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Protocol::Plaintext,
            "SSL" => Protocol::Ssl,
            "SASL_PLAINTEXT" => Protocol::SaslPlaintext,
            "SASL_SSL" => Protocol::SaslSsl,
            _ => return None,
        })
    }

    /// Whether the connection is TLS.
    fn tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }

    /// Whether the connection authenticates with SASL.
    fn sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

/// Who to authenticate as, with which mechanism.
#[derive(Debug, Clone)]
pub(crate) struct SaslLogin {
    /// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
    pub(crate) mechanism: Mechanism,
    /// What proves it.
    pub(crate) credential: Credential,
}

/// A password (PLAIN, SCRAM) or a bearer token's source (OAUTHBEARER).
#[derive(Clone)]
pub(crate) enum Credential {
    /// A user name and its password.
    Password {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// OAUTHBEARER's token and extensions.
    OAuth(oauth::OAuthLogin),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The password must not reach a log line or an error.
            Credential::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .finish_non_exhaustive(),
            Credential::OAuth(login) => f.debug_tuple("OAuth").field(login).finish(),
        }
    }
}

/// What every connection of one client does after TCP connect.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientSecurity {
    /// The TLS configuration, when the protocol is SSL or SASL_SSL.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    /// The SASL login, when the protocol is SASL_PLAINTEXT or SASL_SSL.
    pub(crate) sasl: Option<SaslLogin>,
}

/// The client properties as given, before files are read.
#[derive(Debug, Default, PartialEq, Eq)]
struct Props {
    protocol: Protocol,
    mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
    jaas: Option<String>,
    oauth_config: Option<String>,
    oauth_extensions: Option<String>,
    token_file: Option<PathBuf>,
    ca: Option<PathBuf>,
    ca_type: stores::StoreType,
    ca_password: Option<String>,
    keystore: Option<PathBuf>,
    keystore_type: stores::StoreType,
    keystore_password: Option<String>,
    certificate: Option<PathBuf>,
    key: Option<PathBuf>,
    verify_host: bool,
}

impl ClientSecurity {
    /// The security of `--command-config FILE` (if any) overridden by the
    /// `-X key=value` pairs, which apply in order.
    pub(crate) fn from_options(
        command_config: Option<&Path>,
        overrides: &[(String, String)],
    ) -> anyhow::Result<ClientSecurity> {
        let mut pairs = Vec::new();
        if let Some(path) = command_config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --command-config {}", path.display()))?;
            pairs = props::parse_properties(&text)
                .with_context(|| format!("parsing --command-config {}", path.display()))?;
        }
        pairs.extend(overrides.iter().cloned());
        ClientSecurity::from_pairs(&pairs)
    }

    /// The security of client properties, later keys winning.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> anyhow::Result<ClientSecurity> {
        let props = Props::from_pairs(pairs)?;
        let sasl = if props.protocol.sasl() {
            Some(props.login()?)
        } else {
            None
        };
        let tls = if props.protocol.tls() {
            Some(Arc::new(tls::client_config(&tls::TlsFiles {
                ca: props.ca.as_deref(),
                ca_type: props.ca_type,
                ca_password: props.ca_password.as_deref(),
                keystore: props.keystore.as_deref(),
                keystore_type: props.keystore_type,
                keystore_password: props.keystore_password.as_deref(),
                certificate: props.certificate.as_deref(),
                key: props.key.as_deref(),
                verify_host: props.verify_host,
            })?))
        } else {
            None
        };
        Ok(ClientSecurity { tls, sasl })
    }
}

impl Props {
    /// Reads the known keys; an unknown key or a bad value is an error.
    fn from_pairs(pairs: &[(String, String)]) -> anyhow::Result<Props> {
        let mut p = Props {
            verify_host: true,
            ..Default::default()
        };
        for (key, value) in pairs {
            let path = || Some(PathBuf::from(value));
            match key.as_str() {
                "security.protocol" => {
                    p.protocol = Protocol::parse(value).ok_or_else(|| {
                        anyhow!(
                            "security.protocol `{value}`: expected PLAINTEXT, SSL, \
                             SASL_PLAINTEXT or SASL_SSL"
                        )
                    })?;
                }
                "sasl.mechanism" | "sasl.mechanisms" => p.mechanism = Some(value.clone()),
                "sasl.username" => p.username = Some(value.clone()),
                "sasl.password" => p.password = Some(value.clone()),
                "sasl.jaas.config" => p.jaas = Some(value.clone()),
                "sasl.oauthbearer.config" => p.oauth_config = Some(value.clone()),
                "sasl.oauthbearer.extensions" => p.oauth_extensions = Some(value.clone()),
                "sasl.oauthbearer.token.file" => p.token_file = path(),
                "ssl.truststore.location" | "ssl.ca.location" => p.ca = path(),
                "ssl.truststore.type" => p.ca_type = stores::StoreType::parse(key, value)?,
                "ssl.keystore.type" => p.keystore_type = stores::StoreType::parse(key, value)?,
                "ssl.truststore.password" => p.ca_password = Some(value.clone()),
                "ssl.keystore.password" => p.keystore_password = Some(value.clone()),
                "ssl.keystore.location" => p.keystore = path(),
                "ssl.certificate.location" => p.certificate = path(),
                "ssl.key.location" => p.key = path(),
                "ssl.endpoint.identification.algorithm" => {
                    p.verify_host = match value.to_ascii_lowercase().as_str() {
                        "https" => true,
                        "" | "none" => false,
                        _ => bail!(
                            "ssl.endpoint.identification.algorithm `{value}`: expected `https` \
                             or empty"
                        ),
                    };
                }
                _ => bail!(
                    "unknown client property `{key}` (known: security.protocol, \
                     sasl.mechanism, sasl.username, sasl.password, sasl.jaas.config, \
                     sasl.oauthbearer.config, sasl.oauthbearer.extensions, \
                     sasl.oauthbearer.token.file, ssl.truststore.location, ssl.ca.location, \
                     ssl.truststore.type, ssl.truststore.password, ssl.keystore.location, \
                     ssl.keystore.type, ssl.keystore.password, ssl.certificate.location, \
                     ssl.key.location, ssl.endpoint.identification.algorithm)"
                ),
            }
        }
        Ok(p)
    }

    /// The SASL login: the mechanism, and the user and password from
    /// `sasl.username`/`sasl.password` or else from `sasl.jaas.config`.
    fn login(&self) -> anyhow::Result<SaslLogin> {
        let name = self.mechanism.as_deref().ok_or_else(|| {
            anyhow!(
                "sasl.mechanism is needed with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or \
                 OAUTHBEARER)"
            )
        })?;
        let mechanism = Mechanism::parse(&name.to_ascii_uppercase()).ok_or_else(|| {
            anyhow!(
                "sasl.mechanism `{name}`: this client speaks PLAIN, SCRAM-SHA-256, \
                 SCRAM-SHA-512 and OAUTHBEARER"
            )
        })?;
        let jaas = self.jaas.as_deref().map(props::parse_jaas).transpose()?;
        if mechanism == Mechanism::OAuthBearer {
            let login = oauth::OAuthLogin::from_props(&oauth::OAuthProps {
                jaas: jaas.as_ref(),
                config: self.oauth_config.as_deref(),
                extensions: self.oauth_extensions.as_deref(),
                token_file: self.token_file.clone(),
            })?;
            return Ok(SaslLogin {
                mechanism,
                credential: Credential::OAuth(login),
            });
        }
        let (mut username, mut password) = (self.username.clone(), self.password.clone());
        if let Some(entry) = jaas {
            let expected = match mechanism {
                Mechanism::Plain => "PlainLoginModule",
                _ => "ScramLoginModule",
            };
            if entry.module.rsplit('.').next() != Some(expected) {
                bail!(
                    "sasl.jaas.config names {}, but sasl.mechanism {} takes {expected}",
                    entry.module,
                    mechanism.name()
                );
            }
            username = username.or_else(|| entry.option("username").map(str::to_string));
            password = password.or_else(|| entry.option("password").map(str::to_string));
        }
        match (username, password) {
            (Some(username), Some(password)) => Ok(SaslLogin {
                mechanism,
                credential: Credential::Password { username, password },
            }),
            _ => bail!(
                "SASL needs a user name and a password: sasl.username and sasl.password, or \
                 sasl.jaas.config with username=\"...\" password=\"...\""
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn user_password(login: &SaslLogin) -> (&str, &str) {
        match &login.credential {
            Credential::Password { username, password } => (username, password),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plaintext_by_default_and_by_name() {
        let s = ClientSecurity::from_pairs(&[]).unwrap();
        assert!(s.tls.is_none() && s.sasl.is_none());
        let s = ClientSecurity::from_pairs(&pairs(&[("security.protocol", "plaintext")])).unwrap();
        assert!(s.tls.is_none() && s.sasl.is_none());
    }

    #[test]
    fn unknown_keys_and_values_are_errors() {
        let e = ClientSecurity::from_pairs(&pairs(&[("ssl.key.password", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown client property `ssl.key.password`"),
            "{e}"
        );
        for (k, v) in [
            ("security.protocol", "TLS"),
            ("ssl.truststore.type", "JKS"),
            ("ssl.keystore.type", "BKS"),
            ("ssl.endpoint.identification.algorithm", "dns"),
        ] {
            assert!(
                ClientSecurity::from_pairs(&pairs(&[(k, v)])).is_err(),
                "{k}={v}"
            );
        }
    }

    #[test]
    fn sasl_plaintext_with_librdkafka_keys() {
        let s = ClientSecurity::from_pairs(&pairs(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", "alice-secret"),
        ]))
        .unwrap();
        let login = s.sasl.unwrap();
        assert_eq!(login.mechanism, Mechanism::Plain);
        assert_eq!(user_password(&login), ("alice", "alice-secret"));
        assert!(!format!("{login:?}").contains("alice-secret"));
        assert!(s.tls.is_none());
    }

    #[test]
    fn sasl_with_jaas_config_and_later_keys_winning() {
        let jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required \
                    username=\"alice\" password=\"alice-secret\";";
        let s = ClientSecurity::from_pairs(&pairs(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.jaas.config", jaas),
            ("sasl.mechanism", "SCRAM-SHA-512"),
        ]))
        .unwrap();
        let login = s.sasl.unwrap();
        assert_eq!(login.mechanism, Mechanism::ScramSha512);
        assert_eq!(user_password(&login), ("alice", "alice-secret"));
    }

    #[test]
    fn sasl_errors() {
        let base = [("security.protocol", "SASL_PLAINTEXT")];
        // No mechanism.
        assert!(ClientSecurity::from_pairs(&pairs(&base)).is_err());
        // No password.
        let mut p = pairs(&base);
        p.extend(pairs(&[
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "a"),
        ]));
        assert!(ClientSecurity::from_pairs(&p).is_err());
        // OAUTHBEARER without a token.
        let mut p = pairs(&base);
        p.extend(pairs(&[("sasl.mechanism", "OAUTHBEARER")]));
        let e = ClientSecurity::from_pairs(&p).unwrap_err().to_string();
        assert!(e.contains("OAUTHBEARER needs a token"), "{e}");
        // A mechanism this client does not speak.
        let mut p = pairs(&base);
        p.extend(pairs(&[("sasl.mechanism", "GSSAPI")]));
        assert!(ClientSecurity::from_pairs(&p).is_err());
        // A PLAIN module for a SCRAM mechanism.
        let mut p = pairs(&base);
        p.extend(pairs(&[
            ("sasl.mechanism", "SCRAM-SHA-256"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"a\" password=\"b\";",
            ),
        ]));
        let e = ClientSecurity::from_pairs(&p).unwrap_err().to_string();
        assert!(e.contains("ScramLoginModule"), "{e}");
    }

    #[test]
    fn oauthbearer_from_java_and_librdkafka_keys() {
        let jaas = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
                    required unsecuredLoginStringClaim_sub=\"alice\";";
        let s = ClientSecurity::from_pairs(&pairs(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", jaas),
        ]))
        .unwrap();
        let login = s.sasl.unwrap();
        assert_eq!(login.mechanism, Mechanism::OAuthBearer);
        assert!(matches!(login.credential, Credential::OAuth(_)));
        let s = ClientSecurity::from_pairs(&pairs(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("sasl.oauthbearer.config", "principal=bob"),
            ("sasl.oauthbearer.extensions", "org=x"),
        ]))
        .unwrap();
        assert!(matches!(s.sasl.unwrap().credential, Credential::OAuth(_)));
    }

    #[test]
    fn command_config_file_then_overrides() {
        let dir = std::env::temp_dir().join(format!("spate-props-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("client.properties");
        std::fs::write(
            &file,
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n\
             sasl.username=bob\nsasl.password=from-file\n",
        )
        .unwrap();
        let s =
            ClientSecurity::from_options(Some(&file), &pairs(&[("sasl.password", "from-flag")]))
                .unwrap();
        assert_eq!(user_password(&s.sasl.unwrap()).1, "from-flag");
        let missing = ClientSecurity::from_options(Some(&dir.join("nope")), &[]).unwrap_err();
        assert!(format!("{missing:#}").contains("--command-config"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
