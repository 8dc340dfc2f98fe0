//! The inter-broker listener's settings, turned into what this broker's
//! outbound connections do ([`InterBroker`]), checked at start as Kafka's
//! `KafkaConfig` checks them:
//!
//! - TLS (SSL, SASL_SSL) needs the listener's trust store (PEM:
//!   `ssl.truststore.location` or `ssl.truststore.certificates`), which
//!   the other brokers' certificates must chain to; the listener's key
//!   store is offered when the other broker asks for a client certificate
//!   (`ssl.client.auth`); `ssl.endpoint.identification.algorithm`
//!   (`https`, Kafka's default, or empty) says whether the certificate
//!   must name the host connected to; `ssl.enabled.protocols` as served.
//! - SASL (SASL_PLAINTEXT, SASL_SSL) needs
//!   `sasl.mechanism.inter.broker.protocol` (Kafka's default, GSSAPI, is
//!   not served), one of the listener's `sasl.enabled.mechanisms`, and
//!   the broker's own `username` and `password` in the listener's
//!   `<mechanism>.sasl.jaas.config` (`listener.name.<listener>.` first).

use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use rustls::client::WebPkiServerVerifier;
use rustls::ClientConfig;
use spate_core::security::sasl::Mechanism;

use super::InterBroker;
use crate::client::security::tls::any_host_name;
use crate::client::security::{Credential, SaslLogin};
use crate::serve::jaas;
use crate::serve::listeners::{Listener, Settings};
use crate::serve::tls;

/// The outbound security of inter-broker listener `l`.
pub(crate) fn configure(l: &Listener, s: &Settings) -> Result<InterBroker> {
    let tls = if l.protocol.tls() {
        Some(Arc::new(tls_config(&l.name, s)?))
    } else {
        None
    };
    let sasl = if l.protocol.sasl() {
        Some(login(&l.name, s)?)
    } else {
        None
    };
    Ok(InterBroker {
        listener: Some(l.name.clone()),
        tls,
        sasl,
    })
}

fn tls_config(listener: &str, s: &Settings) -> Result<ClientConfig> {
    let roots = tls::truststore(listener, s)?.with_context(|| {
        format!(
            "the inter-broker listener {listener} needs a trust store the other brokers' \
             certificates chain to (ssl.truststore.type=PEM with ssl.truststore.location or \
             ssl.truststore.certificates)"
        )
    })?;
    // The same `ring` provider as the listeners (see `tls::configure`).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("building the certificate verifier")?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&tls::versions(listener, s)?)
        .context("TLS protocol versions")?;
    let verify_host = match s
        .get(listener, "ssl.endpoint.identification.algorithm")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("https") => true,
        Some("") => false,
        Some(other) => bail!(
            "listener {listener}: ssl.endpoint.identification.algorithm `{other}` is not https \
             or empty"
        ),
    };
    let builder = if verify_host {
        builder.with_webpki_verifier(webpki)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(any_host_name(webpki))
    };
    // The listener's own certificate, for brokers whose listener requires
    // one (rustls offers it only when asked).
    let (chain, key) = tls::keystore(listener, s)?;
    builder
        .with_client_auth_cert(chain, key)
        .with_context(|| format!("listener {listener}: the key does not fit the certificate"))
}

fn login(listener: &str, s: &Settings) -> Result<SaslLogin> {
    let name = s
        .global("sasl.mechanism.inter.broker.protocol")
        .map(str::trim)
        .unwrap_or("GSSAPI");
    let mechanism = Mechanism::parse(name)
        .filter(|m| *m != Mechanism::OAuthBearer)
        .with_context(|| {
            format!(
                "sasl.mechanism.inter.broker.protocol is {name}: Spate's brokers authenticate to \
                 each other with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
            )
        })?;
    let enabled = s
        .get(listener, "sasl.enabled.mechanisms")
        .unwrap_or_default();
    if !enabled.split(',').any(|m| m.trim() == mechanism.name()) {
        bail!(
            "sasl.mechanism.inter.broker.protocol {} must be one of the inter-broker listener \
             {listener}'s sasl.enabled.mechanisms",
            mechanism.name()
        );
    }
    let key = format!("{}.sasl.jaas.config", mechanism.name().to_ascii_lowercase());
    let jaas = s.get(listener, &key).with_context(|| {
        format!(
            "the inter-broker listener {listener} needs the broker's own credentials: \
             listener.name.{}.{key} with username=\"...\" password=\"...\"",
            listener.to_ascii_lowercase()
        )
    })?;
    let module = jaas::parse(jaas).with_context(|| format!("listener {listener}: {key}"))?;
    match (
        module.options.get("username"),
        module.options.get("password"),
    ) {
        (Some(u), Some(p)) => Ok(SaslLogin {
            mechanism,
            credential: Credential::Password {
                username: u.clone(),
                password: p.clone(),
            },
        }),
        _ => bail!(
            "listener {listener}: {key} names no username and password, which the broker \
             authenticates to other brokers with"
        ),
    }
}
