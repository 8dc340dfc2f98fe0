//! Which transactional ids this broker coordinates. A single broker
//! coordinates every id. In ZooKeeper mode ([`crate::state::Config::zk_mode`])
//! a broker coordinates the ids of the partitions of `__transaction_state`
//! it leads, as Kafka 2.x's `TransactionStateManager`: when LeaderAndIsr
//! makes it a partition's leader it loads that partition's ids from the
//! log its follower copied (`loadTransactionsForTxnTopicPartition`), a
//! prepared transaction is finished at once (its markers and completion
//! written, as the start-up recovery does) and an Ongoing one gets its
//! deadline; when it stops leading one (a follower again, or StopReplica)
//! it drops them from memory (`removeTransactionsForTxnTopicPartition`).
//! Every transactional API asks [`TxnCoordinator::coordinates`] first; an
//! id of a partition not led here gets NOT_COORDINATOR and the client asks
//! FindCoordinator again.
//!
//! The load is synchronous (the log is read in one go when LeaderAndIsr
//! arrives), so Kafka's COORDINATOR_LOAD_IN_PROGRESS, answered while a
//! partition loads, is never needed. The broker's start-up load is
//! skipped in ZooKeeper mode, as the group coordinator's is.

use crate::collections::{Map, Set};

use bytestring::ByteString;

use super::{read_partition, records, TxnCoordinator};
use crate::protocol::ErrorCode;
use crate::state::{Now, TRANSACTION_STATE_TOPIC};
use crate::storage::{Storage, TopicPartition};

impl TxnCoordinator {
    /// From now on coordinate only the ids of the partitions led here
    /// ([`TxnCoordinator::follow`]): none yet (ZooKeeper mode).
    pub fn follow_leadership(&mut self) {
        self.led = Some(Set::new());
    }

    /// NOT_COORDINATOR when this broker does not coordinate `id`: the one
    /// check every transactional API makes.
    pub fn coordinates(&self, id: &str) -> Result<(), ErrorCode> {
        match &self.led {
            None => Ok(()),
            Some(led)
                if led.contains(&records::partition_for(
                    id,
                    self.config.state_log_partitions,
                )) =>
            {
                Ok(())
            }
            Some(_) => Err(ErrorCode::NOT_COORDINATOR),
        }
    }

    /// Follows a change of the partitions of `__transaction_state` led
    /// here (`led`, after a LeaderAndIsr or StopReplica): loads the
    /// partitions newly led from `storage` (their prepared transactions
    /// due at `now`, so the transaction timer finishes them), drops the
    /// ids of those no longer led. Nothing happens unless
    /// [`TxnCoordinator::follow_leadership`] was called.
    pub fn follow<S: Storage>(&mut self, led: &Set<i32>, storage: &S, now: Now) {
        let Some(before) = self.led.clone() else {
            return;
        };
        for &p in before.difference(led) {
            self.resign(p);
        }
        for &p in led.difference(&before) {
            self.led.get_or_insert_with(Set::new).insert(p);
            let mut found = Map::new();
            read_partition(
                storage,
                &TopicPartition::new(TRANSACTION_STATE_TOPIC, p),
                &mut found,
            );
            self.insert_loaded(found, Some(now));
        }
    }

    /// Drops the ids of partition `p` with their deadlines.
    fn resign(&mut self, p: i32) {
        if let Some(led) = &mut self.led {
            led.remove(&p);
        }
        let n = self.config.state_log_partitions;
        let gone: Vec<ByteString> = self
            .txns
            .keys()
            .filter(|id| records::partition_for(id, n) == p)
            .cloned()
            .collect();
        for id in gone {
            self.txns.remove(&id);
            self.deadlines.set(&id, None);
        }
        // Markers waited on elsewhere are forgotten: the new coordinator
        // finishes the prepared transaction.
        self.remote.forget(|id| records::partition_for(id, n) == p);
    }
}
