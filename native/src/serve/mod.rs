//! `spate serve`: the broker on TCP.
//!
//! One task owns the [`Broker`]; connection tasks do the framing. A reader
//! task per connection cuts the byte stream into frames (4-byte size, then
//! the frame) and sends them to the owner once the frames waiting for the
//! owner leave room for it, reading nothing more meanwhile
//! ([`IN_FLIGHT_BYTES`]: a producer faster than the disk meets TCP
//! backpressure, not a growing queue); slow, stuck and idle clients are
//! bounded and closed as module `link` says. The owner applies every input, drains the broker's outputs to
//! the connections' writer tasks, and sleeps until the broker's next deadline or the next
//! input. Writers send each
//! response's chunks with vectored writes, so fetched record batches go from
//! storage to the socket without being copied into a response buffer.
//!
//! In a ZooKeeper cluster the broker also talks to other brokers as a
//! follower: the owner hands each `Output::Replica` to [`replica`], which
//! keeps one outbound connection per leader and sends the answer (or the
//! failure) back to the owner as an input; as a transaction coordinator
//! it hands each `Output::TxnMarkers` to a second set of those
//! connections, apart from the fetches.
//!
//! With `--metrics HOST:PORT` (module `metrics`) an HTTP server answers
//! `GET /metrics`: the owner renders the core's counters and gauges and
//! its own request-time histograms when asked over its input channel.
//!
//! With `SPATE_LOG=...,spate::request=debug` the owner also writes the
//! request log (module `reqlog`): one event per completed request, paired
//! with its arrival as the request timer pairs them. `--log-format json`
//! (module `crate::logging`) makes every log line a JSON object.

mod carry;
mod conn;
mod console;
pub(crate) mod faults;
mod inspect;
pub(crate) mod jaas;
mod link;
pub(crate) mod listeners;
mod metrics;
pub(crate) mod outbound;
mod owner;
mod playground;
mod principal;
mod props;
mod quota;
mod replica;
mod reqlog;
mod secret;
mod spares;
mod start;
pub(crate) mod tls;

use start::start;
pub(crate) use start::Running;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use clap::Args;
use spate_core::broker::{Broker, Config, ConnId, Endpoint, Output, PeerInfo};
use spate_core::broker::{OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use spate_core::coordinator::controller::LeaderIsr;
use spate_core::protocol::ErrorCode;
use spate_core::storage::{MemStorage, Storage};

use crate::cluster::zookeeper::{ZkConfig, ZooKeeper};
use crate::cluster::{self, BrokerInfo, Joining, News};
use crate::storage::{FileStorage, MetaProperties, Options as StorageOptions};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, error, info, warn};

pub(crate) use conn::ConnOut;
pub(crate) use link::{ConnTx, Link};

