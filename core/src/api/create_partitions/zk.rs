//! CreatePartitions in ZooKeeper mode: Kafka 2.x's
//! `KafkaApis.handleCreatePartitionsRequest` and
//! `ZkAdminManager.createPartitions` (with `AdminZkClient`'s
//! `createNewPartitionsAssignment`), the rewrite of `/brokers/topics/<T>`
//! left to the driver (`Output::CreatePartitions`) and the wait
//! (`DelayedCreatePartitions`) to [`Creates`].

use crate::collections::{Map, Set};

use crate::protocol::messages::create_partitions_request::{
    CreatePartitionsRequest, CreatePartitionsTopic,
};
use crate::protocol::messages::create_partitions_response::{
    CreatePartitionsResponse, CreatePartitionsTopicResult,
};
use crate::protocol::ErrorCode;
use crate::state::assignment::{assign, Assignment, Candidate, NewPartitions, Start};
use crate::state::brokers::Membership;
use crate::state::cluster::{Cluster, METADATA_TOPIC};
use crate::state::Config;

use super::super::authz::Checks;
use super::super::{Creates, Ctx};
use crate::security::acl::{Authorizer, Operation};

/// Why a topic was refused: the error and Kafka's message for it.
type Refusal = (ErrorCode, Option<String>);

/// What a CreatePartitions request in ZooKeeper mode comes to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Answer now.
    Answer(CreatePartitionsResponse),
    /// The driver writes these as `request`; the request is held in
    /// [`Creates`] under that id, or (`answer`, `timeout_ms <= 0`)
    /// answered now.
    Write {
        request: u64,
        answer: Option<CreatePartitionsResponse>,
        topics: Vec<NewPartitions>,
    },
}

/// Runs a CreatePartitions request in ZooKeeper mode.
pub(crate) fn handle(
    ctx: &Ctx,
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    creates: &mut Creates,
    az: &Authorizer<'_>,
    req: CreatePartitionsRequest,
) -> Outcome {
    let result = |t: &CreatePartitionsTopic, (code, msg): Refusal| CreatePartitionsTopicResult {
        name: t.name.clone(),
        error_code: code.code(),
        error_message: msg.map(Into::into),
        ..Default::default()
    };
    let response = |results| CreatePartitionsResponse {
        throttle_time_ms: 0,
        results,
        ..Default::default()
    };
    if members.controller_id() != config.node_id {
        let all = (req.topics.iter())
            .map(|t| result(t, (ErrorCode::NOT_CONTROLLER, None)))
            .collect();
        return Outcome::Answer(response(all));
    }
    let mut count: Map<&str, usize> = Map::new();
    for t in &req.topics {
        *count.entry(&*t.name).or_default() += 1;
    }
    let mut answered = Set::new();
    let mut results = Vec::new();
    let mut topics = Vec::new();
    for t in &req.topics {
        if !answered.insert(&*t.name) {
            continue;
        }
        if count[&*t.name] > 1 {
            let msg = "Duplicate topic in request.".to_string();
            results.push((result(t, (ErrorCode::INVALID_REQUEST, Some(msg))), None));
            continue;
        }
        if !az.topic(Operation::Alter, &t.name) {
            let refusal = (
                ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                Some("The topic authorization is failed.".to_string()),
            );
            results.push((result(t, refusal), None));
            continue;
        }
        match check(members, cluster, t) {
            Err(refusal) => results.push((result(t, refusal), None)),
            Ok(_) if req.validate_only => {
                results.push((result(t, (ErrorCode::NONE, None)), None));
            }
            Ok(new) => {
                results.push((result(t, (ErrorCode::NONE, None)), Some(t.count)));
                topics.push(new);
            }
        }
    }
    if topics.is_empty() {
        return Outcome::Answer(response(results.into_iter().map(|(r, _)| r).collect()));
    }
    if req.timeout_ms <= 0 {
        // Kafka writes and answers at once: not waited for.
        let answer = (results.into_iter())
            .map(|(mut r, waits)| {
                if waits.is_some() {
                    r.error_code = ErrorCode::REQUEST_TIMED_OUT.code();
                }
                r
            })
            .collect();
        return Outcome::Write {
            request: creates.unheld(),
            answer: Some(response(answer)),
            topics,
        };
    }
    let deadline = ctx.now + i64::from(req.timeout_ms);
    Outcome::Write {
        request: creates.hold_partitions(ctx.conn, deadline, results),
        answer: None,
        topics,
    }
}

