//! [`Broker`]: a Spate broker inside a tokio runtime, for tests that want
//! a real Kafka broker without a process, a JVM or a container.
//!
//! ```no_run
//! # async fn demo() -> Result<(), spate::Error> {
//! let mut broker = spate::Broker::start(spate::BrokerConfig {
//!     topics: vec![spate::Topic::new("orders", 3)],
//!     ..Default::default()
//! })
//! .await?;
//! let bootstrap = broker.bootstrap(); // "127.0.0.1:PORT" for any Kafka client
//! # let _ = bootstrap;
//! broker.close().await?;
//! # Ok(()) }
//! ```
//!
//! It is the broker `spate serve` runs (the same listeners, owner loop
//! and storage), on one plaintext listener, in memory or in a directory.
//! Each `Broker` has its own settings: several run side by side in one
//! process.
//!
//! # Faults and control
//!
//! In the spirit of franz-go's `kfake`, a test can make the broker fail
//! the way a real one fails and see what its client sent:
//!
//! - [`Broker::inject_error`]: the next N requests of an API (naming a
//!   topic or partition, optionally) are answered with an error code, in a
//!   real response of that API and version;
//! - [`Broker::fail_appends`]: the next N produce appends fail, answered
//!   KAFKA_STORAGE_ERROR;
//! - [`Broker::delay`]: requests of an API are held before the broker sees
//!   them, so their responses come late;
//! - [`Broker::drop_connections`]: the next request of an API closes its
//!   connection unanswered;
//! - [`Broker::observe`] / [`Broker::observed`]: every request, decoded to
//!   JSON, as it arrived;
//! - [`BrokerConfig::virtual_clock`] and [`Broker::advance`]: time moves
//!   only when the test says, so a group's session timeout or a fetch's
//!   long poll expires exactly when advanced past.
//!
//! The first three and observing are the core's (`spate_core::broker`,
//! also driven by the WebAssembly build); delays and drops are this
//! driver's, as they are about sockets and time. Moving a partition's
//! leader needs a cluster of brokers: [`Cluster`] runs several in this
//! process over a ZooKeeper the test provides, and
//! [`Cluster::move_leader`] moves one as an operator does in Kafka.
//!
//! # Bindings
//!
//! The `spate` Python package (`python/`, PyO3) wraps this type, each
//! broker on a runtime of its own, with every control above. [`Error`]
//! says which I/O error was behind it ([`Error::io_kind`]), so that a
//! binding raises its language's own error for a busy port or a data
//! directory that is a file without reading the message.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use serde_json::Value;
use spate_core::broker::PeerInfo;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{RequestBody, ResponseBody};
use tokio::sync::{mpsc, oneshot};

pub use spate_core::broker::{ErrorFault, Named};
pub use spate_core::protocol::{ApiKey, ErrorCode};

mod cluster;

pub use cluster::{Cluster, ClusterConfig};

use crate::clock::{now_ms, Clock};
use crate::serve::faults::Control;
use crate::serve::{self, ConnOut, ConnTx, Input, Link, Running, ServeArgs};

/// Why an embedded broker could not start, or refused a control.
#[derive(Debug)]
pub struct Error {
    message: String,
    /// The kind and OS code of the I/O error behind it, if one is.
    io: Option<(std::io::ErrorKind, Option<i32>)>,
}

impl Error {
    /// An error with no I/O error behind it.
    fn msg(message: String) -> Error {
        Error { message, io: None }
    }

    /// The kind of the I/O error behind it (a busy port is
    /// [`std::io::ErrorKind::AddrInUse`], a data directory that is a file
    /// [`std::io::ErrorKind::NotADirectory`]), for a binding that raises
    /// its language's own error for each.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        self.io.map(|(k, _)| k)
    }

    /// The operating system's error code behind it, if any (as
    /// [`std::io::Error::raw_os_error`]).
    pub fn raw_os_error(&self) -> Option<i32> {
        self.io.and_then(|(_, code)| code)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        let io = e
            .chain()
            .find_map(|c| c.downcast_ref::<std::io::Error>())
            .map(|io| (io.kind(), io.raw_os_error()));
        Error {
            message: format!("{e:#}"),
            io,
        }
    }
}

/// Where an embedded broker keeps its logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Data {
    /// In memory: gone when the broker stops.
    #[default]
    Memory,
    /// In this directory, laid out like a Kafka log directory (created
    /// when missing; a broker started on it again finds its data).
    Dir(PathBuf),
}

/// A topic to create at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Its name.
    pub name: String,
    /// Its partition count.
    pub partitions: i32,
}

impl Topic {
    /// `name` with `partitions` partitions.
    pub fn new(name: impl Into<String>, partitions: i32) -> Topic {
        Topic {
            name: name.into(),
            partitions,
        }
    }
}

