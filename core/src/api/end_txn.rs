//! EndTxn (key 26): a producer commits or aborts its transaction.
//!
//! # Versions
//!
//! 0-5, flexible from v3. v2 brought PRODUCER_FENCED (older versions get
//! INVALID_PRODUCER_EPOCH), v4 TRANSACTION_ABORTABLE, and v5 transaction
//! version 2 (KIP-890 part 2): the epoch is bumped with every EndTxn and
//! the response carries the producer id and epoch to go on with.
//!
//! # Behaviour (Kafka's)
//!
//! The coordinator writes PrepareCommit (PrepareAbort) to
//! `__transaction_state`, a COMMIT (ABORT) marker to every partition of
//! the transaction, then CompleteCommit (CompleteAbort); see
//! [`crate::coordinator::txn`] for the answers it gives in each state. A
//! retried EndTxn whose transaction already ended the same way is NONE.

use crate::protocol::messages::end_txn_request::EndTxnRequest;
use crate::protocol::messages::end_txn_response::EndTxnResponse;
use crate::protocol::ErrorCode;
use crate::state::Config;
use crate::storage::{Storage, TopicPartition};

use super::txn::{carry_out, fenced_for, TxnParts};
use super::Ctx;

/// Runs an EndTxn request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    p: &mut TxnParts<'_, S>,
    req: EndTxnRequest,
    appended: &mut Vec<TopicPartition>,
) -> EndTxnResponse {
    let now = ctx.now;
    let result = if req.transactional_id.is_empty() {
        Err(ErrorCode::INVALID_REQUEST)
    } else {
        let plan = {
            let (producers, storage) = (&mut *p.producers, &mut *p.storage);
            let mut alloc = || producers.allocate(storage, config.node_id, now);
            p.txns.end_txn(
                &req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                req.committed,
                ctx.version >= 5,
                now,
                &mut alloc,
            )
        };
        plan.and_then(|plan| carry_out(p, plan, now, appended))
    };
    match result {
        Ok((producer_id, producer_epoch)) => EndTxnResponse {
            producer_id,
            producer_epoch,
            ..Default::default()
        },
        Err(code) => EndTxnResponse {
            error_code: fenced_for(code, ctx.version, 2).code(),
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        },
    }
}
