//! The transaction coordinator: transactional ids, their producer ids and
//! epochs, and the state of their transactions.
//!
//! A single broker coordinates every transactional id; in ZooKeeper mode
//! a broker coordinates the ids of the partitions of `__transaction_state`
//! it leads ([`owned`]). State lives in memory and in the internal topic `__transaction_state`,
//! in Kafka's record format ([`records`]): one TransactionLogKey /
//! TransactionLogValue record per change, in the partition Kafka's hash
//! picks for the id ([`records::partition_for`]). [`TxnCoordinator::load`]
//! rebuilds the state when a single broker starts (in ZooKeeper mode each
//! partition loads when this broker becomes its leader); the topic is
//! compacted.
//!
//! # A sans-I/O machine
//!
//! Every operation ([`ops`]) takes `now` and returns a [`Plan`]: the
//! reply, and the steps that carry it out in order: metadata to write
//! to `__transaction_state` ([`Step::Write`]) and markers to write to the
//! partitions of a transaction ([`Step::Markers`]). The coordinator
//! changes nothing until the caller reports a write done
//! ([`TxnCoordinator::written`]), so a write that fails leaves the
//! transaction as it was. Ending a transaction is three steps, as in
//! Kafka: PrepareCommit (or PrepareAbort) is written, the markers go out,
//! CompleteCommit (CompleteAbort) is written. When the markers cannot all
//! be written the transaction stays prepared and the coordinator tries
//! again after [`RETRY_BACKOFF_MS`]; after a restart, a prepared
//! transaction is finished first thing ([`TxnCoordinator::recover`]).
//!
//! Nothing reads a clock: an Ongoing transaction's deadline is its start
//! plus its timeout, and [`TxnCoordinator::handle_timeout`] aborts those
//! past it, fencing the producer's epoch first, as Kafka's coordinator
//! does on its cleanup interval. An id with nothing open that has not
//! changed for `transactional.id.expiration.ms` is forgotten the same way
//! (a tombstone, [`Step::Remove`]).

pub(crate) mod ops;
mod owned;
pub(crate) mod records;
pub(crate) mod remote;

use crate::collections::{Map, Set};

use bytestring::ByteString;

use super::Deadlines;
use crate::state::cluster::for_each_batch;
use crate::state::{Now, TxnConfig, TRANSACTION_STATE_TOPIC};
use crate::storage::{Storage, TopicPartition};

/// How long a prepared transaction whose markers could not all be written
/// waits before they are tried again.
pub(crate) const RETRY_BACKOFF_MS: i64 = 500;

/// The state of a transactional id's transaction (Kafka's
/// `TransactionState`, with its ids in `__transaction_state`).
///
/// ```text
///                 InitProducerId              AddPartitions / AddOffsets /
///   (new id) ───────────────────▶ Empty ────── TV2 Produce, TxnOffsetCommit ──┐
///                                   ▲                                         ▼
///                   InitProducerId  │          EndTxn(commit)            Ongoing ◀─┐ more
///         ┌─────────────────────────┤       ┌──────────────────────────────┤       │ partitions
///         │                         │       ▼                              │───────┘
///   CompleteCommit ◀── markers ── PrepareCommit                            │
///   CompleteAbort  ◀── markers ── PrepareAbort ◀── EndTxn(abort), timeout ─┤
///         │                                 ▲                              │
///         │ AddPartitions (next txn)        └─ PrepareEpochFence ◀─────────┘
///         └──────────────────────────▶ Ongoing      (InitProducerId or a timeout
///                                                    fences an open transaction)
/// ```
///
/// Dead is an id whose state expired; Spate never expires ids, so it is
/// only ever read, never entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    /// Every state, in id order.
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// Its id in TransactionLogValue's `TransactionStatus`.
    pub fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    /// The state of a `TransactionStatus` id.
    pub fn from_id(id: i8) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.id() == id)
    }

    /// Kafka's name for it (DescribeTransactions, ListTransactions).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One transactional id (Kafka's `TransactionMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnMeta {
    pub id: ByteString,
    pub producer_id: i64,
    /// The id before the last change of producer id (KIP-360), or -1.
    pub prev_producer_id: i64,
    /// The id the next transaction takes when this one's epoch is used up
    /// (transaction version 2), or -1.
    pub next_producer_id: i64,
    pub epoch: i16,
    /// The epoch before the last bump, -1 if none (a retried bump).
    pub last_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions of the transaction, by topic.
    pub partitions: Set<(ByteString, i32)>,
    /// When the transaction started (-1 when none is open).
    pub start_ms: i64,
    pub update_ms: i64,
    /// The transaction version of the client's last request (1 or 2; 0
    /// before any).
    pub client_version: i16,
}

