//! Controlled shutdown (Kafka 2.x's `KafkaController.doControlledShutdown`
//! and `ControlledShutdownPartitionLeaderElectionStrategy`): a broker
//! about to stop asks the controller to move what it leads first, so that
//! clients see a clean leader change instead of a dead leader's timeouts.
//!
//! Once [`Controller::handle_controlled_shutdown`] has taken a broker, it
//! is *shutting down* until it leaves the live set (Kafka's
//! `shuttingDownBrokerIds`). Each request makes one pass over the
//! partitions it hosts (deferred for a partition with a write in flight):
//!
//! - a partition it leads gets as leader the first replica, in assignment
//!   order, that is alive, not shutting down and in the ISR; the ISR loses
//!   the shutting-down broker; the leader epoch goes up;
//! - a partition it follows loses it from the ISR (Kafka's `OfflineReplica`
//!   transition), at a new leader epoch;
//! - a partition it leads with no other eligible ISR member keeps it as
//!   leader (Kafka's election fails and the partition stays where it is),
//!   and so does a partition with one replica, which Kafka leaves alone.
//!
//! The partitions it follows are stopped first ([`Output::StopReplica`],
//! delete=false: it stops fetching them), and their ISR change is told
//! to the other replicas only.
//!
//! Outside that pass it is never elected and no new partition starts on
//! it, but it keeps what it has: a leader that takes it back into the ISR
//! (it still fetches, until it exits, the partitions it led and now
//! follows) is not overruled, as Kafka 2.x's controller did not overrule
//! one.
//!
//! When every partition it hosts is settled (written and told), the machine
//! answers with [`Output::ShutdownDone`]: the replicated partitions it still
//! leads, which the broker retries for (`controlled.shutdown.max.retries`).

use crate::collections::Set;

use super::rules::{self, Decision};
use super::{BrokerId, Controller, Output, Stored, NO_LEADER};
use crate::protocol::ErrorCode;
use crate::storage::TopicPartition;

/// [`rules::decide`] with `shutting_down` brokers (live ones, a subset of
/// `live`) never elected. With `acting` (the controlled shutdown's own
/// pass over a partition of a broker that asked) they also lose their
/// leadership and leave the ISR, as the module docs say; otherwise a
/// shutting-down leader keeps leading and a shutting-down ISR member
/// stays (a leader that takes one back in is not overruled, as in Kafka
/// 2.x).
pub(crate) fn decide(
    replicas: &[BrokerId],
    stored: Option<&Stored>,
    live: &Set<BrokerId>,
    shutting_down: &Set<BrokerId>,
    acting: bool,
    epoch: i32,
) -> Decision {
    if shutting_down.is_empty() {
        return rules::decide(replicas, stored, live, epoch);
    }
    let eligible: Set<BrokerId> = live.difference(shutting_down).copied().collect();
    let Some(old) = stored else {
        return rules::decide(replicas, None, &eligible, epoch);
    };
    let leader = old.state.leader;
    let leader_live = leader != NO_LEADER && live.contains(&leader);
    // Kafka acts only on replicated partitions.
    if !(acting && replicas.len() > 1) {
        // A live leader stays, and the ISR keeps its live members; a dead
        // one is replaced by an eligible member (Kafka's offline election
        // counts shutting-down brokers out).
        let among = if leader_live { live } else { &eligible };
        return rules::decide(replicas, stored, among, epoch);
    }
    let decision = rules::decide(replicas, stored, &eligible, epoch);
    if let Decision::Update(new, _) = &decision {
        if new.leader == NO_LEADER && leader_live {
            // Nobody to take over: the shutting-down leader stays, and only
            // the dead leave its ISR.
            return rules::decide(replicas, stored, live, epoch);
        }
    }
    decision
}

