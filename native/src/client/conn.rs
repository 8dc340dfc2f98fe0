//! [`Connection`]: one blocking TCP connection to a Kafka-compatible broker.
//!
//! Opening a connection sends ApiVersions first; every later request goes
//! out at the highest version both sides support, capped at the versions
//! this client is tested with ([`client_range`]). Requests are sent one at a
//! time: write a frame, read the answer, check its correlation id.
//!
//! With a [`ClientSecurity`], the socket is wrapped in TLS before the first
//! byte and SASL authenticates right after ApiVersions (see
//! [`super::security`]).
//!
//! # Re-authentication (KIP-368)
//!
//! When the broker gives the SASL session a lifetime
//! (`connections.max.reauth.ms`, or an OAuth token's expiry), it closes a
//! connection that sends anything but a re-authentication after it ends.
//! So, as Kafka's Java client does, the connection picks a random point
//! between 85% and 95% of the lifetime and, at the first request after
//! it, runs SaslHandshake and SaslAuthenticate again on the same socket
//! before sending that request.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::security::{sasl, tls, ClientSecurity, SaslLogin};

/// How long to wait for a connection or an answer before giving up.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest response frame accepted (a sanity bound against garbage).
const MAX_FRAME: usize = 256 << 20;

/// The client id sent in every request header.
const CLIENT_ID: &str = "spate-cli";

/// The versions of `key` this client can speak: the oldest its code knows
/// how to fill in and the newest it is tested with. `None` for APIs the
/// client does not use.
pub(crate) fn client_range(key: ApiKey) -> Option<(i16, i16)> {
    Some(match key {
        ApiKey::ApiVersions => (0, 3),
        // v13 names topics by id only.
        ApiKey::Produce => (3, 12),
        // v0 takes no producer id to bump; the idempotent producer of
        // `connect` asks for a new one.
        ApiKey::InitProducerId => (0, 4),
        // v13 and later name topics by id only.
        ApiKey::Fetch => (4, 12),
        ApiKey::ListOffsets => (1, 8),
        ApiKey::Metadata => (1, 12),
        ApiKey::CreateTopics => (0, 7),
        ApiKey::DeleteTopics => (0, 6),
        ApiKey::ElectLeaders => (0, 2),
        // v1 (KIP-860) can refuse a replica count change; we never ask it to.
        ApiKey::AlterPartitionReassignments => (0, 1),
        ApiKey::ListPartitionReassignments => (0, 0),
        ApiKey::DescribeConfigs => (0, 4),
        // `spate top`'s partition sizes.
        ApiKey::DescribeLogDirs => (0, 4),
        ApiKey::IncrementalAlterConfigs => (0, 1),
        // v4 and later look up a batch of keys.
        ApiKey::FindCoordinator => (0, 6),
        // v1 adds the rebalance timeout, which a member needs.
        ApiKey::JoinGroup => (1, 9),
        ApiKey::SyncGroup => (0, 5),
        ApiKey::Heartbeat => (0, 4),
        ApiKey::LeaveGroup => (0, 5),
        // v2 stores with the broker's retention; v10 names topics by id only.
        ApiKey::OffsetCommit => (2, 9),
        // v2 fetches every partition of a group; v10 names topics by id only.
        ApiKey::OffsetFetch => (2, 9),
        ApiKey::DescribeGroups => (0, 6),
        ApiKey::ListGroups => (0, 5),
        ApiKey::DeleteGroups => (0, 2),
        ApiKey::OffsetDelete => (0, 0),
        ApiKey::ConsumerGroupDescribe => (0, 1),
        // v1 adds the duration filter, v2 a transactional id pattern.
        ApiKey::ListTransactions => (0, 2),
        ApiKey::DescribeTransactions => (0, 0),
        ApiKey::DescribeProducers => (0, 0),
        // Sent by `transactions abort`, as Kafka's admin client does.
        ApiKey::WriteTxnMarkers => (0, 1),
        // v0 sends the SASL tokens as raw frames; v1 wraps them in
        // SaslAuthenticate, which this client uses.
        ApiKey::SaslHandshake => (1, 1),
        ApiKey::SaslAuthenticate => (0, 2),
        ApiKey::CreateAcls => (1, 3),
        ApiKey::DescribeAcls => (1, 3),
        ApiKey::DeleteAcls => (1, 3),
        ApiKey::DescribeUserScramCredentials => (0, 0),
        ApiKey::AlterUserScramCredentials => (0, 0),
        _ => return None,
    })
}

/// What a broker said it supports for one API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct BrokerApi {
    /// The API key number.
    pub(crate) key: i16,
    /// Oldest version supported.
    pub(crate) min: i16,
    /// Newest version supported.
    pub(crate) max: i16,
}

/// The socket, plain or in TLS.
#[derive(Debug)]
enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP (boxed: rustls's state is large).
    Tls(Box<tls::TlsStream>),
}