/// Run the broker: Kafka clients connect to it as to Kafka.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// A Kafka `server.properties` file; the keys Spate understands are
    /// used, the others reported once.
    #[arg(value_name = "SERVER_PROPERTIES")]
    properties: Option<PathBuf>,
    /// A listener, `[NAME://]HOST:PORT` (repeatable; replaces the
    /// properties' `listeners`; a bare address is `PLAINTEXT`). Port 0
    /// picks a free port.
    #[arg(long = "listen", value_name = "[NAME://]HOST:PORT")]
    listen: Vec<String>,
    /// Address clients are told to connect to, `[NAME://]HOST:PORT[,...]`
    /// (replaces `advertised.listeners`; a bare address is the first
    /// listener's). Default: each listener's own address.
    #[arg(long, value_name = "[NAME://]HOST:PORT")]
    advertised: Option<String>,
    /// This broker's node id.
    #[arg(long, value_name = "N")]
    node_id: Option<i32>,
    /// Where logs live, laid out like a Kafka log directory (default
    /// `./spate-data`, or `log.dirs` from the properties file).
    #[arg(long, value_name = "DIR", conflicts_with = "memory")]
    data_dir: Option<PathBuf>,
    /// Keep data in memory only (nothing is written to disk).
    #[arg(long)]
    memory: bool,
    /// When to fsync: `always` (every produce is on disk before it is
    /// acknowledged; one fsync covers everything handled in one pass),
    /// `interval:MS`, or `never` (the OS decides).
    #[arg(long, value_name = "POLICY", default_value = "always")]
    fsync: FsyncPolicy,
    /// Also serve the browser playground (`web/`) over HTTP at this
    /// address (`scripts/run` uses 127.0.0.1:8080). Off when not given.
    #[arg(long, value_name = "HOST:PORT")]
    playground: Option<String>,
    /// The playground's directory (default `./web`, else the repository's).
    #[arg(long, value_name = "DIR", requires = "playground")]
    web_dir: Option<PathBuf>,
    /// Stream every frame clients send and receive to the playground page
    /// over a WebSocket (`/inspect`), for learning. Local only: the
    /// playground must listen on a loopback address.
    #[arg(long, requires = "playground")]
    inspect: bool,
    /// Show a live console of the broker in the playground page: topics,
    /// offsets, groups and their lag, rates and recent records, asked for
    /// in Kafka requests the page sends through `/console` (reads only).
    /// Local only, as `--inspect`.
    #[arg(long, requires = "playground")]
    console: bool,
    /// Where `--console` sends the page's requests: any Kafka broker's
    /// PLAINTEXT address (default: this broker's first PLAINTEXT listener).
    #[arg(long, value_name = "HOST:PORT", requires = "console")]
    console_bootstrap: Option<String>,
    /// Join a cluster coordinated by ZooKeeper at this address
    /// (`zookeeper.connect`): register, take part in the controller
    /// election, lead and follow partitions as the controller says, and
    /// replicate them.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...][/CHROOT]")]
    zookeeper: Option<String>,
    /// Serve Prometheus metrics over HTTP at this address, `GET /metrics`
    /// (replaces the properties' `metrics.listener`). Off when not given.
    #[arg(long, value_name = "HOST:PORT")]
    metrics: Option<String>,
    /// How logs are written to stderr: `text` lines, or `json`, one
    /// object per line (for log shippers). `SPATE_LOG` filters them;
    /// `SPATE_LOG=info,spate::request=debug` adds a line per request.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    log_format: crate::logging::LogFormat,
}

impl ServeArgs {
    /// An embedded broker's: one listener, `listen`, with data in `dir`
    /// (in memory when `None`).
    pub(crate) fn embedded(listen: String, dir: Option<PathBuf>) -> ServeArgs {
        ServeArgs {
            properties: None,
            listen: vec![listen],
            advertised: None,
            node_id: None,
            memory: dir.is_none(),
            data_dir: dir,
            fsync: FsyncPolicy::Always,
            playground: None,
            web_dir: None,
            inspect: false,
            console: false,
            console_bootstrap: None,
            zookeeper: None,
            metrics: None,
            log_format: crate::logging::LogFormat::Text,
        }
    }
}

/// When appended data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FsyncPolicy {
    /// Before any response of a pass is sent.
    Always,
    /// Every this many milliseconds.
    Interval(u64),
    /// Never explicitly.
    Never,
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            _ => s
                .strip_prefix("interval:")
                .and_then(|ms| ms.parse().ok())
                .filter(|ms| *ms > 0)
                .map(FsyncPolicy::Interval)
                .ok_or_else(|| format!("`{s}` is not always, never or interval:MS")),
        }
    }
}

/// Storage the owner task can hold: [`Storage`]'s `flush`, `tick` and
/// `close` are the driver's durability hooks, and [`Store::begin_flush`]
/// lets the owner keep working while the disk does.
pub(crate) trait Store: Storage<Error = Self::Fault> + Send + 'static {
    /// [`Storage::Error`], sendable between tasks.
    type Fault: std::error::Error + Send + Sync + 'static;

    /// Starts making everything appended so far durable: returns the
    /// work left (fsyncs) to run off the owner's thread, or `None` when it
    /// is durable already. No other flush starts, and the store is not
    /// closed, before that work is done. The default flushes here.
    fn begin_flush(&mut self) -> Result<Option<SyncWork<Self::Fault>>, Self::Fault> {
        self.flush().map(|()| None)
    }
}

