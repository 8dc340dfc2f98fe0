//! Two brokers of one ZooKeeper-mode cluster over MemStorage in virtual
//! time, no sockets. The test plays the driver: it carries each broker's
//! `Output::Replica` frames to the other broker's `handle_request` (one
//! connection per follower) and the raw responses back to
//! `handle_replica_response`, and its `Output::TxnMarkers` frames the
//! same way (another connection) back to `handle_markers_response`, and
//! jumps the clock to the next deadline when nothing moves.
//!
//! Beside [`Pair`], what every ZooKeeper-mode test tells a broker the way
//! the controller would: [`zk_broker`], [`live`] brokers, an
//! [`update_metadata`] that must succeed, and [`leader_and_isr`] and
//! [`stop_replica`] requests.

use spate_core::broker::Config;
use spate_core::protocol::messages::leader_and_isr_request::{
    LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrTopicState,
};
use spate_core::protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaRequest, StopReplicaTopicState,
};
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataRequest, UpdateMetadataTopicState,
};
use spate_core::protocol::{RequestBody, ResponseBody, Uuid};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

use super::Sim;

/// The connection the controller's requests arrive on.
pub const CONTROLLER: u64 = 50;
/// The connection a follower's requests arrive on at its leader: 200 + its id.
pub const REPLICA_CONNS: u64 = 200;
/// The connection a transaction coordinator's WriteTxnMarkers requests
/// arrive on at a partition leader: 300 + the coordinator's id.
pub const MARKER_CONNS: u64 = 300;

/// Brokers 1 and 2 of one cluster, each told by UpdateMetadata that both
/// are alive (and where).
pub struct Pair {
    pub b: [Sim; 2],
    /// Replica requests carried so far.
    pub carried: usize,
}

