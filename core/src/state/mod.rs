//! The broker's state below its coordinators: what it knows about its
//! topics and partitions, its producers and fetchers, and the logs that
//! keep it.
//!
//! - [`config`]: the broker's settings ([`Config`], [`GroupConfig`]).
//! - [`cluster`]: the metadata image (topics, partitions, their configs),
//!   rebuilt from `__cluster_metadata`; [`controller`] changes it, record
//!   first, image second.
//! - [`assignment`]: where the replicas of a new topic go (ZooKeeper
//!   mode; Kafka's `assignReplicasToBrokers`).
//! - [`brokers`]: cluster membership (the live brokers and the controller),
//!   as the controller's UpdateMetadata last stated it in ZooKeeper mode;
//!   this broker alone otherwise.
//! - [`leadership`]: partition leadership in ZooKeeper mode: the
//!   controller's partition states (UpdateMetadata) and the partitions
//!   this broker hosts as leader or follower (LeaderAndIsr, StopReplica);
//!   held by the image, which answers who leads a partition.
//! - [`replication`]: the leader's side of replication: followers'
//!   positions, the ISR and the high watermark of partitions led here.
//! - [`epochs`]: each log's leader epoch history, read from its batches
//!   (OffsetForLeaderEpoch answers from it; followers truncate by it).
//! - [`configs`]: topic configs, typed and validated once (Kafka's
//!   `LogConfig`), and what DescribeConfigs says about every config.
//! - [`producers`]: producer ids, epochs and sequence numbers.
//! - [`fetch_sessions`]: incremental fetch sessions (KIP-227).
//! - [`telemetry`]: client telemetry instances (KIP-714).
//! - [`isolation`]: how far read_committed readers may read.
//! - [`internal_log`]: the one writer of the internal logs.
//! - [`security`]: the ACLs and SCRAM credentials the metadata log holds.
//! - [`retention`] and [`cleaner`]: deleting old segments and compacting
//!   logs, run on the broker's timers.
//!
//! Nothing here knows about connections, requests or coordinators: those
//! sit above and pass in exactly the parts they use.

pub(crate) mod assignment;
pub(crate) mod brokers;
pub(crate) mod cleaner;
pub(crate) mod cluster;
pub(crate) mod config;
pub(crate) mod configs;
pub(crate) mod controller;
pub(crate) mod epochs;
pub(crate) mod faults;
pub(crate) mod fetch_sessions;
pub(crate) mod ids;
pub(crate) mod internal_log;
pub(crate) mod isolation;
pub(crate) mod leadership;
pub(crate) mod markers;
pub(crate) mod metrics;
pub(crate) mod producers;
pub(crate) mod replication;
pub(crate) mod retention;
pub(crate) mod security;
pub(crate) mod telemetry;

pub use config::{Config, Endpoint, GroupConfig, TxnConfig};
pub use metrics::{Completed, Metrics, TopicCounts};

/// Milliseconds since the Unix epoch, as the driver's clock says.
pub type Now = i64;

/// A connection, named by the driver.
pub type ConnId = u64;

pub use cluster::{METADATA_TOPIC, METADATA_TOPIC_ID, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
