//! CreateTopics in ZooKeeper mode: Kafka's `ZkAdminManager.createTopics`,
//! its checks and its replica assignment, with the ZooKeeper writes left
//! to the driver (`Output::CreateTopics`).

use crate::collections::{Map, Set};

use crate::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use crate::protocol::messages::create_topics_response::{
    CreatableTopicResult, CreateTopicsResponse,
};
use crate::protocol::ErrorCode;
use crate::state::assignment::{assign, Assignment, Candidate, NewTopic, Start};
use crate::state::brokers::Membership;
use crate::state::cluster::{
    is_internal, topic_name_error, Cluster, MAX_PARTITIONS, METADATA_TOPIC,
};
use crate::state::configs::topic as topic_configs;
use crate::state::controller::Controller;
use crate::state::ids::Ids;
use crate::state::Config;
use crate::storage::Storage;

use super::super::authz::{hide_configs, may_create};
use super::super::Ctx;
use super::held::{failed, Creates};
use super::{create_here, effective_configs};
use crate::security::acl::Authorizer;

/// What a CreateTopics request in ZooKeeper mode comes to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Answer now: nothing to write (all failed, or `validate_only`).
    Answer(CreateTopicsResponse),
    /// Held as request `request` of [`Creates`]: the driver writes these
    /// topics.
    Held { request: u64, topics: Vec<NewTopic> },
}

/// Runs a CreateTopics request in ZooKeeper mode.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    members: &Membership,
    mut ctl: Controller<'_, S>,
    creates: &mut Creates,
    az: &Authorizer<'_>,
    req: CreateTopicsRequest,
) -> Outcome {
    let answer = |topics| {
        Outcome::Answer(CreateTopicsResponse {
            throttle_time_ms: 0,
            topics,
            ..Default::default()
        })
    };
    // Kafka's ZooKeeper-era brokers take topic changes only on the
    // controller; clients find it in Metadata and send them there.
    if members.controller_id() != config.node_id {
        return answer(
            req.topics
                .iter()
                .map(|t| bare(t, ErrorCode::NOT_CONTROLLER, None))
                .collect(),
        );
    }
    let mut counts: Map<&str, usize> = Map::new();
    for t in &req.topics {
        *counts.entry(&t.name).or_default() += 1;
    }
    let mut held: Vec<(CreatableTopicResult, Option<i32>)> = Vec::new();
    let mut new_topics = Vec::new();
    for t in &req.topics {
        let name = t.name.to_string();
        if name == METADATA_TOPIC {
            let msg = format!("Creation of internal topic {name} is prohibited.");
            held.push((bare(t, ErrorCode::INVALID_REQUEST, Some(msg)), None));
            continue;
        }
        if counts[&*t.name] > 1 {
            let msg = "Found multiple entries for this topic.".to_string();
            held.push((bare(t, ErrorCode::INVALID_REQUEST, Some(msg)), None));
            continue;
        }
        if !may_create(az, &name) {
            let code = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
            held.push((bare(t, code, None), None));
            continue;
        }
        if is_internal(&name) {
            // Still the broker's own controller's (see the module docs).
            let mut r = create_here(ctx, config, &mut ctl, t, req.validate_only);
            hide_configs(az, &mut r);
            held.push((r, None));
            continue;
        }
        let busy = creates.being_created(&name);
        match check(config, members, ctl.cluster, ctl.ids, busy, t) {
            Err((code, msg)) => held.push((bare(t, code, msg), None)),
            Ok(new) => {
                let mut r = bare(t, ErrorCode::NONE, None);
                r.num_partitions = new.assignment.len() as i32;
                r.replication_factor = new.assignment.get(&0).map_or(0, |r| r.len() as i16);
                r.configs = Some(effective_configs(config, &new.configs));
                hide_configs(az, &mut r);
                if req.validate_only {
                    held.push((r, None));
                } else {
                    r.topic_id = new.id;
                    held.push((r, Some(new.assignment.len() as i32)));
                    new_topics.push(new);
                }
            }
        }
    }
    if new_topics.is_empty() {
        return answer(held.into_iter().map(|(r, _)| r).collect());
    }
    let deadline = (req.timeout_ms > 0).then(|| ctx.now + i64::from(req.timeout_ms));
    let request = creates.hold(ctx.conn, deadline, held);
    Outcome::Held {
        request,
        topics: new_topics,
    }
}

