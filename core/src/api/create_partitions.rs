//! CreatePartitions (key 37): add partitions to existing topics.
//!
//! # Wire
//!
//! Request: topics (name, new total count, optional replica assignment of
//! each new partition), timeout, validate-only. Response: throttle time,
//! and per topic its name, error code and error message.
//!
//! # Versions
//!
//! 0-3, all alike (v2 is flexible; v3 only changes quota handling). Checked
//! as Kafka's controller checks them: a name given twice is INVALID_REQUEST
//! (answered once); an unknown topic UNKNOWN_TOPIC_OR_PARTITION; a count
//! that is not an increase INVALID_PARTITIONS; an assignment list whose
//! length is not the number of new partitions, or an assignment that does
//! not name this broker alone, INVALID_REPLICA_ASSIGNMENT. More than 10,000
//! new partitions in one request is POLICY_VIOLATION, Kafka's limit on one
//! controller operation. `validate_only` checks everything and changes
//! nothing. Each new partition gets a PartitionRecord in the metadata log
//! and an empty log.
//!
//! # ZooKeeper mode
//!
//! With [`Config::zk_mode`] the broker runs CreatePartitions as Kafka's
//! ZooKeeper-era broker does (module `zk`): a broker that is not the
//! controller answers NOT_CONTROLLER; a name given twice is
//! INVALID_REQUEST ("Duplicate topic in request."); then Kafka's
//! `ZkAdminManager` checks with its messages: an unknown topic
//! UNKNOWN_TOPIC_OR_PARTITION, a count that is not an increase
//! INVALID_PARTITIONS, an explicit assignment with unknown brokers, the
//! wrong number of lists, an empty list, a broker twice or another
//! replica count than partition 0's INVALID_REPLICA_ASSIGNMENT. Without
//! one the new replicas are placed by `assignReplicasToBrokers` over the
//! live brokers, starting at the first broker whose id is at least
//! partition 0's first replica's and counting from the first new
//! partition (Kafka's `addPartitions`). The whole assignment goes to the
//! driver (`Output::CreatePartitions`), which rewrites
//! `/brokers/topics/<T>` at the version it read (INVALID_PARTITIONS if
//! the topic's partitions changed meanwhile) and reports through
//! `Broker::handle_topics_created`; the request is held (module `held`,
//! Kafka's `DelayedCreatePartitions`) until every partition has a leader
//! in this broker's metadata, or its `timeout_ms` (REQUEST_TIMED_OUT).
//! With `timeout_ms <= 0` the partitions are written and the answer is
//! REQUEST_TIMED_OUT at once, as Kafka answers it.

use crate::collections::Map;

mod held;
pub(crate) mod zk;

pub(crate) use held::HeldPartitions;

use crate::protocol::messages::create_partitions_request::{
    CreatePartitionsRequest, CreatePartitionsTopic,
};
use crate::protocol::messages::create_partitions_response::{
    CreatePartitionsResponse, CreatePartitionsTopicResult,
};
use crate::protocol::ErrorCode;
use crate::state::cluster::{Cluster, METADATA_TOPIC};
use crate::state::controller::Controller;
use crate::state::Config;
use crate::storage::Storage;

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// Kafka's cap on the records one controller operation may write.
const MAX_NEW_PARTITIONS: i64 = 10_000;

/// Runs a CreatePartitions request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    mut ctl: Controller<'_, S>,
    az: &Authorizer<'_>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut count: Map<&str, usize> = Map::new();
    for t in &req.topics {
        *count.entry(&*t.name).or_default() += 1;
    }
    let mut answered = crate::collections::Set::new();
    let mut budget = MAX_NEW_PARTITIONS;
    let mut results = Vec::new();
    for t in &req.topics {
        let name = t.name.to_string();
        if !answered.insert(name.clone()) {
            continue;
        }
        let outcome = if count.get(name.as_str()).copied().unwrap_or(0) > 1 {
            Err((
                ErrorCode::INVALID_REQUEST,
                Some("Duplicate topic name.".to_string()),
            ))
        } else if !az.topic(Operation::Alter, &name) {
            Err((
                ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                Some("The topic authorization is failed.".to_string()),
            ))
        } else {
            check(config, ctl.cluster, t, &mut budget)
        };
        let outcome = match outcome {
            Ok(()) if req.validate_only => Ok(()),
            Ok(()) => ctl
                .add_partitions(&name, t.count, ctx.now)
                .map_err(|code| (code, Some(code.name().to_string()))),
            Err(e) => Err(e),
        };
        let (code, message) = outcome.err().unwrap_or((ErrorCode::NONE, None));
        results.push(CreatePartitionsTopicResult {
            name: t.name.clone(),
            error_code: code.code(),
            error_message: message.map(Into::into),
            ..Default::default()
        });
    }
    CreatePartitionsResponse {
        throttle_time_ms: 0,
        results,
        ..Default::default()
    }
}

/// Why a topic was refused: the error and Kafka's message for it.
type Refusal = (ErrorCode, Option<String>);

/// Everything Kafka's controller checks before adding partitions.
fn check(
    config: &Config,
    cluster: &Cluster,
    t: &CreatePartitionsTopic,
    budget: &mut i64,
) -> Result<(), Refusal> {
    let name = &*t.name;
    let Some(topic) = cluster.topics.get(name).filter(|_| name != METADATA_TOPIC) else {
        // Kafka throws UnknownTopicOrPartitionException without a message.
        return Err((ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None));
    };
    let have = topic.partitions.len() as i64;
    let want = i64::from(t.count);
    if want == have {
        return Err((
            ErrorCode::INVALID_PARTITIONS,
            Some(format!("Topic already has {have} partition(s).")),
        ));
    }
    if want < have {
        return Err((
            ErrorCode::INVALID_PARTITIONS,
            Some(format!("The topic {name} currently has {have} partition(s); {want} would not be an increase.")),
        ));
    }
    let additional = want - have;
    if let Some(assignments) = &t.assignments {
        if assignments.len() as i64 != additional {
            return Err((
                ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                Some(format!(
                    "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
                    assignments.len()
                )),
            ));
        }
        for a in assignments {
            check_assignment(config.node_id, &a.broker_ids.to_vec())
                .map_err(|m| (ErrorCode::INVALID_REPLICA_ASSIGNMENT, Some(m)))?;
        }
    }
    if additional > *budget {
        return Err((
            ErrorCode::POLICY_VIOLATION,
            Some("Unable to perform excessively large batch operation.".into()),
        ));
    }
    *budget -= additional;
    Ok(())
}

/// Kafka's checks of one manual assignment, on a cluster of one broker
/// whose partitions all have one replica.
fn check_assignment(node: i32, replicas: &[i32]) -> Result<(), String> {
    if replicas.is_empty() {
        return Err("The manual partition assignment includes an empty replica list.".into());
    }
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    let mut prev = None;
    for &id in &sorted {
        if id != node {
            return Err(format!("The manual partition assignment includes broker {id}, but no such broker is registered."));
        }
        if prev == Some(id) {
            return Err(format!(
                "The manual partition assignment includes the broker {id} more than once."
            ));
        }
        prev = Some(id);
    }
    if sorted.len() != 1 {
        return Err(format!(
            "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have 1 replica(s).",
            sorted.len()
        ));
    }
    Ok(())
}
