//! DeleteTopics in ZooKeeper mode: Kafka 2.x's
//! `KafkaApis.handleDeleteTopicsRequest` and `ZkAdminManager.deleteTopics`,
//! with the ZooKeeper write (`/admin/delete_topics/<topic>`) left to the
//! driver (`Output::DeleteTopics`) and the wait (`DelayedDeleteTopics`) to
//! [`Creates`].

use crate::protocol::messages::delete_topics_request::DeleteTopicsRequest;
use crate::protocol::messages::delete_topics_response::DeleteTopicsResponse;
use crate::protocol::ErrorCode;
use crate::state::brokers::Membership;
use crate::state::cluster::Cluster;
use crate::state::Config;

use super::super::{Creates, Ctx};
use super::{entries, resolve, result, Resolved};
use crate::security::acl::Authorizer;

/// What a DeleteTopics request in ZooKeeper mode comes to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Answer now.
    Answer(DeleteTopicsResponse),
    /// Mark these topics for deletion, and hold the request in
    /// [`Creates`] until they are gone (`Ok`: its id) or answer now
    /// (`Err`: `timeout_ms <= 0`).
    Mark {
        /// The held request, or the answer.
        held: Result<u64, DeleteTopicsResponse>,
        /// The topics.
        topics: Vec<String>,
    },
}

/// Runs a DeleteTopics request in ZooKeeper mode.
pub(crate) fn handle(
    ctx: &Ctx,
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    creates: &mut Creates,
    az: &Authorizer<'_>,
    req: DeleteTopicsRequest,
) -> Outcome {
    let response = |responses| DeleteTopicsResponse {
        throttle_time_ms: 0,
        responses,
        ..Default::default()
    };
    // Kafka's order: not the controller, then deletion disabled, each
    // answered for every entry as given.
    let refuse = if members.controller_id() != config.node_id {
        Some(ErrorCode::NOT_CONTROLLER)
    } else if !config.delete_topic_enable {
        Some(if ctx.version < 3 {
            ErrorCode::INVALID_REQUEST
        } else {
            ErrorCode::TOPIC_DELETION_DISABLED
        })
    } else {
        None
    };
    if let Some(code) = refuse {
        let all = entries(ctx.version, &req)
            .into_iter()
            .map(|(name, id)| result(name.as_deref(), id, code, None))
            .collect();
        return Outcome::Answer(response(all));
    }
    let mut results = Vec::new();
    let mut topics = Vec::new();
    for r in resolve(ctx.version, cluster, az, &req) {
        match r {
            Resolved::Answer(a) => results.push((a, false)),
            Resolved::Delete(name) => {
                let id = cluster.topics.get(&name).map(|t| t.id).unwrap_or_default();
                results.push((result(Some(&name), id, ErrorCode::NONE, None), true));
                topics.push(name);
            }
        }
    }
    if topics.is_empty() {
        return Outcome::Answer(response(results.into_iter().map(|(r, _)| r).collect()));
    }
    if req.timeout_ms <= 0 {
        // Kafka marks them and answers at once: not waited for.
        let answer = results
            .into_iter()
            .map(|(mut r, waits)| {
                if waits {
                    r.error_code = ErrorCode::REQUEST_TIMED_OUT.code();
                }
                r
            })
            .collect();
        return Outcome::Mark {
            held: Err(response(answer)),
            topics,
        };
    }
    let deadline = ctx.now + i64::from(req.timeout_ms);
    let request = creates.hold_delete(ctx.conn, deadline, results);
    Outcome::Mark {
        held: Ok(request),
        topics,
    }
}
