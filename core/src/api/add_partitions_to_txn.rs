//! AddPartitionsToTxn (key 24): partitions join a producer's transaction.
//!
//! # Versions
//!
//! 0-5, flexible from v3. v0-3 come from producers (transaction version
//! 1): one transactional id and its topics. v4+ come from partition
//! leaders: many transactions at once, each either added or, with
//! `verify_only`, checked (KIP-890 part 1). v2 brought PRODUCER_FENCED
//! (older versions get INVALID_PRODUCER_EPOCH), v5 TRANSACTION_ABORTABLE.
//!
//! # Behaviour (Kafka's)
//!
//! A partition of a topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION
//! and the others OPERATION_NOT_ATTEMPTED: nothing is added. Otherwise the
//! transaction coordinator's answer goes to every partition: NONE, or
//! INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS
//! (the previous transaction is still being ended). A verification answers
//! per partition: NONE for one in the transaction, TRANSACTION_ABORTABLE
//! (INVALID_TXN_STATE at v4) for one that is not.
//!
//! With an authorizer a client's request (v0-3) needs WRITE on its
//! transactional id and on each topic, a broker's (v4+) CLUSTER_ACTION.

use bytestring::ByteString;

use crate::protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
};
use crate::protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResponse, AddPartitionsToTxnResult,
    AddPartitionsToTxnTopicResult,
};
use crate::protocol::ErrorCode;
use crate::storage::{Storage, TopicPartition};

use super::authz::Checks;
use super::txn::{carry_out, fenced_for, TxnParts};
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// Kafka's checks of a client's request (v0-3; v4+ comes from brokers,
/// with CLUSTER_ACTION, see `authz::gate`): WRITE on the transactional id
/// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition), then
/// WRITE on each topic (TOPIC_AUTHORIZATION_FAILED, the others
/// OPERATION_NOT_ATTEMPTED); `None` when allowed.
fn refused(
    az: &Authorizer<'_>,
    id: &str,
    topics: &[AddPartitionsToTxnTopic],
) -> Option<Vec<AddPartitionsToTxnTopicResult>> {
    let every = |code: &dyn Fn(&str) -> ErrorCode| {
        (topics.iter())
            .map(|t| AddPartitionsToTxnTopicResult {
                name: t.name.clone(),
                results_by_partition: (t.partitions.iter())
                    .map(|p| AddPartitionsToTxnPartitionResult {
                        partition_index: p,
                        partition_error_code: code(&t.name).code(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect()
    };
    if !az.txn_id(Operation::Write, id) {
        return Some(every(&|_| ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
    }
    if topics.iter().all(|t| az.topic(Operation::Write, &t.name)) {
        return None;
    }
    Some(every(&|t| match az.topic(Operation::Write, t) {
        true => ErrorCode::OPERATION_NOT_ATTEMPTED,
        false => ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    }))
}

/// Runs an AddPartitionsToTxn request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    p: &mut TxnParts<'_, S>,
    az: &Authorizer<'_>,
    req: AddPartitionsToTxnRequest,
    appended: &mut Vec<TopicPartition>,
) -> AddPartitionsToTxnResponse {
    if ctx.version <= 3 {
        let (id, topics) = (&req.v3_and_below_transactional_id, &req.v3_and_below_topics);
        if let Some(results) = refused(az, id, topics) {
            return AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: results,
                ..Default::default()
            };
        }
        let results = add(
            ctx,
            p,
            &req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id,
            req.v3_and_below_producer_epoch,
            &req.v3_and_below_topics,
            appended,
        );
        return AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: results,
            ..Default::default()
        };
    }
    let results = req
        .transactions
        .iter()
        .map(|t| {
            let topic_results = if t.verify_only {
                verify(
                    ctx,
                    p,
                    t.transactional_id.as_ref(),
                    t.producer_id,
                    t.producer_epoch,
                    &t.topics,
                )
            } else {
                add(
                    ctx,
                    p,
                    &t.transactional_id,
                    t.producer_id,
                    t.producer_epoch,
                    &t.topics,
                    appended,
                )
            };
            AddPartitionsToTxnResult {
                transactional_id: t.transactional_id.clone(),
                topic_results,
                ..Default::default()
            }
        })
        .collect();
    AddPartitionsToTxnResponse {
        results_by_transaction: results,
        ..Default::default()
    }
}

/// The same code for every partition of `topics`, or per partition.
fn results(
    topics: &[AddPartitionsToTxnTopic],
    code: impl Fn(&ByteString, i32) -> ErrorCode,
) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|t| AddPartitionsToTxnTopicResult {
            name: t.name.clone(),
            results_by_partition: t
                .partitions
                .iter()
                .map(|p| AddPartitionsToTxnPartitionResult {
                    partition_index: p,
                    partition_error_code: code(&t.name, p).code(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

fn add<S: Storage>(
    ctx: &Ctx,
    p: &mut TxnParts<'_, S>,
    id: &ByteString,
    pid: i64,
    epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    appended: &mut Vec<TopicPartition>,
) -> Vec<AddPartitionsToTxnTopicResult> {
    if id.is_empty() {
        return results(topics, |_, _| ErrorCode::INVALID_REQUEST);
    }
    let unknown = |t: &ByteString, i: i32| p.cluster.partition_epoch(t, i).is_none();
    if topics
        .iter()
        .any(|t| t.partitions.iter().any(|i| unknown(&t.name, i)))
    {
        return results(topics, |t, i| {
            if unknown(t, i) {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            } else {
                ErrorCode::OPERATION_NOT_ATTEMPTED
            }
        });
    }
    let parts: Vec<(ByteString, i32)> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|i| (t.name.clone(), i)))
        .collect();
    let code = match p.txns.add_partitions(id, pid, epoch, &parts, 1, ctx.now) {
        Ok(plan) => carry_out(p, plan, ctx.now, appended).err(),
        Err(code) => Some(code),
    }
    .unwrap_or(ErrorCode::NONE);
    let code = fenced_for(code, ctx.version, 2);
    results(topics, |_, _| code)
}

fn verify<S: Storage>(
    ctx: &Ctx,
    p: &TxnParts<'_, S>,
    id: &str,
    pid: i64,
    epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
) -> Vec<AddPartitionsToTxnTopicResult> {
    results(topics, |t, i| {
        match p.txns.verify(id, pid, epoch, &(t.clone(), i)) {
            Ok(()) => ErrorCode::NONE,
            Err(ErrorCode::TRANSACTION_ABORTABLE) if ctx.version < 5 => {
                ErrorCode::INVALID_TXN_STATE
            }
            Err(code) => fenced_for(code, ctx.version, 2),
        }
    })
}
