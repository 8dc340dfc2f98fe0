//! Writes any broker makes in the coordination service for its core:
//! creating topics on a client's behalf (Kafka's `AdminZkClient`, as
//! `ZkAdminManager` uses it), and a leader's ISR changes (Kafka 2.x's
//! `Partition.updateIsr`). The core decides and validates; this module
//! writes what it decided and says how each write went.
//!
//! An ISR change is a conditional write of the partition's state znode at
//! the version the leader knows; once written, the leader leaves a
//! notification under `/isr_change_notification` for the controller,
//! which reads the state again and tells every broker.
//!
//! A topic is deleted as Kafka's `AdminZkClient.deleteTopic` asks for it:
//! `/admin/delete_topics/<topic>` is created (one already there is fine);
//! the controller does the rest.
//!
//! A topic is created in two writes, in Kafka's order: its configs at
//! `/config/topics/<topic>` (overwriting any left by an earlier topic of
//! that name), then its assignment at `/brokers/topics/<topic>`, created
//! only if absent. The second is the commit point: the controller watches
//! `/brokers/topics` and takes the topic from there; a topic whose
//! assignment already exists is TOPIC_ALREADY_EXISTS, whichever broker
//! wrote it.

use std::collections::BTreeMap;

use spate_core::broker::{ControllerAsk, IsrOutcome, NewPartitions, NewTopic};
use spate_core::coordinator::controller::{LeaderIsr, TopicAssignment};
use spate_core::protocol::ErrorCode;
use spate_core::storage::TopicPartition;
use tracing::{info, warn};

use super::engine::{Engine, EngineError, Expect, Version, Written};
use super::topic_znodes::{
    config_path, decode_topic, deletion_path, encode_config_change, encode_configs,
    encode_isr_change, encode_state, encode_topic, state_path, topic_path, CONFIG_CHANGE_PREFIX,
    ISR_CHANGE_PREFIX,
};

/// What the membership loop is asked to do for the broker.
#[derive(Debug)]
pub(crate) enum Command {
    /// Create these topics; the answer is
    /// [`super::News::TopicsCreated`] with the same `request`.
    CreateTopics {
        /// The broker's name for the request.
        request: u64,
        /// The topics.
        topics: Vec<NewTopic>,
    },
    /// Add partitions to these topics; the answer is
    /// [`super::News::TopicsCreated`] with the same `request`.
    CreatePartitions {
        /// The broker's name for the request.
        request: u64,
        /// The topics.
        topics: Vec<NewPartitions>,
    },
    /// Write a topic's configs and announce the change; no answer.
    WriteTopicConfigs {
        /// The topic.
        topic: String,
        /// Its whole config set.
        configs: Vec<(String, String)>,
    },
    /// Write a broker's dynamic configs (`None`: the cluster default) and
    /// announce the change; no answer.
    WriteBrokerConfigs {
        /// This broker's id, or `None`.
        broker: Option<super::engine::BrokerId>,
        /// Its whole config set.
        configs: Vec<(String, String)>,
    },
    /// Write ACLs or SCRAM credentials for the request held on `conn`;
    /// the answer is [`super::News::Security`] (`Written`).
    WriteSecurity {
        /// The connection whose request asks.
        conn: u64,
        /// The changes.
        write: spate_core::broker::SecurityWrite,
    },
    /// Mark these topics for deletion; no answer.
    DeleteTopics {
        /// The topics.
        topics: Vec<String>,
    },
    /// Write a leader's ISR change; the answer is
    /// [`super::News::IsrWritten`].
    WriteIsr {
        /// The partition.
        tp: TopicPartition,
        /// Its new state (leader and epochs as they were).
        state: LeaderIsr,
        /// The znode version the write is conditional on.
        version: i32,
    },
    /// What a held request asks of the controller; the answer is
    /// [`super::News::ControllerAnswered`] with the same `conn` (at once,
    /// NOT_CONTROLLER, when this broker is not the controller).
    AskController {
        /// The connection whose request asks.
        conn: u64,
        /// What it asks.
        ask: ControllerAsk,
    },
    /// Shut down in a controlled way (`super::shutdown`): `done` is told
    /// whether the leadership moved.
    ShutDown {
        /// `controlled.shutdown.*`.
        config: super::shutdown::ShutdownConfig,
        /// Told when the loop is done trying.
        done: tokio::sync::oneshot::Sender<bool>,
    },
}