/// The rest of a flush, run on a blocking thread ([`Store::begin_flush`]).
pub(crate) type SyncWork<E> = Box<dyn FnOnce() -> Result<(), E> + Send>;

impl Store for MemStorage {
    type Fault = <MemStorage as Storage>::Error;
}

impl Store for FileStorage {
    type Fault = crate::storage::FileError;

    /// The active segments' log fsyncs go to another thread
    /// ([`FileStorage::begin_sync`]).
    fn begin_flush(&mut self) -> Result<Option<SyncWork<Self::Fault>>, Self::Fault> {
        Ok(self
            .begin_sync()?
            .map(|p| Box::new(move || p.run()) as SyncWork<Self::Fault>))
    }
}

/// Settings from the command line and the properties file, merged.
struct Settings {
    /// The listeners to bind, in order.
    listeners: Vec<listeners::Listener>,
    /// The TLS of each SSL and SASL_SSL listener, by name.
    tls: HashMap<String, tls::Tls>,
    /// `--playground` address and the directory it serves.
    playground: Option<(String, PathBuf)>,
    /// `--inspect`: where the owner loop publishes frames.
    tap: Option<inspect::Tap>,
    /// `--console`, with `--console-bootstrap` if given (else the first
    /// PLAINTEXT listener, known once bound).
    console: Option<Option<String>>,
    /// `--metrics` (or `metrics.listener`): where `/metrics` is served.
    metrics: Option<String>,
    config: Config,
    max_request_bytes: usize,
    /// `connections.max.idle.ms`.
    idle: Duration,
    fsync: FsyncPolicy,
    /// `controlled.shutdown.*` (ZooKeeper mode).
    controlled_shutdown: cluster::shutdown::ShutdownConfig,
    /// `auto.leader.rebalance.enable` and `leader.imbalance.*`.
    rebalance: cluster::rebalance::RebalanceConfig,
    /// How this broker connects to other brokers (plain TCP on its own).
    inter_broker: Arc<outbound::InterBroker>,
    /// The inter-broker listener's name (never held back by
    /// `max.connections` when there are several listeners).
    inter_broker_listener: String,
    /// `max.connections*` from server.properties.
    connections: quota::Written,
}

