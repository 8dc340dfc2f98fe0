//! DeleteTopics (key 20): delete topics and their logs.
//!
//! # Wire
//!
//! Request: topic names (v0-5), or topics each named by name or by id
//! (v6+), and a timeout. Response per topic: name (nullable from v6),
//! topic id (v6+), error code, error message (v5+); throttle time (v1+).
//!
//! # Versions
//!
//! 0-6. Checked as Kafka's controller checks them: an entry with neither
//! name nor id, or with both, is INVALID_REQUEST; a name or id given twice
//! gets one INVALID_REQUEST answer; an unknown name is
//! UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID; a name whose
//! topic is also named by id in the same request is INVALID_REQUEST (and
//! the id entry gets no answer of its own). `__cluster_metadata` is not a
//! topic (it is the metadata log), so deleting it is
//! UNKNOWN_TOPIC_OR_PARTITION; other internal topics can be deleted, as in
//! Kafka. Kafka shuffles the answers; Spate keeps request order.
//!
//! # ZooKeeper mode
//!
//! With [`crate::state::Config::zk_mode`] the broker runs DeleteTopics as
//! Kafka's ZooKeeper-era broker does (module `zk`): a broker that is not
//! the controller answers NOT_CONTROLLER for every entry, and with
//! `delete.topic.enable=false` every entry is TOPIC_DELETION_DISABLED
//! (INVALID_REQUEST before v3). The entries are checked as above; each
//! topic to delete goes to the driver (`Output::DeleteTopics`), which
//! creates `/admin/delete_topics/<topic>` for the controller, and the
//! request is held (module `held`, Kafka's `DelayedDeleteTopics`) until
//! no topic it deletes is in this broker's metadata any more (the
//! controller's UpdateMetadata names its partitions with leader -2, and
//! StopReplica deletes what this broker hosts), or its `timeout_ms`, when
//! the topics still there are REQUEST_TIMED_OUT. With `timeout_ms <= 0`
//! they are marked and answered REQUEST_TIMED_OUT at once, as Kafka
//! answers them. A mark the driver fails to write is logged and the
//! request times out.

use crate::collections::{Map, Set};

use crate::protocol::messages::delete_topics_request::DeleteTopicsRequest;
use crate::protocol::messages::delete_topics_response::{
    DeletableTopicResult, DeleteTopicsResponse,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::state::cluster::{Cluster, METADATA_TOPIC};
use crate::state::controller::Controller;
use crate::storage::Storage;

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// Kafka's message for UNKNOWN_TOPIC_OR_PARTITION.
const UNKNOWN_NAME: &str = "This server does not host this topic-partition.";
/// Kafka's message for UNKNOWN_TOPIC_ID.
const UNKNOWN_ID: &str = "This server does not host this topic ID.";

mod held;
pub(crate) mod zk;

pub(crate) use held::HeldDeletes;

/// A request entry, checked: answered already, or a known topic to delete.
pub(crate) enum Resolved {
    /// Its answer.
    Answer(DeletableTopicResult),
    /// The topic to delete, by name.
    Delete(String),
}

/// Runs a DeleteTopics request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    mut ctl: Controller<'_, S>,
    az: &Authorizer<'_>,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let responses = resolve(ctx.version, ctl.cluster, az, &req)
        .into_iter()
        .map(|r| match r {
            Resolved::Answer(a) => a,
            Resolved::Delete(n) => delete(&mut ctl, ctx, &n),
        })
        .collect();
    DeleteTopicsResponse {
        throttle_time_ms: 0,
        responses,
        ..Default::default()
    }
}

/// The request's entries, each as named (name, id), whatever the version.
pub(crate) fn entries(version: i16, req: &DeleteTopicsRequest) -> Vec<(Option<String>, Uuid)> {
    if version < 6 {
        req.topic_names
            .iter()
            .map(|n| (Some(n.to_string()), Uuid::ZERO))
            .collect()
    } else {
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id))
            .collect()
    }
}