/// Writes an ISR change and, once written, notifies the controller.
pub(crate) async fn write_isr<E: Engine>(
    engine: &E,
    tp: &TopicPartition,
    state: &LeaderIsr,
    version: i32,
) -> IsrOutcome {
    let expect = Expect::Version(Version(i64::from(version)));
    match engine
        .write(&state_path(tp), &encode_state(state), expect, None)
        .await
    {
        Ok(Written::Done(v)) => {
            info!(
                partition = %tp,
                isr = ?state.isr,
                "ISR changed (state version {})",
                v.0
            );
            if let Err(e) = engine
                .create_sequential(
                    ISR_CHANGE_PREFIX,
                    &encode_isr_change(std::slice::from_ref(tp)),
                )
                .await
            {
                warn!(partition = %tp, error = %e, "cannot notify the controller of the ISR change");
            }
            IsrOutcome::Done(i32::try_from(v.0).unwrap_or(i32::MAX))
        }
        Ok(Written::Conflict) => {
            warn!(
                partition = %tp,
                "the partition state is no longer at version {version}: another leader or the \
                 controller changed it; the ISR stays until the controller says otherwise"
            );
            IsrOutcome::Conflict
        }
        Err(e) => {
            warn!(partition = %tp, error = %e, "writing the ISR change failed; it is tried again");
            IsrOutcome::Failed
        }
    }
}

/// Writes a topic's whole config set to `/config/topics/<topic>`, then
/// announces it under `/config/changes` (Kafka's
/// `AdminZkClient.changeTopicConfig`); every broker's membership loop
/// reads the topic's configs again. A failure is logged.
pub(crate) async fn write_topic_configs<E: Engine>(
    engine: &E,
    topic: &str,
    configs: &[(String, String)],
) {
    let path = config_path(topic);
    if let Err(why) = set_configs(engine, &path, &encode_configs(configs)).await {
        return warn!(topic, "writing the topic's configs failed: {why}");
    }
    match engine
        .create_sequential(CONFIG_CHANGE_PREFIX, &encode_config_change(topic))
        .await
    {
        Ok(()) => info!(topic, "changed the topic's configs"),
        Err(e) => warn!(topic, error = %e, "cannot announce the topic's config change"),
    }
}

/// Writes `data` to the config znode `path`, creating it when missing
/// (Kafka's `setOrCreateEntityConfigs`: the last writer wins).
pub(crate) async fn set_configs<E: Engine>(
    engine: &E,
    path: &str,
    data: &[u8],
) -> Result<(), String> {
    for _ in 0..3 {
        let expect = match engine.read(path).await.map_err(|e| e.to_string())? {
            Some(v) => Expect::Version(v.version),
            None => Expect::Absent,
        };
        let w = engine.write(path, data, expect, None).await;
        if let Written::Done(_) = w.map_err(|e| e.to_string())? {
            return Ok(());
        }
    }
    Err(format!("{path} kept changing while it was written"))
}

/// Marks each topic for deletion; a failure is logged (the DeleteTopics
/// request that asked times out).
pub(crate) async fn mark_deletions<E: Engine>(engine: &E, topics: &[String]) {
    for t in topics {
        match engine
            .write(&deletion_path(t), b"", Expect::Absent, None)
            .await
        {
            Ok(Written::Done(_)) => info!(topic = %t, "marked the topic for deletion"),
            Ok(Written::Conflict) => info!(topic = %t, "the topic is already marked for deletion"),
            Err(e) => warn!(topic = %t, error = %e, "marking the topic for deletion failed"),
        }
    }
}