/// A seed for the ids the core makes up (topic ids, fetch session ids,
/// member ids) that differs between processes: brokers of one cluster
/// must not make up the same topic id (a topic created through one broker
/// and a topic another created on its own would be one topic to clients
/// that ask by id). Drawn from the OS's randomness, through the standard
/// library's hash keys, with the time and process id mixed in.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// `spate serve`: serves until SIGINT or SIGTERM.
pub(crate) fn run(args: ServeArgs) -> Result<ExitCode> {
    // The ZooKeeper client narrates its reconnects (and the close of a
    // session, as if it were a failure); the cluster module reports what
    // matters.
    crate::logging::init(args.log_format, "info,zookeeper_client=error");
    let text = match &args.properties {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let plan = plan(&args, text.as_deref(), false)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let signalled = shutdown_signal();
        let running = open(plan, Clock::default()).await?;
        for a in &running.addrs {
            // Printed on stdout so scripts (and tests) can find a port
            // chosen with :0, one line per listener in `listeners` order.
            // A reader that stopped reading (a test that wanted the first
            // line) must not stop the broker: a failed write is ignored.
            let _ = writeln!(std::io::stdout(), "listening on {a}");
        }
        // After the listeners' lines: tests and scripts read those first.
        if let Some(a) = running.metrics {
            let _ = writeln!(std::io::stdout(), "metrics on http://{a}/metrics");
        }
        signalled.await;
        // A failure to close the logs is logged; the next start recovers.
        let _ = running.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A broker's settings, worked out before anything starts.
pub(crate) struct Plan {
    settings: Settings,
    /// The data directory; `None`: in memory.
    dir: Option<PathBuf>,
    zookeeper: Option<ZkConfig>,
}

/// Works out a broker's settings from `args` and `properties` (the text
/// of a `server.properties`). `strict`: a key Spate does not use is an
/// error, not a warning (an embedded broker's caller wants to know).
pub(crate) fn plan(args: &ServeArgs, properties: Option<&str>, strict: bool) -> Result<Plan> {
    let mut config = Config {
        seed: random_seed(),
        ..Config::default()
    };
    let mut listen = None;
    let mut advertised = None;
    let mut security = listeners::Settings::default();
    let mut max_request_bytes = 104_857_600;
    // Kafka's default: 10 minutes.
    let mut idle = Duration::from_millis(600_000);
    let mut log_dir = None;
    let mut zookeeper: Option<ZkConfig> = None;
    let mut controlled_shutdown = cluster::shutdown::ShutdownConfig::default();
    let mut rebalance = cluster::rebalance::RebalanceConfig::default();
    let mut metrics = None;
    let mut connections = quota::Written::default();
    if let Some(text) = properties {
        let p = props::apply(text, &mut config)?;
        if strict && !p.unknown.is_empty() {
            anyhow::bail!("unknown broker properties: {}", p.unknown.join(", "));
        }
        for key in &p.unknown {
            warn!(key = %key, "server.properties key not used by Spate");
        }
        controlled_shutdown = p.controlled_shutdown;
        metrics = p.metrics_listener;
        connections = p.connections;
        rebalance = p.rebalance;
        listen = p.listeners;
        advertised = p.advertised;
        security = p.security;
        if let Some(ms) = p.connections_max_idle_ms {
            idle = Duration::from_millis(ms);
        }
        if let Some(m) = p.socket_request_max_bytes {
            max_request_bytes = m;
        }
        log_dir = p.log_dir.map(PathBuf::from);
        zookeeper = p.zookeeper_connect.map(|connect| {
            let mut z = ZkConfig::new(connect);
            if let Some(ms) = p.zookeeper_session_timeout_ms {
                z.session_timeout = Duration::from_millis(ms);
            }
            // Kafka's default: as long as the session timeout.
            z.connection_timeout = p
                .zookeeper_connection_timeout_ms
                .map_or(z.session_timeout, Duration::from_millis);
            z
        });
    }
    if let Some(connect) = &args.zookeeper {
        match zookeeper.as_mut() {
            Some(z) => z.connect = connect.clone(),
            None => zookeeper = Some(ZkConfig::new(connect.clone())),
        }
    }
    // To the core, a ZooKeeper ensemble means the broker is one of a
    // coordinated cluster (inter-broker APIs served).
    config.zk_mode = zookeeper.is_some();
    if !args.listen.is_empty() {
        listen = Some(args.listen.join(","));
    }
    let listen = listen.unwrap_or_else(|| "PLAINTEXT://127.0.0.1:9092".into());
    if let Some(a) = &args.advertised {
        advertised = Some(listeners::name_bare(a, &listen)?);
    }
    let plan = listeners::plan(&listen, advertised.as_deref(), &security, config.zk_mode)?;
    config.security = plan.security.clone();
    // The core names other brokers' endpoints by this listener (the one
    // replicas fetch over); on its own, a broker needs no inter-broker
    // listener, and the first stands in.
    config.listener_name = if plan.listeners.iter().any(|l| l.name == plan.inter_broker) {
        plan.inter_broker.clone()
    } else {
        plan.listeners[0].name.clone()
    };
    // In a cluster, this broker's connections to the others take the
    // inter-broker listener's security (TLS, SASL).
    let inter = plan.listeners.iter().find(|l| l.name == plan.inter_broker);
    let inter_broker = match inter.filter(|_| config.zk_mode) {
        Some(l) => outbound::config::configure(l, &security)?,
        None => outbound::InterBroker::default(),
    };
    let mut tls_of = HashMap::new();
    for l in plan.listeners.iter().filter(|l| l.protocol.tls()) {
        tls_of.insert(l.name.clone(), tls::configure(&l.name, &security)?);
    }
    if let Some(n) = args.node_id {
        config.node_id = n;
    }
    let playground = args
        .playground
        .clone()
        .map(|a| (a, playground::web_dir(args.web_dir.clone())));
    let settings = Settings {
        listeners: plan.listeners,
        tls: tls_of,
        playground,
        tap: args.inspect.then(inspect::Tap::new),
        console: args.console.then(|| args.console_bootstrap.clone()),
        metrics: args.metrics.clone().or(metrics),
        config,
        max_request_bytes,
        idle,
        fsync: args.fsync,
        controlled_shutdown,
        rebalance,
        inter_broker: Arc::new(inter_broker),
        inter_broker_listener: plan.inter_broker.clone(),
        connections,
    };
    let dir = (!args.memory).then(|| {
        args.data_dir
            .clone()
            .or(log_dir)
            .unwrap_or_else(|| PathBuf::from("spate-data"))
    });
    Ok(Plan {
        settings,
        dir,
        zookeeper,
    })
}

/// Starts the broker `plan` describes, on `clock`'s time: joins the
/// cluster (when ZooKeeper is configured), opens the data directory (or
/// memory) and serves.
pub(crate) async fn open(plan: Plan, clock: Clock) -> Result<Running> {
    let Plan {
        mut settings,
        dir,
        zookeeper,
    } = plan;
    if let Some(d) = dir.as_deref().filter(|d| d.exists() && !d.is_dir()) {
        // An io::Error, so that the embedded broker's callers can tell it
        // apart (`spate::Error::io_kind`).
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("the data directory {} is not a directory", d.display()),
        )
        .into());
    }
    settings.config.security.scram_mock_secret = secret::scram_mock_secret(dir.as_deref())?;
    let joining = match &zookeeper {
        Some(zk) => Some(connect_cluster(zk, dir.as_deref(), &mut settings).await?),
        None => None,
    };
    let Some(dir) = dir else {
        return start(settings, MemStorage::new(), joining, clock).await;
    };
    let options = StorageOptions {
        node_id: settings.config.node_id,
        segment_bytes: settings.config.log_segment_bytes.max(1) as u64,
        cluster_id: joining.as_ref().map(|j| j.cluster_id().to_string()),
        ..StorageOptions::default()
    };
    let storage = FileStorage::open(&dir, options)
        .with_context(|| format!("opening the data directory {}", dir.display()))?;
    info!(dir = %dir.display(), cluster = %storage.meta().cluster_id, "logs on disk");
    // The cluster id is the data directory's (meta.properties), as in Kafka;
    // in a ZooKeeper cluster they were checked to be the same.
    settings.config.cluster_id = storage.meta().cluster_id.clone();
    // DescribeLogDirs names it as Kafka does: the absolute path.
    settings.config.log_dir = std::path::absolute(&dir)
        .unwrap_or_else(|_| dir.clone())
        .display()
        .to_string();
    start(settings, storage, joining, clock).await
}

