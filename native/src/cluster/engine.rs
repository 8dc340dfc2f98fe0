//! [`Engine`]: what a broker asks of the service that coordinates its
//! cluster (ZooKeeper today; etcd could follow behind the same trait).
//!
//! The engine keeps a session: things this broker creates "for the
//! session" (its registration, the controller claim) vanish when the
//! session ends, by a clean [`Engine::close`] or because the engine stopped
//! hearing from the broker. Every write that matters is conditional: on a
//! key being absent, or on the [`Version`] the writer last read.
//!
//! # Order of calls
//!
//! 1. [`Engine::connect`], then [`Engine::cluster_id`] (before the data
//!    directory is opened: its `meta.properties` must name the same
//!    cluster).
//! 2. [`Engine::register`] once the broker listens, so others can reach
//!    the address it registers.
//! 3. [`Engine::try_elect`], and then [`Engine::next_event`] in a loop,
//!    reacting to each [`Event`]. After [`Event::SessionReestablished`]
//!    the broker registers and runs the election again.
//! 4. [`Engine::close`] at shutdown.
//!
//! The getters ([`Engine::live_brokers`], [`Engine::controller`],
//! [`Engine::controller_epoch`], [`Engine::read`]) may be called at any
//! time in between.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;

/// A broker id (`broker.id`).
pub(crate) type BrokerId = i32;

/// What a broker registers about itself: how others reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerInfo {
    /// `broker.id`.
    pub id: BrokerId,
    /// The advertised host.
    pub host: String,
    /// The advertised port.
    pub port: i32,
    /// `broker.rack`.
    pub rack: Option<String>,
    /// Every advertised listener (`endpoints` in `/brokers/ids/<id>`);
    /// empty: one `PLAINTEXT` listener at `host` and `port`.
    pub endpoints: Vec<spate_core::broker::Endpoint>,
}

/// A live broker as the engine lists it: its registration and that
/// registration's epoch (the controller stamps each request to the broker
/// with it, so a later incarnation refuses what was meant for this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registered {
    /// How others reach it.
    pub info: BrokerInfo,
    /// Its registration's epoch.
    pub epoch: BrokerEpoch,
}

/// A registration's epoch: it grows each time a broker registers (in
/// ZooKeeper, the creating transaction's id), so a stale registration is
/// told apart from a fresh one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BrokerEpoch(pub i64);

/// The version of a key's value, as the engine counts (ZooKeeper: the
/// znode's data version); a conditional write names the one it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub i64);

/// A controller's term: the epoch every controller request carries, and
/// the version of the stored epoch, which fences writes made on the
/// controller's behalf (a deposed controller's writes fail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ControllerEpoch {
    /// The epoch (1 for the first controller of a cluster).
    pub epoch: i32,
    /// The version of the stored epoch this controller wrote.
    pub version: Version,
}

/// The outcome of [`Engine::try_elect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Election {
    /// This broker is the controller, in this term.
    Won(ControllerEpoch),
    /// Another broker is the controller (`None`: one was elected and is
    /// already gone; [`Event::ControllerGone`] follows).
    Lost(Option<BrokerId>),
}

/// A key's value, its version and when it was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Versioned {
    /// The value.
    pub data: Vec<u8>,
    /// Its version.
    pub version: Version,
    /// When the key was created, in milliseconds since the Unix epoch, by
    /// the coordination service's clock (ZooKeeper's `ctime`).
    pub created_ms: i64,
}

/// The condition of a [`Engine::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The key must not exist (it is created, and its parents with it).
    Absent,
    /// The key's value must still be at this version.
    Version(Version),
}

/// The outcome of a [`Engine::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Written {
    /// Written; the value's new version.
    Done(Version),
    /// The condition did not hold (the key exists, is gone, or moved to
    /// another version), or the fencing controller epoch is no longer
    /// current. Nothing was written: read again and decide.
    Conflict,
}

/// What changed in the cluster, from [`Engine::next_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// The set of registered brokers changed; these are registered now.
    BrokersChanged(BTreeSet<BrokerId>),
    /// The topics under `/brokers/topics` now (one was created or
    /// deleted). Partitions added to a topic do not show here.
    TopicsChanged(BTreeSet<String>),
    /// The data of a key read with [`Engine::read_watched`] changed (or
    /// the key went).
    DataChanged(String),
    /// The config change announcements under `/config/changes` now.
    ConfigChanges(BTreeSet<String>),
    /// The ACL change notifications under `/kafka-acl-changes` now, or
    /// (`extended`) under `/kafka-acl-extended-changes`.
    AclChanges {
        /// Whether these are the extended (PREFIXED) pattern's.
        extended: bool,
        /// Their names.
        names: BTreeSet<String>,
    },
    /// The topics marked for deletion under `/admin/delete_topics` now.
    DeletionsRequested(BTreeSet<String>),
    /// Leaders left ISR change notifications under
    /// `/isr_change_notification` (these are there now).
    IsrChangesNotified(BTreeSet<String>),
    /// The broker with this id claims the controller role now (a claim
    /// appeared or changed; it may be this broker's own).
    ControllerChanged(BrokerId),
    /// No broker claims to be the controller: run an election.
    ControllerGone,
    /// The session ended without [`Engine::close`]: this broker's
    /// registration and controller claim are gone. It must stop acting as
    /// controller now.
    SessionExpired,
    /// A new session is open after [`Event::SessionExpired`]: register
    /// again and run the election.
    SessionReestablished,
}