/// A result naming the topic, with `code`; a failure's fields reset.
fn bare(t: &CreatableTopic, code: ErrorCode, msg: Option<String>) -> CreatableTopicResult {
    let r = CreatableTopicResult {
        name: t.name.clone(),
        error_message: None,
        configs: Some(Vec::new()),
        ..Default::default()
    };
    if code == ErrorCode::NONE {
        r
    } else {
        failed(r, code, msg)
    }
}

/// Kafka's checks of one topic, in its order, and the topic to write:
/// its assignment (computed, or the request's own) and a fresh id.
/// `busy`: another request of this broker is creating it.
pub(crate) fn check(
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    ids: &mut Ids,
    busy: bool,
    t: &CreatableTopic,
) -> Result<NewTopic, (ErrorCode, Option<String>)> {
    let name = t.name.to_string();
    if cluster.topics.contains_key(&name) || busy {
        return Err((
            ErrorCode::TOPIC_ALREADY_EXISTS,
            Some(format!("Topic '{name}' already exists.")),
        ));
    }
    let null: Vec<&str> = t
        .configs
        .iter()
        .filter(|c| c.value.is_none())
        .map(|c| &*c.name)
        .collect();
    if !null.is_empty() {
        return Err((
            ErrorCode::INVALID_CONFIG,
            Some(format!(
                "Null value not supported for topic configs: {}",
                null.join(",")
            )),
        ));
    }
    if !t.assignments.is_empty() && (t.num_partitions != -1 || t.replication_factor != -1) {
        return Err((ErrorCode::INVALID_REQUEST, Some("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into())));
    }
    let assignment = if t.assignments.is_empty() {
        let partitions = match t.num_partitions {
            -1 => config.default_partitions,
            n => n,
        };
        if partitions > MAX_PARTITIONS {
            return Err((
                ErrorCode::POLICY_VIOLATION,
                Some(format!(
                    "Unable to perform excessively large batch operation: {partitions} partitions"
                )),
            ));
        }
        let rf = match t.replication_factor {
            -1 => config.default_replication_factor,
            n => n,
        };
        assign_live(members, ids, partitions, i32::from(rf))?
    } else {
        t.assignments
            .iter()
            .map(|a| (a.partition_index, a.broker_ids.to_vec()))
            .collect()
    };
    if let Some(msg) = topic_name_error(&name) {
        return Err((ErrorCode::INVALID_TOPIC_EXCEPTION, Some(msg)));
    }
    if let Some(msg) = collision(cluster, &name) {
        return Err((ErrorCode::INVALID_TOPIC_EXCEPTION, Some(msg)));
    }
    if !t.assignments.is_empty() {
        check_assignment(t, &assignment)?;
    }
    let configs: Vec<(String, String)> = t
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.as_deref().unwrap_or("").to_string(),
            )
        })
        .collect();
    topic_configs::validate_set(configs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|m| (ErrorCode::INVALID_CONFIG, Some(m)))?;
    Ok(NewTopic {
        name,
        id: ids.uuid(),
        assignment,
        configs,
    })
}

/// Assigns replicas over the live brokers, Kafka's random start drawn
/// from the id generator. The live brokers are those the controller's
/// UpdateMetadata named with an endpoint on this broker's listener
/// ([`Membership`]); Kafka counts every live broker, whatever its
/// listeners, which differs only in a cluster whose brokers do not all
/// share the client listener.
pub(crate) fn assign_live(
    members: &Membership,
    ids: &mut Ids,
    partitions: i32,
    replication_factor: i32,
) -> Result<Assignment, (ErrorCode, Option<String>)> {
    let brokers: Vec<Candidate<'_>> = members
        .brokers()
        .iter()
        .map(|b| Candidate {
            id: b.id,
            rack: b.rack.as_deref(),
        })
        .collect();
    let start = Start {
        index: ids.next_u64(),
        shift: ids.next_u64(),
        first: 0,
    };
    assign(&brokers, partitions, replication_factor, start)
}

