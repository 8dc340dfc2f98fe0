//! Leader elections asked for (Kafka 2.x's `onReplicaElection`): an
//! ElectLeaders request ([`Controller::handle_elect_leaders`]) and the
//! automatic leader rebalance ([`Controller::handle_rebalance_check`],
//! Kafka's `checkAndTriggerAutoLeaderRebalance`).
//!
//! Preferred election (Kafka's
//! `PreferredReplicaPartitionLeaderElectionStrategy`): the preferred
//! replica, first in the assignment, becomes leader when it is live, not
//! shutting down and in the ISR; the ISR stays as it is and the leader
//! epoch goes up. Per partition the answer is:
//!
//! - ELECTION_NOT_NEEDED when the preferred replica leads already;
//! - PREFERRED_LEADER_NOT_AVAILABLE when it cannot lead;
//! - UNKNOWN_TOPIC_OR_PARTITION for a partition the controller does not
//!   know;
//! - NONE once the new state is written and told (a write that lost a
//!   race is read and decided again).
//!
//! Unclean election: with unclean leader election off (the only mode
//! here), a partition whose leader is live needs none
//! (ELECTION_NOT_NEEDED) and one without a live leader has no eligible
//! replica (ELIGIBLE_LEADERS_NOT_AVAILABLE): a live ISR member would
//! have been elected already.
//!
//! The rebalance check counts, per preferred replica, the partitions it
//! does not lead; when more than `percentage` % of them are not led by
//! it, those it can lead get a preferred election (no one is answered).

use crate::collections::{Map, Set};

use super::{take_settled, BrokerId, Controller, LeaderIsr, Output, Stored, NO_LEADER};
use crate::protocol::ErrorCode;
use crate::storage::TopicPartition;

/// One partition's preferred election, decided now: `Ok(None)` when the
/// preferred replica leads, `Ok(Some(state))` to write, `Err` when it
/// cannot lead.
pub(crate) fn preferred(
    replicas: &[BrokerId],
    stored: Option<&Stored>,
    live: &Set<BrokerId>,
    shutting_down: &Set<BrokerId>,
    epoch: i32,
) -> Result<Option<LeaderIsr>, ErrorCode> {
    let (Some(&first), Some(old)) = (replicas.first(), stored) else {
        return Err(ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE);
    };
    let old = &old.state;
    if old.leader == first {
        return Ok(None);
    }
    let eligible = live.contains(&first) && !shutting_down.contains(&first);
    if !eligible || !old.isr.contains(&first) || old.controller_epoch > epoch {
        return Err(ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE);
    }
    Ok(Some(LeaderIsr {
        leader: first,
        leader_epoch: old.leader_epoch + 1,
        isr: old.isr.clone(),
        controller_epoch: epoch,
    }))
}

/// Elections in progress.
#[derive(Debug, Default)]
pub(crate) struct Elections {
    /// Partitions waiting for a preferred election, and the requests
    /// waiting on each (none: the rebalance check's).
    pub pending: Map<TopicPartition, Set<u64>>,
    /// Per request: the partitions not settled yet, and the results so far.
    requests: Map<u64, Request>,
}

/// One ElectLeaders in progress: the partitions not settled yet, and the
/// results so far.
type Request = (Set<TopicPartition>, Vec<(TopicPartition, ErrorCode)>);

impl Elections {
    /// Partition `tp` is settled with `code` for every request on it.
    pub fn resolve(&mut self, tp: &TopicPartition, code: ErrorCode) {
        for request in self.pending.remove(tp).unwrap_or_default() {
            if let Some((left, results)) = self.requests.get_mut(&request) {
                left.remove(tp);
                results.push((tp.clone(), code));
            }
        }
    }
}

