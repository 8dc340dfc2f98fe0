//! SyncGroup answers in a ZooKeeper cluster, the broker's part: the
//! answers the group coordinator gives held SyncGroups once the leader's
//! has stored the group's metadata wait, parked like an acks=all
//! Produce, until every ISR replica of the group's partition of
//! `__consumer_offsets` has the record (see `api::sync_group`). Any other
//! held answer goes at once.

use super::conn::InFlight;
use super::{Broker, ConnId, Now};
use crate::api::sync_group::answer_when_stored;
use crate::coordinator::group::GroupStore;
use crate::protocol::ResponseBody;
use crate::storage::Storage;

impl<S: Storage> Broker<S> {
    /// Answers the held requests of `answers`, each once `store` (when
    /// there is one) is replicated.
    pub(super) fn answer_all(
        &mut self,
        answers: Vec<(ConnId, ResponseBody)>,
        store: Option<GroupStore>,
        now: Now,
    ) {
        for (conn, body) in answers {
            match &store {
                None => self.answer_held(conn, body, now),
                Some(store) => self.answer_stored(conn, body, store, now),
            }
        }
    }

    /// Answers a held SyncGroup now if `store` is replicated, else parks
    /// its answer; a connection that closed meanwhile is skipped.
    fn answer_stored(&mut self, conn: ConnId, body: ResponseBody, store: &GroupStore, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(InFlight::Held(a)) = c.in_flight.take_if(|f| matches!(f, InFlight::Held(_)))
        else {
            return;
        };
        let reply = answer_when_stored(&self.cluster, &self.storage, a, store, body);
        if let Err(reason) = self.finish(conn, Some(a), reply) {
            self.close(conn, reason);
            return;
        }
        self.pump(conn, now);
    }
}
