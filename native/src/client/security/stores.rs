//! Trust and key stores in PKCS#12 (`ssl.truststore.type=PKCS12`,
//! `ssl.keystore.type=PKCS12`), read with the pure-Rust `p12-keystore`.
//!
//! A trust store's certificates are all trusted, whether `keytool` marked
//! them as trusted certificate entries or `openssl pkcs12 -export` put
//! them in as plain certificate bags. A key store must hold one private
//! key with its certificate chain (the leaf first), as Kafka's Java client
//! reads it; its password (`ssl.keystore.password`) opens the store and
//! the key alike (Spate does not take a separate `ssl.key.password`).

use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A store's file format (`ssl.truststore.type`, `ssl.keystore.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StoreType {
    /// PEM text.
    #[default]
    Pem,
    /// PKCS#12.
    Pkcs12,
}

impl StoreType {
    /// The type of a name, case-insensitively; JKS is refused with the
    /// command that converts it.
    pub(crate) fn parse(key: &str, value: &str) -> anyhow::Result<StoreType> {
        match value.to_ascii_uppercase().as_str() {
            "PEM" => Ok(StoreType::Pem),
            "PKCS12" => Ok(StoreType::Pkcs12),
            "JKS" => bail!(
                "{key} `JKS`: JKS stores are not read; convert with `keytool -importkeystore \
                 -srckeystore FILE.jks -destkeystore FILE.p12 -deststoretype PKCS12`"
            ),
            _ => bail!("{key} `{value}`: expected PEM or PKCS12"),
        }
    }
}

/// Opens the PKCS#12 file at `path` with `password`.
fn open(path: &Path, password: &str, policy: Pkcs12ImportPolicy) -> anyhow::Result<KeyStore> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    KeyStore::from_pkcs12(&data, password, policy).map_err(|e| {
        anyhow!(
            "reading the PKCS#12 store {}: {e} (is the password right?)",
            path.display()
        )
    })
}

/// Every certificate of a PKCS#12 trust store (at least one).
pub(crate) fn trusted_certificates(
    path: &Path,
    password: &str,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let store = open(path, password, Pkcs12ImportPolicy::Raw)?;
    let mut certs = Vec::new();
    for (_, entry) in store.entries() {
        match entry {
            KeyStoreEntry::Certificate(c) => certs.push(CertificateDer::from(c.as_der().to_vec())),
            KeyStoreEntry::PrivateKeyChain(chain) => certs.extend(
                chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec())),
            ),
            KeyStoreEntry::Secret(_) => {}
        }
    }
    if certs.is_empty() {
        bail!("the PKCS#12 store {} holds no certificate", path.display());
    }
    Ok(certs)
}

/// The private key and its certificate chain of a PKCS#12 key store.
pub(crate) fn key_and_chain(
    path: &Path,
    password: &str,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let store = open(path, password, Pkcs12ImportPolicy::Strict)?;
    let (_, chain) = store.private_key_chain().ok_or_else(|| {
        anyhow!(
            "the PKCS#12 store {} holds no private key with its certificate",
            path.display()
        )
    })?;
    let certs: Vec<CertificateDer<'static>> = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    if certs.is_empty() {
        bail!(
            "the PKCS#12 store {}: the private key has no certificate",
            path.display()
        );
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    Ok((certs, key))
}