/// Why an engine call failed. Kafka error codes are not here: these are
/// problems for the operator or for the caller's retry loop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum EngineError {
    /// No session could be opened in time.
    Unreachable(String),
    /// The connection dropped mid-call; the session may survive. Retry.
    ConnectionLoss,
    /// The session is over (expired or closed); [`Engine::next_event`]
    /// reports it and opens a new one.
    SessionLost,
    /// Another live broker is registered under this broker's id.
    BrokerIdTaken {
        /// The id.
        id: BrokerId,
        /// The engine's own words about it.
        detail: String,
    },
    /// Stored data is not in the expected format.
    Malformed {
        /// Where.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Anything else the engine reported.
    Other(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Unreachable(why) => {
                write!(f, "cannot reach the coordination service: {why}")
            }
            EngineError::ConnectionLoss => {
                f.write_str("the connection to the coordination service was lost")
            }
            EngineError::SessionLost => {
                f.write_str("the session with the coordination service is over")
            }
            EngineError::BrokerIdTaken { id, detail } => write!(
                f,
                "broker.id {id} is already registered by another live broker ({detail}); \
                 give each broker its own broker.id"
            ),
            EngineError::Malformed { key, reason } => write!(f, "{key}: {reason}"),
            EngineError::Other(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for EngineError {}

/// The coordination service, as the broker uses it. Methods return `Send`
/// futures so that a generic driver can run them in a spawned task.
pub(crate) trait Engine: Sized + Send + Sync + 'static {
    /// Where and how to connect (the engine's own settings).
    type Config: Send + Sync;

    /// Opens a session, creating the cluster's root (a ZooKeeper chroot)
    /// and the persistent layout under it when missing.
    fn connect(config: &Self::Config) -> impl Future<Output = Result<Self, EngineError>> + Send;

    /// The cluster's id: the stored one, or `proposed`, stored now if
    /// none was (whichever broker stores first wins).
    fn cluster_id(
        &self,
        proposed: &str,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// Registers this broker for the length of the session. Fails with
    /// [`EngineError::BrokerIdTaken`] when another session holds the id.
    fn register(
        &mut self,
        broker: &BrokerInfo,
    ) -> impl Future<Output = Result<BrokerEpoch, EngineError>> + Send;

    /// The registered brokers, by id, each with its registration's epoch.
    fn live_brokers(&self) -> impl Future<Output = Result<Vec<Registered>, EngineError>> + Send;

    /// Claims the controller role for `me` if no broker holds it, and
    /// bumps the controller epoch in the same atomic step.
    fn try_elect(&self, me: BrokerId)
        -> impl Future<Output = Result<Election, EngineError>> + Send;

    /// The controller now, if any.
    #[allow(dead_code)] // the broker learns the controller from events; tests ask
    fn controller(&self) -> impl Future<Output = Result<Option<BrokerId>, EngineError>> + Send;

    /// The stored controller epoch, if any controller was ever elected.
    fn controller_epoch(
        &self,
    ) -> impl Future<Output = Result<Option<ControllerEpoch>, EngineError>> + Send;

    /// A key's value and version (`None`: absent). Keys are paths under
    /// the cluster's root, as in Kafka's ZooKeeper layout.
    fn read(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Versioned>, EngineError>> + Send;

    /// Like [`Engine::read`], and sets a one-shot watch on the key's data
    /// (unless one is set already): its next change (or deletion) is
    /// reported once by [`Engine::next_event`] as [`Event::DataChanged`].
    fn read_watched(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Versioned>, EngineError>> + Send;

    /// Creates a persistent key named `prefix` followed by a sequence
    /// number the engine assigns (ZooKeeper's persistent sequential
    /// znode), for notifications read in order.
    fn create_sequential(
        &self,
        prefix: &str,
        data: &[u8],
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Deletes `key` (absent already is fine).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Deletes `key` only if its value is still at version `at`
    /// ([`Written::Conflict`] otherwise, or when it is gone).
    fn delete_at(
        &self,
        key: &str,
        at: Version,
    ) -> impl Future<Output = Result<Written, EngineError>> + Send;

    /// The names under `key` (none when `key` is absent).
    fn children(&self, key: &str) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send;

    /// Writes `data` to `key` if `expect` holds and, when `fence` is
    /// given, only while that controller term is current.
    fn write(
        &self,
        key: &str,
        data: &[u8],
        expect: Expect,
        fence: Option<ControllerEpoch>,
    ) -> impl Future<Output = Result<Written, EngineError>> + Send;

    /// The next change. Cancel-safe: dropping the future loses nothing.
    /// After [`Event::SessionExpired`] the following call opens a new
    /// session (retrying until it can) and returns
    /// [`Event::SessionReestablished`].
    fn next_event(&mut self) -> impl Future<Output = Result<Event, EngineError>> + Send;

    /// Ends the session, so what this broker held for it goes at once.
    fn close(self) -> impl Future<Output = ()> + Send;
}
