//! CreateTopics requests waiting for the driver and the controller
//! (ZooKeeper mode): Kafka's `DelayedCreatePartitions`.
//!
//! # States
//!
//! Each topic of a held request waits on its own; the request is answered
//! when none waits any more, or at its deadline.
//!
//! ```text
//!              handle_topics_created: written
//!   Writing ────────────────────────────────> Electing ── a leader for every
//!      │                                         │        partition (UpdateMetadata)
//!      │ the driver reports an error             │        ──> answered NONE
//!      ▼                                         │
//!    Done (its error)                            └─ deadline ──> REQUEST_TIMED_OUT
//!      ▲
//!      └─ deadline while Writing: REQUEST_TIMED_OUT (the write may still happen)
//! ```
//!
//! A topic that failed its checks is `Done` from the start. With no
//! deadline (the request's `timeout_ms` was 0 or less) nothing waits for
//! leaders: once the driver has reported, every written topic is answered
//! REQUEST_TIMED_OUT, as Kafka answers a creation it did not wait for.
//!
//! Auto-created topics (Metadata) are answered at once; only their names
//! are kept here until the driver reports, so that another request does not
//! create them twice (Kafka's `inflightTopics`).

use crate::collections::{Map, Set};

use crate::protocol::messages::create_topics_response::{
    CreatableTopicResult, CreateTopicsResponse,
};
use crate::protocol::messages::delete_topics_response::DeletableTopicResult;
use crate::protocol::{ErrorCode, ResponseBody, Uuid};
use crate::state::cluster::Cluster;
use crate::state::{ConnId, Now};

/// The leader id of a partition without one.
const NO_LEADER: i32 = -1;

/// Where one topic of a held request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Answered: its result is final.
    Done,
    /// The driver has not reported its znodes yet.
    Writing { partitions: i32 },
    /// Written; waiting for a leader of each of its partitions.
    Electing { partitions: i32 },
}

#[derive(Debug)]
struct Entry {
    result: CreatableTopicResult,
    wait: Wait,
}

/// One CreateTopics request waiting.
#[derive(Debug)]
struct Held {
    conn: ConnId,
    /// When it is answered with what there is (`None`: `timeout_ms <= 0`).
    deadline: Option<Now>,
    /// Its topics, in request order.
    topics: Vec<Entry>,
}

impl Held {
    fn writing(&self) -> bool {
        self.topics
            .iter()
            .any(|e| matches!(e.wait, Wait::Writing { .. }))
    }

    /// Whether every written topic has a leader for every partition.
    fn elected(&self, cluster: &Cluster) -> bool {
        self.topics.iter().all(|e| match e.wait {
            Wait::Done => true,
            Wait::Writing { .. } => false,
            Wait::Electing { partitions } => has_leaders(cluster, &e.result.name, partitions),
        })
    }

    /// The response: topics still waiting time out.
    fn answer(self, cluster: &Cluster) -> CreateTopicsResponse {
        let topics = self
            .topics
            .into_iter()
            .map(|e| match e.wait {
                Wait::Done => e.result,
                Wait::Electing { partitions }
                    if self.deadline.is_some()
                        && has_leaders(cluster, &e.result.name, partitions) =>
                {
                    e.result
                }
                Wait::Writing { .. } | Wait::Electing { .. } => {
                    failed(e.result, ErrorCode::REQUEST_TIMED_OUT, None)
                }
            })
            .collect();
        CreateTopicsResponse {
            throttle_time_ms: 0,
            topics,
            ..Default::default()
        }
    }
}

/// Whether the controller's partition states name a leader for each of
/// `partitions` partitions of `topic` (Kafka's `isMissingLeader`: a
/// partition not known, or with leader -1, has none).
fn has_leaders(cluster: &Cluster, topic: &str, partitions: i32) -> bool {
    (0..partitions).all(|p| {
        cluster
            .leadership
            .state(topic, p)
            .is_some_and(|s| s.leader != NO_LEADER)
    })
}

