//! SyncGroup (key 14): members of a classic group collect their share of
//! the assignment the leader sends. See [`crate::coordinator::group::classic`].
//!
//! # Versions
//!
//! v3+ carry `group_instance_id`; v5+ name the protocol type and name, which
//! must match the group's (INCONSISTENT_GROUP_PROTOCOL otherwise), and the
//! response names them too. Answers are held until the leader's SyncGroup
//! arrives; the leader's assignment is written to `__consumer_offsets`
//! before anyone gets it, and when it cannot be, every member waiting gets
//! NOT_COORDINATOR and the group is as it was.
//!
//! # In a ZooKeeper cluster
//!
//! The group metadata record is appended with acks=-1, as Kafka's
//! `storeGroup` does: the answers to the leader and to every member held
//! ([`Handled::stored`]), and to a member syncing meanwhile, wait until
//! every ISR replica of the group's partition has it, for at most
//! `offsets.commit.timeout.ms` (a parked answer, see [`super::replicated`]).
//! When it cannot be replicated they all get `storeGroup`'s mapping of the
//! append error ([`store_error`](super::replicated::store_error): a timeout is REBALANCE_IN_PROGRESS,
//! leadership lost NOT_COORDINATOR, too few in-sync replicas
//! COORDINATOR_NOT_AVAILABLE) with no assignment, and the group rebalances
//! ([`GroupCoordinator::store_failed`]). On a single broker the append is
//! acknowledged at once and the answers go as they are decided.

use crate::coordinator::group::classic::{SyncArgs, SyncResult};
use crate::coordinator::group::{GroupCoordinator, GroupStore};
use crate::coordinator::Waiter;
use crate::protocol::messages::sync_group_request::SyncGroupRequest;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::cluster::Cluster;
use crate::storage::Storage;

use super::replicated::{fail, resume, store_error, ParkedAnswer};
use super::{Answering, Ctx, Handled, Reply};

/// Runs a SyncGroup request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    answering: Answering,
    groups: &mut GroupCoordinator,
    cluster: &Cluster,
    storage: &mut S,
    req: SyncGroupRequest,
) -> Handled {
    let v = ctx.version;
    let body = move |r: SyncResult| ResponseBody::SyncGroup(r.response(v));
    let respond = move |r: SyncResult| Reply::Response(body(r));
    if req.group_id.is_empty() {
        return Handled::reply(respond(SyncResult::error(ErrorCode::INVALID_GROUP_ID)));
    }
    let waiter = Waiter {
        conn: ctx.conn,
        version: v,
    };
    let (protocol_type, protocol_name) = if v >= 5 {
        (req.protocol_type, req.protocol_name)
    } else {
        (None, None)
    };
    let generation = req.generation_id;
    let args = SyncArgs {
        member_id: req.member_id,
        instance_id: if v >= 3 { req.group_instance_id } else { None },
        generation,
        protocol_type,
        protocol_name,
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id, a.assignment))
            .collect(),
    };
    let d = groups.sync(ctx.now, &req.group_id, args, waiter);
    let mut s = groups.write(d, storage, ctx.now);
    // The leader's SyncGroup appended the group's metadata: the answers
    // wait for its replicas, or fail with it.
    let mut stored = None;
    if let (Ok(_), Some((tp, end))) = (&s.reply, &s.written) {
        let store = GroupStore {
            group: req.group_id.clone(),
            generation,
            tp: tp.clone(),
            end: *end,
            deadline: ctx
                .now
                .saturating_add(groups.config().offsets_commit_timeout_ms),
        };
        match cluster.acks_all(&*storage, tp, *end) {
            Some(ErrorCode::NONE) => {}
            None => {
                groups.storing(store.clone());
                stored = Some(store);
            }
            Some(err) => {
                let code = store_error(err);
                for (_, body) in &mut s.answers {
                    fail(body, code);
                }
                let f = groups.store_failed(&store, ctx.now);
                s.answers.extend(f.answers);
                s.next_deadline = f.next_deadline;
            }
        }
    }
    // A member syncing while the store is waited for waits for it too.
    let pending = groups.pending_store(&req.group_id, generation).cloned();
    Handled {
        stored,
        ..Handled::group(s, |r| match (r, pending) {
            (Ok(Some(r)), Some(store)) if r.error == ErrorCode::NONE => {
                answer_when_stored(cluster, &*storage, answering, &store, body(r))
            }
            (Ok(Some(r)), _) => respond(r),
            (Ok(None), _) => Reply::Hold,
            (Err(code), _) => respond(SyncResult::error(code)),
        })
    }
}

/// A SyncGroup answer `body`, sent now when `store` is in every ISR
/// replica, or parked until it is (or until its deadline).
pub(crate) fn answer_when_stored<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    answering: Answering,
    store: &GroupStore,
    body: ResponseBody,
) -> Reply {
    let parked = ParkedAnswer {
        answering,
        deadline: store.deadline,
        waits: vec![(store.tp.clone(), store.end).into()],
        body,
        store: Some(store.clone()),
    };
    resume(cluster, storage, parked, false)
}
