//! TLS for the client (rustls with the `ring` provider): the
//! configuration of the `ssl.*` properties, and the handshake over a
//! connected, blocking `TcpStream`.
//!
//! The broker's certificate is checked against the CAs of
//! `ssl.truststore.location` or, when none is given, against the system's
//! (`rustls-native-certs`: the platform's store, or the files that
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` name), as Java's client falls back on
//! the JVM's default trust store and librdkafka on OpenSSL's default paths.
//! Stores are PEM files or PKCS#12 ([`stores`]).

use std::fmt;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::stores::{self, StoreType};

/// A TLS stream over TCP.
pub(crate) type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// The files and the host check the `ssl.*` properties name.
#[derive(Debug)]
pub(crate) struct TlsFiles<'a> {
    /// The file of trusted CAs; `None` trusts the system's.
    pub(crate) ca: Option<&'a Path>,
    /// Its format.
    pub(crate) ca_type: StoreType,
    /// Its password (PKCS#12).
    pub(crate) ca_password: Option<&'a str>,
    /// One file with the client's key and certificate chain.
    pub(crate) keystore: Option<&'a Path>,
    /// Its format.
    pub(crate) keystore_type: StoreType,
    /// Its password (PKCS#12).
    pub(crate) keystore_password: Option<&'a str>,
    /// The client's certificate chain (PEM).
    pub(crate) certificate: Option<&'a Path>,
    /// The client's private key (PEM).
    pub(crate) key: Option<&'a Path>,
    /// Whether the broker's certificate must name the host connected to.
    pub(crate) verify_host: bool,
}

/// The rustls configuration of `files`.
pub(crate) fn client_config(files: &TlsFiles<'_>) -> anyhow::Result<ClientConfig> {
    // The `ring` provider (no post-quantum key exchange, hence rustls
    // 0.23.48's deprecation note): the one the broker's TLS uses too.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match files.ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            let certs = match files.ca_type {
                StoreType::Pem => certificates(ca)?,
                StoreType::Pkcs12 => {
                    stores::trusted_certificates(ca, files.ca_password.unwrap_or(""))?
                }
            };
            for cert in certs {
                roots
                    .add(cert)
                    .with_context(|| format!("adding a CA certificate of {}", ca.display()))?;
            }
            roots
        }
        None => system_roots()?,
    };
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("building the certificate verifier")?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?;
    let builder = if files.verify_host {
        builder.with_webpki_verifier(webpki)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyHostName { inner: webpki }))
    };
    let client_auth = match (files.keystore, files.certificate, files.key) {
        (Some(both), None, None) => Some(match files.keystore_type {
            StoreType::Pem => (certificates(both)?, private_key(both)?),
            StoreType::Pkcs12 => {
                stores::key_and_chain(both, files.keystore_password.unwrap_or(""))?
            }
        }),
        (None, Some(cert), Some(key)) => Some((certificates(cert)?, private_key(key)?)),
        (None, None, None) => None,
        _ => bail!(
            "a client certificate takes ssl.keystore.location (key and certificate in one PEM \
             file) or both ssl.certificate.location and ssl.key.location"
        ),
    };
    Ok(match client_auth {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .context("the client certificate and key")?,
        None => builder.with_no_client_auth(),
    })
}

/// The system's trusted CAs; none found is an error naming the property
/// that gives them instead.
fn system_roots() -> anyhow::Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    // Like a browser, skip a system certificate rustls cannot parse.
    let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or(String::new(), |e| format!(" ({e})"));
        bail!(
            "no trusted CA found in the system's store{why}: name the broker's CA with \
             ssl.truststore.location (or ssl.ca.location), a PEM file"
        );
    }
    Ok(roots)
}

/// The certificates of a PEM file (at least one).
fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificates of {}", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1, unencrypted).
fn private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("reading an unencrypted private key from {}", path.display()))
}

/// TLS over a connected socket: the handshake runs here, so that a
/// certificate the client refuses is an error of opening the connection.
pub(crate) fn connect(
    config: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> anyhow::Result<TlsStream> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| anyhow!("`{host}` is not a host name for TLS: {e}"))?;
    let conn =
        rustls::ClientConnection::new(config.clone(), name).context("starting a TLS connection")?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .with_context(|| format!("TLS handshake with {host}"))?;
    }
    Ok(stream)
}

/// A verifier that checks the chain against `inner`'s CAs but not the
/// host name (`ssl.endpoint.identification.algorithm=`), for the
/// broker's own connections to other brokers too.
pub(crate) fn any_host_name(inner: Arc<WebPkiServerVerifier>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(AnyHostName { inner })
}

/// Checks the chain against the CAs but not the host name
/// (`ssl.endpoint.identification.algorithm=`).
struct AnyHostName {
    /// The full check, whose name errors are ignored.
    inner: Arc<WebPkiServerVerifier>,
}

impl fmt::Debug for AnyHostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyHostName")
    }
}

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests;
