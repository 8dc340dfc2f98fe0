//! What a broker's request may ask of the controller (ZooKeeper mode:
//! ControlledShutdown, ElectLeaders, AlterPartitionReassignments and
//! ListPartitionReassignments), and its answer. The broker
//! holds the request and its driver hands the ask to the controller
//! machine when this broker is the controller.

use super::{BrokerId, Listed, Outcome};
use crate::protocol::ErrorCode;
use crate::storage::TopicPartition;

/// What a held request asks of the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerAsk {
    /// ControlledShutdown: move the leadership of `broker`'s partitions.
    ControlledShutdown {
        /// The broker shutting down.
        broker: i32,
        /// Its broker epoch (-1 from versions 0 and 1: not checked).
        broker_epoch: i64,
    },
    /// ElectLeaders: elect leaders of these partitions (`None`: all).
    ElectLeaders {
        /// Preferred election (type 0); else unclean (type 1).
        preferred: bool,
        /// The partitions (`None`: every partition).
        partitions: Option<Vec<TopicPartition>>,
        /// How long the answer may wait for the elections (the
        /// request's `timeout_ms`); partitions not settled by then are
        /// answered REQUEST_TIMED_OUT.
        timeout_ms: i32,
    },
    /// AlterPartitionReassignments: move each partition to its target
    /// replicas (`None`: cancel the move in progress).
    AlterReassignments {
        /// The partitions and their targets.
        partitions: Vec<(TopicPartition, Option<Vec<BrokerId>>)>,
        /// Whether a target may change the replica count (KIP-860).
        allow_rf_change: bool,
    },
    /// ListPartitionReassignments: the moves in progress among these
    /// partitions (`None`: all).
    ListReassignments {
        /// The partitions asked about.
        partitions: Option<Vec<TopicPartition>>,
    },
}

/// The controller's answer to a [`ControllerAsk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerAnswer {
    /// To ControlledShutdown: the partitions the broker still leads, or
    /// why the controller refused (NOT_CONTROLLER, STALE_BROKER_EPOCH,
    /// BROKER_NOT_AVAILABLE).
    ControlledShutdown(Result<Vec<TopicPartition>, ErrorCode>),
    /// To ElectLeaders: each partition's outcome (NONE: elected).
    ElectLeaders(Vec<(TopicPartition, ErrorCode)>),
    /// To AlterPartitionReassignments: each partition's outcome (NONE:
    /// started), or NOT_CONTROLLER; and whether the request allowed a
    /// replica count change (echoed in version 1).
    AlterReassignments(Result<Vec<Outcome>, ErrorCode>, bool),
    /// To ListPartitionReassignments: the moves in progress, or
    /// NOT_CONTROLLER.
    ListReassignments(Result<Vec<Listed>, ErrorCode>),
}
