//! CreatePartitions requests waiting for the driver and the controller
//! (ZooKeeper mode): Kafka's `DelayedCreatePartitions`. Each topic waits
//! for the driver's report of its rewritten assignment, then for a leader
//! of every partition (the controller's UpdateMetadata); the request is
//! answered when none waits, or at its deadline, when those still waiting
//! are REQUEST_TIMED_OUT. [`super::super::Creates`] keeps them beside the
//! held CreateTopics, sharing request ids, reports and the timer.

use crate::collections::Map;

use crate::protocol::messages::create_partitions_response::{
    CreatePartitionsResponse, CreatePartitionsTopicResult,
};
use crate::protocol::ErrorCode;
use crate::state::cluster::Cluster;
use crate::state::{ConnId, Now};

/// Where one topic of a held request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Done,
    /// The driver has not reported yet; the topic will have `count`.
    Writing {
        count: i32,
    },
    /// Written; waiting for a leader of each of its `count` partitions.
    Electing {
        count: i32,
    },
}

#[derive(Debug)]
struct Held {
    conn: ConnId,
    deadline: Now,
    topics: Vec<(CreatePartitionsTopicResult, Wait)>,
}

/// Whether every one of `count` partitions of `topic` has a leader.
fn led(cluster: &Cluster, topic: &str, count: i32) -> bool {
    (0..count).all(|p| {
        cluster
            .leadership
            .state(topic, p)
            .is_some_and(|s| s.leader >= 0)
    })
}

impl Held {
    fn ready(&self, cluster: &Cluster) -> bool {
        self.topics.iter().all(|(r, w)| match *w {
            Wait::Done => true,
            Wait::Writing { .. } => false,
            Wait::Electing { count } => led(cluster, &r.name, count),
        })
    }

    fn answer(self, cluster: &Cluster) -> CreatePartitionsResponse {
        let results = self
            .topics
            .into_iter()
            .map(|(mut r, w)| {
                let late = match w {
                    Wait::Done => false,
                    Wait::Writing { .. } => true,
                    Wait::Electing { count } => !led(cluster, &r.name, count),
                };
                if late {
                    r.error_code = ErrorCode::REQUEST_TIMED_OUT.code();
                    r.error_message = None;
                }
                r
            })
            .collect();
        CreatePartitionsResponse {
            throttle_time_ms: 0,
            results,
            ..Default::default()
        }
    }
}

/// An answer: connection, request id, response.
type Answer = (ConnId, u64, CreatePartitionsResponse);

/// Held CreatePartitions requests, by request id.
#[derive(Debug, Default)]
pub(crate) struct HeldPartitions {
    held: Map<u64, Held>,
}

impl HeldPartitions {
    /// Holds request `id` of `conn` until `deadline`: each result with the
    /// partition count it waits for once written (`None`: final).
    pub fn hold(
        &mut self,
        id: u64,
        conn: ConnId,
        deadline: Now,
        topics: Vec<(CreatePartitionsTopicResult, Option<i32>)>,
    ) {
        let topics = topics
            .into_iter()
            .map(|(r, count)| (r, count.map_or(Wait::Done, |count| Wait::Writing { count })))
            .collect();
        self.held.insert(
            id,
            Held {
                conn,
                deadline,
                topics,
            },
        );
    }

    /// The driver's report of request `id`: a topic it does not name
    /// failed (UNKNOWN_SERVER_ERROR). The answer when nothing waits.
    pub fn written(
        &mut self,
        id: u64,
        results: &[(String, Result<(), ErrorCode>)],
        cluster: &Cluster,
    ) -> Option<Answer> {
        let held = self.held.get_mut(&id)?;
        for (r, w) in &mut held.topics {
            let Wait::Writing { count } = *w else {
                continue;
            };
            let reported = results
                .iter()
                .find(|(n, _)| *r.name == **n)
                .map(|(_, o)| *o);
            match reported {
                Some(Ok(())) => *w = Wait::Electing { count },
                other => {
                    let code = other
                        .and_then(Result::err)
                        .unwrap_or(ErrorCode::UNKNOWN_SERVER_ERROR);
                    r.error_code = code.code();
                    r.error_message = None;
                    *w = Wait::Done;
                }
            }
        }
        if !held.ready(cluster) {
            return None;
        }
        let h = self.held.remove(&id)?;
        Some((h.conn, id, h.answer(cluster)))
    }

    /// Answers every request now settled.
    pub fn check(&mut self, cluster: &Cluster) -> Vec<Answer> {
        let ready: Vec<u64> = (self.held.iter())
            .filter(|(_, h)| h.ready(cluster))
            .map(|(id, _)| *id)
            .collect();
        self.finish(ready, cluster)
    }

    /// Answers every request whose deadline is `now` or earlier.
    pub fn expire(&mut self, now: Now, cluster: &Cluster) -> Vec<Answer> {
        let due: Vec<u64> = (self.held.iter())
            .filter(|(_, h)| h.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        self.finish(due, cluster)
    }

    fn finish(&mut self, ids: Vec<u64>, cluster: &Cluster) -> Vec<Answer> {
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