/// Opens the ZooKeeper session and settles the cluster id, as a Kafka
/// broker does before it loads its logs: the stored one, else the data
/// directory's, else a new one. A data directory of another cluster is
/// refused.
async fn connect_cluster(
    zk: &ZkConfig,
    dir: Option<&std::path::Path>,
    settings: &mut Settings,
) -> Result<Joining<ZooKeeper>> {
    if settings.config.node_id < 0 {
        anyhow::bail!(
            "broker.id is {}: a broker in a ZooKeeper cluster needs its own broker.id of 0 or more \
             (Spate does not generate ids)",
            settings.config.node_id
        );
    }
    let stored = match dir {
        Some(d) => MetaProperties::peek(d)
            .with_context(|| format!("reading {}", d.join("meta.properties").display()))?,
        None => None,
    };
    let proposed = stored.as_ref().map_or_else(
        || crate::storage::random_uuid().to_string(),
        |m| m.cluster_id.clone(),
    );
    info!(connect = %zk.connect, "connecting to ZooKeeper");
    let joining = cluster::connect::<ZooKeeper>(zk, &proposed)
        .await
        .with_context(|| format!("joining the cluster at zookeeper.connect={}", zk.connect))?;
    if let (Some(m), Some(d)) = (&stored, dir) {
        if let Err(e) = cluster::check_cluster_id(&m.cluster_id, joining.cluster_id(), d) {
            joining.abandon().await;
            anyhow::bail!(e);
        }
    }
    settings.config.cluster_id = joining.cluster_id().to_string();
    // Kafka's coordinators map ids to their internal topic's partitions
    // as it exists (`getGroupMetadataTopicPartitionCount`,
    // `getTransactionTopicPartitionCount`), not as this broker's
    // properties would create it.
    let counts = [
        (
            OFFSETS_TOPIC,
            &mut settings.config.groups.offsets_partitions,
        ),
        (
            TRANSACTION_STATE_TOPIC,
            &mut settings.config.transactions.state_log_partitions,
        ),
    ];
    for (topic, configured) in counts {
        match joining.partition_count(topic).await {
            Ok(Some(n)) if n != *configured => {
                info!(
                    topic,
                    partitions = n,
                    configured = *configured,
                    "the topic exists: its partition count is used"
                );
                *configured = n;
            }
            Ok(_) => {}
            Err(e) => {
                joining.abandon().await;
                return Err(e).with_context(|| format!("reading {topic}'s assignment"));
            }
        }
    }
    Ok(joining)
}

