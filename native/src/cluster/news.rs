//! What the cluster's tasks tell the task that owns the core's broker
//! ([`News`], through a [`Tell`]): the membership loop and the readers of
//! ZooKeeper's config and security znodes it runs.

use spate_core::broker::{ControllerAnswer, IsrOutcome};
use spate_core::protocol::ErrorCode;
use spate_core::storage::TopicPartition;

use super::engine::{BrokerEpoch, BrokerId};

/// What the membership loop tells the task that owns the core's broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum News {
    /// This broker registered with this broker epoch: at startup and
    /// after every session expiry.
    Registered(BrokerEpoch),
    /// A topic's configs as `/config/topics/<topic>` holds them.
    TopicConfigs {
        /// The topic.
        topic: String,
        /// Its configs (only those set).
        configs: Vec<(String, String)>,
    },
    /// Dynamic broker configs as `/config/brokers/<id>` holds them (this
    /// broker's; `broker` is `None` for `/config/brokers/<default>`).
    BrokerConfigs {
        /// This broker's id, or `None`: the cluster-wide default.
        broker: Option<BrokerId>,
        /// The configs set.
        configs: Vec<(String, String)>,
    },
    /// The outcome of [`Command::WriteIsr`](super::admin::Command::WriteIsr).
    IsrWritten {
        /// The partition.
        tp: TopicPartition,
        /// The leader epoch the change was proposed at.
        leader_epoch: i32,
        /// How the write went.
        outcome: IsrOutcome,
    },
    /// The controller's answer to [`Command::AskController`](super::admin::Command::AskController).
    ControllerAnswered {
        /// The connection whose request asked.
        conn: u64,
        /// The answer.
        answer: ControllerAnswer,
    },
    /// ACLs and SCRAM credentials read from ZooKeeper, and the outcome of
    /// [`Command::WriteSecurity`](super::admin::Command::WriteSecurity).
    Security(super::security::SecurityNews),
    /// The outcome of [`Command::CreateTopics`](super::admin::Command::CreateTopics), per topic.
    TopicsCreated {
        /// The request it answers.
        request: u64,
        /// Each topic and its outcome.
        results: Vec<(String, Result<(), ErrorCode>)>,
    },
}

/// How the loop tells the broker's owner its [`News`].
pub(crate) type Tell = Box<dyn Fn(News) + Send + Sync>;
