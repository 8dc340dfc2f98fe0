//! TLS for SSL and SASL_SSL listeners, with rustls (its `ring` provider),
//! configured by Kafka's `ssl.*` keys in their PEM forms:
//!
//! - the key and chain: `ssl.keystore.type=PEM` with `ssl.keystore.location`
//!   (one file holding the private key and the certificate chain), or
//!   `ssl.keystore.key` and `ssl.keystore.certificate.chain` (the PEM text
//!   in the property). An encrypted key (`ssl.key.password`) is refused at
//!   start: rustls reads only unencrypted PKCS#8, PKCS#1 and SEC1 keys.
//! - the CAs client certificates must chain to: `ssl.truststore.type=PEM`
//!   with `ssl.truststore.location` or `ssl.truststore.certificates`.
//! - `ssl.client.auth`: `required` (a client without a valid certificate is
//!   refused in the handshake), `requested` (a certificate is checked when
//!   given), `none` (Kafka's default).
//! - `ssl.enabled.protocols`: of `TLSv1.2` and `TLSv1.3` (Kafka's default:
//!   both); older versions are not served.
//! - `ssl.principal.mapping.rules`: the client certificate's subject to a
//!   principal name ([`principal::Mapper`]).
//!
//! Every key is read as `listener.name.<listener>.<key>` first.

use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::listeners::Settings;
use super::principal::{self, Mapper};

/// What a TLS listener needs per connection.
#[derive(Clone)]
pub(crate) struct Tls {
    /// Runs the handshake.
    pub acceptor: TlsAcceptor,
    /// Maps a client certificate's subject to its principal name.
    pub mapper: Arc<Mapper>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("mapper", &self.mapper).finish()
    }
}

impl Tls {
    /// The principal name of a verified client certificate chain (its
    /// first certificate's subject, mapped); `Ok(None)` without one.
    pub fn principal(&self, chain: Option<&[CertificateDer<'_>]>) -> Result<Option<String>> {
        let Some(cert) = chain.and_then(<[_]>::first) else {
            return Ok(None);
        };
        let dn = principal::subject_dn(cert).context("the client certificate has no subject")?;
        self.mapper.name(&dn).map(Some)
    }
}

fn pem_text(listener: &str, key: &str, s: &Settings) -> Result<Option<Vec<u8>>> {
    Ok(s.get(listener, key).map(|v| v.as_bytes().to_vec()))
}

fn pem_file(listener: &str, key: &str, s: &Settings) -> Result<Option<Vec<u8>>> {
    match s.get(listener, key) {
        None => Ok(None),
        Some(path) => std::fs::read(path)
            .with_context(|| format!("listener {listener}: reading {key} {path}"))
            .map(Some),
    }
}

fn require_pem(listener: &str, which: &str, s: &Settings) -> Result<()> {
    let key = format!("ssl.{which}.type");
    match s.get(listener, &key).map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("PEM") => Ok(()),
        t => bail!(
            "listener {listener}: {key} is {}; Spate reads PEM key and trust stores only: set \
             {key}=PEM",
            t.unwrap_or("JKS (Kafka's default)")
        ),
    }
}

fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificates of {what}"))?;
    if certs.is_empty() {
        bail!("{what} holds no PEM certificate");
    }
    Ok(certs)
}

fn private_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>> {
    if pem
        .windows(b"ENCRYPTED PRIVATE KEY".len())
        .any(|w| w == b"ENCRYPTED PRIVATE KEY")
    {
        bail!(
            "{what} holds an encrypted private key: Spate does not decrypt keys \
             (ssl.key.password); decrypt it (`openssl pkcs8 -in key.pem -out plain.pem`) and \
             protect the file instead"
        );
    }
    PrivateKeyDer::from_pem_slice(pem).with_context(|| format!("{what} holds no PEM private key"))
}

