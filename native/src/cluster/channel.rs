//! What the controller tells whom: the decisions of Kafka's
//! `ControllerChannelManager`. Sans-I/O: [`Channels`] takes the role and
//! the live brokers (and the partition decisions of the core's
//! controller machine, through [`Channels::tell`]) and returns [`Step`]s,
//! which [`super::sender`] carries out over the network.
//!
//! While this broker is the controller it keeps one channel (a queue and
//! a connection) to every live broker, itself included, and sends each of
//! them an [`Update`] (UpdateMetadata):
//!
//! - on winning the election, to every live broker (Kafka's
//!   `onControllerFailover`);
//! - whenever the live brokers change, to every live broker (Kafka's
//!   `onBrokerStartup` and `onBrokerFailure`). A broker that registered
//!   again (a new broker epoch, or a new address) gets a new channel, as
//!   Kafka treats a bounced broker as one that failed and started.
//!
//! Those membership updates carry no partitions. The partitions go in the
//! LeaderAndIsr and UpdateMetadata requests the controller machine asks
//! for, which [`Channels::tell`] stamps with the target's broker epoch
//! and the live brokers, after the membership update of the same round.
//!
//! A broker that leaves the live set loses its channel, and with it what
//! was queued for it; a controller that resigns (or whose term changes)
//! closes every channel at once, so nothing more goes out in its name.

use std::sync::Arc;

use spate_core::coordinator::controller::{Output, PartitionView};
use spate_core::storage::TopicPartition;

use super::engine::{BrokerEpoch, BrokerId, BrokerInfo, Registered};

/// One UpdateMetadata, for one broker: the controller, its term, the
/// broker epoch of the registration it is meant for, the live brokers,
/// and the partitions whose state changed (none for a membership update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Update {
    /// This broker, the controller.
    pub controller_id: BrokerId,
    /// The controller's term.
    pub controller_epoch: i32,
    /// The epoch of the target's registration, as the controller read it.
    pub broker_epoch: BrokerEpoch,
    /// The live brokers, by id (shared by the updates of one round).
    pub brokers: Arc<[BrokerInfo]>,
    /// Partition states.
    pub partitions: Vec<PartitionView>,
}

/// One LeaderAndIsr, for one broker: the partitions it hosts whose state
/// changed, and the live brokers that lead any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assign {
    /// This broker, the controller.
    pub controller_id: BrokerId,
    /// The controller's term.
    pub controller_epoch: i32,
    /// The epoch of the target's registration, as the controller read it.
    pub broker_epoch: BrokerEpoch,
    /// The partitions, each with a replica on the target.
    pub partitions: Vec<PartitionView>,
    /// The live brokers leading any of them (Kafka's `live_leaders`).
    pub leaders: Vec<BrokerInfo>,
}

/// One StopReplica, for one broker: partitions it hosts to stop, each
/// with its leader epoch (-2 when their topic is being deleted), and,
/// with `delete`, whose logs to delete. A broker shutting down gets one
/// with `delete` false for the partitions it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop {
    /// This broker, the controller.
    pub controller_id: BrokerId,
    /// The controller's term.
    pub controller_epoch: i32,
    /// The epoch of the target's registration, as the controller read it.
    pub broker_epoch: BrokerEpoch,
    /// The partitions and their leader epochs.
    pub partitions: Vec<(TopicPartition, i32)>,
    /// Whether their logs are deleted.
    pub delete: bool,
}

/// A request on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// UpdateMetadata.
    Metadata(Update),
    /// LeaderAndIsr.
    LeaderAndIsr(Assign),
    /// StopReplica.
    StopReplica(Stop),
}

impl Request {
    /// The controller term it is sent in.
    pub(crate) fn controller_epoch(&self) -> i32 {
        match self {
            Request::Metadata(u) => u.controller_epoch,
            Request::LeaderAndIsr(a) => a.controller_epoch,
            Request::StopReplica(s) => s.controller_epoch,
        }
    }
}