/// What an embedded broker is started with.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The host to listen on (default 127.0.0.1).
    pub host: String,
    /// The port; 0 (the default) takes a free one.
    pub port: u16,
    /// Memory (the default) or a directory.
    pub data: Data,
    /// Topics created before [`Broker::start`] returns (one that exists
    /// already, in a directory started again, is kept as it is).
    pub topics: Vec<Topic>,
    /// Kafka's `auto.create.topics.enable` (default on).
    pub auto_create_topics: bool,
    /// Other broker properties, as in a `server.properties`
    /// (`num.partitions`, `group.initial.rebalance.delay.ms`, ...). A key
    /// Spate does not use is an error.
    pub properties: Vec<(String, String)>,
    /// Start a virtual clock at this time (milliseconds since the Unix
    /// epoch): time then moves only by [`Broker::advance`].
    pub virtual_clock: Option<i64>,
}

impl Default for BrokerConfig {
    fn default() -> BrokerConfig {
        BrokerConfig {
            host: "127.0.0.1".into(),
            port: 0,
            data: Data::Memory,
            topics: Vec::new(),
            auto_create_topics: true,
            properties: Vec::new(),
            virtual_clock: None,
        }
    }
}

/// A broker running in this process. Close it with [`Broker::close`];
/// dropping it unclosed stops it too, without waiting.
pub struct Broker {
    running: Option<Running>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("addr", &self.addr)
            .field("running", &self.running.is_some())
            .finish()
    }
}

/// The connection id of the broker's own requests (topic creation at
/// start): far from the listeners' ids.
const OWN_CONN: u64 = u64::MAX - 1;

impl Broker {
    /// Starts a broker in the current tokio runtime and returns once it
    /// takes connections and `config.topics` exist.
    pub async fn start(config: BrokerConfig) -> Result<Broker, Error> {
        let mut text = String::new();
        let auto = config.auto_create_topics.to_string();
        let auto = ("auto.create.topics.enable".to_string(), auto);
        for (k, v) in config.properties.iter().chain(std::iter::once(&auto)) {
            if [k, v].iter().any(|s| s.contains(['\n', '\r'])) || k.contains('=') {
                return Err(Error::msg(format!("broker property `{k}`: a key has no `=` and neither key nor value a line break")));
            }
            text.push_str(&format!("{k}={v}\n"));
        }
        let dir = match config.data {
            Data::Memory => None,
            Data::Dir(d) => Some(d),
        };
        let host = &config.host;
        let listen = if host.contains(':') {
            format!("[{host}]:{}", config.port)
        } else {
            format!("{host}:{}", config.port)
        };
        let args = ServeArgs::embedded(listen, dir);
        let plan = serve::plan(&args, Some(&text), true)?;
        let clock = config
            .virtual_clock
            .map_or_else(Clock::default, Clock::virtual_at);
        let running = serve::open(plan, clock).await?;
        let addr = *running
            .addrs
            .first()
            .ok_or_else(|| Error::msg("no listener".into()))?;
        let broker = Broker {
            running: Some(running),
            addr,
        };
        if !config.topics.is_empty() {
            broker.create_topics(&config.topics, -1).await?;
        }
        Ok(broker)
    }

    /// `HOST:PORT` to give Kafka clients as `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops the broker: requests already received are answered, then the
    /// logs are flushed. Closing again does nothing.
    pub async fn close(&mut self) -> Result<(), Error> {
        match self.running.take() {
            Some(r) => r.shutdown().await.map_err(Error::msg),
            None => Ok(()),
        }
    }

    /// Closes as a member of a whole cluster closing: without moving
    /// leadership away first, as no broker stays to take it.
    pub(crate) async fn close_with_cluster(&mut self) -> Result<(), Error> {
        match self.running.take() {
            Some(mut r) => {
                r.skip_controlled_shutdown();
                r.shutdown().await.map_err(Error::msg)
            }
            None => Ok(()),
        }
    }

    fn running(&self) -> Result<&Running, Error> {
        self.running
            .as_ref()
            .ok_or_else(|| Error::msg("the broker is closed".into()))
    }