impl Controller {
    /// Broker `broker` asks to shut down (a ControlledShutdown request):
    /// from now on it leads nothing another ISR member can lead and sits
    /// in no ISR it can leave. The answer is an [`Output::ShutdownDone`]
    /// once every partition it hosts is settled (at once when nothing
    /// moves). Asking again (a retry) is answered again.
    ///
    /// Refused with `NOT_CONTROLLER` when this broker is not the
    /// controller, `BROKER_NOT_AVAILABLE` when `broker` is not live (as
    /// Kafka's `BrokerNotAvailableException`). The broker epoch is the
    /// driver's to check (STALE_BROKER_EPOCH): it holds the registrations.
    pub fn handle_controlled_shutdown(&mut self, broker: BrokerId) -> Result<(), ErrorCode> {
        if self.epoch.is_none() {
            return Err(ErrorCode::NOT_CONTROLLER);
        }
        if !self.live.contains(&broker) {
            return Err(ErrorCode::BROKER_NOT_AVAILABLE);
        }
        self.shutting_down.insert(broker);
        self.shutdown_owed.insert(broker);
        let hosted = self
            .partitions
            .iter()
            .filter(|(_, p)| p.replicas.contains(&broker))
            .map(|(tp, _)| tp.clone());
        self.shutdown_moves.extend(hosted);
        // Kafka stops the replicas it follows first (StopReplica,
        // delete=false), then takes it out of their ISRs.
        let followed: Vec<(TopicPartition, i32)> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.replicas.len() > 1 && p.replicas.contains(&broker))
            .filter_map(|(tp, p)| {
                let s = &p.stored.as_ref()?.state;
                (s.leader != broker).then(|| (tp.clone(), s.leader_epoch))
            })
            .collect();
        if !followed.is_empty() {
            for (tp, _) in &followed {
                self.stopped.insert((broker, tp.clone()));
            }
            self.outputs.push_back(Output::StopReplica {
                broker,
                partitions: followed,
                delete: false,
            });
        }
        self.decide_all();
        Ok(())
    }

    /// The live brokers shutting down.
    pub fn shutting_down(&self) -> &Set<BrokerId> {
        &self.shutting_down
    }

    /// Answers every shutting-down broker whose partitions are all settled.
    pub(super) fn answer_shutdowns(&mut self) {
        let owed: Vec<BrokerId> = self.shutdown_owed.iter().copied().collect();
        for broker in owed {
            let hosted = || {
                self.partitions
                    .iter()
                    .filter(move |(_, p)| p.replicas.contains(&broker))
            };
            let pending = |tp: &TopicPartition, p: &super::Partition| {
                p.busy || self.changed.contains(tp) || self.shutdown_moves.contains(tp)
            };
            if hosted().any(|(tp, p)| pending(tp, p)) {
                continue;
            }
            let remaining = hosted()
                .filter(|(_, p)| p.replicas.len() > 1)
                .filter(|(_, p)| p.stored.as_ref().is_some_and(|s| s.state.leader == broker))
                .map(|(tp, _)| tp.clone())
                .collect();
            self.shutdown_owed.remove(&broker);
            self.outputs
                .push_back(Output::ShutdownDone { broker, remaining });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::controller::LeaderIsr;

    fn set(ids: &[BrokerId]) -> Set<BrokerId> {
        ids.iter().copied().collect()
    }

    fn stored(leader: BrokerId, isr: &[BrokerId]) -> Stored {
        Stored {
            state: LeaderIsr {
                leader,
                leader_epoch: 3,
                isr: isr.to_vec(),
                controller_epoch: 1,
            },
            version: 4,
        }
    }

    fn update(leader: BrokerId, isr: &[BrokerId]) -> Decision {
        Decision::Update(
            LeaderIsr {
                leader,
                leader_epoch: 4,
                isr: isr.to_vec(),
                controller_epoch: 2,
            },
            4,
        )
    }

    #[test]
    fn a_shutting_down_leader_hands_over_to_the_first_eligible_isr_member() {
        let s = stored(1, &[1, 3, 2]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &set(&[1, 2, 3]), &set(&[1]), true, 2),
            update(2, &[3, 2]),
            "assignment order, and the ISR loses the shutting-down broker"
        );
        // Another shutting-down broker is not eligible either.
        assert_eq!(
            decide(
                &[1, 2, 3],
                Some(&s),
                &set(&[1, 2, 3]),
                &set(&[1, 2]),
                true,
                2
            ),
            update(3, &[3])
        );
    }

    #[test]
    fn a_shutting_down_follower_leaves_the_isr_and_the_leader_stays() {
        let s = stored(2, &[1, 2, 3]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &set(&[1, 2, 3]), &set(&[1]), true, 2),
            update(2, &[2, 3])
        );
    }

    #[test]
    fn with_nobody_to_take_over_the_shutting_down_leader_stays() {
        // The other replicas are out of the ISR: it keeps leading.
        let s = stored(1, &[1]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &set(&[1, 2, 3]), &set(&[1]), true, 2),
            Decision::Keep
        );
        // A dead ISR member still leaves.
        let s = stored(1, &[1, 2]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &set(&[1, 3]), &set(&[1]), true, 2),
            update(1, &[1])
        );
        // One replica: Kafka leaves it alone.
        let s = stored(1, &[1]);
        assert_eq!(
            decide(&[1], Some(&s), &set(&[1, 2]), &set(&[1]), true, 2),
            Decision::Keep
        );
    }

    #[test]
    fn outside_its_own_pass_a_shutting_down_broker_keeps_what_it_has_but_is_never_elected() {
        let s = stored(1, &[1, 2]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &set(&[1, 2, 3]), &set(&[1]), false, 2),
            Decision::Keep,
            "no ping-pong with a leader that took it back in"
        );
        // The leader 2 dies: 1 is in the ISR but not eligible.
        let s = stored(2, &[2, 1, 3]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &set(&[1, 3]), &set(&[1]), false, 2),
            update(3, &[3])
        );
    }

    #[test]
    fn a_new_partition_is_not_started_on_a_shutting_down_broker() {
        assert_eq!(
            decide(&[1, 2], None, &set(&[1, 2]), &set(&[1]), true, 2),
            Decision::Create(LeaderIsr {
                leader: 2,
                leader_epoch: 0,
                isr: vec![2],
                controller_epoch: 2,
            })
        );
    }
}