impl Stream {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A connection to one broker, its API versions known.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The socket.
    stream: Stream,
    /// The address it was opened to, as given.
    addr: String,
    /// The next correlation id.
    next_correlation: i32,
    /// The broker's ApiVersions answer, by key.
    apis: BTreeMap<i16, BrokerApi>,
    /// The SASL login, kept for re-authentication.
    login: Option<SaslLogin>,
    /// When to re-authenticate, if the session has a lifetime.
    reauth_at: Option<Instant>,
}

impl Connection {
    /// Connects to `addr` (`host:port`), in TLS when `security` says so,
    /// asks for its API versions, then authenticates with SASL when
    /// `security` says so.
    pub(crate) fn open(addr: &str, security: &ClientSecurity) -> anyhow::Result<Connection> {
        let mut last = None;
        let addrs = addr
            .to_socket_addrs()
            .with_context(|| format!("resolving {addr}"))?;
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, IO_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(e).with_context(|| format!("connecting to {addr}")),
            (None, None) => bail!("{addr} resolves to no address"),
        };
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let stream = match &security.tls {
            Some(config) => {
                let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                Stream::Tls(Box::new(tls::connect(config, host, stream)?))
            }
            None => Stream::Plain(stream),
        };
        let mut conn = Connection {
            stream,
            addr: addr.to_string(),
            next_correlation: 1,
            apis: BTreeMap::new(),
            login: security.sasl.clone(),
            reauth_at: None,
        };
        conn.api_versions()?;
        conn.authenticate()?;
        Ok(conn)
    }

    /// Authenticates with the SASL login, if any, and schedules the next
    /// re-authentication from the session lifetime the broker answers.
    fn authenticate(&mut self) -> anyhow::Result<()> {
        let Some(login) = self.login.clone() else {
            return Ok(());
        };
        let lifetime_ms = sasl::authenticate(self, &login)?;
        self.reauth_at = (lifetime_ms > 0).then(|| Instant::now() + reauth_delay(lifetime_ms));
        Ok(())
    }

    /// Re-authenticates if the point picked in the session has passed.
    fn reauthenticate_if_due(&mut self, key: ApiKey) -> anyhow::Result<()> {
        if matches!(key, ApiKey::SaslHandshake | ApiKey::SaslAuthenticate) {
            return Ok(());
        }
        if self.reauth_at.is_some_and(|at| Instant::now() >= at) {
            self.authenticate()
                .with_context(|| format!("re-authenticating with {}", self.addr))?;
        }
        Ok(())
    }

    /// How long to wait for an answer: requests the broker parks (JoinGroup,
    /// SyncGroup) need longer than the default 30 s.
    pub(crate) fn set_read_timeout(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.stream
            .tcp()
            .set_read_timeout(Some(timeout.max(IO_TIMEOUT)))
            .context("setting a read timeout")
    }

    /// The address this connection was opened to.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The APIs the broker supports, by key.
    pub(crate) fn broker_apis(&self) -> impl Iterator<Item = &BrokerApi> {
        self.apis.values()
    }

    /// Whether the broker lists `key` in its ApiVersions answer.
    pub(crate) fn supports(&self, key: ApiKey) -> bool {
        self.apis.contains_key(&(key as i16))
    }

    /// The version to send `key` at: the highest both sides support.
    pub(crate) fn version(&self, key: ApiKey) -> anyhow::Result<i16> {
        let (lo, hi) =
            client_range(key).ok_or_else(|| anyhow!("this client does not use {}", key.name()))?;
        let api = self.apis.get(&(key as i16)).ok_or_else(|| {
            anyhow!(
                "the broker at {} does not support {} (not in its ApiVersions)",
                self.addr,
                key.name()
            )
        })?;
        let v = hi.min(api.max);
        if v < lo || v < api.min {
            bail!(
                "no common version of {}: the broker at {} speaks {}-{}, this client {lo}-{hi}",
                key.name(),
                self.addr,
                api.min,
                api.max
            );
        }
        Ok(v)
    }

    /// Sends ApiVersions (v3, or v0 when the broker refuses v3) and keeps
    /// the answer.
    fn api_versions(&mut self) -> anyhow::Result<()> {
        let body = RequestBody::ApiVersions(ApiVersionsRequest {
            client_software_name: ByteString::from_static(CLIENT_ID),
            client_software_version: ByteString::from_static(env!("CARGO_PKG_VERSION")),
            ..Default::default()
        });
        let mut resp = None;
        for version in [3, 0] {
            let frame = self.exchange(&body, version)?;
            // A broker that does not know the version answers in v0's shape
            // with UNSUPPORTED_VERSION.
            let decoded = decode_response(&frame, ApiKey::ApiVersions, version)
                .or_else(|_| decode_response(&frame, ApiKey::ApiVersions, 0));
            let (_, decoded) = decoded.context("decoding the ApiVersions response")?;
            let ResponseBody::ApiVersions(r) = decoded else {
                bail!("ApiVersions answered with another API");
            };
            if ErrorCode(r.error_code) == ErrorCode::UNSUPPORTED_VERSION && version != 0 {
                continue;
            }
            resp = Some(r);
            break;
        }
        let resp = resp.ok_or_else(|| anyhow!("the broker refused ApiVersions"))?;
        if resp.error_code != 0 {
            bail!("ApiVersions failed: {}", ErrorCode(resp.error_code));
        }
        self.apis = resp
            .api_keys
            .iter()
            .map(|a| {
                let api = BrokerApi {
                    key: a.api_key,
                    min: a.min_version,
                    max: a.max_version,
                };
                (a.api_key, api)
            })
            .collect();
        Ok(())
    }

    /// Sends `body` at the negotiated version and returns the decoded answer.
    pub(crate) fn send(&mut self, body: RequestBody) -> anyhow::Result<ResponseBody> {
        let key = body.api_key();
        self.reauthenticate_if_due(key)?;
        let version = self.version(key)?;
        let frame = self.exchange(&body, version)?;
        let (_, resp) = decode_response(&frame, key, version)
            .with_context(|| format!("decoding the {} v{version} response", key.name()))?;
        Ok(resp)
    }

    /// Sends `body` without waiting for an answer (Produce with acks=0,
    /// which a broker does not answer).
    pub(crate) fn send_only(&mut self, body: RequestBody) -> anyhow::Result<()> {
        self.reauthenticate_if_due(body.api_key())?;
        let version = self.version(body.api_key())?;
        self.write_request(&body, version).map(|_| ())
    }

    /// Writes a request; returns its correlation id.
    fn write_request(&mut self, body: &RequestBody, version: i16) -> anyhow::Result<i32> {
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let header = RequestHeader {
            request_api_key: body.api_key() as i16,
            request_api_version: version,
            correlation_id,
            client_id: Some(ByteString::from_static(CLIENT_ID)),
            ..Default::default()
        };
        let frame = encode_request(&header, body)
            .with_context(|| format!("encoding a {} v{version} request", body.api_key().name()))?;
        self.stream
            .write_all(&frame)
            .and_then(|()| self.stream.flush())
            .with_context(|| format!("writing to {}", self.addr))?;
        Ok(correlation_id)
    }

    /// Writes a request and reads its answer frame (size prefix removed),
    /// checking the correlation id.
    fn exchange(&mut self, body: &RequestBody, version: i16) -> anyhow::Result<Bytes> {
        let correlation_id = self.write_request(body, version)?;
        let frame = self.read_frame()?;
        let got = frame
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if got != Some(correlation_id) {
            bail!(
                "{} answered correlation id {got:?}, expected {correlation_id}",
                self.addr
            );
        }
        Ok(frame)
    }

    /// Reads one size-prefixed frame and returns it without the prefix.
    fn read_frame(&mut self) -> anyhow::Result<Bytes> {
        let ctx = || format!("reading from {}", self.addr);
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).with_context(ctx)?;
        let size = i32::from_be_bytes(size);
        let size = usize::try_from(size)
            .ok()
            .filter(|&n| n <= MAX_FRAME)
            .ok_or_else(|| anyhow!("{} sent a frame of size {size}", self.addr))?;
        let mut buf = vec![0u8; size];
        self.stream.read_exact(&mut buf).with_context(ctx)?;
        Ok(Bytes::from(buf))
    }
}

