//! A Fetch request's session context (Kafka's `FetchManager.newContext` and
//! the `FetchContext` kinds): which partitions to read, and what the answer
//! does to the session cache.
//!
//! [`plan`] only looks; [`finish`] changes the cache, once, when the
//! response is actually sent. A parked request keeps its plan, so an
//! incremental fetch that waits for data advances its session's epoch
//! exactly once. (Kafka changes the session when the request arrives and
//! checks at answer time that nobody else has; here the session is
//! changed at answer time, and [`finish`] checks that no other request
//! moved it on meanwhile.)

use std::collections::HashMap;

use crate::protocol::messages::fetch_request::FetchRequest;
use crate::protocol::messages::fetch_response::PartitionData;
use crate::protocol::{ErrorCode, Uuid};
use crate::state::cluster::Cluster;
use crate::state::fetch_sessions::{
    CachedPartition, FetchSessions, PartKey, FINAL_EPOCH, INITIAL_EPOCH,
};
use crate::state::ids::Ids;

/// What kind of fetch a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    /// No session: v0-6, epoch -1, or a session left with no partitions.
    /// `close` is a session to remove when answering.
    Sessionless { close: Option<i32> },
    /// Epoch 0: every partition is listed; a session is created if the
    /// cache has room. `close` is a session the request names, removed.
    Full { close: Option<i32> },
    /// An incremental fetch on session `id`, expected at `epoch`.
    Incremental { id: i32, epoch: i32 },
}

/// The partitions to read, in order, and the kind of fetch.
#[derive(Debug)]
pub(super) struct Plan {
    pub mode: Mode,
    /// Requested partitions (sessionless and full fetches) or the session's
    /// partitions with this request's changes applied (incremental).
    pub wants: Vec<CachedPartition>,
}

/// Decides what `req` reads; a session error is the top-level error code
/// of an empty response.
pub(super) fn plan(
    cluster: &Cluster,
    sessions: &FetchSessions,
    version: i16,
    req: &FetchRequest,
) -> Result<Plan, ErrorCode> {
    let requested = requested(cluster, version, req);
    let (id, epoch) = if version >= 7 {
        (req.session_id, req.session_epoch)
    } else {
        (0, FINAL_EPOCH)
    };
    let close = (id != 0).then_some(id);
    if epoch == FINAL_EPOCH {
        return Ok(Plan {
            mode: Mode::Sessionless { close },
            wants: requested,
        });
    }
    if epoch == INITIAL_EPOCH {
        return Ok(Plan {
            mode: Mode::Full { close },
            wants: requested,
        });
    }
    let session = sessions
        .get(id)
        .ok_or(ErrorCode::FETCH_SESSION_ID_NOT_FOUND)?;
    if session.epoch != epoch {
        return Err(ErrorCode::INVALID_FETCH_SESSION_EPOCH);
    }
    if session.uses_topic_ids != (version >= 13) {
        return Err(ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR);
    }
    let mut wants = session.updated(&requested, &forgotten(version, req));
    if wants.is_empty() {
        return Ok(Plan {
            mode: Mode::Sessionless { close: Some(id) },
            wants: requested,
        });
    }
    // A topic id unknown when its partition joined may be known by now.
    for w in wants.iter_mut().filter(|w| w.topic.is_none()) {
        w.topic = cluster.by_id.get(&w.topic_id).cloned();
    }
    Ok(Plan {
        mode: Mode::Incremental { id, epoch },
        wants,
    })
}

/// Applies the answer to the session cache; returns the top-level error,
/// the session id to send and the partitions to answer, in order (an
/// incremental response leaves out what has not changed). `results` index
/// `plan.wants`.
pub(super) fn finish(
    sessions: &mut FetchSessions,
    ids: &mut Ids,
    plan: &Plan,
    follower: bool,
    version: i16,
    now: i64,
    results: Vec<(usize, PartitionData)>,
) -> (ErrorCode, i32, Vec<(usize, PartitionData)>) {
    match plan.mode {
        Mode::Sessionless { close } => {
            if let Some(id) = close {
                sessions.remove(id);
            }
            (ErrorCode::NONE, 0, results)
        }
        Mode::Full { close } => {
            if let Some(id) = close {
                sessions.remove(id);
            }
            // The session holds the partitions in the order answered, with
            // what the answer told the fetcher.
            let partitions = results
                .iter()
                .filter_map(|(i, data)| {
                    let want = plan.wants.get(*i)?;
                    Some(CachedPartition {
                        high_watermark: data.high_watermark,
                        log_start_offset: data.log_start_offset,
                        ..want.clone()
                    })
                })
                .collect();
            let id = sessions.maybe_create(now, follower, version >= 13, partitions, ids);
            (ErrorCode::NONE, id, results)
        }
        Mode::Incremental { id, epoch } => {
            if sessions.get(id).map(|s| s.epoch) != Some(epoch) {
                // Another request moved the session on while this one was
                // parked: Kafka's answer.
                return (ErrorCode::INVALID_FETCH_SESSION_EPOCH, id, Vec::new());
            }
            let mut parts = plan.wants.clone();
            let mut moved = vec![false; parts.len()];
            let mut answered = Vec::with_capacity(results.len());
            for (i, data) in results {
                let Some(part) = parts.get_mut(i) else {
                    continue;
                };
                if part.must_respond(&data) {
                    // Partitions that returned records go to the back, so
                    // that the others are read first next time.
                    moved[i] = data.records.as_ref().is_some_and(|r| !r.is_empty());
                    answered.push((i, data));
                }
            }
            // Kafka moves them in the order the response lists them.
            let mut order: Vec<CachedPartition> = parts
                .iter()
                .enumerate()
                .filter(|(i, _)| !moved[*i])
                .map(|(_, p)| p.clone())
                .collect();
            order.extend(
                answered
                    .iter()
                    .filter(|(i, _)| moved[*i])
                    .filter_map(|(i, _)| parts.get(*i).cloned()),
            );
            sessions.advance(id, order, now);
            (ErrorCode::NONE, id, answered)
        }
    }
}

/// The partitions a request lists, once each (a repeated partition keeps
/// its first place and its last parameters, as in Kafka's map).
fn requested(cluster: &Cluster, version: i16, req: &FetchRequest) -> Vec<CachedPartition> {
    let mut out: Vec<CachedPartition> = Vec::new();
    let mut index: HashMap<PartKey, usize> = HashMap::new();
    for t in &req.topics {
        let (topic_id, topic) = if version >= 13 {
            (t.topic_id, cluster.by_id.get(&t.topic_id).cloned())
        } else {
            (Uuid::ZERO, Some(t.topic.to_string()))
        };
        for p in &t.partitions {
            let part = CachedPartition {
                topic_id,
                topic: topic.clone(),
                partition: p.partition,
                max_bytes: p.partition_max_bytes,
                fetch_offset: p.fetch_offset,
                current_leader_epoch: if version >= 9 {
                    p.current_leader_epoch
                } else {
                    -1
                },
                fetcher_log_start_offset: p.log_start_offset,
                high_watermark: -1,
                log_start_offset: -1,
            };
            match index.get(&part.key()) {
                Some(&i) => out[i] = part,
                None => {
                    index.insert(part.key(), out.len());
                    out.push(part);
                }
            }
        }
    }
    out
}

/// The partitions a request removes from its session.
fn forgotten(version: i16, req: &FetchRequest) -> Vec<PartKey> {
    req.forgotten_topics_data
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                if version >= 13 {
                    PartKey::Id(t.topic_id, p)
                } else {
                    PartKey::Name(t.topic.to_string(), p)
                }
            })
        })
        .collect()
}