/// A result turned into a failure, as Kafka resets a failed topic's
/// fields (the topic id stays when it was written).
pub(super) fn failed(
    mut r: CreatableTopicResult,
    code: ErrorCode,
    message: Option<String>,
) -> CreatableTopicResult {
    r.error_code = code.code();
    r.error_message = message.map(Into::into);
    r.num_partitions = -1;
    r.replication_factor = -1;
    r.configs = Some(Vec::new());
    r.topic_config_error_code = 0;
    r
}

/// An answer to a held request: its connection, its request id, the
/// response (CreateTopics or DeleteTopics).
pub(crate) type Answer = (ConnId, u64, ResponseBody);

/// Held CreateTopics requests and auto-created topics the driver is
/// writing, by request id, and held DeleteTopics requests
/// (`api::delete_topics`), which share the ids, the answers and the
/// deadlines.
#[derive(Debug, Default)]
pub(crate) struct Creates {
    deletes: crate::api::delete_topics::HeldDeletes,
    partitions: crate::api::create_partitions::HeldPartitions,
    /// The id of the next request to the driver.
    next_request: u64,
    held: Map<u64, Held>,
    /// Auto-created topics not reported yet, by request.
    auto: Map<u64, Set<String>>,
    /// Auto-created topics the driver wrote that the image does not know
    /// yet (the controller has not named them): still being created.
    auto_written: Set<String>,
}

impl Creates {
    /// Whether a request of this broker is creating `name` (written or
    /// not): another request may not.
    pub fn being_created(&self, name: &str) -> bool {
        self.auto.values().any(|names| names.contains(name))
            || self.auto_written.contains(name)
            || self.held.values().any(|h| {
                h.topics
                    .iter()
                    .any(|e| e.wait != Wait::Done && e.result.name == name)
            })
    }

    /// Holds a CreateTopics request of `conn` until its topics are written
    /// and led, or `deadline`. Each result comes with the number of
    /// partitions to wait for (`None`: final already). Returns the request
    /// id for the driver.
    pub fn hold(
        &mut self,
        conn: ConnId,
        deadline: Option<Now>,
        topics: Vec<(CreatableTopicResult, Option<i32>)>,
    ) -> u64 {
        let id = self.take_id();
        let topics = topics
            .into_iter()
            .map(|(result, wait)| Entry {
                result,
                wait: wait.map_or(Wait::Done, |partitions| Wait::Writing { partitions }),
            })
            .collect();
        self.held.insert(
            id,
            Held {
                conn,
                deadline,
                topics,
            },
        );
        id
    }

    /// Holds a DeleteTopics request of `conn` until the topics of the
    /// results marked `true` leave the image, or `deadline`. Returns the
    /// request id.
    pub fn hold_delete(
        &mut self,
        conn: ConnId,
        deadline: Now,
        results: Vec<(DeletableTopicResult, bool)>,
    ) -> u64 {
        let id = self.take_id();
        self.deletes.hold(id, conn, deadline, results);
        id
    }

    /// Holds a CreatePartitions request of `conn` until `deadline`, each
    /// result with the partition count to wait for once the driver wrote
    /// it (`None`: final). Returns the request id.
    pub fn hold_partitions(
        &mut self,
        conn: ConnId,
        deadline: Now,
        topics: Vec<(
            crate::protocol::messages::create_partitions_response::CreatePartitionsTopicResult,
            Option<i32>,
        )>,
    ) -> u64 {
        let id = self.take_id();
        self.partitions.hold(id, conn, deadline, topics);
        id
    }

    /// A request id for driver work nobody waits for.
    pub fn unheld(&mut self) -> u64 {
        self.take_id()
    }

    /// Notes auto-created topics sent to the driver; returns the request id.
    pub fn auto(&mut self, names: Set<String>) -> u64 {
        let id = self.take_id();
        self.auto.insert(id, names);
        id
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        id
    }

