//! Which groups this broker coordinates. A single broker coordinates every
//! group. In ZooKeeper mode ([`crate::state::Config::zk_mode`]) a broker
//! coordinates the groups of the partitions of `__consumer_offsets` it
//! leads, as Kafka 2.x's `GroupMetadataManager.ownedPartitions`: when
//! LeaderAndIsr makes it a partition's leader it loads that partition's
//! groups and offsets from the log its follower copied (`onElection`), and
//! when it stops leading one (a follower again, or StopReplica) it drops
//! them from memory (`onResignation`), answering their held JoinGroup and
//! SyncGroup requests NOT_COORDINATOR. Every group API asks
//! [`GroupCoordinator::coordinates`] first; a group of a partition not led
//! here gets NOT_COORDINATOR and the client asks FindCoordinator again.
//!
//! The broker's start-up load is skipped in ZooKeeper mode: nothing is led
//! until the controller's LeaderAndIsr says so, and what it names is
//! loaded then (a start-up load would be dropped again at once for every
//! partition led elsewhere).

use crate::collections::Set;

use bytestring::ByteString;

use super::classic::{JoinResult, SyncResult};
use super::records::partition_for;
use super::{Group, GroupCoordinator};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::{ConnId, Now};
use crate::storage::Storage;

impl GroupCoordinator {
    /// From now on coordinate only the groups of the partitions led here
    /// ([`GroupCoordinator::follow`]): none yet (ZooKeeper mode).
    pub fn follow_leadership(&mut self) {
        self.led = Some(Set::new());
    }

    /// NOT_COORDINATOR when this broker does not coordinate `group`: the
    /// one check every group API makes.
    pub fn coordinates(&self, group: &str) -> Result<(), ErrorCode> {
        match &self.led {
            None => Ok(()),
            Some(led) if led.contains(&partition_for(group, self.config.offsets_partitions)) => {
                Ok(())
            }
            Some(_) => Err(ErrorCode::NOT_COORDINATOR),
        }
    }

    /// Follows a change of the partitions of `__consumer_offsets` led here
    /// (`led`, after a LeaderAndIsr or StopReplica): loads the partitions
    /// newly led from `storage`, drops the groups of those no longer led.
    /// Returns the answers to the dropped groups' held requests. Nothing
    /// happens unless [`GroupCoordinator::follow_leadership`] was called.
    pub fn follow<S: Storage>(
        &mut self,
        led: &Set<i32>,
        storage: &S,
        now: Now,
    ) -> Vec<(ConnId, ResponseBody)> {
        let Some(before) = self.led.clone() else {
            return Vec::new();
        };
        let mut answers = Vec::new();
        for &p in before.difference(led) {
            answers.extend(self.resign(p));
        }
        for &p in led.difference(&before) {
            self.led.get_or_insert_with(Set::new).insert(p);
            self.load_partition(storage, p, now);
        }
        answers
    }

    /// Drops the groups of partition `p` and their offsets; their held
    /// requests are answered NOT_COORDINATOR.
    fn resign(&mut self, p: i32) -> Vec<(ConnId, ResponseBody)> {
        if let Some(led) = &mut self.led {
            led.remove(&p);
        }
        let n = self.config.offsets_partitions;
        let mine = |id: &ByteString| partition_for(id, n) == p;
        let ids: Set<ByteString> = self
            .groups
            .keys()
            .chain(self.offsets.keys())
            .filter(|id| mine(id))
            .cloned()
            .collect();
        let mut answers = Vec::new();
        let code = ErrorCode::NOT_COORDINATOR;
        for id in &ids {
            if let Some(Group::Classic(g)) = self.groups.remove(id) {
                for m in &g.members {
                    if let Some(w) = m.awaiting_join {
                        let r = JoinResult::error(code, m.id.clone()).response(w.version);
                        answers.push((w.conn, ResponseBody::JoinGroup(r)));
                    }
                    if let Some(w) = m.awaiting_sync {
                        let r = SyncResult::error(code).response(w.version);
                        answers.push((w.conn, ResponseBody::SyncGroup(r)));
                    }
                }
            }
            self.offsets.remove(id);
            self.retry_at.remove(id);
            self.stores.remove(id);
            self.deadlines.set(id, None);
        }
        for by_group in self.pending.values_mut() {
            by_group.retain(|g, _| !mine(g));
        }
        self.pending.retain(|_, by_group| !by_group.is_empty());
        answers
    }
}