/// When to re-authenticate in a session of `lifetime_ms`: at a random
/// point between 85% and 95% of it, as Kafka's Java client picks.
fn reauth_delay(lifetime_ms: i64) -> Duration {
    let mut r = [0u8; 4];
    // Without randomness the middle of the window serves as well.
    let fraction = match getrandom::getrandom(&mut r) {
        Ok(()) => f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    };
    reauth_delay_at(lifetime_ms, fraction)
}

/// [`reauth_delay`] with its random `fraction` in `[0, 1]` given.
fn reauth_delay_at(lifetime_ms: i64, fraction: f64) -> Duration {
    let share = 0.85 + 0.10 * fraction.clamp(0.0, 1.0);
    Duration::from_millis((lifetime_ms.max(0) as f64 * share) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reauthentication_falls_between_85_and_95_percent() {
        assert_eq!(reauth_delay_at(10_000, 0.0), Duration::from_millis(8_500));
        assert_eq!(reauth_delay_at(10_000, 1.0), Duration::from_millis(9_500));
        assert_eq!(reauth_delay_at(10_000, 0.5), Duration::from_millis(9_000));
        for _ in 0..100 {
            let d = reauth_delay(2_000);
            assert!(
                d >= Duration::from_millis(1_700) && d <= Duration::from_millis(1_900),
                "{d:?}"
            );
        }
    }
}
