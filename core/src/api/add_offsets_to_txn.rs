//! AddOffsetsToTxn (key 25): a producer's transaction will commit offsets
//! for a group (transaction version 1; version 2 clients skip it).
//!
//! # Versions
//!
//! 0-4, flexible from v3; v2 brought PRODUCER_FENCED (older versions get
//! INVALID_PRODUCER_EPOCH), v4 TRANSACTION_ABORTABLE.
//!
//! # Behaviour (Kafka's)
//!
//! The group's partition of `__consumer_offsets` joins the transaction,
//! as AddPartitionsToTxn would add it, so that the transaction's markers
//! reach the offsets TxnOffsetCommit writes there. An empty group id is
//! INVALID_GROUP_ID.

use crate::coordinator::group::records::partition_for;
use crate::protocol::messages::add_offsets_to_txn_request::AddOffsetsToTxnRequest;
use crate::protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse;
use crate::protocol::ErrorCode;
use crate::state::OFFSETS_TOPIC;
use crate::storage::{Storage, TopicPartition};

use super::txn::{carry_out, fenced_for, TxnParts};
use super::Ctx;

/// Runs an AddOffsetsToTxn request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    p: &mut TxnParts<'_, S>,
    offsets_partitions: i32,
    req: AddOffsetsToTxnRequest,
    appended: &mut Vec<TopicPartition>,
) -> AddOffsetsToTxnResponse {
    let code = if req.group_id.is_empty() {
        ErrorCode::INVALID_GROUP_ID
    } else if req.transactional_id.is_empty() {
        ErrorCode::INVALID_REQUEST
    } else {
        let part = (
            OFFSETS_TOPIC.into(),
            partition_for(&req.group_id, offsets_partitions),
        );
        match p.txns.add_partitions(
            &req.transactional_id,
            req.producer_id,
            req.producer_epoch,
            &[part],
            1,
            ctx.now,
        ) {
            Ok(plan) => carry_out(p, plan, ctx.now, appended)
                .err()
                .unwrap_or(ErrorCode::NONE),
            Err(code) => code,
        }
    };
    AddOffsetsToTxnResponse {
        error_code: fenced_for(code, ctx.version, 2).code(),
        ..Default::default()
    }
}