impl Controller {
    /// An ElectLeaders request (`request`: the driver's name for it):
    /// a preferred election (`preferred`) or an unclean one, for
    /// `partitions` (`None`: every partition; then only those that needed
    /// an election are in the answer, as Kafka's `KafkaApis` filters).
    /// Answered with [`Output::Elected`] once every partition is settled,
    /// at once when none needs a write. Refused with NOT_CONTROLLER for
    /// every partition when this broker is not the controller.
    pub fn handle_elect_leaders(
        &mut self,
        request: u64,
        preferred: bool,
        partitions: Option<Vec<TopicPartition>>,
    ) {
        let all = partitions.is_none();
        let partitions =
            partitions.unwrap_or_else(|| self.partitions.keys().cloned().collect::<Vec<_>>());
        let Some(epoch) = self.epoch else {
            let results = partitions
                .into_iter()
                .map(|tp| (tp, ErrorCode::NOT_CONTROLLER))
                .collect();
            self.outputs.push_back(Output::Elected { request, results });
            return;
        };
        let mut left = Set::new();
        let mut results = Vec::new();
        for tp in partitions {
            let Some(p) = self.partitions.get(&tp) else {
                results.push((tp, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
                continue;
            };
            let stored = p.stored.as_ref();
            let code = if !preferred {
                let leader = stored.map_or(NO_LEADER, |s| s.state.leader);
                if leader != NO_LEADER && self.live.contains(&leader) {
                    ErrorCode::ELECTION_NOT_NEEDED
                } else {
                    ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE
                }
            } else {
                match preferred_of(self, &tp, epoch) {
                    Ok(None) => ErrorCode::ELECTION_NOT_NEEDED,
                    Ok(Some(_)) => {
                        self.elections
                            .pending
                            .entry(tp.clone())
                            .or_default()
                            .insert(request);
                        left.insert(tp);
                        continue;
                    }
                    Err(code) => code,
                }
            };
            if !(all && code == ErrorCode::ELECTION_NOT_NEEDED) {
                results.push((tp, code));
            }
        }
        self.elections.requests.insert(request, (left, results));
        self.decide_all();
    }

    /// The rebalance check (`auto.leader.rebalance.enable`, run every
    /// `leader.imbalance.check.interval.seconds` by the driver): for every
    /// broker whose share of partitions led by someone else, among those
    /// it is the preferred replica of, is above `percentage`
    /// (`leader.imbalance.per.broker.percentage`), elects it where it can
    /// lead. Partitions with a write in flight are left to the next check.
    pub fn handle_rebalance_check(&mut self, percentage: u32) {
        let Some(epoch) = self.epoch else {
            return;
        };
        // Per preferred replica: (partitions, those not led by it).
        let mut counts: Map<BrokerId, (usize, Vec<TopicPartition>)> = Map::new();
        for (tp, p) in &self.partitions {
            let (Some(&first), Some(s)) = (p.replicas.first(), p.stored.as_ref()) else {
                continue;
            };
            let c = counts.entry(first).or_default();
            c.0 += 1;
            if s.state.leader != first {
                c.1.push(tp.clone());
            }
        }
        let mut any = false;
        for (_, (total, off)) in counts {
            // Kafka: imbalance ratio > percentage / 100.
            if off.len() * 100 <= total * percentage as usize {
                continue;
            }
            for tp in off {
                let idle = self.partitions.get(&tp).is_some_and(|p| !p.busy);
                if idle && matches!(preferred_of(self, &tp, epoch), Ok(Some(_))) {
                    self.elections.pending.entry(tp).or_default();
                    any = true;
                }
            }
        }
        if any {
            self.decide_all();
        }
    }

    /// Answers every request whose partitions are all settled: a pending
    /// partition is settled once idle and told with its preferred replica
    /// leading.
    pub(super) fn answer_elections(&mut self) {
        let done: Vec<TopicPartition> = self
            .elections
            .pending
            .keys()
            .filter(|tp| {
                self.partitions.get(*tp).is_some_and(|p| {
                    !p.busy
                        && !self.changed.contains(*tp)
                        && p.stored.as_ref().map(|s| s.state.leader) == p.replicas.first().copied()
                })
            })
            .cloned()
            .collect();
        for tp in done {
            self.elections.resolve(&tp, ErrorCode::NONE);
        }
        for (request, results) in take_settled(&mut self.elections.requests) {
            self.outputs.push_back(Output::Elected { request, results });
        }
    }

    /// ElectLeaders `request` ran out of time (its `timeout_ms`, kept by
    /// the driver): it is answered now, REQUEST_TIMED_OUT for every
    /// partition not settled yet, as Kafka's `DelayedElectLeader`
    /// expires. The elections themselves go on. Nothing happens for a
    /// request already answered.
    pub fn handle_elect_timeout(&mut self, request: u64) {
        let Some((left, mut results)) = self.elections.requests.remove(&request) else {
            return;
        };
        for tp in left {
            if let Some(waiting) = self.elections.pending.get_mut(&tp) {
                waiting.remove(&request);
            }
            results.push((tp, ErrorCode::REQUEST_TIMED_OUT));
        }
        self.outputs.push_back(Output::Elected { request, results });
    }

    /// Answers every request in progress with NOT_CONTROLLER for what is
    /// not settled (a resignation).
    pub(super) fn abandon_elections(&mut self) -> Vec<Output> {
        let requests = std::mem::take(&mut self.elections.requests);
        requests
            .into_iter()
            .map(|(request, (left, mut results))| {
                results.extend(left.into_iter().map(|tp| (tp, ErrorCode::NOT_CONTROLLER)));
                Output::Elected { request, results }
            })
            .collect()
    }
}

/// [`preferred`] for a partition the controller knows.
fn preferred_of(
    c: &Controller,
    tp: &TopicPartition,
    epoch: i32,
) -> Result<Option<LeaderIsr>, ErrorCode> {
    let p = c
        .partitions
        .get(tp)
        .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
    preferred(
        &p.replicas,
        p.stored.as_ref(),
        &c.live,
        &c.shutting_down,
        epoch,
    )
}