impl TxnMeta {
    /// Whether the transaction is open or being ended.
    pub fn in_progress(&self) -> bool {
        matches!(
            self.state,
            TxnState::Ongoing
                | TxnState::PrepareCommit
                | TxnState::PrepareAbort
                | TxnState::PrepareEpochFence
        )
    }
}

/// A transaction marker to write to every partition of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Markers {
    pub transactional_id: ByteString,
    pub producer_id: i64,
    pub epoch: i16,
    pub commit: bool,
    pub partitions: Vec<(ByteString, i32)>,
}

/// One step of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Write this metadata to `__transaction_state`, then report it with
    /// [`TxnCoordinator::written`].
    Write(TxnMeta),
    /// Write these markers, then go on.
    Markers(Markers),
    /// Write a tombstone for this id (it expired), then report it with
    /// [`TxnCoordinator::removed`].
    Remove(ByteString),
}

/// What an operation decided: its reply and the steps that carry it out.
#[derive(Debug)]
#[must_use = "its steps must be carried out"]
pub(crate) struct Plan<T> {
    pub reply: T,
    pub steps: Vec<Step>,
}

impl<T> Plan<T> {
    /// A reply that needs nothing written.
    pub fn answer(reply: T) -> Plan<T> {
        Plan {
            reply,
            steps: Vec::new(),
        }
    }
}

/// What [`crate::broker::Broker::transactions`] reports of one
/// transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnSummary {
    /// The transactional id.
    pub id: String,
    /// Kafka's name of its state (`Ongoing`, `CompleteCommit`, ...).
    pub state: &'static str,
    /// Its producer id and epoch.
    pub producer_id: i64,
    /// Its producer epoch.
    pub producer_epoch: i16,
    /// Its `transaction.timeout.ms`.
    pub timeout_ms: i32,
    /// When its open transaction started, -1 if none.
    pub start_ms: i64,
    /// The partitions of its transaction: topic, partition.
    pub partitions: Vec<(String, i32)>,
}

/// Every transactional id and the deadlines of their transactions.
#[derive(Debug)]
pub(crate) struct TxnCoordinator {
    txns: Map<ByteString, TxnMeta>,
    /// Each Ongoing transaction's timeout, and prepared ones' retries.
    deadlines: Deadlines<ByteString>,
    config: TxnConfig,
    /// The partitions of `__transaction_state` whose ids are coordinated
    /// here, in ZooKeeper mode ([`owned`]); `None`: every id.
    led: Option<Set<i32>>,
    /// Transactions waiting on markers written by other brokers
    /// ([`remote`]).
    remote: remote::Outbox,
}

impl TxnCoordinator {
    /// An empty coordinator.
    pub fn new(config: TxnConfig) -> TxnCoordinator {
        TxnCoordinator {
            txns: Map::new(),
            deadlines: Deadlines::default(),
            config,
            led: None,
            remote: remote::Outbox::default(),
        }
    }

    /// The coordinator's settings.
    pub fn config(&self) -> &TxnConfig {
        &self.config
    }

    /// A transactional id's metadata.
    pub fn get(&self, id: &str) -> Option<&TxnMeta> {
        self.txns.get(id)
    }

    /// Every transactional id, in id order.
    pub fn all(&self) -> impl Iterator<Item = &TxnMeta> {
        self.txns.values()
    }