/// At most this many bytes of received request frames wait for the owner,
/// across all connections; a reader holding a whole frame stops reading
/// its socket (and TCP pushes back on the client) until handled frames
/// free room. Without a bound a producer faster than the disk grows the
/// broker's memory without limit. A larger frame waits for the whole
/// budget. A frame still arriving holds none of it, so a client trickling
/// a large frame holds up no one.
pub(crate) const IN_FLIGHT_BYTES: usize = 16 << 20;

/// What connection tasks tell the owner.
pub(crate) enum Input {
    Connect(ConnId, PeerInfo, ConnTx),
    /// A request frame, and its share of [`IN_FLIGHT_BYTES`].
    Frame(ConnId, Bytes, OwnedSemaphorePermit),
    Disconnect(ConnId),
    /// News from the cluster's membership loop: the broker epoch of each
    /// registration, topic configs.
    Cluster(cluster::News),
    /// A partition leader's response to this broker's replica request
    /// (its size prefix removed): see [`replica`].
    ReplicaResponse(i32, Bytes),
    /// The replica request to this leader is lost (connection refused,
    /// dropped or timed out).
    ReplicaFailure(i32),
    /// A partition leader's response to this broker's WriteTxnMarkers
    /// request (its size prefix removed).
    MarkersResponse(i32, Bytes),
    /// The WriteTxnMarkers request to this broker is lost.
    MarkersFailure(i32),
    /// A scrape of `/metrics`: the text, please.
    Scrape(tokio::sync::oneshot::Sender<String>),
    /// Stop: flush and close the storage.
    Shutdown,
    /// An embedding test's fault or clock control ([`faults`]).
    Control(faults::Control),
}

/// SIGINT or SIGTERM. The handlers are installed by this call, not when
/// the future is first polled: `spate serve` installs them before it says
/// it is listening, so a signal sent as soon as it does stops it cleanly.
/// Must be called inside a tokio runtime.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        async fn wait(s: Option<&mut tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        async move {
            tokio::select! {
                _ = wait(int.as_mut()) => {}
                _ = wait(term.as_mut()) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