/// Adds partitions to each topic in turn, as Kafka's
/// `AdminZkClient.createPartitionsWithAssignment` does: the topic's
/// assignment znode is rewritten with every partition's replicas (its id
/// kept), conditionally on the version read, and only if it still holds
/// the partitions the broker saw. Each outcome: UNKNOWN_TOPIC_OR_PARTITION
/// when the topic is gone, INVALID_PARTITIONS when its partitions changed
/// meanwhile, UNKNOWN_SERVER_ERROR when the coordination service failed.
pub(crate) async fn add_partitions<E: Engine>(
    engine: &E,
    topics: &[NewPartitions],
) -> Vec<(String, Result<(), ErrorCode>)> {
    let mut out = Vec::with_capacity(topics.len());
    for t in topics {
        let outcome = match add(engine, t).await {
            Ok(outcome) => outcome,
            Err(e) => {
                warn!(topic = %t.name, error = %e, "adding partitions failed");
                Err(ErrorCode::UNKNOWN_SERVER_ERROR)
            }
        };
        if outcome.is_ok() {
            info!(
                topic = %t.name,
                partitions = t.assignment.len(),
                "added partitions to the topic in the cluster"
            );
        }
        out.push((t.name.clone(), outcome));
    }
    out
}

async fn add<E: Engine>(
    engine: &E,
    t: &NewPartitions,
) -> Result<Result<(), ErrorCode>, EngineError> {
    let path = topic_path(&t.name);
    let Some(v) = engine.read(&path).await? else {
        return Ok(Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
    };
    let Ok(now) = decode_topic(&t.name, &v.data) else {
        return Ok(Err(ErrorCode::UNKNOWN_SERVER_ERROR));
    };
    // Kafka's `createPartitions`: not while a partition of the topic is
    // being reassigned (its replicas in ZooKeeper are the full set).
    if !now.adding.is_empty() || !now.removing.is_empty() {
        return Ok(Err(ErrorCode::REASSIGNMENT_IN_PROGRESS));
    }
    if now.partitions.len() as i32 != t.existing {
        return Ok(Err(ErrorCode::INVALID_PARTITIONS));
    }
    let data = encode_topic(&TopicAssignment {
        name: t.name.clone(),
        id: now.id,
        partitions: t.assignment.clone(),
        adding: BTreeMap::new(),
        removing: BTreeMap::new(),
    });
    Ok(
        match engine
            .write(&path, &data, Expect::Version(v.version), None)
            .await?
        {
            Written::Done(_) => Ok(()),
            Written::Conflict => Err(ErrorCode::INVALID_PARTITIONS),
        },
    )
}

/// Creates each topic in turn; its outcome (TOPIC_ALREADY_EXISTS when its
/// assignment was there already; UNKNOWN_SERVER_ERROR when the
/// coordination service failed, with the reason in the log).
pub(crate) async fn create_topics<E: Engine>(
    engine: &E,
    topics: &[NewTopic],
) -> Vec<(String, Result<(), ErrorCode>)> {
    let mut out = Vec::with_capacity(topics.len());
    for t in topics {
        let name = t.name.clone();
        let outcome = match create(engine, t).await {
            Ok(true) => {
                info!(
                    topic = %name,
                    partitions = t.assignment.len(),
                    "created the topic in the cluster"
                );
                Ok(())
            }
            Ok(false) => Err(ErrorCode::TOPIC_ALREADY_EXISTS),
            Err(e) => {
                warn!(topic = %name, error = %e, "creating the topic failed");
                Err(ErrorCode::UNKNOWN_SERVER_ERROR)
            }
        };
        out.push((name, outcome));
    }
    out
}

/// Writes one topic; false when its assignment already existed.
async fn create<E: Engine>(engine: &E, t: &NewTopic) -> Result<bool, EngineError> {
    let name = &t.name;
    if engine.read(&topic_path(name)).await?.is_some() {
        return Ok(false);
    }
    let path = config_path(name);
    let data = encode_configs(&t.configs);
    // Configs of an earlier topic of this name are overwritten; a write
    // that meets another writer's reads again.
    let mut written = false;
    for _ in 0..3 {
        let expect = match engine.read(&path).await? {
            Some(v) => Expect::Version(v.version),
            None => Expect::Absent,
        };
        if let Written::Done(_) = engine.write(&path, &data, expect, None).await? {
            written = true;
            break;
        }
    }
    if !written {
        return Err(EngineError::Other(format!(
            "{path} kept changing while it was written"
        )));
    }
    let assignment = encode_topic(&TopicAssignment {
        name: t.name.clone(),
        id: t.id,
        partitions: t.assignment.clone(),
        adding: BTreeMap::new(),
        removing: BTreeMap::new(),
    });
    match engine
        .write(&topic_path(name), &assignment, Expect::Absent, None)
        .await?
    {
        Written::Done(_) => Ok(true),
        Written::Conflict => Ok(false),
    }
}