/// What the I/O part does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Open a channel to this broker (it will connect, and reconnect, by
    /// itself).
    Open(Registered),
    /// Close the channel to this broker now, dropping what is queued.
    Close(BrokerId),
    /// Queue this request on the broker's channel.
    Send(BrokerId, Request),
}

/// The channels the controller keeps, and what it last told.
#[derive(Debug, Default)]
pub(crate) struct Channels {
    /// The term the channels belong to (`None`: not the controller).
    term: Option<i32>,
    /// The live brokers last told, by id: one channel each.
    open: Vec<Registered>,
}

impl Channels {
    /// This broker (`me`) is the controller in term `term` (or, `None`,
    /// is not), and `live` are the live brokers it last read: the steps
    /// that bring the channels and what they were told up to date. Calling
    /// it again with nothing changed returns no steps.
    #[must_use]
    pub(crate) fn handle(
        &mut self,
        me: BrokerId,
        term: Option<i32>,
        live: &[Registered],
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let new_term = term != self.term;
        if new_term {
            steps.extend(self.open.drain(..).map(|r| Step::Close(r.info.id)));
            self.term = term;
        }
        let Some(epoch) = term else {
            return steps;
        };
        let mut live = live.to_vec();
        live.sort_by_key(|r| r.info.id);
        live.dedup_by_key(|r| r.info.id);
        if !new_term && live == self.open {
            return steps;
        }
        for old in &self.open {
            if !live.contains(old) {
                steps.push(Step::Close(old.info.id));
            }
        }
        for r in &live {
            if !self.open.contains(r) {
                steps.push(Step::Open(r.clone()));
            }
        }
        let brokers: Arc<[BrokerInfo]> = live.iter().map(|r| r.info.clone()).collect();
        for r in &live {
            steps.push(Step::Send(
                r.info.id,
                Request::Metadata(Update {
                    controller_id: me,
                    controller_epoch: epoch,
                    broker_epoch: r.epoch,
                    brokers: brokers.clone(),
                    partitions: Vec::new(),
                }),
            ));
        }
        self.open = live;
        steps
    }