/// Checks every entry against the image.
/// With an authorizer, as Kafka: a topic named by id the caller may not
/// DESCRIBE is TOPIC_AUTHORIZATION_FAILED without its name, and one it
/// may not DELETE TOPIC_AUTHORIZATION_FAILED (before whether it exists).
pub(crate) fn resolve(
    version: i16,
    cluster: &Cluster,
    az: &Authorizer<'_>,
    req: &DeleteTopicsRequest,
) -> Vec<Resolved> {
    let denied = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
    let entries = entries(version, req);
    // How often each pure name and pure id is given.
    let mut names: Map<&str, usize> = Map::new();
    let mut ids: Map<Uuid, usize> = Map::new();
    for (name, id) in &entries {
        match (name, *id == Uuid::ZERO) {
            (Some(n), true) => *names.entry(n.as_str()).or_default() += 1,
            (None, false) => *ids.entry(*id).or_default() += 1,
            _ => {}
        }
    }
    let mut answered_dup = Set::new();
    let mut out = Vec::new();
    for (name, id) in &entries {
        let r = match (name, *id) {
            (None, Uuid::ZERO) => result(
                None,
                Uuid::ZERO,
                ErrorCode::INVALID_REQUEST,
                Some("Neither topic name nor id were specified."),
            ),
            (Some(n), id) if id != Uuid::ZERO => result(
                Some(n),
                id,
                ErrorCode::INVALID_REQUEST,
                Some("You may not specify both topic name and topic id."),
            ),
            (Some(n), _) => {
                if names.get(n.as_str()).copied().unwrap_or(0) > 1 {
                    if !answered_dup.insert((Some(n.clone()), Uuid::ZERO)) {
                        continue;
                    }
                    result(
                        Some(n),
                        Uuid::ZERO,
                        ErrorCode::INVALID_REQUEST,
                        Some("Duplicate topic name."),
                    )
                } else if !az.topic(Operation::Delete, n) {
                    result(Some(n), Uuid::ZERO, denied, None)
                } else {
                    match topic_id(cluster, n) {
                        None => result(
                            Some(n),
                            Uuid::ZERO,
                            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                            Some(UNKNOWN_NAME),
                        ),
                        Some(tid) if ids.contains_key(&tid) => result(
                            Some(n),
                            tid,
                            ErrorCode::INVALID_REQUEST,
                            Some(
                                "The provided topic name maps to an ID that was already supplied.",
                            ),
                        ),
                        Some(_) => {
                            out.push(Resolved::Delete(n.clone()));
                            continue;
                        }
                    }
                }
            }
            (None, id) => {
                if ids.get(&id).copied().unwrap_or(0) > 1 {
                    if !answered_dup.insert((None, id)) {
                        continue;
                    }
                    result(
                        None,
                        id,
                        ErrorCode::INVALID_REQUEST,
                        Some("Duplicate topic id."),
                    )
                } else {
                    match cluster.by_id.get(&id).cloned() {
                        None => result(None, id, ErrorCode::UNKNOWN_TOPIC_ID, Some(UNKNOWN_ID)),
                        Some(n) if !az.topic(Operation::Describe, &n) => {
                            result(None, id, denied, None)
                        }
                        Some(n) if !az.topic(Operation::Delete, &n) => {
                            result(Some(&n), id, denied, None)
                        }
                        // Named by name too: that entry answers for both.
                        Some(n) if names.get(n.as_str()) == Some(&1) => continue,
                        Some(n) => {
                            out.push(Resolved::Delete(n));
                            continue;
                        }
                    }
                }
            }
        };
        out.push(Resolved::Answer(r));
    }
    out
}

/// The id of a deletable topic.
pub(crate) fn topic_id(cluster: &Cluster, name: &str) -> Option<Uuid> {
    if name == METADATA_TOPIC {
        return None;
    }
    cluster.topics.get(name).map(|t| t.id)
}

/// Deletes a topic known to exist.
fn delete<S: Storage>(ctl: &mut Controller<'_, S>, ctx: &Ctx, name: &str) -> DeletableTopicResult {
    match ctl.delete_topic(name, ctx.now) {
        Ok(id) => result(Some(name), id, ErrorCode::NONE, None),
        Err(code) => result(Some(name), Uuid::ZERO, code, Some(code.name())),
    }
}

/// One topic's answer.
pub(crate) fn result(
    name: Option<&str>,
    id: Uuid,
    code: ErrorCode,
    message: Option<&str>,
) -> DeletableTopicResult {
    DeletableTopicResult {
        name: name.map(Into::into),
        topic_id: id,
        error_code: code.code(),
        error_message: message.map(Into::into),
        ..Default::default()
    }
}