/// Kafka's checks of one topic, in its order, and the assignment to
/// write: the existing partitions' replicas as the controller told them,
/// then the new ones', the request's own or placed as Kafka's
/// `addPartitions` places them (starting at the first live broker whose
/// id is at least partition 0's first replica's, from the first new
/// partition, as many replicas as partition 0 has).
fn check(
    members: &Membership,
    cluster: &Cluster,
    t: &CreatePartitionsTopic,
) -> Result<NewPartitions, Refusal> {
    let name = &*t.name;
    let missing = || {
        let msg = format!("The topic '{name}' does not exist.");
        (ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, Some(msg))
    };
    let topic = (cluster.topics.get(name))
        .filter(|_| name != METADATA_TOPIC)
        .ok_or_else(missing)?;
    let old = topic.partitions.len() as i32;
    let mut existing = Assignment::new();
    for p in 0..old {
        let state = cluster.leadership.state(name, p).ok_or_else(missing)?;
        existing.insert(p, state.replicas.clone());
    }
    let new = t.count;
    let increment = new - old;
    let invalid = |m: String| Err((ErrorCode::INVALID_PARTITIONS, Some(m)));
    if increment < 0 {
        return invalid(format!(
            "Topic currently has {old} partitions, which is higher than the requested {new}."
        ));
    }
    if increment == 0 {
        return invalid(format!("Topic already has {old} partitions."));
    }
    let mut brokers: Vec<Candidate<'_>> = (members.brokers().iter())
        .map(|b| Candidate {
            id: b.id,
            rack: b.rack.as_deref(),
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    let ids: Set<i32> = brokers.iter().map(|b| b.id).collect();
    let bad = |m: String| (ErrorCode::INVALID_REPLICA_ASSIGNMENT, Some(m));
    let unknown = |replicas: &mut dyn Iterator<Item = &i32>| {
        let unknown: Set<i32> = replicas.filter(|r| !ids.contains(r)).copied().collect();
        let list: Vec<String> = unknown.iter().map(i32::to_string).collect();
        (!unknown.is_empty()).then(|| {
            bad(format!(
                "Unknown broker(s) in replica assignment: {}.",
                list.join(", ")
            ))
        })
    };
    let p0 = existing.get(&0).cloned().unwrap_or_default();
    let added = match &t.assignments {
        Some(assignments) => {
            let lists: Vec<Vec<i32>> = assignments.iter().map(|a| a.broker_ids.to_vec()).collect();
            if let Some(e) = unknown(&mut lists.iter().flatten()) {
                return Err(e);
            }
            if lists.len() as i32 != increment {
                return Err(bad(format!(
                    "Increasing the number of partitions by {increment} but {} assignments provided.",
                    lists.len()
                )));
            }
            let proposed: Assignment = (lists.into_iter().enumerate())
                .map(|(i, r)| (old + i as i32, r))
                .collect();
            validate(&proposed, p0.len())?;
            proposed
        }
        None => {
            let first = p0.first().copied().unwrap_or(0);
            let index = brokers.iter().position(|b| b.id >= first).unwrap_or(0) as u64;
            let start = Start {
                index,
                shift: index,
                first: old,
            };
            assign(&brokers, increment, p0.len() as i32, start)?
        }
    };
    existing.extend(added);
    Ok(NewPartitions {
        name: name.to_string(),
        id: topic.id,
        existing: old,
        assignment: existing,
    })
}

/// Kafka's `validateReplicaAssignment` of the new partitions: none
/// empty, no broker twice, as many replicas as partition 0.
fn validate(proposed: &Assignment, replication_factor: usize) -> Result<(), Refusal> {
    let bad = |m: String| Err((ErrorCode::INVALID_REPLICA_ASSIGNMENT, Some(m)));
    for (p, replicas) in proposed {
        if replicas.is_empty() {
            return bad(format!(
                "Cannot have replication factor of 0 for partition id {p}."
            ));
        }
        if replicas.iter().collect::<Set<_>>().len() != replicas.len() {
            let list: Vec<String> = replicas.iter().map(i32::to_string).collect();
            return bad(format!(
                "Duplicate brokers not allowed in replica assignment: {} for partition id {p}.",
                list.join(", ")
            ));
        }
    }
    let odd: Vec<(i32, usize)> = (proposed.iter())
        .filter(|(_, r)| r.len() != replication_factor)
        .map(|(p, r)| (*p, r.len()))
        .collect();
    if !odd.is_empty() {
        let ps: Vec<String> = odd.iter().map(|(p, _)| p.to_string()).collect();
        let rfs: Vec<String> = odd.iter().map(|(_, n)| n.to_string()).collect();
        return bad(format!(
            "Inconsistent replication factor between partitions, partition 0 has {replication_factor} while partitions [{}] have replication factors [{}], respectively.",
            ps.join(", "),
            rfs.join(", ")
        ));
    }
    Ok(())
}