    /// The step that carries the controller machine's `out` (a
    /// LeaderAndIsr, UpdateMetadata or StopReplica) to its target, stamped with the
    /// target's broker epoch and the live brokers as last told; `None`
    /// when this broker is not the controller or the target has no
    /// channel (it is not live: the machine hears of that next).
    #[must_use]
    pub(crate) fn tell(&self, me: BrokerId, out: Output) -> Option<Step> {
        let epoch = self.term?;
        let target = |id: BrokerId| self.open.iter().find(|r| r.info.id == id);
        match out {
            Output::UpdateMetadata { broker, partitions } => {
                let r = target(broker)?;
                Some(Step::Send(
                    broker,
                    Request::Metadata(Update {
                        controller_id: me,
                        controller_epoch: epoch,
                        broker_epoch: r.epoch,
                        brokers: self.open.iter().map(|r| r.info.clone()).collect(),
                        partitions,
                    }),
                ))
            }
            Output::LeaderAndIsr { broker, partitions } => {
                let r = target(broker)?;
                let leaders = self
                    .open
                    .iter()
                    .filter(|l| partitions.iter().any(|p| p.state.leader == l.info.id))
                    .map(|l| l.info.clone())
                    .collect();
                Some(Step::Send(
                    broker,
                    Request::LeaderAndIsr(Assign {
                        controller_id: me,
                        controller_epoch: epoch,
                        broker_epoch: r.epoch,
                        partitions,
                        leaders,
                    }),
                ))
            }
            Output::StopReplica {
                broker,
                partitions,
                delete,
            } => {
                let r = target(broker)?;
                Some(Step::Send(
                    broker,
                    Request::StopReplica(Stop {
                        controller_id: me,
                        controller_epoch: epoch,
                        broker_epoch: r.epoch,
                        partitions,
                        delete,
                    }),
                ))
            }
            Output::Write { .. }
            | Output::Read { .. }
            | Output::ShutdownDone { .. }
            | Output::Elected { .. }
            | Output::TopicDeleted { .. }
            | Output::WriteAssignment { .. }
            | Output::Reassigned { .. }
            | Output::DropDeletion { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: BrokerId = 1;

    fn reg(id: BrokerId, epoch: i64) -> Registered {
        Registered {
            info: BrokerInfo {
                id,
                host: "127.0.0.1".into(),
                port: 9090 + id,
                rack: None,
                endpoints: Vec::new(),
            },
            epoch: BrokerEpoch(epoch),
        }
    }

    /// The steps, written short: `open 2`, `close 2`, `send 2 e7 [1,2]`
    /// (target, controller epoch, live ids), after checking every update
    /// names this controller and its target's own broker epoch.
    fn show(steps: &[Step], live: &[Registered]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Open(r) => format!("open {}", r.info.id),
                Step::Close(id) => format!("close {id}"),
                Step::Send(id, Request::LeaderAndIsr(a)) => {
                    let ids: Vec<String> = a.leaders.iter().map(|b| b.id.to_string()).collect();
                    format!(
                        "assign {id} e{} leaders [{}]",
                        a.controller_epoch,
                        ids.join(",")
                    )
                }
                Step::Send(id, Request::Metadata(u)) => {
                    assert_eq!(u.controller_id, ME);
                    let target = live.iter().find(|r| r.info.id == *id).expect("live");
                    assert_eq!(u.broker_epoch, target.epoch, "the target's own epoch");
                    let ids: Vec<String> = u.brokers.iter().map(|b| b.id.to_string()).collect();
                    format!("send {id} e{} [{}]", u.controller_epoch, ids.join(","))
                }
                Step::Send(id, Request::StopReplica(h)) => {
                    let target = live.iter().find(|r| r.info.id == *id).expect("live");
                    assert_eq!(h.broker_epoch, target.epoch, "the target's own epoch");
                    let tps: Vec<String> = h
                        .partitions
                        .iter()
                        .map(|(tp, e)| format!("{tp}@{e}"))
                        .collect();
                    format!("stop {id} e{} [{}]", h.controller_epoch, tps.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn a_new_controller_tells_every_live_broker_itself_included() {
        let mut c = Channels::default();
        let live = [reg(2, 20), reg(1, 10), reg(3, 30)];
        let steps = c.handle(ME, Some(4), &live);
        assert_eq!(
            show(&steps, &live),
            [
                "open 1",
                "open 2",
                "open 3",
                "send 1 e4 [1,2,3]",
                "send 2 e4 [1,2,3]",
                "send 3 e4 [1,2,3]"
            ]
        );
        assert!(c.handle(ME, Some(4), &live).is_empty(), "nothing changed");
    }

    #[test]
    fn a_broker_that_goes_loses_its_channel_and_the_others_hear_of_it() {
        let mut c = Channels::default();
        let _ = c.handle(ME, Some(1), &[reg(1, 10), reg(2, 20), reg(3, 30)]);
        let live = [reg(1, 10), reg(3, 30)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            ["close 2", "send 1 e1 [1,3]", "send 3 e1 [1,3]"]
        );
        // It comes back, registered anew: a channel of its own, and all hear.
        let live = [reg(1, 10), reg(2, 40), reg(3, 30)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            [
                "open 2",
                "send 1 e1 [1,2,3]",
                "send 2 e1 [1,2,3]",
                "send 3 e1 [1,2,3]"
            ]
        );
    }

    #[test]
    fn a_bounced_broker_gets_a_new_channel() {
        let mut c = Channels::default();
        let _ = c.handle(ME, Some(1), &[reg(1, 10), reg(2, 20)]);
        // Broker 2 restarted between two reads: same id, a new registration.
        let live = [reg(1, 10), reg(2, 25)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            ["close 2", "open 2", "send 1 e1 [1,2]", "send 2 e1 [1,2]"]
        );
    }

    #[test]
    fn a_resigning_controller_closes_every_channel_at_once() {
        let mut c = Channels::default();
        let live = [reg(1, 10), reg(2, 20)];
        let _ = c.handle(ME, Some(1), &live);
        assert_eq!(
            show(&c.handle(ME, None, &live), &live),
            ["close 1", "close 2"]
        );
        assert!(c.handle(ME, None, &live).is_empty());
        // Elected again, later: a new term, everything again.
        assert_eq!(
            show(&c.handle(ME, Some(3), &live), &live),
            ["open 1", "open 2", "send 1 e3 [1,2]", "send 2 e3 [1,2]"]
        );
    }

    #[test]
    fn a_new_term_starts_over_even_with_the_same_brokers() {
        let mut c = Channels::default();
        let live = [reg(1, 10), reg(2, 20)];
        let _ = c.handle(ME, Some(1), &live);
        assert_eq!(
            show(&c.handle(ME, Some(2), &live), &live),
            [
                "close 1",
                "close 2",
                "open 1",
                "open 2",
                "send 1 e2 [1,2]",
                "send 2 e2 [1,2]"
            ]
        );
    }

    #[test]
    fn a_controller_that_has_not_read_the_brokers_yet_sends_nothing() {
        let mut c = Channels::default();
        assert!(c.handle(ME, Some(1), &[]).is_empty());
        let live = [reg(1, 10)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            ["open 1", "send 1 e1 [1]"]
        );
    }

    #[test]
    fn the_machines_requests_go_to_live_brokers_stamped_with_their_epochs() {
        use spate_core::coordinator::controller::LeaderIsr;
        use spate_core::storage::TopicPartition;
        let view = |leader: BrokerId| PartitionView {
            tp: TopicPartition::new("t", 0),
            topic_id: Default::default(),
            state: LeaderIsr {
                leader,
                leader_epoch: 1,
                isr: vec![2, 3],
                controller_epoch: 5,
            },
            version: 1,
            replicas: vec![1, 2, 3],
            offline: vec![1],
            adding: Vec::new(),
            removing: Vec::new(),
        };
        let mut c = Channels::default();
        let lai = |broker| Output::LeaderAndIsr {
            broker,
            partitions: vec![view(2)],
        };
        assert_eq!(c.tell(ME, lai(2)), None, "not the controller");
        let live = [reg(1, 10), reg(2, 20), reg(3, 30)];
        let _ = c.handle(ME, Some(5), &live);
        let Some(Step::Send(2, Request::LeaderAndIsr(a))) = c.tell(ME, lai(2)) else {
            panic!("a LeaderAndIsr for broker 2");
        };
        assert_eq!((a.controller_epoch, a.broker_epoch), (5, BrokerEpoch(20)));
        let leaders: Vec<BrokerId> = a.leaders.iter().map(|b| b.id).collect();
        assert_eq!(leaders, [2], "only the leaders named");
        let um = Output::UpdateMetadata {
            broker: 3,
            partitions: vec![view(2)],
        };
        let Some(Step::Send(3, Request::Metadata(u))) = c.tell(ME, um) else {
            panic!("an UpdateMetadata for broker 3");
        };
        assert_eq!(u.broker_epoch, BrokerEpoch(30));
        assert_eq!(u.brokers.len(), 3);
        assert_eq!(u.partitions.len(), 1);
        let stop = Output::StopReplica {
            broker: 3,
            partitions: vec![(TopicPartition::new("t", 0), -2)],
            delete: true,
        };
        let Some(Step::Send(3, Request::StopReplica(s))) = c.tell(ME, stop) else {
            panic!("a StopReplica for broker 3");
        };
        assert_eq!((s.controller_epoch, s.broker_epoch), (5, BrokerEpoch(30)));
        assert!(s.delete);
        // A broker no longer live gets nothing.
        let _ = c.handle(ME, Some(5), &[reg(1, 10), reg(3, 30)]);
        assert_eq!(c.tell(ME, lai(2)), None);
    }
}
