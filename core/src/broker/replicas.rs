//! The broker's part in replication (ZooKeeper mode): the follower's
//! replica requests going out and their answers coming in, the leader's
//! ISR changes and the driver's report of their writes, and the topic
//! configs and dynamic broker configs the coordination service holds. What a follower fetches and
//! how it applies it is `coordinator::fetcher`'s; what a leader keeps of
//! its followers is `state::replication`'s.

use bytes::Bytes;

use super::timer::TimerKind;
use super::{Broker, Now, Output};
use crate::coordinator::fetcher::ReplicaParts;
use crate::state::replication::IsrOutcome;
use crate::storage::{Storage, TopicPartition};

impl<S: Storage> Broker<S> {
    /// The cluster's coordination service holds these configs for `topic`
    /// (ZooKeeper mode: `/config/topics/<topic>`, read when the topic
    /// appears). A topic the controller made known to this broker takes
    /// them, now or when it learns of the topic; `min.insync.replicas`,
    /// retention and the rest apply from then on.
    pub fn handle_topic_configs(&mut self, topic: &str, configs: Vec<(String, String)>, now: Now) {
        let _ = now;
        self.cluster
            .set_stored_configs(topic, configs.into_iter().collect());
    }

    /// The cluster's coordination service holds these dynamic configs for
    /// broker `broker` (`None`: the cluster-wide default; ZooKeeper mode:
    /// `/config/brokers/<id>` or `/config/brokers/<default>`, read at
    /// start and at each change notification naming them). This broker's
    /// and the default's replace what it had at that level and apply at
    /// once, as DYNAMIC_BROKER_CONFIG and DYNAMIC_DEFAULT_BROKER_CONFIG;
    /// another broker's are ignored.
    pub fn handle_broker_configs(
        &mut self,
        broker: Option<i32>,
        configs: Vec<(String, String)>,
        now: Now,
    ) {
        let _ = now;
        self.cluster
            .set_stored_broker_configs(broker, configs.into_iter().collect());
    }

    /// The outcome of [`Output::WriteIsr`] for `tp` at `leader_epoch`:
    /// written (the znode's new version), a conflict (a controller or
    /// another leader changed the partition: this broker proposes no more
    /// ISR changes for it until the next LeaderAndIsr), or failed (it is
    /// proposed again at the next check). A shrunk ISR may let the high
    /// watermark advance and answer waiting acks=all produces.
    pub fn handle_isr_written(
        &mut self,
        tp: &TopicPartition,
        leader_epoch: i32,
        outcome: IsrOutcome,
        now: Now,
    ) {
        if self
            .cluster
            .leadership
            .isr_written(tp, leader_epoch, outcome)
        {
            self.wake(std::slice::from_ref(tp), now);
            self.check_isr(now);
        }
    }

    /// The response to the request of the last [`Output::Replica`] for
    /// `leader` arrived: one complete frame, its 4-byte size prefix
    /// already removed. The follower appends what it fetched (or
    /// truncates), and the next request to that leader follows in
    /// `poll_output`. A frame that does not answer that request counts as
    /// a failure.
    pub fn handle_replica_response(&mut self, leader: i32, frame: Bytes, now: Now) {
        let mut parts = ReplicaParts {
            storage: &mut self.storage,
            cluster: &self.cluster,
            producers: &mut self.producers,
            epochs: &mut self.epochs,
        };
        let changed = self
            .fetcher
            .handle_response(leader, &frame, &mut parts, now);
        self.wake(&changed, now);
        self.drive_replicas(now);
    }

    /// The request to `leader` is lost: the connection was refused or
    /// dropped before its response came. Requests to that leader pause for
    /// `replica.fetch.backoff.ms` ([`Config::replica_fetch_backoff_ms`](super::Config::replica_fetch_backoff_ms)),
    /// then the next [`Output::Replica`] comes when its time is due
    /// (watch [`Broker::poll_timeout`]). The driver opens a new connection
    /// for it.
    pub fn handle_replica_failure(&mut self, leader: i32, now: Now) {
        self.fetcher.handle_failure(leader, now);
        self.drive_replicas(now);
    }

    /// A follower just made leader starts its high watermark where it
    /// knew it as follower (before the fetcher forgets it).
    pub(super) fn promote_high_watermarks(&mut self) {
        for (tp, hw) in self.fetcher.high_watermarks() {
            let end = self.storage.end_offset(&tp);
            if let Some(log) = self.cluster.leadership.leader_log_mut(&tp) {
                log.raise_floor(hw.min(end));
            }
        }
    }

    /// Hands the driver every replica request the fetcher can send now,
    /// and sets its timer.
    pub(super) fn drive_replicas(&mut self, now: Now) {
        let (members, leadership) = (&self.members, &self.cluster.leadership);
        // UpdateMetadata's live brokers, else LeaderAndIsr's live leaders.
        let endpoint = |id: i32| match members.broker(id) {
            Some(b) => Some((b.host.to_string(), b.port)),
            None => leadership.leader_endpoint(id),
        };
        let requests = self.fetcher.poll(
            &self.storage,
            &mut self.epochs,
            |id| endpoint(id).is_some(),
            now,
        );
        for r in requests {
            let Some((host, port)) = endpoint(r.leader) else {
                continue;
            };
            self.outputs.push_back(Output::Replica {
                leader: r.leader,
                host,
                port,
                frame: r.frame,
            });
        }
        match self.fetcher.next_deadline(now) {
            Some(at) => self.timers.set(at, TimerKind::Replicas),
            None => self.timers.cancel(TimerKind::Replicas),
        }
    }

    /// How often the partitions led here check their ISR: Kafka checks
    /// shrinking every half `replica.lag.time.max.ms` and expanding at
    /// every follower fetch; this does both at most every 500 ms.
    pub(super) fn isr_interval(&self) -> Now {
        (self.config.replica_lag_time_max_ms / 2).clamp(1, 500)
    }

    /// Asks for the ISR changes due now.
    pub(super) fn check_isr(&mut self, now: Now) {
        let storage = &self.storage;
        let changes = self.cluster.leadership.isr_changes(
            |tp| storage.end_offset(tp),
            now,
            self.config.replica_lag_time_max_ms,
        );
        for (tp, state, write) in changes {
            self.outputs.push_back(Output::WriteIsr {
                tp,
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                isr: write.isr,
                controller_epoch: state.controller_epoch,
                version: write.version,
            });
        }
    }
}
