//! CreateTopics in ZooKeeper mode, the broker's part: the driver's report
//! of its ZooKeeper writes comes in, held requests' answers go out in
//! their connection's order, and one timer follows their deadlines. What
//! is held, and when it is answered, is `api::Creates`'.

use super::conn::InFlight;
use super::timer::TimerKind;
use super::{Broker, NewPartitions, NewTopic, Now, Output};
use crate::api::CreateAnswer;
use crate::protocol::ErrorCode;
use crate::storage::Storage;

impl<S: Storage> Broker<S> {
    /// The driver wrote (or failed to write) the topics of
    /// [`Output::CreateTopics`] `request` to
    /// ZooKeeper: one result per topic, by name; `Err(TOPIC_ALREADY_EXISTS)` when its topic znode
    /// existed, another code when the write failed. A topic the results
    /// leave out failed (UNKNOWN_SERVER_ERROR).
    ///
    /// A CreateTopics request then waits for the controller to elect a
    /// leader of every partition it created (this broker learns it from
    /// UpdateMetadata), or for its timeout; with `timeout_ms <= 0` it is
    /// answered now. A request already answered or dropped (its
    /// connection closed), and an auto-creation's, are only noted.
    pub fn handle_topics_created(
        &mut self,
        request: u64,
        results: Vec<(String, Result<(), ErrorCode>)>,
        now: Now,
    ) {
        if let Some(answer) = self.creates.written(request, &results, &self.cluster) {
            self.answer_create(answer, now);
        }
        self.set_create_timer();
    }

    /// Hands the driver the ZooKeeper work a request asked for: topics to
    /// create, partitions to add, topics to mark for deletion, topic
    /// and dynamic broker configs to write.
    pub(super) fn hand_to_driver(
        &mut self,
        create: Option<(u64, Vec<NewTopic>)>,
        add: Option<(u64, Vec<NewPartitions>)>,
        delete: Vec<String>,
    ) {
        if let Some((request, topics)) = create {
            self.outputs
                .push_back(Output::CreateTopics { request, topics });
        }
        if let Some((request, topics)) = add {
            self.outputs
                .push_back(Output::CreatePartitions { request, topics });
        }
        if !delete.is_empty() {
            self.outputs
                .push_back(Output::DeleteTopics { topics: delete });
        }
        for (topic, configs) in self.cluster.take_config_writes() {
            let configs = configs.into_iter().collect();
            self.outputs
                .push_back(Output::WriteTopicConfigs { topic, configs });
        }
        for (broker, configs) in self.cluster.take_broker_config_writes() {
            let configs = configs.into_iter().collect();
            self.outputs
                .push_back(Output::WriteBrokerConfigs { broker, configs });
        }
    }

    /// The create timer follows the earliest deadline of a held CreateTopics.
    pub(super) fn set_create_timer(&mut self) {
        match self.creates.next_deadline() {
            Some(at) => self.timers.set(at, TimerKind::Creates),
            None => self.timers.cancel(TimerKind::Creates),
        }
    }

    /// Answers a held CreateTopics (or DeleteTopics), then goes on with its connection's
    /// queue. A connection that closed, or whose request in progress is
    /// another, is skipped.
    pub(super) fn answer_create(&mut self, (conn, request, body): CreateAnswer, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(InFlight::Creating { answering, .. }) = c
            .in_flight
            .take_if(|f| matches!(f, InFlight::Creating { request: r, .. } if *r == request))
        else {
            return;
        };
        if let Err(reason) = self.respond(conn, answering, body) {
            self.close(conn, reason);
            return;
        }
        self.pump(conn, now);
    }
}