    /// The driver reports the znodes of request `request`. A topic it does
    /// not name failed (UNKNOWN_SERVER_ERROR); a failed topic reports no
    /// id, as Kafka reports none for a topic it did not write. Returns the answer when
    /// nothing else is waited for; an unknown request (answered already,
    /// its connection gone, or an auto-creation) changes nothing else.
    pub fn written(
        &mut self,
        request: u64,
        results: &[(String, Result<(), ErrorCode>)],
        cluster: &Cluster,
    ) -> Option<Answer> {
        if let Some(names) = self.auto.remove(&request) {
            let ok = results
                .iter()
                .filter(|(n, r)| r.is_ok() && names.contains(n));
            self.auto_written.extend(
                ok.map(|(n, _)| n.clone())
                    .filter(|n| !cluster.topics.contains_key(n)),
            );
        }
        if let Some((c, id, r)) = self.partitions.written(request, results, cluster) {
            return Some((c, id, ResponseBody::CreatePartitions(r)));
        }
        let held = self.held.get_mut(&request)?;
        for e in &mut held.topics {
            let Wait::Writing { partitions } = e.wait else {
                continue;
            };
            let reported = results
                .iter()
                .find(|(n, _)| e.result.name == *n)
                .map(|(_, r)| *r);
            match reported {
                Some(Ok(())) => e.wait = Wait::Electing { partitions },
                Some(Err(code)) => {
                    let message = (code == ErrorCode::TOPIC_ALREADY_EXISTS)
                        .then(|| format!("Topic '{}' already exists.", e.result.name));
                    let mut r = failed(e.result.clone(), code, message);
                    r.topic_id = Uuid::ZERO;
                    e.result = r;
                    e.wait = Wait::Done;
                }
                None => {
                    let mut r = failed(e.result.clone(), ErrorCode::UNKNOWN_SERVER_ERROR, None);
                    r.topic_id = Uuid::ZERO;
                    e.result = r;
                    e.wait = Wait::Done;
                }
            }
        }
        let done = held.deadline.is_none() || held.elected(cluster);
        done.then(|| self.finish(request, cluster)).flatten()
    }

    /// The metadata changed (UpdateMetadata): answers every held request
    /// whose written topics now all have leaders, and forgets the written
    /// auto-created topics the image now knows.
    pub fn check(&mut self, cluster: &Cluster) -> Vec<Answer> {
        self.auto_written
            .retain(|n| !cluster.topics.contains_key(n));
        let ready: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| !h.writing() && h.elected(cluster))
            .map(|(id, _)| *id)
            .collect();
        let mut answers: Vec<Answer> = ready
            .into_iter()
            .filter_map(|id| self.finish(id, cluster))
            .collect();
        let deleted = self.deletes.check(cluster).into_iter();
        answers.extend(deleted.map(|(c, id, r)| (c, id, ResponseBody::DeleteTopics(r))));
        let added = self.partitions.check(cluster).into_iter();
        answers.extend(added.map(|(c, id, r)| (c, id, ResponseBody::CreatePartitions(r))));
        answers
    }

    /// Answers every held request whose deadline is `now` or earlier.
    pub fn expire(&mut self, now: Now, cluster: &Cluster) -> Vec<Answer> {
        let due: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| h.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        let mut answers: Vec<Answer> = due
            .into_iter()
            .filter_map(|id| self.finish(id, cluster))
            .collect();
        let expired = self.deletes.expire(now, cluster).into_iter();
        answers.extend(expired.map(|(c, id, r)| (c, id, ResponseBody::DeleteTopics(r))));
        let expired = self.partitions.expire(now, cluster).into_iter();
        answers.extend(expired.map(|(c, id, r)| (c, id, ResponseBody::CreatePartitions(r))));
        answers
    }

    /// The earliest deadline of a held request.
    pub fn next_deadline(&self) -> Option<Now> {
        let creates = self.held.values().filter_map(|h| h.deadline).min();
        [
            creates,
            self.deletes.next_deadline(),
            self.partitions.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Forgets a held request (its connection closed).
    pub fn drop_request(&mut self, request: u64) {
        self.held.remove(&request);
        self.deletes.drop_request(request);
        self.partitions.drop_request(request);
    }

    fn finish(&mut self, request: u64, cluster: &Cluster) -> Option<Answer> {
        let held = self.held.remove(&request)?;
        let conn = held.conn;
        let body = ResponseBody::CreateTopics(held.answer(cluster));
        Some((conn, request, body))
    }
}