    /// Sends `make(answer)` to the owner loop and waits for the answer.
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Control) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.running()?
            .inputs
            .send(Input::Control(make(tx)))
            .map_err(|_| Error::msg("the broker stopped".into()))?;
        rx.await
            .map_err(|_| Error::msg("the broker stopped".into()))
    }

    /// Answers the next `fault.count` requests of `fault.api` (naming
    /// `fault.topic` / `fault.partition`, when given) with `fault.error`,
    /// in a real response of that API and version; they are not carried
    /// out. Refused for an API Spate has no error answer for.
    pub async fn inject_error(&self, fault: ErrorFault) -> Result<(), Error> {
        self.ask(|tx| Control::InjectError(fault, tx))
            .await?
            .map_err(|e| Error::msg(e.to_string()))
    }

    /// Fails the next `count` produce appends (to `topic` only, when
    /// given): the partitions are answered KAFKA_STORAGE_ERROR.
    pub async fn fail_appends(&self, count: u32, topic: Option<&str>) -> Result<(), Error> {
        let topic = topic.map(str::to_string);
        self.ask(|tx| Control::FailAppends(count, topic, tx)).await
    }

    /// Holds the next `count` requests of `api` (every one until
    /// [`Broker::clear_faults`], when `None`) for `by` before the broker
    /// sees them: their responses come that much later, and the
    /// connection's later requests wait behind them.
    pub fn delay(&self, api: ApiKey, by: Duration, count: Option<u32>) -> Result<(), Error> {
        self.running()?.faults.delay(api as i16, by, count);
        Ok(())
    }

    /// Closes the connection of each of the next `count` requests of
    /// `api`, unanswered, before the broker sees them.
    pub fn drop_connections(&self, api: ApiKey, count: u32) -> Result<(), Error> {
        self.running()?.faults.drop_connections(api as i16, count);
        Ok(())
    }

    /// Disarms every fault: injected errors, failing appends, delays and
    /// drops.
    pub async fn clear_faults(&self) -> Result<(), Error> {
        self.running()?.faults.clear();
        self.ask(Control::ClearFaults).await
    }

    /// Starts (`true`) or stops recording every request that arrives, for
    /// [`Broker::observed`].
    pub async fn observe(&self, on: bool) -> Result<(), Error> {
        self.ask(|tx| Control::Observe(on, tx)).await
    }

    /// The requests recorded since the last call, oldest first, each the
    /// JSON form of its frame (`{"api", "version", "header", "body",
    /// "conn"}`, as `spate decode --json` shows one).
    pub async fn observed(&self) -> Result<Vec<Value>, Error> {
        self.ask(Control::Observed).await
    }

    /// The broker's time, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.running.as_ref().map_or_else(now_ms, |r| r.clock.now())
    }

    /// Moves a virtual clock forward by `by` and returns once everything
    /// then due (session timeouts, long polls, rebalance delays) has been
    /// carried out. An error without [`BrokerConfig::virtual_clock`].
    pub async fn advance(&self, by: Duration) -> Result<(), Error> {
        let r = self.running()?;
        if !r.clock.is_virtual() {
            return Err(Error::msg(
                "the broker runs on the wall clock (no virtual_clock)".into(),
            ));
        }
        r.clock
            .advance(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
        self.ask(Control::Tick).await
    }

    /// Creates `topics` through the broker's own request path (a
    /// CreateTopics on a connection of its own), `replication_factor`
    /// replicas each (-1: the broker's `default.replication.factor`); one
    /// that exists is kept. In a cluster, only the controller creates
    /// topics ([`Cluster`] asks it).
    async fn create_topics(&self, topics: &[Topic], replication_factor: i16) -> Result<(), Error> {
        let body = RequestBody::CreateTopics(CreateTopicsRequest {
            topics: topics
                .iter()
                .map(|t| CreatableTopic {
                    name: ByteString::from(t.name.as_str()),
                    num_partitions: t.partitions,
                    replication_factor,
                    ..Default::default()
                })
                .collect(),
            timeout_ms: 30_000,
            ..Default::default()
        });
        let ResponseBody::CreateTopics(r) = self.own_request(body, 5).await? else {
            return Err(Error::msg("CreateTopics answered with another API".into()));
        };
        for t in &r.topics {
            let code = ErrorCode(t.error_code);
            if code != ErrorCode::NONE && code != ErrorCode::TOPIC_ALREADY_EXISTS {
                let why = t.error_message.as_deref().unwrap_or("");
                return Err(Error::msg(format!(
                    "creating topic {}: {code} {why}",
                    t.name
                )));
            }
        }
        Ok(())
    }

    /// Sends `body` at `version` on the broker's own connection and waits
    /// for the answer.
    async fn own_request(&self, body: RequestBody, version: i16) -> Result<ResponseBody, Error> {
        let r = self.running()?;
        let key = body.api_key();
        let header = RequestHeader {
            request_api_key: key as i16,
            request_api_version: version,
            correlation_id: 1,
            client_id: Some("spate-embedded".into()),
            ..Default::default()
        };
        let frame = encode_request(&header, &body).map_err(|e| Error::msg(e.to_string()))?;
        let frame: Bytes = frame.slice(4..);
        let (out_tx, mut out_rx) = mpsc::unbounded_channel();
        let peer = PeerInfo {
            addr: "embedded".into(),
            ..PeerInfo::default()
        };
        let stopped = || Error::msg("the broker stopped".into());
        let permit = r
            .budget
            .clone()
            .acquire_many_owned(1)
            .await
            .map_err(|_| stopped())?;
        r.inputs
            .send(Input::Connect(
                OWN_CONN,
                peer,
                ConnTx::new(out_tx, Link::new()),
            ))
            .map_err(|_| stopped())?;
        r.inputs
            .send(Input::Frame(OWN_CONN, frame, permit))
            .map_err(|_| stopped())?;
        let answer = out_rx.recv().await;
        let _ = r.inputs.send(Input::Disconnect(OWN_CONN));
        let Some(ConnOut::Frame(chunks)) = answer else {
            return Err(Error::msg(format!(
                "the broker closed its own {} request",
                key.name()
            )));
        };
        let bytes = chunks.concat();
        let (_, answer) = decode_response(&Bytes::from(bytes).slice(4..), key, version)
            .map_err(|e| Error::msg(format!("decoding the {} answer: {e}", key.name())))?;
        Ok(answer)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop_now();
        }
    }
}

#[cfg(test)]
mod tests;
