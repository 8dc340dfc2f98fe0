//! How this broker reaches other brokers: every outbound broker-to-broker
//! connection (the replica fetcher's and the transaction markers' in
//! [`super::replica`], the controller's channels and a ControlledShutdown
//! in `cluster::sender`) is opened by [`InterBroker::connect`], with the
//! security of the inter-broker listener, as Kafka's brokers do:
//!
//! - the endpoint connected to is the target's on the inter-broker
//!   listener (Kafka's `inter.broker.listener.name`) when its
//!   registration names one ([`InterBroker::endpoint`]);
//! - SSL and SASL_SSL run TLS ([`config`]: the listener's trust store, its
//!   key store offered as the client certificate when the target asks for
//!   one, `ssl.endpoint.identification.algorithm`);
//! - SASL_PLAINTEXT and SASL_SSL then authenticate ([`sasl`]) with
//!   `sasl.mechanism.inter.broker.protocol` (PLAIN, SCRAM-SHA-256,
//!   SCRAM-SHA-512) as the `username` / `password` of the listener's
//!   `listener.name.<listener>.<mechanism>.sasl.jaas.config`.
//!
//! What is connected is then only a byte stream: the callers frame their
//! requests as before. The settings are made once at start
//! ([`config::configure`]) and travel with the broker that made them: to
//! the replica fetcher's connections, to the membership loop and from it
//! to the controller's channels and a controlled shutdown's request. There
//! is no process-wide copy, so brokers in one process (tests, an embedded
//! cluster) each keep their own. [`InterBroker::default`] (a single
//! broker, the cluster module's own tests) is plain TCP to a
//! registration's host and port.

pub(crate) mod config;
pub(crate) mod sasl;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::client::security::SaslLogin;
use crate::cluster::engine::BrokerInfo;

/// A connected stream to another broker: TCP, or TLS over it.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed [`Stream`].
pub(crate) type BrokerStream = Box<dyn Stream>;

/// The security of this broker's connections to other brokers.
#[derive(Clone, Default)]
pub(crate) struct InterBroker {
    /// The inter-broker listener's name; `None` connects to a
    /// registration's own host and port.
    pub listener: Option<String>,
    /// TLS, for SSL and SASL_SSL.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The SASL login, for SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<SaslLogin>,
}

impl std::fmt::Debug for InterBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterBroker")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

impl InterBroker {
    /// Where to reach broker `b`: its endpoint on the inter-broker
    /// listener, else its registration's host and port.
    pub fn endpoint(&self, b: &BrokerInfo) -> (String, i32) {
        self.listener
            .as_deref()
            .and_then(|l| b.endpoints.iter().find(|e| e.listener == l))
            .map_or_else(|| (b.host.clone(), b.port), |e| (e.host.clone(), e.port))
    }

    /// Connects to `host`:`port`, runs the TLS handshake and the SASL
    /// authentication the inter-broker listener needs, and returns the
    /// stream ready for requests. `client_id` names this broker in the
    /// SASL requests' headers. The caller bounds the time it may take.
    pub async fn connect(
        &self,
        host: &str,
        port: i32,
        client_id: &str,
    ) -> anyhow::Result<BrokerStream> {
        let port = u16::try_from(port).map_err(|_| anyhow!("bad port {port}"))?;
        let tcp = TcpStream::connect((host, port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        let _ = tcp.set_nodelay(true);
        let mut stream: BrokerStream = match &self.tls {
            Some(config) => {
                let name = ServerName::try_from(host.to_string())
                    .map_err(|e| anyhow!("`{host}` is not a host name for TLS: {e}"))?;
                let tls = TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .with_context(|| format!("TLS handshake with {host}:{port}"))?;
                Box::new(tls)
            }
            None => Box::new(tcp),
        };
        if let Some(login) = &self.sasl {
            sasl::authenticate(&mut stream, login, client_id)
                .await
                .with_context(|| format!("SASL authentication with {host}:{port}"))?;
        }
        Ok(stream)
    }
}
