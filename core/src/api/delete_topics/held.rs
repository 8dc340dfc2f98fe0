//! DeleteTopics requests waiting for the topics to leave this broker's
//! metadata (ZooKeeper mode): Kafka's `DelayedDeleteTopics`. A request is
//! answered once no topic it deletes is in the image any more (the
//! controller's UpdateMetadata named its partitions with leader -2), or at
//! its deadline, when the topics still there are REQUEST_TIMED_OUT.
//! [`super::super::Creates`] keeps them beside the held CreateTopics, so
//! that both share the request ids, the timer and the connection's wait.

use crate::collections::Map;

use crate::protocol::messages::delete_topics_response::{
    DeletableTopicResult, DeleteTopicsResponse,
};
use crate::protocol::ErrorCode;
use crate::state::cluster::Cluster;
use crate::state::{ConnId, Now};

/// One DeleteTopics request waiting.
#[derive(Debug)]
struct Held {
    conn: ConnId,
    deadline: Now,
    /// Every answer, in request order; `true`: waits for its topic to go.
    results: Vec<(DeletableTopicResult, bool)>,
}

impl Held {
    fn gone(&self, cluster: &Cluster) -> bool {
        self.results
            .iter()
            .filter(|(_, waits)| *waits)
            .all(|(r, _)| {
                !r.name
                    .as_ref()
                    .is_some_and(|n| cluster.topics.contains_key(&**n))
            })
    }

    fn answer(self, cluster: &Cluster) -> DeleteTopicsResponse {
        let responses = self
            .results
            .into_iter()
            .map(|(mut r, waits)| {
                let there = r
                    .name
                    .as_ref()
                    .is_some_and(|n| cluster.topics.contains_key(&**n));
                if waits && there {
                    r.error_code = ErrorCode::REQUEST_TIMED_OUT.code();
                }
                r
            })
            .collect();
        DeleteTopicsResponse {
            throttle_time_ms: 0,
            responses,
            ..Default::default()
        }
    }
}

/// Held DeleteTopics requests, by request id.
#[derive(Debug, Default)]
pub(crate) struct HeldDeletes {
    held: Map<u64, Held>,
}

impl HeldDeletes {
    /// Holds request `id` of `conn` until the topics of the results
    /// marked `true` are gone, or `deadline`.
    pub fn hold(
        &mut self,
        id: u64,
        conn: ConnId,
        deadline: Now,
        results: Vec<(DeletableTopicResult, bool)>,
    ) {
        self.held.insert(
            id,
            Held {
                conn,
                deadline,
                results,
            },
        );
    }

    /// Answers every request whose topics are gone.
    pub fn check(&mut self, cluster: &Cluster) -> Vec<(ConnId, u64, DeleteTopicsResponse)> {
        let ready: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| h.gone(cluster))
            .map(|(id, _)| *id)
            .collect();
        self.finish(ready, cluster)
    }

    /// Answers every request whose deadline is `now` or earlier.
    pub fn expire(
        &mut self,
        now: Now,
        cluster: &Cluster,
    ) -> Vec<(ConnId, u64, DeleteTopicsResponse)> {
        let due: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| h.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        self.finish(due, cluster)
    }

    fn finish(
        &mut self,
        ids: Vec<u64>,
        cluster: &Cluster,
    ) -> Vec<(ConnId, u64, DeleteTopicsResponse)> {
        ids.into_iter()
            .filter_map(|id| {
                let h = self.held.remove(&id)?;
                Some((h.conn, id, h.answer(cluster)))
            })
            .collect()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Now> {
        self.held.values().map(|h| h.deadline).min()
    }

    /// Forgets a request (its connection closed).
    pub fn drop_request(&mut self, id: u64) {
        self.held.remove(&id);
    }
}