pub fn live(id: i32) -> UpdateMetadataBroker {
    UpdateMetadataBroker {
        id,
        endpoints: vec![UpdateMetadataEndpoint {
            host: format!("b{id}.example").into(),
            port: 9090 + id,
            listener: "PLAINTEXT".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The default config in ZooKeeper mode.
pub fn zk_config() -> Config {
    Config {
        zk_mode: true,
        ..Config::default()
    }
}

/// A LeaderAndIsr from controller `controller` (controller epoch 1) for
/// `topic` (name, id): `leader` leads each of `partitions` at leader (and
/// partition) epoch `epoch`, with these replicas and ISR.
pub fn leader_and_isr(
    controller: i32,
    (topic, topic_id): (&str, Uuid),
    partitions: &[i32],
    (leader, epoch): (i32, i32),
    replicas: &[i32],
    isr: &[i32],
) -> LeaderAndIsrRequest {
    LeaderAndIsrRequest {
        controller_id: controller,
        controller_epoch: 1,
        broker_epoch: -1,
        topic_states: vec![LeaderAndIsrTopicState {
            topic_name: topic.into(),
            topic_id,
            partition_states: partitions
                .iter()
                .map(|&p| LeaderAndIsrPartitionState {
                    partition_index: p,
                    controller_epoch: 1,
                    leader,
                    leader_epoch: epoch,
                    isr: isr.to_vec().into(),
                    partition_epoch: epoch,
                    replicas: replicas.to_vec().into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A StopReplica (v3's topic states) from controller 1 (controller epoch
/// 1) for `topic`-`p` at `leader_epoch`, deleting the replica or not.
pub fn stop_replica(topic: &str, p: i32, leader_epoch: i32, delete: bool) -> StopReplicaRequest {
    StopReplicaRequest {
        controller_id: 1,
        controller_epoch: 1,
        broker_epoch: -1,
        topic_states: vec![StopReplicaTopicState {
            topic_name: topic.into(),
            partition_states: vec![StopReplicaPartitionState {
                partition_index: p,
                leader_epoch,
                delete_partition: delete,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A broker in ZooKeeper mode, nothing told yet (node 1 on 127.0.0.1:9092).
pub fn zk_broker() -> Sim {
    Sim::with(zk_config(), MemStorage::new())
}

/// UpdateMetadata v7 from controller `controller` (controller epoch 1) on
/// [`CONTROLLER`]: `live_brokers` alive and these topics; it must succeed.
pub fn update_metadata(
    sim: &mut Sim,
    controller: i32,
    live_brokers: Vec<UpdateMetadataBroker>,
    topic_states: Vec<UpdateMetadataTopicState>,
) {
    let req = UpdateMetadataRequest {
        controller_id: controller,
        controller_epoch: 1,
        broker_epoch: -1,
        live_brokers,
        topic_states,
        ..Default::default()
    };
    match sim.call(CONTROLLER, 7, RequestBody::UpdateMetadata(req)) {
        ResponseBody::UpdateMetadata(r) => assert_eq!(r.error_code, 0),
        other => panic!("{other:?}"),
    }
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with(|_| {})
    }

    /// [`Pair::new`], each broker's config changed by `tweak`.
    pub fn with(tweak: impl Fn(&mut Config)) -> Pair {
        let mk = |id: i32| {
            let mut config = Config {
                node_id: id,
                advertised_port: 9090 + id,
                ..zk_config()
            };
            tweak(&mut config);
            let mut s = Sim::with(config, MemStorage::new());
            let other = 3 - id;
            s.raw_conns.insert(REPLICA_CONNS + other as u64);
            s.raw_conns.insert(MARKER_CONNS + other as u64);
            update_metadata(&mut s, 1, vec![live(1), live(2)], vec![]);
            s
        };
        Pair {
            b: [mk(1), mk(2)],
            carried: 0,
        }
    }

    pub fn sim(&mut self, id: i32) -> &mut Sim {
        &mut self.b[id as usize - 1]
    }

    /// LeaderAndIsr v7 to broker `to` for `topic` (id `topic_id`): `leader`
    /// leads each of `partitions` at `epoch`, replicas 1 and 2, this ISR.
    pub fn lead_partitions(
        &mut self,
        to: i32,
        topic: (&str, Uuid),
        partitions: &[i32],
        (leader, epoch): (i32, i32),
        isr: &[i32],
    ) {
        let req = leader_and_isr(1, topic, partitions, (leader, epoch), &[1, 2], isr);
        match self
            .sim(to)
            .call(CONTROLLER, 7, RequestBody::LeaderAndIsr(req))
        {
            ResponseBody::LeaderAndIsr(r) => {
                assert_eq!(r.error_code, 0);
                for p in &r.topics[0].partition_errors {
                    assert_eq!(p.error_code, 0);
                }
            }
            other => panic!("{other:?}"),
        }
    }

    /// [`Pair::lead_partitions`] to both brokers: the controller makes
    /// `leader` lead each of `partitions` of `topic` at `epoch`, this ISR.
    pub fn elect(
        &mut self,
        topic: (&str, Uuid),
        partitions: &[i32],
        (leader, epoch): (i32, i32),
        isr: &[i32],
    ) {
        for to in 1..=2 {
            self.lead_partitions(to, topic, partitions, (leader, epoch), isr);
        }
    }

    /// The end offset of broker `id`'s log of `topic`-`p`.
    pub fn end_offset(&mut self, id: i32, topic: &str, p: i32) -> i64 {
        let tp = TopicPartition::new(topic, p);
        self.sim(id).broker.storage().end_offset(&tp)
    }

    /// Whether the other broker's logs of partitions `0..partitions` of
    /// `topic` end where broker `from`'s (their leader's) do.
    pub fn copied(&mut self, from: i32, topic: &str, partitions: i32) -> bool {
        (0..partitions)
            .all(|p| self.end_offset(3 - from, topic, p) == self.end_offset(from, topic, p))
    }

    /// Carries every replica request and response until nothing moves;
    /// whether anything did.
    pub fn deliver(&mut self) -> bool {
        let mut moved = false;
        loop {
            let mut any = false;
            for f in 1..=2 {
                for (leader, host, port, frame) in std::mem::take(&mut self.sim(f).replica) {
                    assert_eq!(
                        (host.as_str(), port),
                        (&*format!("b{leader}.example"), 9090 + leader)
                    );
                    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    assert_eq!(size as usize, frame.len() - 4, "a whole frame");
                    self.sim(leader)
                        .send_raw(REPLICA_CONNS + f as u64, frame.slice(4..));
                    self.carried += 1;
                    any = true;
                }
            }
            for from in 1..=2 {
                for (to, _, _, frame) in std::mem::take(&mut self.sim(from).markers) {
                    self.sim(to)
                        .send_raw(MARKER_CONNS + from as u64, frame.slice(4..));
                    any = true;
                }
            }
            for to in 1..=2 {
                let from = 3 - to;
                let frames = (self.sim(to).raw)
                    .remove(&(MARKER_CONNS + from as u64))
                    .unwrap_or_default();
                for frame in frames {
                    let s = self.sim(from);
                    let now = s.now;
                    s.broker.handle_markers_response(to, frame.slice(4..), now);
                    s.drain();
                    any = true;
                }
            }
            for l in 1..=2 {
                let f = 3 - l;
                let conn = REPLICA_CONNS + f as u64;
                let frames = self.sim(l).raw.remove(&conn).unwrap_or_default();
                for frame in frames {
                    let s = self.sim(f);
                    let now = s.now;
                    s.broker.handle_replica_response(l, frame.slice(4..), now);
                    s.drain();
                    any = true;
                }
            }
            if !any {
                return moved;
            }
            moved = true;
        }
    }

    /// Delivers and jumps both clocks to the next deadline until `done`
    /// holds, for at most `limit` ms of virtual time.
    pub fn run_until(&mut self, limit: i64, mut done: impl FnMut(&mut Pair) -> bool) {
        let until = self.b[0].now.max(self.b[1].now) + limit;
        loop {
            self.deliver();
            if done(self) {
                return;
            }
            let next = self
                .b
                .iter()
                .filter_map(|s| s.broker.poll_timeout())
                .min()
                .expect("something is due");
            assert!(next <= until, "not done within {limit} ms");
            for s in &mut self.b {
                s.now = s.now.max(next);
                let now = s.now;
                s.broker.handle_timeout(now);
                s.drain();
            }
        }
    }

    /// Delivers and moves both clocks `ms` on, firing every deadline on
    /// the way.
    pub fn advance(&mut self, ms: i64) {
        let until = self.b[0].now.max(self.b[1].now) + ms;
        loop {
            self.deliver();
            let next = self.b.iter().filter_map(|s| s.broker.poll_timeout()).min();
            let at = next.map_or(until, |n| n.min(until));
            for s in &mut self.b {
                s.now = s.now.max(at);
                let now = s.now;
                s.broker.handle_timeout(now);
                s.drain();
            }
            if at == until {
                self.deliver();
                return;
            }
        }
    }
}