    /// The earliest deadline of any transaction, or of markers to send
    /// again.
    pub fn next_deadline(&self) -> Option<Now> {
        match (self.deadlines.first(), self.next_marker_retry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The partition of `__transaction_state` holding `id`.
    pub fn partition_of(&self, id: &str) -> TopicPartition {
        TopicPartition::new(
            TRANSACTION_STATE_TOPIC,
            records::partition_for(id, self.config.state_log_partitions),
        )
    }

    /// Every transactional id, for the broker's getter.
    pub fn summaries(&self) -> Vec<TxnSummary> {
        self.txns
            .values()
            .map(|m| TxnSummary {
                id: m.id.to_string(),
                state: m.state.name(),
                producer_id: m.producer_id,
                producer_epoch: m.epoch,
                timeout_ms: m.timeout_ms,
                start_ms: if m.state == TxnState::Ongoing {
                    m.start_ms
                } else {
                    -1
                },
                partitions: m
                    .partitions
                    .iter()
                    .map(|(t, p)| (t.to_string(), *p))
                    .collect(),
            })
            .collect()
    }

    /// `meta` is in `__transaction_state`: it becomes the id's state.
    pub fn written(&mut self, meta: TxnMeta) {
        let id = meta.id.clone();
        let at = self.deadline_of(&meta, meta.update_ms);
        self.txns.insert(id.clone(), meta);
        self.deadlines.set(&id, at);
    }

    /// `id`'s tombstone could not be written: try again later.
    pub fn retry_removal(&mut self, id: &ByteString, now: Now) {
        if self.txns.contains_key(id) {
            self.deadlines.set(id, Some(now + RETRY_BACKOFF_MS));
        }
    }

    /// `id`'s tombstone is in `__transaction_state`: it is forgotten.
    pub fn removed(&mut self, id: &ByteString) {
        self.txns.remove(id);
        self.deadlines.set(id, None);
    }

    /// A plan could not be carried out past a write of `id`'s: try again
    /// later (a prepared transaction's markers, say).
    pub fn retry_later(&mut self, id: &ByteString, now: Now) {
        if self.txns.get(id).is_some_and(TxnMeta::in_progress) {
            self.deadlines.set(id, Some(now + RETRY_BACKOFF_MS));
        }
    }

    fn deadline_of(&self, m: &TxnMeta, now: Now) -> Option<Now> {
        match m.state {
            TxnState::Ongoing => Some(m.start_ms.saturating_add(i64::from(m.timeout_ms))),
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                Some(now + RETRY_BACKOFF_MS)
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                Some(m.update_ms.saturating_add(self.config.id_expiration_ms))
            }
            TxnState::Dead => None,
        }
    }

    /// Rebuilds every transactional id from `__transaction_state`, the
    /// latest record per id winning (a tombstone removes it). Prepared
    /// transactions are left for [`TxnCoordinator::recover`].
    pub fn load<S: Storage>(&mut self, storage: &S) {
        let mut parts: Vec<TopicPartition> = storage
            .logs()
            .into_iter()
            .filter(|tp| tp.topic == TRANSACTION_STATE_TOPIC)
            .collect();
        parts.sort_by_key(|tp| tp.partition);
        let mut found: Map<ByteString, Option<TxnMeta>> = Map::new();
        for tp in &parts {
            read_partition(storage, tp, &mut found);
        }
        // Prepared ones are finished by `recover` first.
        self.insert_loaded(found, None);
    }

    /// Takes in what [`read_partition`] found; a prepared transaction's
    /// deadline is `prepared_at` (none: [`TxnCoordinator::recover`]
    /// finishes it).
    fn insert_loaded(&mut self, found: Map<ByteString, Option<TxnMeta>>, prepared_at: Option<Now>) {
        for (_, meta) in found {
            if let Some(m) = meta {
                let at = match m.state {
                    TxnState::PrepareCommit
                    | TxnState::PrepareAbort
                    | TxnState::PrepareEpochFence => prepared_at,
                    _ => self.deadline_of(&m, m.update_ms),
                };
                self.deadlines.set(&m.id, at);
                self.txns.insert(m.id.clone(), m);
            }
        }
    }
}

/// Reads one partition of `__transaction_state` into `found`: the latest
/// record per id wins, a tombstone is `None`.
fn read_partition<S: Storage>(
    storage: &S,
    tp: &TopicPartition,
    found: &mut Map<ByteString, Option<TxnMeta>>,
) {
    for_each_batch(storage, tp, |view, bytes| {
        if view.header.is_control() {
            return;
        }
        for rec in view.records().flatten() {
            let Some(key) = rec.key else { continue };
            let key = bytes.slice_ref(key);
            let value = rec.value.map(|v| bytes.slice_ref(v));
            if let Some((id, meta)) = records::decode(&key, value.as_ref()) {
                found.insert(id, meta);
            }
        }
    });
}

#[cfg(test)]
mod tests;