/// The key and certificate chain of listener `listener`'s key store
/// (`ssl.keystore.location`, or `ssl.keystore.certificate.chain` with
/// `ssl.keystore.key`): what it serves, and what it offers as a client
/// of other brokers.
pub(crate) fn keystore(
    listener: &str,
    s: &Settings,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    require_pem(listener, "keystore", s)?;
    Ok(
        match (
            pem_file(listener, "ssl.keystore.location", s)?,
            pem_text(listener, "ssl.keystore.certificate.chain", s)?,
            pem_text(listener, "ssl.keystore.key", s)?,
        ) {
            (Some(file), None, None) => (
                certs(&file, "ssl.keystore.location")?,
                private_key(&file, "ssl.keystore.location")?,
            ),
            (None, Some(chain), Some(key)) => (
                certs(&chain, "ssl.keystore.certificate.chain")?,
                private_key(&key, "ssl.keystore.key")?,
            ),
            (None, None, None) => bail!(
                "listener {listener} is {}: it needs ssl.keystore.location, or \
             ssl.keystore.certificate.chain and ssl.keystore.key",
                "TLS"
            ),
            _ => bail!(
                "listener {listener}: give either ssl.keystore.location or both \
             ssl.keystore.certificate.chain and ssl.keystore.key"
            ),
        },
    )
}

/// The CAs of listener `listener`'s trust store (`ssl.truststore.location`
/// or `ssl.truststore.certificates`); `None` when it names none.
pub(crate) fn truststore(listener: &str, s: &Settings) -> Result<Option<RootCertStore>> {
    let pem = match (
        pem_file(listener, "ssl.truststore.location", s)?,
        pem_text(listener, "ssl.truststore.certificates", s)?,
    ) {
        (Some(p), None) => p,
        (None, Some(p)) => p,
        (None, None) => return Ok(None),
        _ => bail!(
            "listener {listener}: give ssl.truststore.location or \
             ssl.truststore.certificates, not both"
        ),
    };
    require_pem(listener, "truststore", s)?;
    let mut roots = RootCertStore::empty();
    for c in certs(&pem, "the trust store")? {
        roots.add(c).context("a trust store certificate")?;
    }
    Ok(Some(roots))
}

/// The TLS versions of `ssl.enabled.protocols` (Kafka's default: TLSv1.2
/// and TLSv1.3; older ones are not served).
pub(crate) fn versions(
    listener: &str,
    s: &Settings,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>> {
    let mut versions = Vec::new();
    let protocols = s
        .get(listener, "ssl.enabled.protocols")
        .unwrap_or("TLSv1.2,TLSv1.3");
    for p in protocols
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match p {
            "TLSv1.3" => versions.push(&rustls::version::TLS13),
            "TLSv1.2" => versions.push(&rustls::version::TLS12),
            other => tracing::warn!(
                listener,
                protocol = other,
                "ssl.enabled.protocols names a protocol Spate does not serve (only TLSv1.2 and \
                 TLSv1.3)"
            ),
        }
    }
    if versions.is_empty() {
        bail!("listener {listener}: ssl.enabled.protocols names neither TLSv1.2 nor TLSv1.3");
    }
    Ok(versions)
}

/// The TLS settings of listener `listener`.
pub(crate) fn configure(listener: &str, s: &Settings) -> Result<Tls> {
    let (chain, key) = keystore(listener, s)?;
    // ring, not aws-lc-rs, keeps the build free of a C toolchain; rustls
    // marks it deprecated because it lacks post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = versions(listener, s)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .context("TLS protocol versions")?;
    let auth = s
        .get(listener, "ssl.client.auth")
        .unwrap_or("none")
        .trim()
        .to_ascii_lowercase();
    let builder = match auth.as_str() {
        "none" => builder.with_no_client_auth(),
        "required" | "requested" => {
            let roots = truststore(listener, s)?.with_context(|| {
                format!(
                    "listener {listener}: ssl.client.auth={auth} needs a trust store \
                     (ssl.truststore.location or ssl.truststore.certificates)"
                )
            })?;
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let v = if auth == "requested" {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(v.build().context("the client verifier")?)
        }
        other => bail!(
            "listener {listener}: ssl.client.auth `{other}` is not required, requested or none"
        ),
    };
    let config = builder
        .with_single_cert(chain, key)
        .with_context(|| format!("listener {listener}: the key does not fit the certificate"))?;
    let mapper = Mapper::parse(
        s.get(listener, "ssl.principal.mapping.rules")
            .unwrap_or("DEFAULT"),
    )
    .context("ssl.principal.mapping.rules")?;
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        mapper: Arc::new(mapper),
    })
}
