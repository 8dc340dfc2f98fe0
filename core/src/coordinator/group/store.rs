//! The group metadata record the leader's SyncGroup appends, waited for
//! in a ZooKeeper cluster until every ISR replica of the group's
//! partition of `__consumer_offsets` has it (Kafka's `storeGroup`, an
//! acks=-1 append from `doSyncGroup`).
//!
//! The answers to the members' SyncGroups wait in the broker (see
//! `api::sync_group`); the coordinator keeps which store of each group is
//! still waited for, so that a member whose SyncGroup arrives meanwhile
//! waits for the same record, and hears how it ended. When the record
//! cannot be replicated (the wait times out, the ISR shrinks below
//! `min.insync.replicas`, leadership moves), the assignment is void:
//! Kafka resets every member's assignment and prepares a rebalance, and
//! so does [`GroupCoordinator::store_failed`]. On a single broker the
//! append is acknowledged at once and nothing is kept here.

use bytestring::ByteString;

use super::{Group, GroupCoordinator, Settled};
use crate::state::Now;
use crate::storage::TopicPartition;

/// A group metadata record waiting to be in every ISR replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupStore {
    /// The group.
    pub group: ByteString,
    /// The generation whose assignment the record carries.
    pub generation: i32,
    /// The group's partition of `__consumer_offsets`.
    pub tp: TopicPartition,
    /// Its log end after the record: what the high watermark must reach.
    pub end: i64,
    /// When the wait ends (`offsets.commit.timeout.ms` after the append,
    /// the timeout Kafka's `appendForGroup` gives it).
    pub deadline: Now,
}

impl GroupCoordinator {
    /// Notes a store the members' answers wait for.
    pub fn storing(&mut self, store: GroupStore) {
        self.stores.insert(store.group.clone(), store);
    }

    /// The store of `group`'s `generation` still waited for, if any: a
    /// member syncing meanwhile waits for it too.
    pub fn pending_store(&self, group: &str, generation: i32) -> Option<&GroupStore> {
        self.stores
            .get(group)
            .filter(|s| s.generation == generation)
    }

    /// The record is in every ISR replica: nothing waits for it any more.
    pub fn stored(&mut self, store: &GroupStore) {
        if self.stores.get(&store.group) == Some(store) {
            self.stores.remove(&store.group);
        }
    }

    /// The record could not be replicated: unless the group moved on
    /// meanwhile (another generation, a rebalance already under way), its
    /// assignment is void and it rebalances (Kafka's
    /// `resetAndPropagateAssignmentError` then `maybePrepareRebalance`).
    pub fn store_failed(&mut self, store: &GroupStore, now: Now) -> Settled<()> {
        self.stored(store);
        let mut d = self.decide(&store.group, ());
        if let Some(Group::Classic(g)) = self.groups.get_mut(&store.group) {
            g.store_failed(store.generation, now, &self.config, &mut d.fx);
        }
        self.settle(d, Ok(()), now)
    }
}