/// Kafka's check that a name with `.` or `_` does not collide with an
/// existing topic's (the two characters are the same in metric names).
fn collision(cluster: &Cluster, name: &str) -> Option<String> {
    if !name.contains(['.', '_']) {
        return None;
    }
    let norm = |n: &str| n.replace('.', "_");
    let colliding: Vec<&str> = cluster
        .topics
        .keys()
        .filter(|other| other.as_str() != name && norm(other) == norm(name))
        .map(String::as_str)
        .collect();
    (!colliding.is_empty()).then(|| {
        format!(
            "Topic '{name}' collides with existing topics: {}",
            colliding.join(", ")
        )
    })
}

/// Kafka's checks of a request's own assignment (`validateTopicCreate`):
/// as many replicas in every partition, none twice, partitions 0..n. It
/// does not check that the brokers exist (nor does Kafka: the controller
/// leaves a replica on an unknown broker offline). An empty replica list
/// is refused, as Kafka's KRaft controller refuses it (a partition no
/// broker hosts could never have a leader).
fn check_assignment(
    t: &CreatableTopic,
    assignment: &Assignment,
) -> Result<(), (ErrorCode, Option<String>)> {
    let bad = |m: String| Err((ErrorCode::INVALID_REPLICA_ASSIGNMENT, Some(m)));
    let sizes: Set<usize> = assignment.values().map(Vec::len).collect();
    if sizes.len() != 1 {
        return bad("All partitions should have the same number of replicas".into());
    }
    if sizes.contains(&0) {
        return bad("The manual partition assignment includes an empty replica list.".into());
    }
    for (p, replicas) in assignment {
        if replicas.iter().collect::<Set<_>>().len() != replicas.len() {
            return bad(format!(
                "Duplicate replica assignment found: partition {p} has replicas {replicas:?}"
            ));
        }
    }
    let n = assignment.len() as i32;
    if t.assignments.len() as i32 != n || assignment.keys().copied().ne(0..n) {
        return bad("partitions should be a consecutive 0-based integer sequence".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::create_topics_request::CreatableReplicaAssignment;
    use crate::protocol::Uuid;

    fn topic(assignments: &[(i32, &[i32])]) -> CreatableTopic {
        CreatableTopic {
            name: "t".into(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: assignments
                .iter()
                .map(|&(p, b)| CreatableReplicaAssignment {
                    partition_index: p,
                    broker_ids: b.to_vec().into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn check_manual(assignments: &[(i32, &[i32])]) -> Result<(), (ErrorCode, Option<String>)> {
        let t = topic(assignments);
        let a: Assignment = assignments.iter().map(|&(p, b)| (p, b.to_vec())).collect();
        check_assignment(&t, &a)
    }

    #[test]
    fn manual_assignments_are_checked_as_kafka_checks_them() {
        assert_eq!(check_manual(&[(0, &[1, 2]), (1, &[2, 3])]), Ok(()));
        let code = |r: Result<(), (ErrorCode, Option<String>)>| r.unwrap_err().0;
        let invalid = ErrorCode::INVALID_REPLICA_ASSIGNMENT;
        assert_eq!(code(check_manual(&[(0, &[1, 2]), (1, &[2])])), invalid);
        assert_eq!(code(check_manual(&[(0, &[1, 1])])), invalid);
        assert_eq!(code(check_manual(&[(0, &[1]), (2, &[2])])), invalid);
        assert_eq!(code(check_manual(&[(0, &[1]), (0, &[2])])), invalid);
        assert_eq!(code(check_manual(&[(0, &[])])), invalid);
        // Unknown brokers pass, as in Kafka.
        assert_eq!(check_manual(&[(0, &[77])]), Ok(()));
    }

    #[test]
    fn names_that_differ_only_in_dots_and_underscores_collide() {
        let mut c = Cluster::new(&Config::default());
        c.learn("a_b", Uuid([3; 16]), 0, 0);
        assert_eq!(
            collision(&c, "a.b").as_deref(),
            Some("Topic 'a.b' collides with existing topics: a_b")
        );
        assert_eq!(collision(&c, "a-b"), None);
    }
}
